"""`make demo`: a tour of what envalign can do, on embedded defaults.

Each section runs one capability through the public API or the CLI; sections that need something
this machine lacks (a Docker engine, the train extra) say so and are skipped.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "demo"
console = Console()


def envalign(*args: str) -> None:
    """Run the CLI as a user would."""
    command = [str(Path(sys.executable).with_name("envalign")), *args]
    console.print(f"[bold cyan]$ envalign {' '.join(args)}")
    subprocess.run(command, check=True)


def section(title: str) -> None:
    console.print(Rule(f"[bold]{title}"))


def catalog() -> None:
    section("The catalog: every registered environment, plugins included")
    envalign("list")


def simulations() -> None:
    section("Simulations with built-in policies, written as JSON Lines")
    envalign(
        "run",
        "envalign/Ultimatum-v0",
        "--policy",
        "random",
        "--episodes",
        "100",
        "--out",
        str(RUNS / "ultimatum-random.jsonl"),
        "--quiet",
    )
    envalign(
        "run",
        "envalign/Ultimatum-v0",
        "--policy",
        "proposer=greedy",
        "--policy",
        "responder=fair",
        "--episodes",
        "20",
        "--quiet",
    )
    envalign("run", "envalign/Arithmetic-v0", "--policy", "scripted", "--episodes", "50", "--quiet")


def python_api() -> None:
    section("The Python API: envalign.make and a step by hand")
    import envalign

    env = envalign.make("envalign/Arithmetic-v0", low=10, high=99)
    observation, _ = env.reset(seed=3)
    console.print(f"observation: {observation!r}")
    _, reward, _, _, info = env.step("Maybe 42?")
    console.print(
        f"reward {reward}, components {info['reward_components']}, feedback {info['feedback']!r}"
    )


SECTIONS = [catalog, simulations, python_api]


def main() -> int:
    RUNS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for run_section in SECTIONS:
        run_section()
    console.print(Rule())
    console.print(f"demo finished in {time.monotonic() - started:.1f}s; episodes in {RUNS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
