"""``run.eval_suite``: the trainer plays a suite before its first step and after its last.

Both runs go to ``output_dir/eval/{before,after}/`` (resumable like any ``envalign eval --out``), and
their paired comparison to ``output_dir/eval/comparison.{json,txt}`` and the after-run's scorecard;
``envalign report`` shows it. The trainer's sampling settings are restored afterwards.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

BEFORE, AFTER = "before", "after"


def play_suite(policy: Any, run: Any, output_dir: Path, when: str) -> Path:
    """Evaluate the trained policy on ``run.eval_suite`` into ``output_dir/eval/<when>``."""
    from envalign.training.eval.evaluate import evaluate

    out = output_dir / "eval" / when
    saved = replace(policy.sampling)
    print(
        f"envalign: suite {run.eval_suite} ({run.eval_suite_tier}) {when} training", file=sys.stderr
    )
    try:
        evaluate(
            policy,
            run.eval_suite,
            tier=run.eval_suite_tier,
            only=list(run.eval_suite_only) or None,
            out=out,
        )
    finally:
        policy.sampling = saved
    return out


def judge_conflicts(env_id: str, env_kwargs: dict[str, Any], suite_name: str) -> list[str]:
    """Suite entries scored by the same judge that makes this training run's reward.

    Such an entry measures how well the model learned to please that judge, not whether it got
    better (DESIGN.md: a judge that scores a trained model is never the one that trained it).
    """
    from envalign.envs.registry import spec
    from envalign.training.eval.suite import load_suite

    trained_judge = env_kwargs.get("judge", spec(env_id).kwargs.get("judge"))
    if trained_judge is None:
        return []
    return [
        entry.id
        for entry in load_suite(suite_name).entries
        if entry.judge is not None and entry.judge == trained_judge
    ]


def compare_runs(output_dir: Path) -> Path | None:
    """Compare ``eval/before`` with ``eval/after``; write the comparison and return its JSON."""
    from envalign.training.eval.compare import compare, format_comparison
    from envalign.training.eval.results import load_result
    from envalign.training.eval.scorecard import write_scorecard

    folder = output_dir / "eval"
    if not (folder / BEFORE / "results.json").is_file() or not (folder / AFTER).is_dir():
        return None
    before, after = load_result(folder / BEFORE), load_result(folder / AFTER)
    comparison = compare(before, after)
    text = format_comparison(comparison)
    (folder / "comparison.txt").write_text(text)
    target = folder / "comparison.json"
    target.write_text(json.dumps(comparison.to_dict(), indent=1) + "\n")
    write_scorecard(
        after,
        folder / "comparison.html",
        episodes_page=f"{AFTER}/episodes.html",
        comparison=comparison.to_dict(),
    )
    print(text, file=sys.stderr)
    return target
