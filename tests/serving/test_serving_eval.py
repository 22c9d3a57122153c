"""``envalign eval`` on a served environment scores as on the in-process one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("envalign.training.eval.evaluate", reason="envalign eval is not in this tree")

SEEDS = list(range(1000010000, 1000010008))


def _suite(path: Path, env: str, kwargs: str) -> Path:
    path.write_text(
        f"name: {path.stem}\nversion: 1\ndescription: 'served or not'\n"
        "tiers:\n  quick: 8\n  full: 8\n"
        "acting:\n  max_new_tokens: 8\n  temperature: 0.0\n  history: 2\n"
        f"entries:\n- id: arithmetic\n  env: {env}\n{kwargs}  seat: agent\n"
        f"  test_seeds: {SEEDS}\n  dev_seeds: [1000015000]\n"
    )
    return path


def test_eval_of_a_served_env_matches_the_local_one(serve, tmp_path: Path) -> None:
    from envalign.cli import main

    server = serve("envalign/Arithmetic-v0", env_kwargs={"low": 0, "high": 9})
    suites = {
        "remote": _suite(tmp_path / "remote.yaml", f"openenv:{server.url}", ""),
        "local": _suite(
            tmp_path / "local.yaml", "envalign/Arithmetic-v0", "  kwargs: {low: 0, high: 9}\n"
        ),
    }
    episodes = {}
    for name, suite in suites.items():
        out = tmp_path / f"eval-{name}"
        assert main(["eval", "scripted", "--suite", str(suite), "--out", str(out), "--quiet"]) == 0
        (entry,) = json.loads((out / "results.json").read_text())["entries"]
        episodes[name] = [(e["seed"], e["score"], e["task_id"]) for e in entry["episodes"]]
        assert entry["baseline"] == {"random": 0.0, "scripted": 1.0}
    assert episodes["remote"] == episodes["local"] and len(episodes["local"]) == len(SEEDS)
