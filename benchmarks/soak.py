"""Soak: does anything grow without bound over a long run? (Not a timed test: a benchmark.)

Two long runs in one process, each sampled before, during and after:

* ``episodes``: PythonTests-v0 episodes with the scripted (oracle) policy through the runner
  (``envalign run``'s loop: 8 in flight, sandbox sessions from the environments' shared pool of
  Docker containers), in chunks of ``--chunk`` episodes so that the runner's own list of finished
  episodes does not count as growth;
* ``trainer``: GRPO steps of the tiny random model on Arithmetic-v0 (CPU), the trainer running in
  a thread while the main thread samples.

Each sample records resident memory (VmRSS), open file descriptors, threads of this process, and
this process's envalign sandbox containers on the engine. The report prints the first and last sample, the
peak, and the growth over the second half of the run (a leak keeps growing there; warm-up does
not), and writes every sample as JSON.

    python benchmarks/soak.py                                  # 10,000 episodes, 2,000 steps
    python benchmarks/soak.py --episodes 500 --steps 50        # a quick check
    python benchmarks/soak.py --only episodes --out runs/soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def sample(label: str, done: int) -> dict[str, Any]:
    """Resident memory, descriptors, threads and sandbox containers, now."""
    status = Path("/proc/self/status").read_text().splitlines()
    rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return {
        "phase": label,
        "done": done,
        "time_s": round(time.monotonic() - STARTED, 1),
        "rss_mb": round(rss_kb / 1024, 1),
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": len(os.listdir("/proc/self/task")),
        "containers": containers(),
    }


def containers() -> int:
    """This process's envalign sandbox containers (the engine is shared), -1 without one."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        try:
            labels = ["envalign.sandbox=1", f"envalign.owner_pid={os.getpid()}"]
            return len(client.containers.list(all=True, filters={"label": labels}))
        finally:
            client.close()
    except Exception:  # no engine: the count is unknown, not zero
        return -1


def soak_episodes(total: int, chunk: int) -> list[dict[str, Any]]:
    """PythonTests episodes through the runner, sampled after every chunk."""
    from envalign.training.rollout import simulate

    samples = [sample("episodes", 0)]
    done = failures = 0
    while done < total:
        count = min(chunk, total - done)
        result = simulate(
            "envalign/PythonTests-v0", "scripted", episodes=count, seed=done, histogram=False
        )
        failures += sum(1 for episode in result.episodes if not episode.success.get("agent"))
        done += count
        del result
        samples.append({**sample("episodes", done), "failed_so_far": failures})
        print(json.dumps(samples[-1]), flush=True)
    return samples


def soak_trainer(steps: int, every_s: float) -> list[dict[str, Any]]:
    """GRPO steps of the tiny model, sampled every ``every_s`` seconds."""
    from envalign.training.config import from_dict
    from envalign.training.trainer import train

    output = Path(tempfile.mkdtemp(prefix="envalign-soak-"))
    config = from_dict(
        {
            "env": {"id": "envalign/Arithmetic-v0", "kwargs": {"low": 1, "high": 9}},
            "model": {"name": "tiny-random", "device": "cpu"},
            "rollout": {"prompts_per_step": 2, "group_size": 4, "max_new_tokens": 3},
            "algorithm": {"name": "grpo"},
            "optim": {"lr": 1e-3, "micro_batch_size": 8},
            "run": {
                "steps": steps,
                "eval_every": steps,
                "eval_episodes": 8,
                "checkpoint_every": steps,
                "output_dir": str(output),
            },
        }
    )
    samples = [sample("trainer", 0)]
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = train(config)
        except BaseException as error:  # reported in the samples' file
            outcome["error"] = f"{type(error).__name__}: {error}"

    worker = threading.Thread(target=run, name="soak-trainer")
    worker.start()
    while worker.is_alive():
        worker.join(every_s)
        samples.append({**sample("trainer", _steps_done(output)), "elapsed_note": "running"})
        print(json.dumps(samples[-1]), flush=True)
    samples.append({**sample("trainer", _steps_done(output)), "error": outcome.get("error")})
    return samples


def _steps_done(output: Path) -> int:
    """Steps the trainer has logged so far (its metrics file), 0 before the first."""
    for name in ("metrics.jsonl", "logs/metrics.jsonl"):
        path = output / name
        if path.exists():
            with path.open() as handle:
                return sum(1 for line in handle if '"step"' in line)
    return -1


def report(name: str, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """First, last, peak, and growth over the second half of the samples."""
    first, last = samples[0], samples[-1]
    half = samples[len(samples) // 2]
    keys = ("rss_mb", "fds", "threads", "containers")
    summary = {
        "run": name,
        "samples": len(samples),
        "wall_s": last["time_s"] - first["time_s"],
        **{f"{key}_start": first[key] for key in keys},
        **{f"{key}_end": last[key] for key in keys},
        **{f"{key}_peak": max(s[key] for s in samples) for key in keys},
        **{f"{key}_second_half_growth": round(last[key] - half[key], 1) for key in keys},
    }
    print(json.dumps(summary), flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--steps", type=int, default=2_000)
    parser.add_argument("--sample-every-s", type=float, default=30.0)
    parser.add_argument("--only", choices=("episodes", "trainer"), default=None)
    parser.add_argument("--out", default="runs/soak.json")
    args = parser.parse_args()
    machine = f"{platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    print(f"soak on {machine}", flush=True)
    results: dict[str, Any] = {"machine": machine, "args": vars(args)}
    if args.only in (None, "episodes"):
        samples = soak_episodes(args.episodes, args.chunk)
        results["episodes"] = {"samples": samples, "summary": report("episodes", samples)}
    if args.only in (None, "trainer"):
        samples = soak_trainer(args.steps, args.sample_every_s)
        results["trainer"] = {"samples": samples, "summary": report("trainer", samples)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"samples written to {out}")


STARTED = time.monotonic()

if __name__ == "__main__":
    main()
