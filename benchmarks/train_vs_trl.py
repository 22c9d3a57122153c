"""GRPO on Arithmetic-v0: envalign's trainer against TRL's ``GRPOTrainer``, side by side in one run.

The yardstick of issue 8: SmolLM2-135M-Instruct, single-digit operands, 8 prompts x 8 samples per
step, at most 32 new tokens, bf16, learning rate 2e-5, no KL, 60 steps (3,840 completions). Both
trainers see the same model, the same reward (the environment's, through
``envalign.training.trl.reward_function`` for TRL) and the same hyper-parameters; the script prints
the mean training reward at steps 10/20/30/60, completions per second, and the ratio.

Run on a GPU machine (the model must be cached first: ``envalign models pull smollm2-135m-instruct``,
or pass ``--model PATH`` to a transformers folder)::

    python benchmarks/train_vs_trl.py --out benchmarks/train_vs_trl.json

Smoke run on CPU (tiny random model, 3 steps each, proves the script works end to end)::

    python benchmarks/train_vs_trl.py --smoke
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ENV_ID = "envalign/Arithmetic-v0"
REPORT_STEPS = (10, 20, 30, 60)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-instruct", help="model preset or folder")
    parser.add_argument("--steps", type=int, default=60, help="training steps for each trainer")
    parser.add_argument("--prompts", type=int, default=8, help="prompts per step")
    parser.add_argument("--generations", type=int, default=8, help="samples per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="cap on completion length")
    parser.add_argument("--lr", type=float, default=2e-5, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of both runs")
    parser.add_argument("--low", type=int, default=0, help="smallest operand")
    parser.add_argument("--high", type=int, default=9, help="largest operand")
    parser.add_argument("--only", choices=("envalign", "trl"), help="run one trainer only")
    parser.add_argument("--smoke", action="store_true", help="tiny random model on CPU, 3 steps")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.model, args.steps, args.prompts, args.generations, args.max_new_tokens = (
            "tiny-random",
            3,
            2,
            4,
            4,
        )
        args.lr = 1e-3
    return args


def env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Operands in ``[low, high]`` (single digits by default), addition."""
    return {"low": args.low, "high": args.high, "operations": "+"}


def run_envalign(args: argparse.Namespace, output_dir: Path) -> dict[str, Any]:
    """Train with envalign's GRPO and return rewards per step and throughput."""
    from envalign.training.config import from_dict
    from envalign.training.trainer import Trainer

    batch = args.prompts * args.generations
    config = from_dict(
        {
            "env": {"id": ENV_ID, "kwargs": env_kwargs(args)},
            "model": {
                "name": args.model,
                "dtype": "auto",
                "device": "cpu" if args.smoke else "auto",
            },
            "rollout": {
                "prompts_per_step": args.prompts,
                "group_size": args.generations,
                "max_new_tokens": args.max_new_tokens,
                "temperature": 1.0,
                "max_batch_size": batch,
            },
            "algorithm": {"name": "grpo", "kl_coef": 0.0, "loss_normalization": "token"},
            "optim": {"lr": args.lr, "micro_batch_size": batch, "max_grad_norm": 1.0},
            "run": {
                "steps": args.steps,
                "seed": args.seed,
                "output_dir": str(output_dir),
                "eval_every": 0,
                "checkpoint_every": 0,
                "resume": False,
                "progress": False,
                "tensorboard": False,
            },
        }
    )
    trainer = Trainer(config)
    rows = []
    _synchronize()
    started = time.perf_counter()
    while trainer.state.step < args.steps:
        rows.append(trainer.train_step())
    _synchronize()
    elapsed = time.perf_counter() - started
    rewards = [row["train/reward"] for row in rows]
    return _result("envalign", rewards, args.steps * batch, elapsed)


