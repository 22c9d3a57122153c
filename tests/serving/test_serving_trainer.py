"""envalign's trainer on a served environment: the same run as on the in-process one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envalign.training.config import from_dict
from envalign.training.trainer import train

pytest.importorskip("transformers")


def _config(tmp_path: Path, env: dict[str, Any], name: str) -> Any:
    return from_dict(
        {
            "env": env,
            "model": {"name": "tiny-random", "device": "cpu", "seed": 0},
            "rollout": {"prompts_per_step": 4, "group_size": 4, "max_new_tokens": 3},
            "algorithm": {"name": "grpo"},
            "optim": {"lr": 5e-3, "micro_batch_size": 16},
            "run": {
                "steps": 2,
                "output_dir": str(tmp_path / name),
                "eval_every": 0,
                "progress": False,
                "tensorboard": False,
            },
        }
    )


@pytest.mark.slow
def test_training_on_a_served_env_is_the_in_process_run(serve, tmp_path: Path) -> None:
    kwargs = {"low": 0, "high": 9}  # the seed picks the question
    server = serve("envalign/Arithmetic-v0", env_kwargs=kwargs)
    local = train(_config(tmp_path, {"id": "envalign/Arithmetic-v0", "kwargs": kwargs}, "local"))
    remote = train(_config(tmp_path, {"id": f"openenv:{server.url}"}, "remote"))
    rows = [[_learning(row) for row in run.metrics] for run in (local, remote)]
    # Entropy depends on the prompts, so equal rows mean the served questions were the local ones.
    assert len(rows[1]) == 2 and rows[0] == rows[1]  # rewards, losses, KL, entropy: all equal
    assert {"train/reward", "train/loss"} <= set(rows[1][0])


def _learning(row: dict[str, Any]) -> dict[str, Any]:
    """A metrics row without its timings (the only entries a remote env may change)."""
    timing = ("time", "per_s", "seconds", "wall", "_s", "tokens_per")
    return {k: v for k, v in row.items() if not any(t in k for t in timing)}
