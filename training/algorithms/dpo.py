"""DPO from pairs ranked by environment reward (Rafailov et al., 2023).

For the same prompt (same task, same seed, same turn), the response the environment rewarded more is
"chosen" and the other "rejected". The loss pushes the policy's log-ratio to a frozen reference up on
chosen and down on rejected: ``-log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))``, with optional
label smoothing (conservative DPO).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def sequence_logprob(token_logprobs: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Sum of the generated tokens' log-probabilities: ``[batch, seq]`` -> ``[batch]``."""
    return (token_logprobs * loss_mask).sum(-1)


def dpo_loss(
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The DPO loss over pairs.

    Args:
        chosen: ``[pairs]`` policy log-probabilities of the chosen responses.
        rejected: ``[pairs]`` ... of the rejected ones.
        ref_chosen: ``[pairs]`` reference log-probabilities of the chosen responses.
        ref_rejected: ``[pairs]`` ... of the rejected ones.
        beta: Strength of the implicit KL constraint.
        label_smoothing: Probability that a preference label is wrong (0: standard DPO).

    Returns:
        The mean loss and statistics (``accuracy``: share of pairs whose implicit reward margin is
        positive, ``margin``: mean margin).
    """
    import torch.nn.functional as F

    margin = beta * ((chosen - ref_chosen) - (rejected - ref_rejected))  # [pairs]
    losses = -F.logsigmoid(margin) * (1 - label_smoothing) - F.logsigmoid(-margin) * label_smoothing
    stats = {"accuracy": (margin > 0).float().mean().detach(), "margin": margin.mean().detach()}
    return losses.mean(), stats
