"""From episodes to padded tensors: one sequence per agent turn, loss only on generated tokens.

Every algorithm trains on :class:`TurnSample`: the exact prompt ids the policy saw
(``prompt_token_ids``) followed by the exact ids it generated (``token_ids``). Nothing is
re-tokenized, so environment text (inside the prompt) never enters the loss and chat templates that
rewrite earlier turns cannot make training and sampling disagree. A multi-turn episode gives one
sample per agent turn; its ``credit`` is either the episode return (end-of-episode credit) or the
reward-to-go from that turn (per-turn credit).

Token tensors are ``[batch, seq]`` and position ``t`` of a per-token tensor refers to
``input_ids[:, t]`` (predicted from the positions before it); position 0 is never in the loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envalign.envs.errors import ConfigError
from envalign.training.episodes import Episode

if TYPE_CHECKING:
    import torch

CREDITS = ("episode", "turn")


@dataclass
class TurnSample:
    """One agent turn as a training sequence.

    Attributes:
        prompt_ids: The exact prompt ids the policy generated from.
        completion_ids: The exact generated ids (end-of-sequence included when produced).
        old_logprobs: Per-token log-probabilities under the sampling policy (``None``: unknown).
        credit: The scalar this turn is credited with (episode return or reward-to-go).
        group: Which group of episodes (same task, same seed) the turn belongs to.
        episode: Index of the episode in the rollout.
        agent: The agent that acted.
        turn: Index of this turn among the agent's turns in the episode.
        reward: The reward of this step alone.
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    old_logprobs: list[float] | None
    credit: float
    group: int
    episode: int
    agent: str
    turn: int
    reward: float


def turn_samples(
    episodes: Sequence[Episode],
    *,
    agents: Iterable[str] | None = None,
    credit: str = "episode",
    gamma: float = 1.0,
) -> list[TurnSample]:
    """Turn episodes into training samples, one per turn of a trained agent.

    Args:
        episodes: Finished episodes whose turns carry ``prompt_token_ids`` and ``token_ids``.
        agents: The agents whose turns are trained (``None``: every agent, i.e. self-play).
        credit: ``"episode"``: every turn gets the agent's episode return; ``"turn"``: every turn
            gets its discounted reward-to-go (the rewards of this and the agent's later turns).
        gamma: Discount of later turns' rewards for ``"turn"`` credit.

    Returns:
        The samples, in episode then turn order. Turns without token ids (scripted policies) are
        skipped.

    Raises:
        ConfigError: If ``credit`` is unknown.
        ValueError: If a trained turn has token ids but no prompt ids (the policy did not report
            the exact prompt, which training needs).
    """
    if credit not in CREDITS:
        raise ConfigError(f"credit must be one of {CREDITS}, got '{credit}'.")
    wanted = set(agents) if agents is not None else None
    samples: list[TurnSample] = []
    for index, episode in enumerate(episodes):
        for agent in episode.agents:
            if wanted is not None and agent not in wanted:
                continue
            turns = [t for t in episode.turns if t.agent == agent and t.token_ids]
            to_go = _rewards_to_go([t.reward for t in turns], gamma)
            for number, turn in enumerate(turns):
                if turn.prompt_token_ids is None:
                    raise ValueError(
                        f"Turn {turn.step} of agent '{agent}' in {episode.env_id} has no "
                        "prompt_token_ids; train with a policy that reports its exact prompt ids "
                        "(TransformersPolicy does)."
                    )
                samples.append(
                    TurnSample(
                        prompt_ids=list(turn.prompt_token_ids),
                        completion_ids=list(turn.token_ids),
                        old_logprobs=list(turn.logprobs) if turn.logprobs is not None else None,
                        credit=episode.returns.get(agent, 0.0)
                        if credit == "episode"
                        else to_go[number],
                        group=episode.group,
                        episode=index,
                        agent=agent,
                        turn=number,
                        reward=turn.reward,
                    )
                )
    return samples


def _rewards_to_go(rewards: list[float], gamma: float) -> list[float]:
    out, running = [0.0] * len(rewards), 0.0
    for index in reversed(range(len(rewards))):
        running = rewards[index] + gamma * running
        out[index] = running
    return out


