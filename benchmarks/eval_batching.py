"""Cross-environment batching in ``envalign eval``: all entries at once vs one entry after another.

Both runs play the same suite entries on the same seeds with the same greedy model; the batched run
puts every environment's pending turns in one generation call per tick. Prints both wall times,
the ratio, and whether the two runs chose the same actions.

    python benchmarks/eval_batching.py                         # SmolLM2-135M, quick tier, 6 entries
    python benchmarks/eval_batching.py --model tiny-random --only arithmetic negotiation
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from envalign.agents.registry import resolve_policy
from envalign.training.episodes import read_episodes
from envalign.training.eval.evaluate import evaluate
from envalign.training.eval.suite import load_suite

DEFAULT_ONLY = [
    "arithmetic",
    "ultimatum-proposer",
    "negotiation",
    "deliberation",
    "social-sandbox",
    "babyai-gotolocal",
]


def actions(folder: Path) -> list[tuple[str, int, list[str]]]:
    """Every episode's actions, in file order."""
    return [
        (e.env_id, e.seed, [t.action for t in e.turns])
        for e in read_episodes(folder / "episodes.jsonl")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--only", nargs="+", default=DEFAULT_ONLY)
    parser.add_argument("--tier", default="quick")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    args = parser.parse_args()
    suite = load_suite("core-v1")
    if args.max_new_tokens:
        acting = suite.acting.model_copy(update={"max_new_tokens": args.max_new_tokens})
        suite = suite.model_copy(update={"acting": acting})
    policy = resolve_policy(args.model, "envalign/Arithmetic-v0")
    timings, folders = {}, {}
    root = Path(tempfile.mkdtemp(prefix="eval-batching-"))
    for mode in ("sequential", "batched"):
        folders[mode] = root / mode
        started = time.monotonic()
        evaluate(
            policy,
            suite,
            tier=args.tier,
            only=args.only,
            out=folders[mode],
            sequential=mode == "sequential",
            scorecard=False,
        )
        timings[mode] = time.monotonic() - started
    first, second = actions(folders["sequential"]), actions(folders["batched"])
    same = sum(a == b for a, b in zip(first, second, strict=True))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"model {args.model}, entries {', '.join(args.only)}, tier {args.tier}")
    print(f"episodes: {len(first)}; identical actions in {same}/{len(first)} episodes")
    print(f"one entry after another: {timings['sequential']:.1f} s")
    print(f"all entries in one batch: {timings['batched']:.1f} s")
    print(f"speed-up: {timings['sequential'] / timings['batched']:.2f}x")


if __name__ == "__main__":
    main()
