"""The Stable Alignment objective."""

from __future__ import annotations

import pytest

from envalign.training.algorithms.batch import TurnSample
from envalign.training.algorithms.stable_alignment import rated_groups, stable_alignment_loss

torch = pytest.importorskip("torch")


def sample(group: int, credit: float, ids: list[int]) -> TurnSample:
    return TurnSample([1], ids, None, credit, group, 0, "a", 0, credit)


def test_groups_split_into_best_and_strictly_worse() -> None:
    groups = rated_groups(
        [sample(0, 3.0, [1]), sample(0, 5.0, [2]), sample(0, 5.0, [3]), sample(1, 1.0, [4])]
    )
    assert len(groups) == 1  # group 1 has nothing to contrast
    assert groups[0].best.completion_ids == [2]
    assert [s.completion_ids for s in groups[0].others] == [[1]]


def test_only_responses_to_the_same_prompt_are_contrasted() -> None:
    a = TurnSample([1, 2], [5], None, 1.0, 0, 0, "a", 1, 1.0)
    b = TurnSample([1, 3], [6], None, 0.0, 0, 1, "a", 1, 0.0)
    assert rated_groups([a, b]) == []


def test_hinge_is_zero_once_worse_answers_are_a_gap_times_margin_below() -> None:
    best = torch.tensor([-1.0])
    gaps = torch.tensor([[2.0]])
    mask = torch.ones(1, 1)
    satisfied, stats = stable_alignment_loss(best, torch.tensor([[-3.5]]), gaps, mask, margin=1.0)
    assert satisfied.item() == pytest.approx(1.0)  # only the imitation term: -log p(best)
    assert stats["violations"].item() == 0.0
    violated, stats = stable_alignment_loss(best, torch.tensor([[-2.0]]), gaps, mask, margin=1.0)
    assert violated.item() == pytest.approx(1.0 + (-2.0 + 1.0 + 2.0))
    assert stats["violations"].item() == 1.0


def test_larger_rating_gaps_demand_larger_margins() -> None:
    best, other, mask = torch.tensor([-1.0]), torch.tensor([[-2.0]]), torch.ones(1, 1)
    small, _ = stable_alignment_loss(best, other, torch.tensor([[1.0]]), mask)
    large, _ = stable_alignment_loss(best, other, torch.tensor([[3.0]]), mask)
    assert large.item() > small.item()


def test_padded_entries_do_not_count() -> None:
    best = torch.tensor([-1.0])
    loss, _ = stable_alignment_loss(
        best, torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, 0.0]])
    )
    assert loss.item() == pytest.approx(1.0 + 2.0)
