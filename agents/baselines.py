"""Non-LLM baselines: the scripted and random policies that environments register by name.

Each environment's card lists its baselines (``policies={"scripted": "module:fn", ...}``); a
baseline is a function of an :class:`~envalign.envs.core.ActContext` returning the action text.
Environments without a ``random`` entry get :func:`generic_random`, which picks among
``valid_actions`` or writes short random text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from envalign.agents.base import Generation, TurnRequest
from envalign.envs.core import ActContext
from envalign.envs.errors import ConfigError
from envalign.envs.registry import load_entry_point, spec

Baseline = Callable[[ActContext], str]
WORDS = ("yes", "no", "look", "42", "accept", "go", "take", "open", "hello", "pass", "7")


def generic_random(context: ActContext) -> str:
    """Pick uniformly among ``valid_actions``, or write one to three random words."""
    choices = context.info.get("valid_actions")
    if choices:
        return context.rng.choice(list(choices))
    return " ".join(context.rng.choice(WORDS) for _ in range(context.rng.randint(1, 3)))


class BaselinePolicy:
    """Wrap a baseline function as a :class:`~envalign.agents.base.Policy`.

    Args:
        name: Name shown in summaries and episode records.
        function: ``ActContext -> str``.
    """

    def __init__(self, name: str, function: Baseline) -> None:
        self.name = name
        self.function = function

    def act(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        """Call the baseline on each request's context."""
        return [
            Generation(text=self.function(request.context), finish_reason="scripted")
            for request in requests
        ]


def baseline_policy(env_id: str, name: str) -> BaselinePolicy:
    """Return the baseline ``name`` that ``env_id`` registered (``random`` always exists).

    Raises:
        ConfigError: If the environment has no baseline of that name.
    """
    card = spec(env_id)
    if name in card.policies:
        return BaselinePolicy(name, load_entry_point(card.policies[name]))
    if name == "random":
        return BaselinePolicy("random", generic_random)
    known = sorted({*card.policies, "random"})
    raise ConfigError(
        f"'{env_id}' has no policy named '{name}'. Its built-in policies are: {', '.join(known)}."
    )