@dataclass
class TokenBatch:
    """Padded tensors for a list of samples (right padding).

    Attributes:
        input_ids: ``[batch, seq]`` prompt then completion ids, padded with ``pad_id``.
        attention_mask: ``[batch, seq]`` 1 on real tokens.
        loss_mask: ``[batch, seq]`` 1 only on generated tokens.
        old_logprobs: ``[batch, seq]`` sampling log-probabilities on generated tokens (0 elsewhere),
            or ``None`` when some sample lacks them.
        values: ``[batch]`` one scalar per sample (the advantage, or the credit before it is turned
            into one).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    loss_mask: torch.Tensor
    old_logprobs: torch.Tensor | None
    values: torch.Tensor

    def to(self, device: Any) -> TokenBatch:
        """Move every tensor to ``device``."""
        old = self.old_logprobs.to(device) if self.old_logprobs is not None else None
        return TokenBatch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.loss_mask.to(device),
            old,
            self.values.to(device),
        )

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def slice(self, start: int, stop: int) -> TokenBatch:
        """Rows ``start:stop`` (for gradient accumulation over micro-batches)."""
        old = self.old_logprobs[start:stop] if self.old_logprobs is not None else None
        return TokenBatch(
            self.input_ids[start:stop],
            self.attention_mask[start:stop],
            self.loss_mask[start:stop],
            old,
            self.values[start:stop],
        )


def collate(
    sequences: Sequence[tuple[list[int], list[int]]],
    values: Sequence[float],
    *,
    pad_id: int,
    old_logprobs: Sequence[list[float] | None] | None = None,
) -> TokenBatch:
    """Pad ``(prompt_ids, completion_ids)`` pairs into a :class:`TokenBatch`.

    Args:
        sequences: Prompt and completion ids per sample.
        values: One scalar per sample (advantage, credit, or a label).
        pad_id: The id used for padding (masked out everywhere).
        old_logprobs: Per-completion-token sampling log-probabilities, or ``None``.

    Returns:
        The padded batch, trimmed to the longest sequence.
    """
    import torch

    length = max(len(p) + len(c) for p, c in sequences)
    size = len(sequences)
    input_ids = torch.full((size, length), pad_id, dtype=torch.long)
    attention = torch.zeros((size, length), dtype=torch.long)
    loss_mask = torch.zeros((size, length), dtype=torch.float32)
    have_old = old_logprobs is not None and all(o is not None for o in old_logprobs)
    old = torch.zeros((size, length), dtype=torch.float32) if have_old else None
    for row, (prompt, completion) in enumerate(sequences):
        total = len(prompt) + len(completion)
        input_ids[row, :total] = torch.tensor(prompt + completion, dtype=torch.long)
        attention[row, :total] = 1
        loss_mask[row, len(prompt) : total] = 1.0
        if old is not None and old_logprobs is not None:
            logprobs = old_logprobs[row]
            assert logprobs is not None
            if len(logprobs) != len(completion):
                raise ValueError(
                    f"Sample {row} has {len(completion)} generated ids but {len(logprobs)} logprobs."
                )
            old[row, len(prompt) : total] = torch.tensor(logprobs, dtype=torch.float32)
    return TokenBatch(
        input_ids, attention, loss_mask, old, torch.tensor(values, dtype=torch.float32)
    )


def samples_batch(
    samples: Sequence[TurnSample], values: Sequence[float], *, pad_id: int
) -> TokenBatch:
    """Collate turn samples with one value (usually the advantage) each."""
    return collate(
        [(s.prompt_ids, s.completion_ids) for s in samples],
        values,
        pad_id=pad_id,
        old_logprobs=[s.old_logprobs for s in samples],
    )


def token_logprobs(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    temperature: float = 1.0,
    return_hidden: bool = False,
    return_entropy: bool = False,
) -> Any:
    """Log-probability of every token given the tokens before it.

    Args:
        model: A causal language model (``transformers`` style: ``model(input_ids, attention_mask)``).
        input_ids: ``[batch, seq]``.
        attention_mask: ``[batch, seq]``.
        temperature: Divide logits by this, as sampling did, so ratios compare like with like.
        return_hidden: Also return the last hidden states ``[batch, seq, hidden]`` (value heads).
        return_entropy: Also return the entropy of the (tempered) next-token distribution at every
            position, ``[batch, seq]`` without gradient, from the same logits (no extra forward).

    Returns:
        ``[batch, seq]`` float32 log-probabilities (position 0 is 0); with ``return_hidden`` or
        ``return_entropy`` a tuple ``(logprobs, hidden, entropy)`` of the ones asked for, in that
        order.
    """
    import torch

    output = model(
        input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=return_hidden
    )
    logits = output.logits[:, :-1].float()  # [batch, seq-1, vocab]
    if temperature not in (0.0, 1.0):
        logits = logits / temperature
    targets = input_ids[:, 1:].unsqueeze(-1)  # [batch, seq-1, 1]
    # log_softmax(x)[y] = x[y] - logsumexp(x), without materialising the full log_softmax.
    normalizer = torch.logsumexp(logits, dim=-1)  # [batch, seq-1]
    picked = torch.gather(logits, -1, targets).squeeze(-1) - normalizer
    logprobs = torch.nn.functional.pad(picked, (1, 0))  # [batch, seq]
    extras = []
    if return_hidden:
        extras.append(output.hidden_states[-1])
    if return_entropy:
        extras.append(torch.nn.functional.pad(_entropy(logits, normalizer), (1, 0)))
    return (logprobs, *extras) if extras else logprobs


def _entropy(logits: torch.Tensor, normalizer: torch.Tensor) -> torch.Tensor:
    """``H = logsumexp(x) - sum(softmax(x) * x)`` per position, without gradient."""
    import torch

    with torch.no_grad():
        probs = torch.exp(logits - normalizer.unsqueeze(-1))  # [batch, seq-1, vocab]
        return normalizer - (probs * logits).sum(-1)


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1 (0 when the mask is empty)."""
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1.0)
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1.0)
