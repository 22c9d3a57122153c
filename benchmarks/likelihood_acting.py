"""Likelihood acting with SmolLM2-135M: episodes/s and peak memory, before and after, same run.

For each environment it plays ``--episodes`` greedy episodes (temperature 0, 8 in flight) with the
``smollm2-135m-instruct`` preset in likelihood mode, once per variant, each in a fresh process:

* ``before``: ``agents/transformers_policy.py`` as it was at ``--before`` (default: the commit
  before the likelihood scorer), loaded in place of today's module; the rest of the tree is
  today's.
* ``after-full``: today's scorer with the whole conversation in every prompt (``history=None``),
  so prompts are the ones ``before`` saw: its greedy actions are compared with ``before``'s turn
  by turn, up to the first prompt ``before`` had to cut (2,048 tokens).
* ``after``: today's defaults (a bounded history window).

A run that passes ``--time-cap`` seconds stops at that turn (when no variant finished, ``x before``
compares turns per second); its episodes/s is then estimated as
turns/s divided by the turns per episode of the variant that finished (a capped ``before`` run saw
only early, short prompts, so the estimate favours it). Peak memory is the process's peak RSS
(model included). Needs the model: ``envalign models pull smollm2-135m-instruct``.

    python benchmarks/likelihood_acting.py --episodes 8 --time-cap 300
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ENVS = ("envalign/BabyAIText-GoToRedBall-v0", "envalign/Household-v0", "envalign/Negotiation-v0")
VARIANTS = ("before", "after-full", "after")
BEFORE = "9f79162^"
ROOT = Path(__file__).resolve().parents[1]


class TimeUp(Exception):
    """Raised by the timed policy once the run's time cap has passed."""


def worker(variant: str, env_id: str, episodes: int, cap: float, before: str, threads: int) -> dict:
    warnings.filterwarnings("ignore")
    if threads:
        import torch

        torch.set_num_threads(threads)
    if variant == "before":
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{before}:agents/transformers_policy.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        folder = Path(tempfile.mkdtemp(prefix="envalign-before-"))
        (folder / "transformers_policy.py").write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(
            "envalign.agents.transformers_policy", folder / "transformers_policy.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["envalign.agents.transformers_policy"] = module
        spec.loader.exec_module(module)
    from envalign.agents.base import SamplingParams
    from envalign.agents.registry import resolve_policy
    from envalign.training.rollout import Runner

    policy = resolve_policy("smollm2-135m-instruct", env_id)
    policy.action_selection = "likelihood"
    policy.sampling = SamplingParams(temperature=0)
    if variant == "after-full":
        policy.history = None
    seen: dict[int, str] = {}  # id of a live environment -> its episode's key, in start order
    actions: dict[str, list[tuple[str, int]]] = {}
    inner_act = policy.act
    started = time.monotonic()

    def timed_act(requests):
        if time.monotonic() - started > cap:
            raise TimeUp
        generations = inner_act(requests)
        for request, generation in zip(requests, generations, strict=True):
            episode = seen.setdefault(id(request.context.env), str(len(seen)))
            actions.setdefault(episode, []).append(
                (generation.text, len(generation.prompt_token_ids or []))
            )
        return generations

    policy.act = timed_act
    runner = Runner(env_id, policy, concurrency=min(8, episodes))
    finished = 0
    try:
        finished = len(runner.run(range(episodes)))
    except TimeUp:
        pass
    wall = time.monotonic() - started
    return {
        "variant": variant,
        "env": env_id,
        "episodes": finished,
        "capped": finished < episodes,
        "turns": sum(len(a) for a in actions.values()),
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "actions": actions,
    }


def run_variant(variant: str, env_id: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", variant, env_id]
    command += ["--episodes", str(args.episodes), "--time-cap", str(args.time_cap)]
    command += ["--before", args.before, "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)
    if done.returncode != 0:
        raise SystemExit(f"{variant} on {env_id} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_actions(before: dict, after: dict, cut: int = 2048) -> tuple[int, int]:
    """Turns whose greedy action agrees, up to the first divergence or cut prompt, and turns compared."""
    agree = compared = 0
    for seed, turns in before["actions"].items():
        other = after["actions"].get(seed, [])
        for (action, length), (other_action, _) in zip(turns, other, strict=False):
            if length >= cut:
                break
            compared += 1
            if action != other_action:
                break
            agree += 1
    return agree, compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--time-cap", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--before", default=BEFORE, help="git revision of the baseline policy")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--worker", nargs=2, metavar=("VARIANT", "ENV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        variant, env_id = args.worker
        result = worker(variant, env_id, args.episodes, args.time_cap, args.before, args.threads)
        print(json.dumps(result))
        return
    print(
        f"{'env':38} {'variant':10} {'eps':>4} {'turns':>6} {'wall s':>7} {'eps/s':>7} "
        f"{'turns/s':>7} {'peak RSS MB':>11} {'x before':>8}"
    )
    for env_id in args.envs:
        results = {v: run_variant(v, env_id, args) for v in args.variants}
        complete = [r for r in results.values() if not r["capped"] and r["episodes"]]
        per_episode = complete[0]["turns"] / complete[0]["episodes"] if complete else None
        rates: dict[str, float] = {}
        turn_rates: dict[str, float] = {}
        for variant, r in results.items():
            turns_per_s = r["turns"] / r["wall_s"] if r["wall_s"] else 0.0
            if not r["capped"]:
                rate = r["episodes"] / r["wall_s"]
            elif per_episode:
                rate = turns_per_s / per_episode
            else:
                rate = float("nan")
            rates[variant], turn_rates[variant] = rate, turns_per_s
            if rate == rate and rates.get("before"):
                ratio = rate / rates["before"]
            elif turn_rates.get("before"):  # no variant finished: compare turns per second
                ratio = turns_per_s / turn_rates["before"]
            else:
                ratio = float("nan")
            mark = "*" if r["capped"] else ""
            print(
                f"{env_id:38} {variant:10} {r['episodes']:>4} {r['turns']:>6} "
                f"{r['wall_s']:>7.1f} {rate:>6.3f}{mark:1} {turns_per_s:>7.2f} "
                f"{r['peak_rss_mb']:>11.0f} {ratio:>8.2f}"
            )
        if "before" in results and "after-full" in results:
            agree, compared = same_actions(results["before"], results["after-full"])
            print(
                f"  greedy actions before vs after-full (uncut prompts): {agree}/{compared} agree"
            )
    print(
        "* capped by --time-cap: episodes/s estimated from turns/s and the finished variant's "
        "turns per episode"
    )


if __name__ == "__main__":
    main()
