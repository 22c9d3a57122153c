"""REINFORCE with a baseline (Williams, 1992).

The advantage is the credit minus a baseline: the batch mean (``"mean"``) or an exponential moving
average of past batch means (``"ema"``, carried across steps and saved in checkpoints). The loss is
``-advantage * log pi(token)`` averaged with the same token weights as GRPO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

BASELINES = ("mean", "ema")


@dataclass
class Baseline:
    """A reward baseline.

    Attributes:
        kind: ``"mean"`` (this batch's mean credit) or ``"ema"`` (moving average of batch means).
        decay: The moving average's decay for ``"ema"``.
        value: The current moving average (``None`` before the first batch).
    """

    kind: str = "mean"
    decay: float = 0.9
    value: float | None = None

    def advantages(self, credits: Sequence[float]) -> list[float]:
        """Subtract the baseline from every credit, then update the moving average."""
        mean = sum(credits) / max(len(credits), 1)
        if self.kind == "mean":
            return [c - mean for c in credits]
        baseline = mean if self.value is None else self.value
        self.value = (
            mean if self.value is None else self.decay * self.value + (1 - self.decay) * mean
        )
        return [c - baseline for c in credits]


def reinforce_loss(
    logprobs: torch.Tensor, advantages: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """``-sum(weights * advantage * logprob)``.

    Args:
        logprobs: ``[batch, seq]`` under the current policy.
        advantages: ``[batch]``.
        weights: ``[batch, seq]`` token weights (0 off the generated tokens).
    """
    return -(weights * advantages.unsqueeze(-1) * logprobs).sum()
