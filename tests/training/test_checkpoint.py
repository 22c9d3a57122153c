"""Checkpoints: atomic, pruned, and a run killed with SIGKILL resumes to exactly the same result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from envalign.training.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)

torch = pytest.importorskip("torch")


def test_save_and_load_round_trip_weights_optimizer_and_rng(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    save_checkpoint(
        tmp_path,
        step=7,
        modules={"model": model, "optimizer": optimizer},
        config={"a": 1},
        extra={"k": 2},
    )
    expected_draw = torch.rand(3)
    other = torch.nn.Linear(3, 2)
    other_optimizer = torch.optim.AdamW(other.parameters(), lr=0.1)
    state = load_checkpoint(
        latest_checkpoint(tmp_path), {"model": other, "optimizer": other_optimizer}
    )
    assert state.step == 7 and state.extra == {"k": 2}
    assert torch.equal(other.weight, model.weight)
    assert other_optimizer.state_dict()["state"][0]["exp_avg"].equal(
        optimizer.state_dict()["state"][0]["exp_avg"]
    )
    assert torch.equal(torch.rand(3), expected_draw)  # the RNG was restored to the save point


def test_only_the_newest_checkpoints_are_kept_and_partial_ones_ignored(tmp_path: Path) -> None:
    model = torch.nn.Linear(1, 1)
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step=step, modules={"model": model}, config={}, keep=2)
    (tmp_path / ".step-000009.tmp").mkdir()  # a save killed half-way
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000002", "step-000003"]
    assert latest_checkpoint(tmp_path).name == "step-000003"
    assert latest_checkpoint(tmp_path / "missing") is None


def test_loading_a_checkpoint_without_a_module_says_which(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, step=1, modules={"model": torch.nn.Linear(1, 1)}, config={})
    with pytest.raises(ValueError, match="value_head"):
        load_checkpoint(latest_checkpoint(tmp_path), {"value_head": torch.nn.Linear(1, 1)})


def config_data(output_dir: Path) -> dict:
    return {
        "env": {"id": "envalign/Arithmetic-v0", "kwargs": {"low": 0, "high": 1}},
        "model": {"name": "tiny-random", "device": "cpu"},
        "rollout": {"prompts_per_step": 2, "group_size": 4, "max_new_tokens": 3},
        "algorithm": {"name": "grpo"},
        "optim": {"lr": 5e-3, "scheduler": "cosine", "warmup_steps": 1},
        "run": {
            "steps": 6,
            "checkpoint_every": 2,
            "eval_every": 3,
            "eval_episodes": 4,
            "output_dir": str(output_dir),
            "progress": False,
            "tensorboard": False,
        },
    }


@pytest.mark.slow
def test_a_killed_run_resumes_exactly(tmp_path: Path) -> None:
    from envalign.training.config import from_dict
    from envalign.training.metrics import read_metrics
    from envalign.training.trainer import train

    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config_data(killed_dir)))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "envalign", "train", str(config_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while latest_checkpoint(killed_dir / "checkpoints") is None:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)  # polling a file the child writes; bounded by the deadline above
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not (killed_dir / "final").exists()

    resumed = train(from_dict(config_data(killed_dir)))
    clean = train(from_dict(config_data(clean_dir)))

    assert resumed.steps == clean.steps == 6
    assert resumed.resumed_from >= 2 and clean.resumed_from == 0
    last = "checkpoints/step-000006/state.pt"
    a = torch.load(killed_dir / last, weights_only=False)
    b = torch.load(clean_dir / last, weights_only=False)
    for name, tensor in b["model"].items():
        assert torch.equal(a["model"][name], tensor), name
    assert a["optimizer"]["state"][0]["exp_avg"].equal(b["optimizer"]["state"][0]["exp_avg"])

    def deterministic(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]

    assert deterministic(read_metrics(killed_dir / "metrics.jsonl")) == deterministic(
        read_metrics(clean_dir / "metrics.jsonl")
    )
