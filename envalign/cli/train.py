"""``envalign train CONFIG.yaml``: train a policy on environment rewards."""

from __future__ import annotations

import argparse
import os
from typing import Any


def add_commands(subparsers: Any) -> None:
    """Add ``train``."""
    train = subparsers.add_parser(
        "train",
        help="train a model on environment rewards (GRPO, RLOO, PPO, REINFORCE, DPO, ...)",
        description="Train as a YAML config says; rerunning the same command resumes from the "
        "newest checkpoint in run.output_dir. See examples/configs/ for configs. For several "
        "GPUs (or CPU processes) launch it with torchrun or accelerate launch, e.g. "
        "`torchrun --nproc_per_node 2 -m envalign train CONFIG.yaml` (docs/multi_gpu.md).",
    )
    train.add_argument("config", metavar="CONFIG.yaml", nargs="?", help="the training config")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config field, e.g. --set run.steps=10 --set optim.lr=1e-4 (repeatable)",
    )
    train.add_argument(
        "--fields", action="store_true", help="list every config field with its default and help"
    )
    train.set_defaults(handler=train_command)


def train_command(args: argparse.Namespace) -> int:
    """Load the config, train, and print where the results are."""
    from envalign.envs.errors import ConfigError
    from envalign.training.config import describe, load_config

    if args.fields:
        for name, default, text in describe():
            print(f"{name} = {default!r}\n    {text}")
        return 0
    if not args.config:
        raise ConfigError("envalign train needs a CONFIG.yaml (see examples/configs/).")
    config = load_config(args.config, args.set)
    from envalign.training.trainer import train

    result = train(config)
    if os.environ.get("RANK", "0") == "0":  # under torchrun / accelerate, rank 0 reports
        _print_result(result)
    return 0


def _print_result(result: Any) -> None:
    from rich.console import Console

    console = Console()
    evals = [row for row in result.metrics if "eval/reward" in row]
    if evals:
        first, last = evals[0], evals[-1]
        console.print(
            f"held-out reward {first['eval/reward']:.3f} (step {first['step']}) -> "
            f"{last['eval/reward']:.3f} (step {last['step']})"
        )
    console.print(f"{result.steps} steps · metrics {result.output_dir / 'metrics.jsonl'}")
    if result.reward_curve is not None:
        console.print(f"reward curve {result.reward_curve}")
    console.print(f"model {result.output_dir / 'final'}")
