"""Hidden tests that run in the environment's process and reach the agent's function by a channel.

The test code (HumanEval's asserts, the generated tasks' asserts) is trusted dataset code: it runs
here, never in the sandbox, with ``candidate`` bound to a proxy. The agent's program runs alone in
the sandbox (:mod:`~envalign.envs.tools.call_channel`) and only ever receives arguments; the proxy
hands the tests the plain values that came back, so a "passed" can only come from returning the
right values. Nothing the program does (walking frames, searching the heap, writing to file
descriptor 1, exiting early) reaches the tests, their expected values or this report.

Calls are batched: a test is first run with placeholders (:class:`_Pending`, equal to anything) to
find the calls it makes, those calls run in one sandbox execution, and the test runs again with
the real values; a test whose later arguments depend on earlier results takes one more round per
step (at most :data:`MAX_ROUNDS`). A test counts only from a run in which every call had its real
answer. Tests that draw random numbers are re-seeded before each run, so every run makes the same
calls.
"""

from __future__ import annotations

import ast
import builtins
import functools
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

from envalign.envs.tools.call_channel import Answers, Outcome, call_key, call_request, read_answers
from envalign.envs.tools.code_tasks import CodeTask
from envalign.envs.tools.plain_values import NotPlain, loads_plain

MAX_ROUNDS = 6
MAX_CALLS_PER_ROUND = 5_000
LINE_BUDGET = 1_000_000  # lines of test code one run of one test may execute...
TEST_SECONDS = 5.0  # ...and seconds it may take here, on the environment's side
SHOWN_TEXT = 200
ASSERT_NAME = "__envalign_assert__"
_SEED_LOCK = threading.Lock()  # tests re-seed the global ``random``; one evaluation at a time


@dataclass
class TestResult:
    """How one hidden test went.

    Attributes:
        passed: Whether it passed.
        kind: For a failure: ``"wrong"`` (an assert rejected a value), ``"unusable"`` (the test
            could not use the returned value), ``"raised"``, ``"timeout"``, ``"not_plain"``,
            ``"budget"``, ``"missing"``, ``"unreadable"`` or ``"harness"``.
        call: The last call of the candidate before the failure, as ``candidate(...)`` text.
        returned: What that call returned (``repr``, cut), when it returned.
        error: The error text of a failed call (the agent's own exception, or a limit).
    """

    passed: bool
    kind: str = ""
    call: str = ""
    returned: str = ""
    error: str = ""

    def describe(self) -> str:
        """One line for the agent, without any expected value."""
        call = f"`{self.call}` " if self.call else ""
        if self.kind == "wrong":
            return f"{call}returned {self.returned}, which is not the expected value"
        if self.kind == "unusable":
            return f"{call}returned {self.returned}, which the test could not use ({self.error})"
        if self.kind == "raised":
            return f"{call}raised {self.error}"
        return f"{call}{self.error}".strip() or "failed"


@dataclass
class TestReport:
    """What one attempt established.

    Attributes:
        results: Per test, its :class:`TestResult`.
        program_error: Why the agent's program could not be tested at all, if so.
        rounds: Sandbox executions used.
        notes: Remarks on the run (a sandbox limit reached...).
    """

    results: list[TestResult]
    program_error: str = ""
    rounds: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> list[bool]:
        """Per test, whether it passed."""
        return [result.passed for result in self.results]

    @property
    def fraction(self) -> float:
        """Fraction of tests passed."""
        return sum(self.passed) / len(self.results) if self.results else 0.0


#: Runs one caller request in the sandbox: ``stdin -> (stdout, exit note)``; the note is ``""``
#: for a normal exit, else says which limit stopped the run.
Execute = Callable[[str], tuple[str, str]]


