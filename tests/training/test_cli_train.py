"""``envalign train``: runs a config, lists fields, and reports config errors in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from envalign.cli import main


def test_train_runs_a_config_with_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    config = {
        "env": {"id": "envalign/Arithmetic-v0", "kwargs": {"low": 1, "high": 1}},
        "model": {"name": "tiny-random", "device": "cpu"},
        "rollout": {"prompts_per_step": 2, "group_size": 2, "max_new_tokens": 2},
        "run": {
            "steps": 5,
            "eval_every": 1,
            "eval_episodes": 2,
            "progress": False,
            "tensorboard": False,
        },
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    assert main(["train", str(path), "--set", "run.steps=1", "--set", f"run.output_dir={out}"]) == 0
    assert "held-out reward" in capsys.readouterr().out
    assert (out / "metrics.jsonl").exists() and (out / "reward_curve.png").exists()
    assert (out / "checkpoints" / "step-000001").is_dir()


def test_fields_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--fields"]) == 0
    assert "algorithm.clip_high" in capsys.readouterr().out


def test_config_errors_are_one_line_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("rollout: {group_sise: 4}\n")
    assert main(["train", str(path)]) == 2
    assert "Did you mean 'rollout.group_size'" in capsys.readouterr().err
    assert main(["train"]) == 2
