"""``envalign eval``: score a policy on a pinned suite, compare two runs, refresh the baselines.

``envalign eval POLICY [--suite core-v1] [--tier quick|full] [--only ENTRY ...] [--out DIR]``
``envalign eval compare A B``      (A and B are ``--out`` folders or ``results.json`` files)
``envalign eval baselines --suite core-v1 [--write]``
``envalign eval suites``           (the shipped suites and their entries)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from envalign.cli.run import positive_int
from envalign.envs.errors import ConfigError

ACTIONS = ("compare", "baselines", "suites")


def add_commands(subparsers: Any) -> None:
    """Add ``eval``."""
    parser = subparsers.add_parser(
        "eval",
        help="score a policy on a pinned evaluation suite; compare two runs",
        description="envalign eval POLICY: play every entry of a suite (pinned held-out seeds, "
        "fixed partners) with POLICY in the evaluated seat and write results.json, "
        "episodes.jsonl, episodes.html and scorecard.html. envalign eval compare A B: pair two "
        "results episode by episode and say per entry whether B is better, worse or not "
        "separable. envalign eval baselines: measure the random and scripted baselines (the 0 "
        "and 100 of normalised scores). envalign eval suites: list the shipped suites.",
    )
    parser.add_argument(
        "target",
        nargs="+",
        metavar="POLICY | compare A B | baselines | suites",
        help="a policy (what envalign run accepts: smollm2-135m-instruct, hf:PATH, a run folder "
        "of envalign train, langchain:MODULE:ATTR, random, scripted) or an action",
    )
    parser.add_argument("--suite", default="core-v1", help="suite name or file (default core-v1)")
    parser.add_argument(
        "--tier", choices=["quick", "full"], default="quick", help="seeds per entry (default quick)"
    )
    parser.add_argument(
        "--only", nargs="+", default=[], metavar="ENTRY", help="run only these entries"
    )
    parser.add_argument("--out", metavar="DIR", help="the run's folder (default runs/eval-...)")
    parser.add_argument(
        "--concurrency", type=positive_int, default=512, help="episodes in flight (default 512)"
    )
    parser.add_argument(
        "--action-selection",
        choices=["generate", "likelihood"],
        help="LLM policies: pick valid_actions by log-likelihood instead of generating",
    )
    parser.add_argument(
        "--normalisation", choices=["sum", "token", "word"], help="likelihood score normalisation"
    )
    parser.add_argument(
        "--dtype",
        choices=["auto", "bfloat16", "float32"],
        default="auto",
        help="transformers models: auto is bfloat16 on CUDA and on CPUs that compute it natively "
        "(AVX512-BF16, AMX), else float32",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    compare = parser.add_argument_group("compare")
    compare.add_argument("--alpha", type=float, default=0.05, help="family-wise error (0.05)")
    compare.add_argument(
        "--effect",
        type=float,
        default=10.0,
        help="effect in normalised points for the episodes-needed estimate (default 10)",
    )
    compare.add_argument("--json", metavar="FILE", help="also write the comparison as JSON")
    compare.add_argument("--html", metavar="FILE", help="also write a scorecard with it")
    parser.add_argument(
        "--write", action="store_true", help="baselines: write the suite's baselines file"
    )
    parser.set_defaults(handler=eval_command)


def eval_command(args: argparse.Namespace) -> int:
    """Dispatch on the first word of the target."""
    first, rest = args.target[0], args.target[1:]
    if first == "compare":
        if len(rest) != 2:
            raise ConfigError("Write `envalign eval compare A B` with two result folders or files.")
        return compare_command(args, *rest)
    if first in ("baselines", "suites"):
        if rest:
            raise ConfigError(f"`envalign eval {first}` takes no other words, got {rest}.")
        return baselines_command(args) if first == "baselines" else suites_command()
    if rest:
        raise ConfigError(f"Evaluate one policy at a time; got {args.target}.")
    return run_command(args, first)


def run_command(args: argparse.Namespace, policy: str) -> int:
    """Evaluate ``policy`` and print the table."""
    from envalign.training.eval.evaluate import evaluate
    from envalign.training.eval.table import format_result

    out = Path(args.out) if args.out else _default_out(policy, args.suite, args.tier)
    from envalign.training.eval.runner import eval_dtype

    options = {
        name: value
        for name, value in (
            ("action_selection", args.action_selection),
            ("normalisation", args.normalisation),
        )
        if value is not None
    }
    options["dtype"] = eval_dtype(args.dtype)  # recorded in results.json's settings
    progress = None if args.quiet else _Progress(_episodes(args.suite, args.tier, args.only))
    try:
        result = evaluate(
            policy,
            args.suite,
            tier=args.tier,
            only=args.only,
            out=out,
            concurrency=args.concurrency,
            on_episode=progress.advance if progress else None,
            policy_options=options,
        )
    finally:
        if progress is not None:
            progress.stop()
    print(format_result(result))
    print(f"results {out / 'results.json'} · episodes {out / 'episodes.jsonl'}")
    print(f"scorecard {out / 'scorecard.html'} · {result.wall_time_s:.0f} s")
    return 0


def _default_out(policy: str, suite: str, tier: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in policy).strip("-.")[:60]
    return Path("runs") / f"eval-{Path(suite).stem}-{tier}-{safe or 'policy'}"


def _episodes(suite_name: str, tier: str, only: list[str]) -> int:
    """How many episodes the run plays (resumed ones included)."""
    from envalign.training.eval.suite import load_suite

    suite = load_suite(suite_name)
    return sum(
        len(entry.seeds(tier, suite.tiers)) * len(entry.panel) for entry in suite.select(only)
    )


class _Progress:
    """A progress bar with an ETA over the episodes of the run, started on the first episode."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: Any = None
        self.count = 0
        self.failed = 0

    def advance(self, played: Any) -> None:
        self.count += 1
        self.failed += played.episode is None
        if self.bar is None:
            print(f"envalign eval: episodes finish below ({played.entry} first)", file=sys.stderr)
            from envalign.training.summary import progress_bar

            self.bar = progress_bar("episodes")
            self.task = self.bar.add_task("eval", total=self.total, stats="")
            self.bar.start()
        self.bar.update(self.task, advance=1, stats=f"{played.entry} · failed {self.failed}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def compare_command(args: argparse.Namespace, first: str, second: str) -> int:
    """Compare two results and print the verdicts."""
    import json

    from envalign.training.eval.compare import compare, format_comparison
    from envalign.training.eval.results import load_result

    a, b = load_result(first), load_result(second)
    comparison = compare(a, b, alpha=args.alpha, effect=args.effect)
    print(format_comparison(comparison))
    if args.json:
        Path(args.json).write_text(json.dumps(comparison.to_dict(), indent=1) + "\n")
    if args.html:
        from envalign.training.eval.scorecard import write_scorecard

        write_scorecard(b, Path(args.html), comparison=comparison.to_dict())
        print(f"scorecard {args.html}")
    return 0


def baselines_command(args: argparse.Namespace) -> int:
    """Measure (and with ``--write`` store) the random and scripted baselines."""
    from envalign.training.eval import baselines
    from envalign.training.eval.suite import load_suite

    suite = load_suite(args.suite)
    if args.write:
        path = baselines.refresh(suite, ["quick", "full"])
        print(f"wrote {path}")
        return 0
    entries = suite.select(args.only)
    for entry_id, means in baselines.measure(suite, args.tier, entries).items():
        values = " ".join(f"{name} {value:.4f}" for name, value in sorted(means.items()))
        print(f"{entry_id:>22}  {values}")
    return 0


def suites_command() -> int:
    """List the shipped suites and their entries."""
    from envalign.training.eval.suite import available_suites, load_suite

    for name in available_suites():
        suite = load_suite(name)
        tiers = ", ".join(f"{tier} {n} seeds" for tier, n in suite.tiers.items())
        print(f"{suite.name} v{suite.version}: {len(suite.entries)} entries ({tiers})")
        for entry in suite.entries:
            partners = ", ".join(entry.partners) or "-"
            print(f"  {entry.id:<22} {entry.env:<36} seat {entry.seat:<10} partners {partners}")
    return 0
