"""RLOO: REINFORCE with a leave-one-out baseline (Kool et al., 2019; Ahmadian et al., 2024).

Each of the k samples of a group is baselined by the mean credit of the other k - 1, an unbiased
baseline that needs no value network. The loss is the clipped surrogate of
:func:`envalign.training.algorithms.grpo.clipped_loss` (equal to plain REINFORCE on the first update,
where the ratio is 1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from envalign.training.algorithms.grpo import clipped_loss, token_weights

__all__ = ["clipped_loss", "leave_one_out_advantages", "token_weights"]


def leave_one_out_advantages(credits: Sequence[float], groups: Sequence[int]) -> list[float]:
    """``credit_i - mean(credits of the other members of i's group)``; 0 for a group of one.

    Equivalently ``k / (k - 1) * (credit_i - group mean)``.
    """
    members: dict[int, list[int]] = defaultdict(list)
    for index, group in enumerate(groups):
        members[group].append(index)
    advantages = [0.0] * len(credits)
    for indices in members.values():
        k = len(indices)
        if k < 2:
            continue
        total = sum(credits[i] for i in indices)
        for i in indices:
            advantages[i] = credits[i] - (total - credits[i]) / (k - 1)
    return advantages
