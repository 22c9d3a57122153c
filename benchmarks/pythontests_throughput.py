"""PythonTests-v0 throughput with the oracle on the 164 HumanEval tasks, and the sandbox's share.

One run measures, on the same tasks and the same test harness:

* sandboxed: ``PythonTestsEnv`` episodes (reset + one oracle submission: the agent's function runs
  alone in one Docker sandbox execution that answers every call of the hidden tests, which run in
  the environment's process), one warm session, tasks in order; the time inside ``Sandbox.run``
  is read from ``SANDBOX_CLOCK``;
* with the shared pool: the same episodes through ``Runner`` (``envalign run``'s loop, 8 episodes in
  flight, sessions from the environments' shared pool), container start-up included;
* baseline: the same tests and caller with the caller in a fresh host ``python`` subprocess per
  task instead of the sandbox, no isolation at all (what a naive evaluator does).

It prints episodes/s of each and the ratio sandboxed / baseline.

    python benchmarks/pythontests_throughput.py               # 164 tasks, 3 passes
    python benchmarks/pythontests_throughput.py --passes 1    # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time

from envalign.envs.core import ActContext
from envalign.envs.tools import sessions
from envalign.envs.tools.call_channel import caller_script
from envalign.envs.tools.code_tasks import humaneval_tasks
from envalign.envs.tools.python_tests import PythonTestsEnv, compose_program, scripted_policy
from envalign.envs.tools.sessions import SANDBOX_CLOCK
from envalign.envs.tools.test_harness import run_tests


def sandboxed(passes: int) -> dict[str, float]:
    from envalign.sandbox.docker import DockerSandbox

    tasks = humaneval_tasks()
    with DockerSandbox() as box:
        env = PythonTestsEnv(sandbox=box)
        env.reset(seed=0)
        env.step(scripted_policy(ActContext(env, "agent", None, {}, random.Random())))  # warm-up
        SANDBOX_CLOCK.reset()
        rewards = []
        start = time.perf_counter()
        for _ in range(passes):
            for task in tasks:
                env.reset(seed=0, options={"task_id": task.task_id})
                action = scripted_policy(ActContext(env, "agent", None, {}, random.Random()))
                rewards.append(env.step(action)[1])
        elapsed = time.perf_counter() - start
        env.close()
    return {
        "episodes": len(rewards),
        "seconds": elapsed,
        "episodes_per_s": len(rewards) / elapsed,
        "sandbox_share": SANDBOX_CLOCK.seconds / elapsed,
        "sandbox_ms_per_call": 1000 * SANDBOX_CLOCK.seconds / max(SANDBOX_CLOCK.calls, 1),
        "mean_reward": sum(rewards) / len(rewards),
    }


def with_runner(passes: int) -> dict[str, float]:
    from envalign.training.rollout import Runner

    sessions.close_shared_pool()
    SANDBOX_CLOCK.reset()
    tasks = humaneval_tasks()
    start = time.perf_counter()
    runner = Runner(
        "envalign/PythonTests-v0", "scripted", env_kwargs={"source": "humaneval"}, concurrency=8
    )
    episodes = runner.run(range(len(tasks) * passes))
    elapsed = time.perf_counter() - start
    sessions.close_shared_pool()
    return {
        "episodes": len(episodes),
        "seconds": elapsed,
        "episodes_per_s": len(episodes) / elapsed,
        "sandbox_share": SANDBOX_CLOCK.seconds / elapsed,
        "mean_reward": sum(e.returns["agent"] for e in episodes) / len(episodes),
    }


def baseline(passes: int) -> dict[str, float]:
    tasks = humaneval_tasks()
    scores = []
    start = time.perf_counter()
    for _ in range(passes):
        for task in tasks:
            preamble, program = compose_program(task, task.gold)
            report = run_tests(
                task,
                preamble=preamble,
                program=program,
                execute=_host_subprocess,
                call_timeout_s=2.0,
                program_timeout_s=2.0,
                budget_s=6.0,
            )
            scores.append(report.fraction)
    elapsed = time.perf_counter() - start
    return {
        "episodes": len(scores),
        "seconds": elapsed,
        "episodes_per_s": len(scores) / elapsed,
        "mean_reward": sum(scores) / len(scores),
    }


def _host_subprocess(stdin: str) -> tuple[str, str]:
    out = subprocess.run(
        [sys.executable, "-I", "-c", caller_script()], input=stdin, capture_output=True, text=True
    )
    return out.stdout, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=3, help="passes over the 164 tasks")
    args = parser.parse_args()
    results = {
        "sandboxed": sandboxed(args.passes),
        "runner_shared_pool": with_runner(args.passes),
        "baseline_host_subprocess": baseline(args.passes),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
    }
    results["ratio_sandboxed_vs_baseline"] = (
        results["sandboxed"]["episodes_per_s"]
        / results["baseline_host_subprocess"]["episodes_per_s"]
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