def run_trl(args: argparse.Namespace, output_dir: Path) -> dict[str, Any]:
    """Train with TRL's GRPOTrainer on the same setup and return rewards per step and throughput."""
    import torch
    import trl
    from trl import GRPOConfig, GRPOTrainer

    from envalign.agents.models import load_model
    from envalign.training.trl import dataset, reward_function

    model, tokenizer = load_model(args.model, seed=0)
    cuda = torch.cuda.is_available() and not args.smoke
    batch = args.prompts * args.generations
    config = GRPOConfig(
        output_dir=str(output_dir),
        max_steps=args.steps,
        per_device_train_batch_size=batch,
        num_generations=args.generations,
        max_completion_length=args.max_new_tokens,
        learning_rate=args.lr,
        beta=0.0,
        temperature=1.0,
        bf16=cuda,
        use_cpu=not cuda,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=args.seed,
        lr_scheduler_type="constant",
        warmup_steps=0,
        max_grad_norm=1.0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_function(ENV_ID, **env_kwargs(args)),
        args=config,
        train_dataset=dataset(
            ENV_ID, args.steps * args.prompts, seed=args.seed, **env_kwargs(args)
        ),
        processing_class=tokenizer,
    )
    _synchronize()
    started = time.perf_counter()
    trainer.train()
    _synchronize()
    elapsed = time.perf_counter() - started
    rewards = [row["reward"] for row in trainer.state.log_history if "reward" in row]
    result = _result("trl", rewards, args.steps * batch, elapsed)
    result["version"] = trl.__version__
    return result


def _synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _result(name: str, rewards: list[float], completions: int, elapsed: float) -> dict[str, Any]:
    per_step = completions / max(len(rewards), 1)
    reached = next((i + 1 for i, r in enumerate(_smoothed(rewards)) if r >= 0.9), None)
    return {
        "trainer": name,
        "rewards": rewards,
        "reward_at": {s: rewards[s - 1] for s in report_steps(len(rewards)) if s <= len(rewards)},
        "completions": completions,
        "seconds": elapsed,
        "completions_per_s": completions / elapsed,
        "completions_to_0.9": int(reached * per_step) if reached else None,
    }


def report_steps(steps: int) -> list[int]:
    """Steps 10/20/30/60 and the last one."""
    return sorted({s for s in REPORT_STEPS if s <= steps} | {steps})


def _smoothed(rewards: list[float], window: int = 3) -> list[float]:
    """Mean of the last ``window`` steps (one step of 64 samples is noisy)."""
    return [
        sum(rewards[max(0, i - window + 1) : i + 1]) / min(window, i + 1)
        for i in range(len(rewards))
    ]


def machine() -> str:
    """The machine, in words."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"CPU ({platform.processor() or platform.machine()}), torch {torch.__version__}"


def report(results: list[dict[str, Any]]) -> None:
    """Print the side-by-side table and the ratio."""
    print(f"\nGRPO on {ENV_ID}, {machine()}")
    steps = report_steps(max(len(r["rewards"]) for r in results))
    header = "trainer    " + "".join(f"  step {s:>3}" for s in steps) + "  completions/s  to 0.9"
    print(header)
    for result in results:
        cells = "".join(
            f"  {result['reward_at'][s]:8.3f}" if s in result["reward_at"] else "         -"
            for s in steps
        )
        to_target = result["completions_to_0.9"] or "-"
        print(f"{result['trainer']:<10} {cells}  {result['completions_per_s']:13.1f}  {to_target}")
    by_name = {r["trainer"]: r for r in results}
    if {"envalign", "trl"} <= set(by_name):
        ratio = by_name["envalign"]["completions_per_s"] / by_name["trl"]["completions_per_s"]
        print(f"envalign / TRL completions per second: {ratio:.2f}x")


def main(argv: list[str] | None = None) -> int:
    """Run both trainers and print the comparison."""
    args = parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        if args.only in (None, "envalign"):
            results.append(run_envalign(args, Path(scratch) / "envalign"))
        if args.only in (None, "trl"):
            results.append(run_trl(args, Path(scratch) / "trl"))
    report(results)
    if args.out is not None:
        payload = {
            "machine": machine(),
            "args": {k: str(v) for k, v in vars(args).items()},
            "results": results,
        }
        args.out.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
