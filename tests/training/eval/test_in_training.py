"""run.eval_suite: the trainer plays the suite before and after training and the report compares."""

from __future__ import annotations

import json

from envalign.training.config import from_dict
from envalign.training.trainer import train
from envalign.training.view.report import build_report


def test_training_with_an_eval_suite_writes_before_after_and_a_comparison(tmp_path):
    config = from_dict(
        {
            "env": {"id": "envalign/Arithmetic-v0", "kwargs": {"low": 1, "high": 1}},
            "model": {"name": "tiny-random", "device": "cpu", "seed": 0},
            "rollout": {"prompts_per_step": 2, "group_size": 4, "max_new_tokens": 3},
            "optim": {"lr": 5e-3},
            "run": {
                "steps": 1,
                "output_dir": str(tmp_path / "run"),
                "eval_every": 0,
                "progress": False,
                "tensorboard": False,
                "eval_suite": "core-v1",
                "eval_suite_only": ["arithmetic", "ultimatum-proposer"],
            },
        }
    )
    result = train(config)
    folder = result.output_dir / "eval"
    for when in ("before", "after"):
        data = json.loads((folder / when / "results.json").read_text())
        assert [entry["id"] for entry in data["entries"]] == ["arithmetic", "ultimatum-proposer"]
    comparison = json.loads((folder / "comparison.json").read_text())
    assert {entry["verdict"] for entry in comparison["entries"]} <= {
        "better",
        "worse",
        "not separable",
    }
    assert (folder / "comparison.html").is_file()
    page = build_report(result.output_dir).read_text()
    assert "after vs before training" in page and "ultimatum-proposer" in page


def test_a_run_folder_of_envalign_train_is_a_policy_spec(tmp_path):
    from envalign.training.eval.evaluate import evaluate, normalise_policy_spec

    config = from_dict(
        {
            "env": {"id": "envalign/Arithmetic-v0", "kwargs": {"low": 1, "high": 1}},
            "model": {"name": "tiny-random", "device": "cpu", "seed": 0},
            "rollout": {"prompts_per_step": 2, "group_size": 2, "max_new_tokens": 2},
            "run": {
                "steps": 1,
                "output_dir": str(tmp_path / "run"),
                "eval_every": 0,
                "progress": False,
                "tensorboard": False,
            },
        }
    )
    run = train(config).output_dir
    assert normalise_policy_spec(str(run)) == f"hf:{run / 'final'}"
    result = evaluate(str(run), only=["arithmetic"], scorecard=False)
    assert result.policy == f"hf:{run / 'final'}"
    assert result.entry("arithmetic").summary["failed"] == 0


def test_entries_scored_by_the_training_runs_own_judge_are_named():
    from envalign.training.eval.in_training import judge_conflicts

    assert judge_conflicts("envalign/SocialSandboxRuleJudge-v0", {}, "core-v1") == [
        "social-sandbox"
    ]
    assert judge_conflicts("envalign/SocialSandbox-v0", {"judge": "rule"}, "core-v1") == [
        "social-sandbox"
    ]
    assert judge_conflicts("envalign/SocialSandbox-v0", {}, "core-v1") == []
    assert judge_conflicts("envalign/Arithmetic-v0", {}, "core-v1") == []
