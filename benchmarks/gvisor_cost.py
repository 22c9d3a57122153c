"""What gVisor costs: container start and run latency of ``runsc`` against the default runc.

For each runtime, ``--sessions`` sessions are started one after another; each does ``--runs`` runs
alternating ``print(6*7)`` (Python, forked by the warm server) and ``echo $((6*7))`` (bash, exec'd).
It prints the median start, the p50 and p90 of a run's wall time seen by the host, the ratios to
runc, and how many runs lost the sandbox. Needs the runtime registered with the engine
(``ENVALIGN_GVISOR=1 bash scripts/ensure-docker.sh``).

    python benchmarks/gvisor_cost.py                 # runc and runsc, 3 sessions x 20 runs
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from envalign.errors import SandboxError
from envalign.sandbox import DockerSandbox


def measure(runtime: str | None, sessions: int, runs: int) -> dict[str, float]:
    """Start ``sessions`` sessions under ``runtime`` and time ``runs`` runs in each."""
    starts, latencies, lost = [], [], 0
    for _ in range(sessions):
        started = time.perf_counter()
        box = DockerSandbox(runtime=runtime)
        starts.append(time.perf_counter() - started)
        for number in range(runs):
            python = number % 2 == 1
            started = time.perf_counter()
            try:
                box.run(
                    "print(6*7)" if python else "echo $((6*7))",
                    language="python" if python else "bash",
                )
                latencies.append(time.perf_counter() - started)
            except SandboxError:
                lost += 1
        box.close()
    latencies.sort()
    return {
        "start_s": statistics.median(starts),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p90_ms": 1000 * latencies[int(len(latencies) * 0.9)],
        "lost": lost,
        "runs": sessions * runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="runsc")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    base = measure(None, args.sessions, args.runs)
    other = measure(args.runtime, args.sessions, args.runs)
    for name, row in (("runc", base), (args.runtime, other)):
        print(
            f"{name:8} start {row['start_s']:.2f} s ({row['start_s'] / base['start_s']:.1f}x)  "
            f"run p50 {row['p50_ms']:.1f} ms ({row['p50_ms'] / base['p50_ms']:.1f}x)  "
            f"p90 {row['p90_ms']:.1f} ms ({row['p90_ms'] / base['p90_ms']:.1f}x)  "
            f"sandbox lost {row['lost']}/{row['runs']}"
        )


if __name__ == "__main__":
    main()
