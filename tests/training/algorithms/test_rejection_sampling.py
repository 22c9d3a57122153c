"""Best-of-n by environment reward."""

from __future__ import annotations

from envalign.training.algorithms.batch import TurnSample
from envalign.training.algorithms.rejection_sampling import best_of_n


def sample(group: int, credit: float, ids: list[int], turn: int = 0) -> TurnSample:
    return TurnSample([1], ids, None, credit, group, 0, "a", turn, credit)


def test_the_best_of_each_prompt_is_kept() -> None:
    samples = [
        sample(0, 0.0, [1]),
        sample(0, 1.0, [2]),
        sample(0, 1.0, [3]),
        sample(1, 0.5, [4]),
        sample(0, 0.2, [5], turn=1),
    ]
    kept = best_of_n(samples)
    assert [s.completion_ids for s in kept] == [[2], [4], [5]]


def test_min_credit_drops_prompts_without_a_good_enough_answer() -> None:
    kept = best_of_n([sample(0, 0.0, [1]), sample(1, 1.0, [2])], min_credit=1.0)
    assert [s.completion_ids for s in kept] == [[2]]
