"""Metrics files and the reward curve."""

from __future__ import annotations

from pathlib import Path

from envalign.training.metrics import MetricsLogger, plot_reward_curve, read_metrics


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
