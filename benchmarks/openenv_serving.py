"""OpenEnv serving: steps/s and step latency over loopback against the same env in-process.

The server is ``envalign serve`` in its own process (OpenEnv's server under uvicorn); the clients
are OpenEnv's async ``GenericEnvClient``, all in one event loop of this process, each session
playing episodes back to back (reset with a fresh seed, step until done). The baseline steps the
same environment in-process, one environment per session, in one thread. Each level runs for a
fixed time after a warm-up; a step's latency is from sending the action to reading the
observation. Client and server share the machine's cores, as they do on one box.

    python benchmarks/openenv_serving.py                              # Arithmetic, 1/64/256
    python benchmarks/openenv_serving.py --env envalign/Household-v0 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import envalign


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def choose(info: dict[str, Any]) -> str:
    """The benchmark's action: the first valid action, or a fixed answer."""
    actions = info.get("valid_actions") or []
    return actions[0] if actions else "0"


def in_process(env_id: str, sessions: int, seconds: float, warmup: float) -> dict[str, Any]:
    envs = [envalign.make(env_id) for _ in range(sessions)]
    infos = [env.reset(seed=i)[1] for i, env in enumerate(envs)]
    seeds = sessions
    latencies: list[float] = []
    steps = 0
    started = time.perf_counter()
    measuring = started + warmup
    while (now := time.perf_counter()) < measuring + seconds:
        for index, env in enumerate(envs):
            before = time.perf_counter()
            _, _, terminated, truncated, infos[index] = env.step(choose(infos[index]))
            if before >= measuring:
                latencies.append(time.perf_counter() - before)
                steps += 1
            if terminated or truncated:
                infos[index] = env.reset(seed=seeds)[1]
                seeds += 1
    for env in envs:
        env.close()
    return summary(steps, latencies, now - measuring)


async def over_loopback(url: str, sessions: int, seconds: float, warmup: float) -> dict[str, Any]:
    from openenv.core import GenericEnvClient

    clients = [GenericEnvClient(base_url=url, message_timeout_s=300) for _ in range(sessions)]
    await asyncio.gather(*(client.connect() for client in clients))
    latencies: list[float] = []
    counts = {"steps": 0, "resets": 0}
    started = time.perf_counter()
    measuring, stop = started + warmup, started + warmup + seconds
    next_seed = [sessions]

    async def play(index: int, client: Any) -> None:
        result = await client.reset(seed=index)
        while time.perf_counter() < stop:
            before = time.perf_counter()
            result = await client.step({"text": choose(result.observation["info"])})
            if before >= measuring:
                latencies.append(time.perf_counter() - before)
                counts["steps"] += 1
            if result.done:
                result = await client.reset(seed=next_seed[0])
                next_seed[0] += 1
                counts["resets"] += before >= measuring

    await asyncio.gather(*(play(i, c) for i, c in enumerate(clients)))
    wall = time.perf_counter() - measuring
    await asyncio.gather(*(client.close() for client in clients))
    result = summary(counts["steps"], latencies, wall)
    result["requests_per_s"] = (counts["steps"] + counts["resets"]) / wall
    result["wall_s"] = time.perf_counter() - started  # CPU is counted over the whole level
    return result


def summary(steps: int, latencies: list[float], wall: float) -> dict[str, Any]:
    return {
        "steps": steps,
        "steps_per_s": steps / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
    }


def start_server(env_id: str, sessions: int) -> tuple[subprocess.Popen[str], str]:
    command = [
        str(Path(sys.executable).with_name("envalign")),
        "serve",
        env_id,
        "--port",
        "0",
        "--max-sessions",
        str(sessions),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        found = re.search(r"at (ws://127\.0\.0\.1:\d+) ", line)
        if found:
            return server, found.group(1)
        if not line and server.poll() is not None:
            break
    server.kill()
    raise SystemExit("envalign serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="envalign/Arithmetic-v0", help="environment id")
    parser.add_argument("--sessions", default="1,64,256", help="concurrency levels")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    args = parser.parse_args()
    levels = [int(level) for level in args.sessions.split(",")]
    load = os.getloadavg()[0]
    print(f"{args.env} on {platform.node()}: {os.cpu_count()} CPUs, load average {load:.1f}")
    server, url = start_server(args.env, max(levels))
    try:
        rows = []
        for level in levels:
            local = in_process(args.env, level, args.seconds, args.warmup)
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            remote = asyncio.run(over_loopback(url, level, args.seconds, args.warmup))
            requests = remote["requests_per_s"] * remote["wall_s"]
            remote["server_ms_per_request"] = (
                1000 * (cpu_seconds(server.pid) - server_cpu) / requests
            )
            remote["client_ms_per_request"] = 1000 * (time.process_time() - client_cpu) / requests
            rows.append((level, local, remote))
            print(
                f"{level:>4} sessions | in-process {local['steps_per_s']:9.0f} steps/s "
                f"p50 {local['p50_ms']:.3f} ms p99 {local['p99_ms']:.3f} ms | loopback "
                f"{remote['steps_per_s']:7.0f} steps/s ({remote['requests_per_s']:.0f} req/s) "
                f"p50 {remote['p50_ms']:.2f} ms p99 {remote['p99_ms']:.2f} ms | "
                f"loopback/in-process {remote['steps_per_s'] / local['steps_per_s']:.4f}x | CPU per "
                f"request: server {remote['server_ms_per_request']:.2f} ms, clients "
                f"{remote['client_ms_per_request']:.2f} ms",
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(
        "\n| sessions | in-process steps/s (p50 / p99 ms) | loopback steps/s (p50 / p99 ms) "
        "| requests/s | ratio | CPU ms per request, server / clients |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for level, local, remote in rows:
        print(
            f"| {level} | {local['steps_per_s']:.0f} ({local['p50_ms']:.3f} / "
            f"{local['p99_ms']:.3f}) | {remote['steps_per_s']:.0f} ({remote['p50_ms']:.2f} / "
            f"{remote['p99_ms']:.2f}) | {remote['requests_per_s']:.0f} | "
            f"{remote['steps_per_s'] / local['steps_per_s']:.4f}x | "
            f"{remote['server_ms_per_request']:.2f} / {remote['client_ms_per_request']:.2f} |"
        )


if __name__ == "__main__":
    main()
