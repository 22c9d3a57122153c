"""PPO: value head, terminal rewards, GAE and the clipped value loss."""

from __future__ import annotations

import pytest

from envalign.training.algorithms.ppo import (
    gae,
    terminal_rewards,
    token_values,
    value_head,
    value_loss,
    whiten,
)

torch = pytest.importorskip("torch")


def test_terminal_reward_lands_on_the_last_generated_token() -> None:
    mask = torch.tensor([[0, 1, 1, 0], [0, 0, 1, 1]], dtype=torch.float32)
    rewards = terminal_rewards(torch.tensor([2.0, -1.0]), mask)
    assert rewards.tolist() == [[0, 0, 2, 0], [0, 0, 0, -1]]


def test_gae_with_lambda_one_is_return_minus_value() -> None:
    mask = torch.tensor([[0, 1, 1, 1]], dtype=torch.float32)
    rewards = torch.tensor([[0, 0, 0, 1.0]])
    values = torch.tensor([[9.0, 0.2, 0.5, 0.7]])
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert advantages[0].tolist() == pytest.approx([0, 0.8, 0.5, 0.3])
    assert returns[0].tolist() == pytest.approx([0, 1, 1, 1])


def test_gae_with_lambda_zero_is_the_td_error() -> None:
    mask = torch.tensor([[1, 1]], dtype=torch.float32)
    rewards = torch.tensor([[0.0, 1.0]])
    values = torch.tensor([[0.5, 0.25]])
    advantages, _ = gae(rewards, values, mask, gamma=0.9, lam=0.0)
    assert advantages[0].tolist() == pytest.approx([0.9 * 0.25 - 0.5, 1.0 - 0.25])


def test_value_head_starts_at_zero_and_reads_the_previous_position() -> None:
    head = value_head(4)
    hidden = torch.randn(2, 3, 4)
    assert token_values(head, hidden).abs().sum().item() == 0.0
    torch.nn.init.ones_(head.weight)
    values = token_values(head, hidden)
    assert values[:, 1].tolist() == pytest.approx(hidden[:, 0].sum(-1).tolist(), abs=1e-5)


def test_value_loss_is_clipped_around_the_old_values() -> None:
    weights = torch.tensor([[1.0]])
    returns = torch.tensor([[1.0]])
    old = torch.tensor([[0.0]])
    near = value_loss(torch.tensor([[0.1]]), old, returns, weights, clip=0.2)
    assert near.item() == pytest.approx(0.5 * 0.9**2)
    far = value_loss(torch.tensor([[0.9]]), old, returns, weights, clip=0.2)
    assert far.item() == pytest.approx(0.5 * 0.8**2)  # the clipped value (0.2) is further: max wins


def test_whiten_gives_zero_mean_unit_variance_on_the_mask() -> None:
    values = torch.tensor([[5.0, 1.0, 3.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    out = whiten(values, mask)
    assert out[0, :3].mean().item() == pytest.approx(0.0, abs=1e-6)
    assert out[0, 3].item() == 0.0
