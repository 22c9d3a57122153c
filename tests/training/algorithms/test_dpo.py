"""DPO from environment preferences."""

from __future__ import annotations

import math

import pytest

from envalign.training.algorithms.dpo import dpo_loss, sequence_logprob

torch = pytest.importorskip("torch")


def test_loss_is_log_two_when_policy_equals_reference() -> None:
    x = torch.tensor([-3.0, -1.0])
    loss, stats = dpo_loss(x, x - 1, x, x - 1, beta=0.1)
    assert loss.item() == pytest.approx(math.log(2))
    assert stats["accuracy"].item() == 0.0


def test_gradient_raises_chosen_and_lowers_rejected() -> None:
    chosen = torch.tensor([-2.0], requires_grad=True)
    rejected = torch.tensor([-2.0], requires_grad=True)
    loss, _ = dpo_loss(chosen, rejected, torch.tensor([-2.0]), torch.tensor([-2.0]), beta=0.5)
    loss.backward()
    assert chosen.grad.item() < 0 < rejected.grad.item()


def test_label_smoothing_penalises_overconfident_margins() -> None:
    args = (torch.tensor([0.0]), torch.tensor([-20.0]), torch.tensor([0.0]), torch.tensor([0.0]))
    plain, _ = dpo_loss(*args, beta=1.0)
    smoothed, _ = dpo_loss(*args, beta=1.0, label_smoothing=0.1)
    assert smoothed.item() > plain.item()


def test_sequence_logprob_sums_generated_tokens_only() -> None:
    lp = torch.tensor([[-9.0, -1.0, -2.0]])
    assert sequence_logprob(lp, torch.tensor([[0.0, 1.0, 1.0]])).tolist() == [-3.0]
