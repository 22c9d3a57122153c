"""Offline datasets from environment feedback: pairs, groups, and episode files."""

from __future__ import annotations

from pathlib import Path

from envalign.training.algorithms.batch import TurnSample
from envalign.training.episodes import Episode, EpisodeWriter, TurnRecord
from envalign.training.offline import group_by_seed, load_samples, preference_pairs


def sample(
    group: int, credit: float, ids: list[int], prompt: list[int] | None = None
) -> TurnSample:
    return TurnSample(prompt or [1], ids, None, credit, group, 0, "a", 0, credit)


def test_pairs_take_the_best_and_worst_answer_to_each_prompt() -> None:
    pairs = preference_pairs(
        [
            sample(0, 0.5, [1]),
            sample(0, 1.0, [2]),
            sample(0, 0.0, [3]),
            sample(1, 1.0, [4]),
            sample(1, 1.0, [5]),
        ]
    )
    assert [(p.chosen.completion_ids, p.rejected.completion_ids, p.margin) for p in pairs] == [
        ([2], [3], 1.0)
    ]


def test_pairs_need_the_same_prompt_and_a_margin() -> None:
    assert preference_pairs([sample(0, 1.0, [1], [7]), sample(0, 0.0, [2], [8])]) == []
    assert preference_pairs([sample(0, 1.0, [1]), sample(0, 0.9, [2])], min_margin=0.5) == []


def episode(seed: int, reward: float, ids: list[int]) -> Episode:
    turn = TurnRecord(
        "agent", 0, "q", "a", reward, {"r": reward}, "", ids, [-1.0] * len(ids), [5, 6]
    )
    return Episode(
        "envalign/Arithmetic-v0",
        seed,
        "t",
        ["agent"],
        {"agent": "p"},
        {},
        [turn],
        {"agent": reward},
        {"agent": None},
        1,
        True,
    )


def test_episode_files_group_by_seed_and_become_samples(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    with EpisodeWriter(path) as writer:
        for seed, reward, ids in [(3, 1.0, [1]), (4, 0.0, [2]), (3, 0.0, [3])]:
            writer.write(episode(seed, reward, ids))
    samples = load_samples(path)
    assert [(s.group, s.completion_ids, s.credit) for s in samples] == [
        (0, [1], 1.0),
        (1, [2], 0.0),
        (0, [3], 0.0),
    ]
    assert len(preference_pairs(samples)) == 1
    assert [
        e.group for e in group_by_seed([episode(9, 0, [1]), episode(8, 0, [1]), episode(9, 0, [1])])
    ] == [0, 1, 0]
