"""Batched runner vs a naive one-episode-at-a-time loop, same episodes, same model, one run.

Both sides play the same seeds of a multi-turn environment with the same TransformersPolicy
(greedy, so the two should take the same actions up to floating-point noise from padding):

* batched: ``Runner(concurrency=EPISODES)``: at every tick all pending turns of all episodes are
  generated in one left-padded batch;
* naive: one episode at a time and one request per ``act`` call (a ``OneAtATime`` wrapper around
  the same policy, ``Runner(concurrency=1)``), which is what a plain Python loop over
  ``env.step(policy(observation))`` does.

It prints episodes/s and generated tokens/s of both and their ratio.

    python benchmarks/runner_batching.py                    # 32 Ultimatum episodes, SmolLM2
    python benchmarks/runner_batching.py --model tiny-random --episodes 8   # a quick check
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from typing import Any

from envalign.agents.base import Generation, SamplingParams, TurnRequest
from envalign.agents.transformers_policy import TransformersPolicy
from envalign.training.rollout import Runner
from envalign.training.summary import summarize


class OneAtATime:
    """The naive baseline: the same policy, asked about one request per call."""

    def __init__(self, policy: TransformersPolicy) -> None:
        self.policy = policy
        self.name = policy.name

    def act(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        return [self.policy.act([request])[0] for request in requests]


def play(policy: Any, args: argparse.Namespace, concurrency: int) -> dict[str, Any]:
    runner = Runner(
        args.env,
        policy,
        env_kwargs=json.loads(args.env_kwargs),
        concurrency=concurrency,
        history=args.history,
    )
    started = time.perf_counter()
    episodes = runner.run(range(args.seed, args.seed + args.episodes))
    wall = time.perf_counter() - started
    summary = summarize(episodes, wall)
    return {
        "episodes": episodes,
        "wall_s": wall,
        "episodes_per_s": summary.episodes_per_s,
        "tokens": summary.tokens,
        "tokens_per_s": summary.tokens_per_s,
        "turns": sum(len(e.turns) for e in episodes),
        "returns": {a: round(s.mean_return, 4) for a, s in summary.agents.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="envalign/Ultimatum-v0")
    parser.add_argument("--env-kwargs", default="{}", help="JSON keyword arguments")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--history", type=int, default=0, help="earlier exchanges per prompt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--order", choices=["batched-first", "naive-first"], default="naive-first")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    load_started = time.perf_counter()
    policy = TransformersPolicy.from_pretrained(
        args.model,
        sampling=SamplingParams(temperature=0.0, max_new_tokens=args.max_new_tokens),
        max_batch_size=max(1, args.episodes * 4),
    )
    print(
        f"model {args.model} loaded in {time.perf_counter() - load_started:.1f}s on {policy.device}"
    )
    policy.generate([[{"role": "user", "content": "warm up"}]])  # first-call overheads

    sides = {"naive": (OneAtATime(policy), 1), "batched": (policy, args.episodes)}
    order = ["naive", "batched"] if args.order == "naive-first" else ["batched", "naive"]
    results = {}
    for side in order:
        wrapped, concurrency = sides[side]
        results[side] = play(wrapped, args, concurrency)
        r = results[side]
        print(
            f"{side:8s} {args.episodes} episodes, {r['turns']} turns, {r['tokens']} tokens in "
            f"{r['wall_s']:.1f}s: {r['episodes_per_s']:.3f} episodes/s, "
            f"{r['tokens_per_s']:.1f} tokens/s, mean returns {r['returns']}"
        )
    same = sum(
        a.action == b.action
        for x, y in zip(results["naive"]["episodes"], results["batched"]["episodes"], strict=True)
        for a, b in zip(x.turns, y.turns, strict=False)
    )
    ratio = results["batched"]["episodes_per_s"] / max(1e-12, results["naive"]["episodes_per_s"])
    print(f"identical actions: {same}/{results['naive']['turns']} turns (greedy; padding noise)")
    import torch

    threads = torch.get_num_threads()
    print(f"machine: {platform.machine()}, device {policy.device}, torch threads {threads}")
    print(f"speed-up batched/naive: {ratio:.2f}x episodes/s")


if __name__ == "__main__":
    main()
