"""Rejection-sampling fine-tuning: keep the best of n responses by environment reward, imitate it.

Also called best-of-n distillation or expert iteration (RAFT, ReST). Within each group of samples for
the same prompt, the highest-credit sample is kept when it reaches ``min_credit``; the model is then
trained with the negative log-likelihood of the kept responses' generated tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from envalign.training.algorithms.batch import TurnSample

if TYPE_CHECKING:
    import torch


def best_of_n(
    samples: Sequence[TurnSample], *, min_credit: float | None = None
) -> list[TurnSample]:
    """The highest-credit sample of each ``(group, agent, turn)``; ties go to the earliest.

    Args:
        samples: Samples of several groups.
        min_credit: Drop a group's best when its credit is below this (``None``: keep all).

    Returns:
        One sample per group position, in the order first seen.
    """
    best: dict[tuple[int, str, int], TurnSample] = {}
    for sample in samples:
        key = (sample.group, sample.agent, sample.turn)
        if key not in best or sample.credit > best[key].credit:
            best[key] = sample
    return [s for s in best.values() if min_credit is None or s.credit >= min_credit]


def nll_loss(token_logprobs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``-sum(weights * logprob)``: supervised fine-tuning on the weighted (generated) tokens."""
    return -(token_logprobs * weights).sum()
