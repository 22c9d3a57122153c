"""Rollout throughput: the local Runner against RayRunner with 1 and 2 env workers, in one run.

Workloads (each played with the same seeds by all three runners):

* ``household``: Household-v0 with its scripted policy (environment-bound, ~1 ms steps: the cost
  of a round trip to a worker is visible);
* ``babyai``: BabyAIText-GoToLocal-v0 with its scripted policy (environment-bound);
* ``pythontests``: PythonTests-v0 with its oracle, every submission run in a Docker sandbox from
  the worker's own pool (sandbox-bound; skipped without an engine);
* ``tiny``: Arithmetic-v0 with the ``tiny-random`` model generating on the driver (greedy,
  16 new tokens; generation-bound).

Ray and the actors are started (and each runner warmed up on a few seeds) before the clock
starts; the three runners then take turns ``--repeats`` times, so a change of load on a shared
machine hits all of them. Printed per runner: median episodes/s (min-max), env steps/s, the ratio
against the local runner, and for Ray the share of the wall time spent waiting for workers vs
generating on the driver.

    python benchmarks/ray_scaling.py                          # every workload
    python benchmarks/ray_scaling.py --workloads babyai tiny --episodes 64
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Any

WORKLOADS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "household": ("envalign/Household-v0", "scripted", {}),
    "babyai": ("envalign/BabyAIText-GoToLocal-v0", "scripted", {}),
    "pythontests": ("envalign/PythonTests-v0", "scripted", {}),
    "tiny": ("envalign/Arithmetic-v0", "tiny-random", {}),
}


@dataclass
class Measure:
    """One runner on one workload."""

    name: str
    episodes: int
    steps: int
    seconds: float
    wait_share: float | None = None
    generate_share: float | None = None

    @property
    def episodes_per_s(self) -> float:
        return self.episodes / self.seconds

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds


def policy_for(name: str, env_id: str) -> Any:
    """The workload's policy; the model generates greedily (same tokens on every runner)."""
    if name != "tiny-random":
        return name
    from envalign.agents.base import SamplingParams
    from envalign.agents.registry import resolve_policy

    policy = resolve_policy(name, env_id)
    policy.sampling = SamplingParams(temperature=0.0, max_new_tokens=16)
    return policy


def measure(runner: Any, name: str, episodes: int) -> Measure:
    """Time ``episodes`` seeds on a warm runner."""
    start = time.perf_counter()
    played = runner.run(range(episodes))
    seconds = time.perf_counter() - start
    result = Measure(name, len(played), sum(e.steps for e in played), seconds)
    timing = getattr(runner, "timing", None)
    if timing:
        result.wait_share = timing["worker_wait_s"] / seconds
        result.generate_share = timing["driver_generate_s"] / seconds
    return result


def workload(key: str, args: argparse.Namespace) -> list[list[Measure]]:
    """Local, Ray x1 and Ray x2 on one workload, ``repeats`` times interleaved (load drifts)."""
    from envalign.envs.tools.sessions import close_shared_pool
    from envalign.training.rollout import Runner
    from envalign.training.scale import RayRunner

    env_id, policy_name, env_kwargs = WORKLOADS[key]
    policy = policy_for(policy_name, env_id)
    options = {"env_kwargs": env_kwargs, "concurrency": args.concurrency}
    runners = {
        "local": Runner(env_id, policy, **options),
        "ray x1": RayRunner(env_id, policy, workers=1, **options),
        "ray x2": RayRunner(env_id, policy, workers=2, **options),
    }
    rows: dict[str, list[Measure]] = {name: [] for name in runners}
    try:
        for runner in runners.values():
            runner.run(range(10_000, 10_000 + args.warmup))  # actors, pools, caches warm
        for _ in range(args.repeats):
            for name, runner in runners.items():
                rows[name].append(measure(runner, name, args.episodes))
    finally:
        for runner in runners.values():
            if isinstance(runner, RayRunner):
                runner.close()
        close_shared_pool()
    return list(rows.values())


def docker_up() -> bool:
    """Whether a Docker engine answers (PythonTests needs one)."""
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception:
        return False
    return True


def report(key: str, rows: list[list[Measure]]) -> None:
    """Print one workload's table: medians over the repeats, ratios against the local runner."""
    base = statistics.median(m.episodes_per_s for m in rows[0])
    print(f"\n{key}: {WORKLOADS[key][0]} with {WORKLOADS[key][1]}")
    print(
        "| runner | episodes/s (median; min-max) | env steps/s | vs local "
        "| waiting on workers | generating on driver |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for measures in rows:
        rates = [m.episodes_per_s for m in measures]
        median = statistics.median(rates)
        steps = statistics.median(m.steps_per_s for m in measures)
        wait = _share([m.wait_share for m in measures])
        generate = _share([m.generate_share for m in measures])
        print(
            f"| {measures[0].name} | {median:.1f} ({min(rates):.1f}-{max(rates):.1f}) "
            f"| {steps:.1f} | {median / base:.2f}x | {wait} | {generate} |"
        )


def _share(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.0%}" if known else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--episodes", type=int, default=96, help="timed episodes per runner")
    parser.add_argument("--concurrency", type=int, default=8, help="episodes in flight")
    parser.add_argument("--warmup", type=int, default=8, help="untimed episodes first")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per runner")
    parser.add_argument(
        "--cpus", type=int, default=3, help="logical CPUs of the local Ray cluster (x1 + x2 live)"
    )
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or 'cpu'}"
        f" x{os.cpu_count()}, load {os.getloadavg()[0]:.1f}, Ray {ray.__version__}, "
        f"{args.episodes} episodes x {args.repeats} repeats, concurrency {args.concurrency}"
    )
    for key in args.workloads:
        if key == "pythontests" and not docker_up():
            print("\npythontests: skipped (no Docker engine)")
            continue
        report(key, workload(key, args))
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
