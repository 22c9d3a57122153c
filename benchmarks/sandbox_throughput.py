"""Sandbox throughput: envalign against plain ``docker exec``, llm-sandbox and epicbox, same run.

The same N small snippets (``print(sum(range(i)))``, every output checked) go through:

* envalign sequentially (one warm session) and with concurrency (one session per worker);
* plain ``docker exec python3 -c`` in a warm container of the same image (Docker SDK);
* llm-sandbox and epicbox when importable by ``--bench-python`` (the ``bench`` extra; they pin
  old dependencies, so they may live in a separate virtual environment). They run in a worker
  subprocess of this script; a library that is missing is skipped with a line that says so.

Prints executions/s, p50/p95 latency and envalign's ratio to each. Usage::

    python benchmarks/sandbox_throughput.py --n 300 --concurrency 4 \\
        --bench-python /tmp/benchvenv/bin/python
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# llm-sandbox creates a virtual environment in the container and calls `python`.
BENCH_DOCKERFILE = """\
FROM {base}
USER root
RUN apt-get update && apt-get install -y --no-install-recommends python3-venv python3-pip python-is-python3 \\
    && rm -rf /var/lib/apt/lists/*
USER 1000:1000
"""


def snippet(number: int) -> tuple[str, str]:
    """Return the code of snippet ``number`` and its expected stdout."""
    return f"print(sum(range({number})))", f"{sum(range(number))}\n"


@dataclass
class Measure:
    """Latencies of one contender (seconds) and its wall time."""

    name: str
    latencies: list[float]
    wall_s: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall_s

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def line(self, reference: Measure | None) -> str:
        ratio = f"{reference.rate / self.rate:7.1f}x" if reference else "      -"
        return (
            f"{self.name:<34} {self.rate:9.1f} {self.percentile(0.5) * 1000:9.1f} "
            f"{self.percentile(0.95) * 1000:9.1f}   {ratio}"
        )


def timed(name: str, numbers: list[int], run_one: Callable[[int], str]) -> Measure:
    """Run every snippet through ``run_one`` sequentially, checking each output."""
    latencies = []
    started = time.perf_counter()
    for number in numbers:
        begin = time.perf_counter()
        output = run_one(number)
        latencies.append(time.perf_counter() - begin)
        expected = snippet(number)[1]
        if output != expected:
            raise AssertionError(f"{name}: snippet {number} gave {output!r}, not {expected!r}")
    return Measure(name, latencies, time.perf_counter() - started)


# ---------------------------------------------------------------- envalign


def envalign_sequential(numbers: list[int], image: str | None) -> Measure:
    from envalign.sandbox import DockerSandbox

    with DockerSandbox(image) as box:
        box.run("print(0)")  # warm-up
        return timed("envalign (sequential)", numbers, lambda n: box.run(snippet(n)[0]).stdout)


def envalign_concurrent(numbers: list[int], image: str | None, workers: int) -> Measure:
    from envalign.sandbox import SandboxPool

    with SandboxPool(size=workers, image=image) as pool:
        sessions = [pool.acquire() for _ in range(workers)]
        slices = [numbers[index::workers] for index in range(workers)]
        started = time.perf_counter()

        def work(index: int) -> list[float]:
            box = sessions[index]
            return timed("", slices[index], lambda n: box.run(snippet(n)[0]).stdout).latencies

        with ThreadPoolExecutor(workers) as executor:
            latencies = [t for part in executor.map(work, range(workers)) for t in part]
        wall = time.perf_counter() - started
        for box in sessions:
            pool.release(box)
    return Measure(f"envalign ({workers} sessions)", latencies, wall)


# ---------------------------------------------------------------- plain docker exec


def docker_exec(numbers: list[int], image: str) -> Measure:
    import docker

    client = docker.from_env()
    container = client.containers.run(
        image, ["sleep", "infinity"], detach=True, network_mode="none", labels={"bench": "1"}
    )
    try:

        def run_one(number: int) -> str:
            result = container.exec_run(["python3", "-c", snippet(number)[0]])
            return result.output.decode()

        run_one(0)
        return timed("docker exec python3 -c (warm)", numbers, run_one)
    finally:
        container.remove(force=True)


# ---------------------------------------------------------------- third-party (worker mode)


def worker_llm_sandbox(numbers: list[int], image: str) -> list[float]:
    from llm_sandbox import SandboxSession

    with SandboxSession(lang="python", image=image, keep_template=True, verbose=False) as box:
        box.run("print(0)")
        return timed("llm-sandbox", numbers, lambda n: box.run(snippet(n)[0]).stdout).latencies


def worker_epicbox(numbers: list[int], image: str) -> list[float]:
    import epicbox

    epicbox.configure(profiles=[epicbox.Profile("python", image, user="1000")])

    def run_one(number: int) -> str:
        files = [{"name": "main.py", "content": snippet(number)[0].encode()}]
        result = epicbox.run("python", "python3 main.py", files=files, limits={"cputime": 5})
        return result["stdout"].decode()

    run_one(0)
    return timed("epicbox", numbers, run_one).latencies


WORKERS = {"llm-sandbox": worker_llm_sandbox, "epicbox": worker_epicbox}
MODULES = {"llm-sandbox": "llm_sandbox", "epicbox": "epicbox"}


def third_party(name: str, numbers: list[int], image: str, python: str) -> Measure | str:
    """Measure ``name`` in a worker subprocess; return a skip reason when it cannot run."""
    probe = subprocess.run([python, "-c", f"import {MODULES[name]}"], capture_output=True)
    if probe.returncode != 0:
        return (
            f"{name}: skipped, not importable by {python} "
            '(pip install "envalign[bench]" into it, or pass --bench-python)'
        )
    command = [python, __file__, "--worker", name, "--image", image, "--n", str(len(numbers))]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return f"{name}: failed: {done.stderr.strip()[-400:]}"
    latencies = json.loads(done.stdout.strip().splitlines()[-1])
    # The worker's wall time includes its start-up; the rate uses the sum of latencies instead.
    del started
    return Measure(name, latencies, sum(latencies))


def bench_image(base: str) -> str | None:
    """Build (once) the base image plus python3-venv for llm-sandbox; None if impossible."""
    import docker

    client = docker.from_env()
    tag = base.replace("envalign-sandbox:", "envalign-sandbox-bench:")
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    try:
        dockerfile = io.BytesIO(BENCH_DOCKERFILE.format(base=base).encode())
        client.images.build(fileobj=dockerfile, tag=tag, rm=True)
    except docker.errors.DockerException as error:
        print(f"cannot build {tag} for llm-sandbox ({error}); using {base}")
        return None
    return tag


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="snippets per contender")
    parser.add_argument("--concurrency", type=int, default=4, help="sessions for the parallel run")
    parser.add_argument("--image", default=None, help="sandbox image (default: envalign's)")
    parser.add_argument("--bench-python", default=sys.executable, help="python with the extra")
    parser.add_argument("--third-party-n", type=int, default=60, help="snippets for slow tools")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        latencies = WORKERS[args.worker](list(range(args.n)), args.image)
        print(json.dumps(latencies))
        return
    from envalign.sandbox.image import build_image

    image = build_image(args.image, quiet=True)
    numbers = list(range(args.n))
    few = list(range(args.third_party_n))
    print(
        f"sandbox throughput, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.node()} ({platform.machine()}, {_cpus()} CPUs), image {image}"
    )
    print(f"N={args.n} (third-party tools: N={args.third_party_n}), every output checked\n")
    envalign = envalign_sequential(numbers, image)
    results: list[Measure] = [envalign, envalign_concurrent(numbers, image, args.concurrency)]
    results.append(docker_exec(numbers, image))
    skipped = []
    for name in WORKERS:
        target = (bench_image(image) or image) if name == "llm-sandbox" else image
        outcome = third_party(name, few, target, args.bench_python)
        (results.append if isinstance(outcome, Measure) else skipped.append)(outcome)
    header = f"{'contender':<34} {'exec/s':>9} {'p50 ms':>9} {'p95 ms':>9}   envalign seq/it"
    print(header)
    print("-" * len(header))
    for measure in results:
        print(measure.line(None if measure is envalign else envalign))
    concurrent = results[1]
    print(
        f"\nenvalign ({args.concurrency} sessions) / each: "
        + ", ".join(f"{m.name.split(' (')[0]} {concurrent.rate / m.rate:.1f}x" for m in results[2:])
    )
    for line in skipped:
        print(line)
    print(
        f"\nmedian envalign sequential latency {statistics.median(envalign.latencies) * 1000:.1f} ms"
    )


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