def run_tests(
    task: CodeTask,
    *,
    preamble: str,
    program: str,
    execute: Execute,
    call_timeout_s: float,
    program_timeout_s: float,
    budget_s: float,
) -> TestReport:
    """Run the hidden tests of ``task`` against the agent's program.

    Args:
        task: The task (its tests, helpers and setup run here, in this process).
        preamble: Code run before the program in the sandbox (the HumanEval prompt).
        program: The agent's program.
        execute: Runs the caller in the sandbox (see :data:`Execute`).
        call_timeout_s: Seconds each call of the function may take.
        program_timeout_s: Seconds the program's top level may take.
        budget_s: Seconds of calls per attempt, over all rounds.

    Returns:
        The :class:`TestReport`.
    """
    suite = _suite(task)
    cache: dict[str, Outcome] = {}
    results: list[TestResult | None] = [None] * len(task.tests)
    report = TestReport(results=[])
    deadline = time.monotonic() + budget_s
    while None in results and report.rounds < MAX_ROUNDS:
        needed: dict[str, None] = {}
        for index, result in enumerate(results):
            if result is None:
                results[index] = suite.evaluate(index, cache, needed)
        if not needed:
            break
        keys = list(needed)[:MAX_CALLS_PER_ROUND]
        remaining = deadline - time.monotonic()
        answers, note = _ask(
            keys,
            remaining,
            execute,
            preamble,
            program,
            suite.entry_point,
            call_timeout_s,
            program_timeout_s,
        )
        report.rounds += 1
        if note and note not in report.notes:
            report.notes.append(note)
        if answers.program_error:
            report.program_error = answers.program_error
            failed = TestResult(False, kind="program", error=answers.program_error)
            report.results = [failed] * len(task.tests)
            return report
        for position, key in enumerate(keys):
            cache[key] = answers.outcomes.get(position) or Outcome(
                error=f"no answer: the program stopped before this call returned{_why(note)}",
                kind="missing",
            )
    report.results = [
        result or TestResult(False, kind="harness", error="the test made too many rounds of calls")
        for result in results
    ]
    return report


def _ask(
    keys: list[str],
    remaining_s: float,
    execute: Execute,
    preamble: str,
    program: str,
    entry_point: str,
    call_timeout_s: float,
    program_timeout_s: float,
) -> tuple[Answers, str]:
    if remaining_s <= 0:
        spent = Outcome(error="not run: the time budget was spent", kind="budget")
        return Answers(outcomes=dict.fromkeys(range(len(keys)), spent), finished=True), ""
    stdin = call_request(
        keys,
        preamble=preamble,
        program=program,
        entry_point=entry_point,
        call_timeout_s=call_timeout_s,
        program_timeout_s=program_timeout_s,
        budget_s=remaining_s,
    )
    stdout, note = execute(stdin)
    answers = read_answers(stdout, len(keys))
    if not note and not answers.finished and not answers.program_error:
        note = "The program stopped before answering every call."
    return answers, note


def _why(note: str) -> str:
    return f" ({note.rstrip('.').lower()})" if note else ""


# ---------------------------------------------------------------------- the tests' side


class _Stop(BaseException):
    """Ends a run of a test: too many placeholder calls, or its line budget is spent."""


class _TooLong(Exception):
    """A test that ran past its line budget with real values (counted as a failure)."""


class CandidateError(Exception):
    """Raised into the test code when the agent's function failed (its own error, a limit)."""


class _Pending:
    """A return value not known yet: equal to anything and harmless in arithmetic.

    It lets a test run on to its next calls; a run that met one is never counted.
    """

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Any:
        return iter(())

    def __contains__(self, item: object) -> bool:
        return True

    def __float__(self) -> float:
        return 0.0

    def __int__(self) -> int:
        return 0

    def __index__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<pending>"

    def __getattr__(self, name: str) -> Any:
        return self

    def _same(self, *args: Any) -> _Pending:
        return self

    __call__ = __getitem__ = __neg__ = __pos__ = __abs__ = __round__ = _same
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _same
    __pow__ = __rpow__ = __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _same
    __lt__ = __le__ = __gt__ = __ge__ = _same


class _Run:
    """One run of one test: the proxy the test calls and what it learned."""

    def __init__(self, cache: dict[str, Outcome], needed: dict[str, None]) -> None:
        self.cache, self.needed = cache, needed
        self.pending = 0
        self.last_call = ""
        self.last_value = ""
        self.failure: Outcome | None = None

    def check(self, condition: Any, message: Any = None) -> None:
        """The tests' ``assert``: it fails only once every call had its real answer."""
        if not self.pending and not condition:
            raise AssertionError() if message is None else AssertionError(message)

    def candidate(self, *args: Any, **kwargs: Any) -> Any:
        try:
            key = call_key(args, kwargs)
        except NotPlain:
            if self.pending:
                raise _Stop() from None  # an argument built from a placeholder
            raise CandidateError("the test passed an argument that cannot be sent") from None
        self.last_call, self.last_value = _call_text(args, kwargs), ""
        outcome = self.cache.get(key)
        if outcome is None:
            self.pending += 1
            if len(self.needed) < MAX_CALLS_PER_ROUND:
                self.needed[key] = None
            if self.pending > MAX_CALLS_PER_ROUND:
                raise _Stop()
            return _Pending()
        if outcome.value_json is None:
            self.failure = outcome
            raise _exception(outcome)
        value = loads_plain(outcome.value_json)  # a fresh copy: tests may mutate what they get
        self.last_value = _cut(repr(value))
        return value


