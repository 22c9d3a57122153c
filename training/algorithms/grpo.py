"""GRPO: group-relative advantages and the clipped policy-gradient loss (Shao et al., 2024).

G episodes share a task and a seed; each one's advantage is its credit minus the group mean, divided
by the group's standard deviation (``scale="group"``), the batch's (``"batch"``, as Hu et al. 2025
recommend) or nothing (``"none"``, Dr. GRPO). Groups whose credits are all equal carry no signal and can
be dropped (DAPO's dynamic sampling). The loss is PPO's clipped surrogate with asymmetric bounds
(``clip_low``, ``clip_high``: DAPO's clip-higher) and an optional k3 KL penalty to a frozen reference,
normalised per token over the whole batch (``"token"``, DAPO), per sequence (``"sequence"``, the
original GRPO) or by a constant (``"constant"``, Dr. GRPO: sequences x max new tokens).

Gradient accumulation is exact: :func:`token_weights` is computed for the whole batch before it is
split into micro-batches, so the sum of micro-batch losses equals the full-batch loss.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

NORMALIZATIONS = ("token", "sequence", "constant")
SCALES = ("group", "batch", "none")


def group_advantages(
    credits: Sequence[float], groups: Sequence[int], *, scale: str = "group", eps: float = 1e-4
) -> list[float]:
    """Credit minus its group's mean, optionally divided by a standard deviation.

    Args:
        credits: One scalar per sample.
        groups: The group of each sample (samples of one task and seed share a group).
        scale: ``"group"`` (group std), ``"batch"`` (std over all samples) or ``"none"``.
        eps: Added to the standard deviation.

    Returns:
        One advantage per sample.
    """
    members: dict[int, list[int]] = defaultdict(list)
    for index, group in enumerate(groups):
        members[group].append(index)
    centred = [0.0] * len(credits)
    stds: dict[int, float] = {}
    for group, indices in members.items():
        values = [credits[i] for i in indices]
        mean = sum(values) / len(values)
        stds[group] = _std(values)
        for i in indices:
            centred[i] = credits[i] - mean
    if scale == "none":
        return centred
    if scale == "batch":
        std = _std(list(credits))
        return [_divide(a, std + eps) for a in centred]
    return [_divide(a, stds[g] + eps) for a, g in zip(centred, groups, strict=True)]


def _divide(value: float, scale: float) -> float:
    # A group whose rewards are all equal has centred values 0 (and, with eps 0, a scale of 0).
    return value / scale if scale > 0 else 0.0


def _std(values: list[float]) -> float:
    # Unbiased like torch.std, so a group of one has std 0 rather than NaN.
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def varying_groups(credits: Sequence[float], groups: Sequence[int]) -> set[int]:
    """The groups whose credits are not all equal (the others have zero advantage everywhere)."""
    seen: dict[int, set[float]] = defaultdict(set)
    for credit, group in zip(credits, groups, strict=True):
        seen[group].add(round(credit, 9))
    return {group for group, values in seen.items() if len(values) > 1}


def token_weights(
    loss_mask: torch.Tensor,
    normalization: str = "token",
    *,
    max_new_tokens: int = 0,
    total_tokens: float | None = None,
    total_sequences: float | None = None,
) -> torch.Tensor:
    """Per-token weights of the whole batch, summing to 1 (``"constant"``: to tokens / budget).

    With data parallelism each rank holds part of the batch; passing the whole batch's counts makes
    the weights of all ranks together sum to 1, as one process would weigh the union batch.

    Args:
        loss_mask: ``[batch, seq]`` 1 on generated tokens.
        normalization: ``"token"``, ``"sequence"`` or ``"constant"``.
        max_new_tokens: The generation budget, for ``"constant"``.
        total_tokens: Generated tokens in the whole batch (``None``: ``loss_mask.sum()``).
        total_sequences: Sequences in the whole batch (``None``: ``loss_mask.shape[0]``).

    Returns:
        ``[batch, seq]`` weights, 0 outside the mask.
    """
    tokens = float(loss_mask.sum()) if total_tokens is None else total_tokens
    sequences = float(loss_mask.shape[0]) if total_sequences is None else total_sequences
    if normalization == "token":
        return loss_mask / max(tokens, 1.0)
    if normalization == "sequence":
        per_sequence = loss_mask.sum(-1, keepdim=True).clamp(min=1.0)  # [batch, 1]
        return loss_mask / per_sequence / max(sequences, 1.0)
    if normalization == "constant":
        budget = max(max_new_tokens, 1) * max(sequences, 1.0)
        return loss_mask / budget
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got '{normalization}'.")


def clipped_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    weights: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    ref_logprobs: torch.Tensor | None = None,
    kl_coef: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The clipped policy-gradient loss with an optional KL penalty (GRPO, RLOO, PPO's actor).

    Args:
        logprobs: ``[batch, seq]`` log-probabilities under the current policy (with gradient).
        old_logprobs: ``[batch, seq]`` under the policy that sampled the tokens.
        advantages: ``[batch]`` one per sequence, or ``[batch, seq]`` one per token (PPO).
        weights: ``[batch, seq]`` from :func:`token_weights` (0 off the generated tokens).
        clip_low: The ratio is clipped below at ``1 - clip_low``.
        clip_high: ... and above at ``1 + clip_high``.
        ref_logprobs: ``[batch, seq]`` under a frozen reference, for the KL penalty.
        kl_coef: Weight of the k3 estimate of KL(policy || reference).

    Returns:
        The scalar loss and detached statistics over the generated tokens: ``clip_fraction``,
        ``ratio``, ``kl`` (k3 estimate of KL(sampling policy || current policy) from the log-ratio:
        0 while the policy has not moved) and, with a penalty, ``kl_ref`` (k3 KL to the reference).
    """
    import torch

    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(-1)  # [batch, 1]
    log_ratio = logprobs - old_logprobs  # [batch, seq]
    ratio = torch.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_low, 1 + clip_high) * advantages
    per_token = -torch.min(unclipped, clipped)  # [batch, seq]
    mask = (weights > 0).float()
    stats = {
        "clip_fraction": ((unclipped != clipped).float() * mask).sum() / mask.sum().clamp(min=1),
        "ratio": (ratio.detach() * mask).sum() / mask.sum().clamp(min=1),
        # k3 with samples from the sampling policy q and r = p/q: (r - 1) - log r >= 0.
        "kl": (((ratio - 1) - log_ratio).detach() * mask).sum() / mask.sum().clamp(min=1),
    }
    if ref_logprobs is not None and kl_coef > 0:
        delta = ref_logprobs - logprobs
        kl = torch.exp(delta) - delta - 1  # [batch, seq], k3 estimator, >= 0
        per_token = per_token + kl_coef * kl
        stats["kl_ref"] = (kl.detach() * mask).sum() / mask.sum().clamp(min=1)
    loss = (per_token * weights).sum()
    return loss, {name: value.detach() for name, value in stats.items()}
