"""RLOO's leave-one-out baseline."""

from __future__ import annotations

import pytest

from envalign.training.algorithms.rloo import leave_one_out_advantages


def test_each_sample_is_baselined_by_the_others_of_its_group() -> None:
    advantages = leave_one_out_advantages([1.0, 0.0, 0.0, 3.0, 5.0], [0, 0, 0, 1, 1])
    assert advantages == pytest.approx([1.0, -0.5, -0.5, -2.0, 2.0])


def test_it_is_k_over_k_minus_one_times_the_centred_credit() -> None:
    credits = [0.3, 0.9, 0.1, 0.5]
    mean = sum(credits) / 4
    assert leave_one_out_advantages(credits, [0] * 4) == pytest.approx(
        [4 / 3 * (c - mean) for c in credits]
    )


def test_a_group_of_one_has_no_baseline_and_zero_advantage() -> None:
    assert leave_one_out_advantages([7.0], [0]) == [0.0]
