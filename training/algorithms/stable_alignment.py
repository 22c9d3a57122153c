"""The Stable Alignment objective: ratings-weighted contrastive imitation (Liu et al., 2023).

From "Training Socially Aligned Language Models in Simulated Human Society".

In a simulated society, several responses to the same prompt are rated by other agents. Contrastive
imitation learning trains on the best-rated response with the ordinary likelihood loss and pushes
lower-rated responses below it by a margin proportional to the rating gap:

``L = -log p(y_best) + lambda * sum_i max(0, log p(y_i) - log p(y_best) + (r_best - r_i) * margin)``

Log-probabilities are averaged per token (responses of different lengths compare fairly). In
envalign, ratings are the environment's rewards for each response (SocialSandbox's peer ratings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from envalign.training.algorithms.batch import TurnSample

if TYPE_CHECKING:
    import torch


@dataclass
class RatedGroup:
    """Responses to one prompt with their ratings, the best first.

    Attributes:
        best: The highest-rated response.
        others: The lower-rated responses (strictly lower rating).
    """

    best: TurnSample
    others: list[TurnSample]


def rated_groups(samples: Sequence[TurnSample]) -> list[RatedGroup]:
    """Group responses to the same prompt and split each group into its best and worse responses.

    Responses share a prompt when they have the same ``(group, agent, turn)`` and identical prompt
    ids (later turns of different episodes usually saw different conversations). Groups without a
    strictly worse response are skipped (nothing to contrast).
    """
    buckets: dict[tuple[int, str, int, tuple[int, ...]], list[TurnSample]] = {}
    for sample in samples:
        key = (sample.group, sample.agent, sample.turn, tuple(sample.prompt_ids))
        buckets.setdefault(key, []).append(sample)
    groups = []
    for members in buckets.values():
        best = max(members, key=lambda s: s.credit)
        others = [s for s in members if s.credit < best.credit]
        if others:
            groups.append(RatedGroup(best, others))
    return groups


def stable_alignment_loss(
    best_logprob: torch.Tensor,
    other_logprobs: torch.Tensor,
    rating_gaps: torch.Tensor,
    other_mask: torch.Tensor,
    *,
    margin: float = 1.0,
    contrast_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The ratings-weighted contrastive loss, averaged over groups.

    Args:
        best_logprob: ``[groups]`` mean token log-probability of each group's best response.
        other_logprobs: ``[groups, k]`` ... of its lower-rated responses (padded).
        rating_gaps: ``[groups, k]`` ``r_best - r_i`` (positive).
        other_mask: ``[groups, k]`` 1 on real (not padded) lower-rated responses.
        margin: Margin per unit of rating gap.
        contrast_weight: ``lambda``, the weight of the contrastive term.

    Returns:
        The loss and statistics (``imitation``, ``contrast``, ``violations``: share of lower-rated
        responses not yet ``gap * margin`` below the best).
    """
    import torch

    hinge = torch.relu(other_logprobs - best_logprob.unsqueeze(-1) + rating_gaps * margin)
    contrast = (hinge * other_mask).sum(-1)  # [groups]
    imitation = -best_logprob  # [groups]
    loss = (imitation + contrast_weight * contrast).mean()
    violations = ((hinge > 0).float() * other_mask).sum() / other_mask.sum().clamp(min=1)
    stats = {
        "imitation": imitation.mean().detach(),
        "contrast": contrast.mean().detach(),
        "violations": violations.detach(),
    }
    return loss, stats
