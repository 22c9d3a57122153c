"""REINFORCE with a baseline."""

from __future__ import annotations

import pytest

from envalign.training.algorithms.reinforce import Baseline, reinforce_loss

torch = pytest.importorskip("torch")


def test_mean_baseline_centres_the_batch() -> None:
    assert Baseline("mean").advantages([1.0, 0.0, 2.0]) == [0.0, -1.0, 1.0]


def test_ema_baseline_uses_the_previous_average_then_updates_it() -> None:
    baseline = Baseline("ema", decay=0.5)
    assert baseline.advantages([1.0, 3.0]) == [-1.0, 1.0]  # first batch: its own mean (2)
    assert baseline.value == 2.0
    assert baseline.advantages([0.0, 0.0]) == [-2.0, -2.0]
    assert baseline.value == 1.0


def test_loss_gradient_is_minus_weighted_advantage() -> None:
    logprobs = torch.zeros(1, 3, requires_grad=True)
    weights = torch.tensor([[0.0, 0.5, 0.5]])
    reinforce_loss(logprobs, torch.tensor([2.0]), weights).backward()
    assert logprobs.grad.tolist() == [[0.0, -1.0, -1.0]]
