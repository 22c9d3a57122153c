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
starts. Printed per runner: episodes/s, env steps/s, the ratio against the local runner, and for
Ray the share of the wall time spent waiting for workers vs generating on the driver.

    python benchmarks/ray_scaling.py                          # every workload
    python benchmarks/ray_scaling.py --workloads babyai tiny --episodes 64
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
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


def measure(runner: Any, name: str, episodes: int, warmup: int) -> Measure:
    """Warm the runner up on ``warmup`` seeds, then time ``episodes`` fresh seeds."""
    runner.run(range(10_000, 10_000 + warmup))
    start = time.perf_counter()
    played = runner.run(range(episodes))
    seconds = time.perf_counter() - start
    result = Measure(name, len(played), sum(e.steps for e in played), seconds)
    timing = getattr(runner, "timing", None)
    if timing:
        result.wait_share = timing["worker_wait_s"] / seconds
        result.generate_share = timing["driver_generate_s"] / seconds
    return result


def workload(key: str, episodes: int, concurrency: int, warmup: int) -> list[Measure]:
    """Local, Ray x1 and Ray x2 on one workload."""
    from envalign.envs.tools.sessions import close_shared_pool
    from envalign.training.rollout import Runner
    from envalign.training.scale import RayRunner

    env_id, policy_name, env_kwargs = WORKLOADS[key]
    policy = policy_for(policy_name, env_id)
    options = {"env_kwargs": env_kwargs, "concurrency": concurrency}
    results = [measure(Runner(env_id, policy, **options), "local", episodes, warmup)]
    close_shared_pool()
    for workers in (1, 2):
        with RayRunner(env_id, policy, workers=workers, **options) as runner:
            runner.worker_pids()
            results.append(measure(runner, f"ray x{workers}", episodes, warmup))
    return results


def docker_up() -> bool:
    """Whether a Docker engine answers (PythonTests needs one)."""
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception:
        return False
    return True


def report(key: str, results: list[Measure]) -> None:
    """Print one workload's table with ratios against the local runner."""
    base = results[0]
    print(f"\n{key}: {WORKLOADS[key][0]} with {WORKLOADS[key][1]}")
    print("| runner | episodes/s | env steps/s | vs local | waiting on workers | generating |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        wait = "" if r.wait_share is None else f"{r.wait_share:.0%}"
        generate = "" if r.generate_share is None else f"{r.generate_share:.0%}"
        print(
            f"| {r.name} | {r.episodes_per_s:.1f} | {r.steps_per_s:.1f} | "
            f"{r.episodes_per_s / base.episodes_per_s:.2f}x | {wait} | {generate} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--episodes", type=int, default=96, help="timed episodes per runner")
    parser.add_argument("--concurrency", type=int, default=8, help="episodes in flight")
    parser.add_argument("--warmup", type=int, default=8, help="untimed episodes first")
    parser.add_argument("--cpus", type=int, default=3, help="CPUs of the local Ray cluster")
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or 'cpu'}"
        f" x{os.cpu_count()}, load {os.getloadavg()[0]:.1f}, Ray {ray.__version__}, "
        f"{args.episodes} episodes, concurrency {args.concurrency}"
    )
    for key in args.workloads:
        if key == "pythontests" and not docker_up():
            print("\npythontests: skipped (no Docker engine)")
            continue
        report(key, workload(key, args.episodes, args.concurrency, args.warmup))
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
