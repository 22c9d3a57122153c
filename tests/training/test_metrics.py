"""Metrics files and the reward curve."""

from __future__ import annotations

from pathlib import Path

import pytest

from envalign.training.episodes import Episode, TurnRecord
from envalign.training.metrics import (
    MetricsLogger,
    episode_metrics,
    episode_values,
    plot_reward_curve,
    read_metrics,
)


def test_rows_are_appended_and_a_resume_drops_the_interrupted_steps(tmp_path: Path) -> None:
    logger = MetricsLogger(tmp_path, tensorboard=False)
    for step in range(4):
        logger.log(step, {"train/reward": step / 10})
    logger.close()
    assert [r["step"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [0, 1, 2, 3]
    resumed = MetricsLogger(tmp_path, tensorboard=False, resume_step=2)
    resumed.log(3, {"train/reward": 0.9})
    resumed.close()
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [(r["step"], r["train/reward"]) for r in rows] == [
        (0, 0.0),
        (1, 0.1),
        (2, 0.2),
        (3, 0.9),
    ]


def test_a_fresh_run_starts_an_empty_file_and_truncated_lines_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2')
    assert read_metrics(tmp_path / "metrics.jsonl") == [{"step": 1}]
    MetricsLogger(tmp_path, tensorboard=False).close()
    assert read_metrics(tmp_path / "metrics.jsonl") == []


def test_reward_curve_is_a_png(tmp_path: Path) -> None:
    rows = [{"step": s, "train/reward": s / 10} for s in range(1, 6)] + [
        {"step": 5, "eval/reward": 0.7}
    ]
    path = plot_reward_curve(rows, tmp_path / "curve.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _episode(returns: dict[str, float], turns: list[tuple[str, dict[str, float]]]) -> Episode:
    records = [
        TurnRecord(agent, step, "obs", "act", sum(parts.values()), parts, "")
        for step, (agent, parts) in enumerate(turns)
    ]
    return Episode(
        env_id="envalign/Test-v0",
        seed=0,
        task_id="t",
        agents=sorted(returns),
        policies={},
        system_prompts={},
        turns=records,
        returns=returns,
        success={a: r > 0.5 for a, r in returns.items()},
        steps=len(turns),
        terminated=True,
    )


def test_reward_std_and_components_summarise_every_episode() -> None:
    episodes = [
        _episode({"agent": 1.0}, [("agent", {"correct": 1.0, "format": 0.0})]),
        _episode({"agent": 0.0}, [("agent", {"correct": 0.0})]),
        _episode({"agent": 0.5}, [("agent", {"format": 0.25}), ("agent", {"format": 0.25})]),
    ]
    row = episode_metrics(episode_values(episodes, None), "train")
    assert row["train/reward"] == pytest.approx(0.5)
    assert row["train/reward_std"] == pytest.approx((0.5 / 3) ** 0.5)  # population std
    assert row["train/episodes"] == 3
    assert row["train/success"] == pytest.approx(1 / 3)
    assert row["train/reward_components/correct"] == pytest.approx(1 / 3)
    assert row["train/reward_components/format"] == pytest.approx(0.5 / 3)
    components = [v for k, v in row.items() if k.startswith("train/reward_components/")]
    assert sum(components) == pytest.approx(row["train/reward"])  # components sum to the reward


def test_episode_values_average_the_trained_agents_only() -> None:
    episode = _episode(
        {"a": 2.0, "b": 4.0, "c": 100.0},
        [("a", {"win": 2.0}), ("b", {"win": 4.0}), ("c", {"win": 100.0})],
    )
    (value,) = episode_values([episode], ["a", "b"])
    assert value["return"] == 3.0 and value["components"] == {"win": 3.0}
    summary = episode_metrics([value, value], "eval")
    assert summary["eval/reward_std"] == 0.0 and summary["eval/reward"] == 3.0


def test_no_episodes_give_zeros_not_errors() -> None:
    row = episode_metrics([], "eval")
    assert row == {
        "eval/reward": 0.0,
        "eval/reward_std": 0.0,
        "eval/episodes": 0,
        "eval/steps": 0.0,
    }
