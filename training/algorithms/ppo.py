"""PPO with a value head and GAE over generated tokens (Schulman et al., 2017; Ouyang et al., 2022).

A linear value head reads the policy's last hidden state. Each sequence (one agent turn) gets its
credit as a reward on its last generated token; generalised advantage estimation runs backwards over
the generated tokens, and the actor loss is the clipped surrogate of
:func:`envalign.training.algorithms.grpo.clipped_loss` with per-token (whitened) advantages. The
value loss is clipped around the values seen at rollout time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envalign.training.algorithms.batch import masked_mean

if TYPE_CHECKING:
    import torch


def value_head(hidden_size: int) -> Any:
    """A ``Linear(hidden_size, 1)`` initialised to output 0."""
    import torch

    head = torch.nn.Linear(hidden_size, 1)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    return head


def token_values(head: Any, hidden: torch.Tensor) -> torch.Tensor:
    """Value of the state before each token: ``values[:, t] = head(hidden[:, t - 1])``.

    Args:
        head: The value head.
        hidden: ``[batch, seq, hidden]`` last hidden states.

    Returns:
        ``[batch, seq]`` float32 values (position 0 is 0).
    """
    import torch

    values = head(hidden[:, :-1].to(head.weight.dtype)).squeeze(-1).float()  # [batch, seq-1]
    return torch.nn.functional.pad(values, (1, 0))


def terminal_rewards(credits: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Place each sequence's credit on its last generated token: ``[batch]`` -> ``[batch, seq]``."""
    import torch

    positions = torch.arange(loss_mask.shape[1], device=loss_mask.device)
    last = (loss_mask * positions).argmax(-1)  # [batch]
    rewards = torch.zeros_like(loss_mask)
    rewards[torch.arange(loss_mask.shape[0]), last] = credits
    return rewards * loss_mask


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    loss_mask: torch.Tensor,
    *,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over the generated tokens of each sequence.

    Args:
        rewards: ``[batch, seq]`` per-token rewards.
        values: ``[batch, seq]`` values (state before each token).
        loss_mask: ``[batch, seq]`` 1 on generated tokens (contiguous per row).
        gamma: Discount per token.
        lam: GAE's lambda.

    Returns:
        Advantages and returns (``advantages + values``), both ``[batch, seq]`` and 0 off the mask.
    """
    import torch

    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])  # [batch]
    next_value = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        live = loss_mask[:, t]
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = torch.where(live > 0, delta + gamma * lam * running, running)
        advantages[:, t] = running * live
        next_value = torch.where(live > 0, values[:, t], next_value)
    return advantages, (advantages + values) * loss_mask


def whiten(values: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero-mean, unit-variance over the masked entries."""
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    return (values - mean) * (variance + eps).rsqrt() * mask


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    weights: torch.Tensor,
    *,
    clip: float = 0.2,
) -> torch.Tensor:
    """Clipped squared error ``0.5 * max((v - R)^2, (clip(v, v_old +- clip) - R)^2)``, token-weighted."""
    import torch

    clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    error = torch.max((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * (error * weights).sum()
