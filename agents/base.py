"""The ``Policy`` protocol: what acts in an environment.

A runner hands a policy a batch of :class:`TurnRequest` (one per agent that must act, across many
episodes) and gets back one :class:`Generation` each. LLM policies read ``request.messages`` (the
chat conversation so far); non-LLM baselines read ``request.context`` (the environment,
observation and info). Batching across episodes and agents that share a policy is the runner's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from envalign.envs.core import ActContext

Message = dict[str, str]
Conversation = list[Message]


@dataclass
class SamplingParams:
    """How to sample a reply.

    Attributes:
        temperature: Softmax temperature; 0 means greedy.
        top_p: Nucleus sampling mass.
        max_new_tokens: Cap on generated tokens.
        stop: Strings that end the reply (not included in it).
        seed: Seed for reproducible sampling (``None``: not reproducible).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 128
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}.")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}.")


@dataclass
class Generation:
    """One reply of a policy.

    Attributes:
        text: The action text.
        token_ids: The generated token ids (empty for non-LLM policies).
        logprobs: Per-token log-probabilities under the sampling policy, when the backend has them.
        prompt_token_ids: The exact prompt ids the reply was generated from, when known.
        finish_reason: ``"stop"`` (end of sequence or a stop string), ``"length"`` (hit
            ``max_new_tokens``), ``"scripted"`` (a baseline) or ``"likelihood"`` (chosen among
            ``valid_actions`` by score).
        model_logprobs: Per-token log-probabilities under the raw model (temperature 1, no top-p),
            when the backend has them; equal to ``logprobs`` for greedy decoding.
        action_scores: In likelihood mode, the normalised score of every valid action, in order.
    """

    text: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] | None = None
    prompt_token_ids: list[int] | None = None
    finish_reason: str = "stop"
    model_logprobs: list[float] | None = None
    action_scores: list[float] | None = None


@dataclass
class TurnRequest:
    """One agent's turn to act.

    Attributes:
        messages: The agent's conversation so far, ending with the newest observation.
        context: The environment-side view (for scripted policies and likelihood scoring).
        valid_actions: Admissible actions, when the environment lists them.
    """

    messages: Conversation
    context: ActContext
    valid_actions: list[str] | None = None


@runtime_checkable
class Policy(Protocol):
    """Anything that turns a batch of turn requests into a batch of generations."""

    name: str

    def act(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        """Return one generation per request, in order."""
        ...


#: Most earlier exchanges an LLM policy keeps in its prompt by default, besides the system message
#: and the episode's first exchange (which states the task); ``None`` keeps them all.
DEFAULT_HISTORY = 4


def history_window(messages: Conversation, history: int | None) -> Conversation:
    """The prompt an LLM sees: system messages, the first exchange, at most ``history`` recent ones.

    A conversation is its leading system messages, then alternating user/assistant exchanges,
    ending with the newest observation. The first exchange is kept because it holds the task (a
    mission, a goal, a house's layout). Of the exchanges after it, the window keeps the last
    ``k % (history + 1)`` of ``k``: it grows by one exchange per turn up to ``history`` and then
    starts again from none, dropping the oldest block at once rather than one exchange a turn.
    So a prompt usually extends the previous turn's prompt, and a policy that keeps its
    computation of earlier prompts (likelihood acting does) only runs the new reply and
    observation, while no prompt holds more than ``history`` exchanges besides the first.

    Args:
        messages: The whole conversation.
        history: Most exchanges to keep after the first one; ``None`` keeps everything.

    Returns:
        ``messages`` itself when nothing is dropped (or when it does not alternate user and
        assistant turns after the system messages), else the shortened conversation.

    Raises:
        ValueError: For a negative ``history``.
    """
    if history is None:
        return messages
    if history < 0:
        raise ValueError(f"history must be >= 0 or None, got {history}.")
    start = 0
    while start < len(messages) and messages[start].get("role") == "system":
        start += 1
    body = messages[start:]
    roles = [m.get("role") for m in body]
    alternating = all(
        role == ("user" if i % 2 == 0 else "assistant") for i, role in enumerate(roles)
    )
    earlier = (len(body) - 3) // 2  # exchanges between the first one and the newest observation
    if not alternating or len(body) % 2 == 0 or earlier <= 0:
        return messages
    keep = earlier % (history + 1)
    if keep == earlier:
        return messages
    return [*messages[:start], *body[:2], *body[len(body) - 1 - 2 * keep :]]


def valid_actions_of(info: dict[str, Any]) -> list[str] | None:
    """Return ``info["valid_actions"]`` when the environment lists them."""
    actions = info.get("valid_actions")
    return list(actions) if actions else None
