"""Resolve a policy from its name on the command line.

``random``, ``scripted`` and any other baseline the environment registered resolve to a
:class:`~envalign.agents.baselines.BaselinePolicy`. Other kinds of policy (``hf:PATH``, model presets)
register a loader here under a prefix or a name.
"""

from __future__ import annotations

from collections.abc import Callable

from envalign.agents.base import Policy
from envalign.agents.baselines import baseline_policy

#: ``prefix -> loader(argument, env_id)`` for names written ``prefix:argument``.
PREFIX_LOADERS: dict[str, Callable[[str, str], Policy]] = {}
#: ``name -> loader(env_id)`` for whole names (model presets such as ``smollm2-135m-instruct``).
NAMED_LOADERS: dict[str, Callable[[str], Policy]] = {}


def resolve_policy(name: str, env_id: str) -> Policy:
    """Return the policy that ``name`` denotes for ``env_id``.

    Raises:
        ConfigError: If nothing of that name exists, listing what does.
    """
    prefix, separator, argument = name.partition(":")
    if separator and prefix in PREFIX_LOADERS:
        return PREFIX_LOADERS[prefix](argument, env_id)
    if name in NAMED_LOADERS:
        return NAMED_LOADERS[name](env_id)
    return baseline_policy(env_id, name)