class _Suite:
    """A task's tests compiled once, and how to run one of them."""

    def __init__(self, task: CodeTask) -> None:
        self.task_id, self.entry_point = task.task_id, task.entry_point
        self.helpers = compile(task.preamble, "<prompt>", "exec")
        self.setup = _compile_test(task.test_setup)
        self.tests = [_compile_test(test) for test in task.tests]

    def evaluate(
        self, index: int, cache: dict[str, Outcome], needed: dict[str, None]
    ) -> TestResult | None:
        """Run test ``index``; ``None`` when it met calls without answers (listed in ``needed``)."""
        run = _Run(cache, needed)
        scope: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        error: BaseException | None = None
        with _SEED_LOCK:
            state = random.getstate()
            random.seed(f"{self.task_id}/{index}")
            try:
                with _LineBudget(LINE_BUDGET, TEST_SECONDS):
                    exec(self.helpers, scope)  # dataset code (HumanEval's own helpers)
                    scope[self.entry_point] = run.candidate
                    scope[ASSERT_NAME] = run.check
                    exec(self.setup, scope)
                    scope["candidate"] = run.candidate
                    exec(self.tests[index], scope)
            except _Stop:
                if not run.pending:
                    error = _TooLong("the test ran too long on your function's return values")
            except Exception as caught:  # the test's verdict, or its error
                error = caught
            finally:
                random.setstate(state)
        if run.pending:
            return None
        return _result(run, error)


class _AssertToCall(ast.NodeTransformer):
    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        arguments = [node.test] + ([node.msg] if node.msg is not None else [])
        call = ast.Call(ast.Name(ASSERT_NAME, ast.Load()), arguments, [])
        return ast.copy_location(ast.Expr(call), node)


def _compile_test(source: str) -> CodeType:
    """Compile test code with each ``assert`` turned into a call of :meth:`_Run.check`.

    So a run with placeholders goes past asserts it cannot judge yet and finds every call.
    """
    tree = ast.fix_missing_locations(_AssertToCall().visit(ast.parse(source)))
    return compile(tree, "<test>", "exec")


@functools.lru_cache(maxsize=64)
def _suite(task: CodeTask) -> _Suite:
    return _Suite(task)


def _result(run: _Run, error: BaseException | None) -> TestResult:
    if error is None:
        return TestResult(True)
    base = {"call": run.last_call, "returned": run.last_value}
    if run.failure is not None and isinstance(error, Exception) and _from_call(error):
        kind = run.failure.kind
        return TestResult(False, kind=kind, call=run.last_call, error=run.failure.error)
    if isinstance(error, AssertionError):
        return TestResult(False, kind="wrong", **base)
    if isinstance(error, CandidateError):
        return TestResult(False, kind="harness", call=run.last_call, error=str(error))
    if isinstance(error, _TooLong):
        return TestResult(False, kind="timeout", call=run.last_call, error=str(error))
    return TestResult(False, kind="unusable", error=type(error).__name__, **base)


def _from_call(error: BaseException) -> bool:
    return bool(getattr(error, "envalign_from_candidate", False))


def _exception(outcome: Outcome) -> Exception:
    """The exception the test sees for a failed call.

    The builtin class of the same name when the function raised one (so tests that expect
    ``ValueError`` work), else :class:`CandidateError`.
    """
    cls = getattr(builtins, outcome.exception, None) if outcome.kind == "raised" else None
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or cls is AssertionError:
        cls = CandidateError
    try:
        error = cls(outcome.error)
    except Exception:  # an exception class that needs other arguments
        error = CandidateError(outcome.error)
    error.envalign_from_candidate = True  # type: ignore[attr-defined]
    return error


def _call_text(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return _cut(f"candidate({', '.join(parts)})")


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_TEXT else text[: SHOWN_TEXT - 3] + "..."


class _LineBudget:
    """Stops test code (``<test>`` and ``<prompt>`` frames) past a line or time budget.

    After ``lines`` executed lines or ``seconds`` of time, whichever comes first (the clock is
    read every 1,024 lines).
    """

    def __init__(self, lines: int, seconds: float) -> None:
        self.left = lines
        self.deadline = time.monotonic() + seconds
        self.previous: Any = None

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.left -= 1
            if self.left < 0 or (self.left & 1023 == 0 and time.monotonic() > self.deadline):
                raise _Stop()
        return self._local

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        code: CodeType = frame.f_code
        return self._local if code.co_filename in ("<test>", "<prompt>") else None

    def __enter__(self) -> _LineBudget:
        self.previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc_info: object) -> None:
        sys.settrace(self.previous)
