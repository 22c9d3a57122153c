"""The program that runs hidden tests inside the sandbox, and the reader of its report.

:data:`HARNESS` is sent to the sandbox as the script to run; the task and the agent's code travel on
standard input as JSON. The harness runs the agent's program once, then each test separately with its
own timer (the function's results must be plain data, so an object that equals everything fails),
and writes one JSON line per result to the original standard output, prefixed with a nonce
drawn for this run. The agent's own prints go to a buffer, so ordinary output cannot be mistaken for
results. (Code that goes out of its way to forge results in-process could; the sandbox contains what
it can do, and the reward is only ever the report of this run.)
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

HARNESS = r"""
import builtins, contextlib, io, json, os, signal, sys, time, traceback

payload = json.loads(sys.stdin.read())
out = os.fdopen(os.dup(1), "w")
nonce = payload.pop("nonce")
# Bound before the agent's code runs, so that patching builtins or modules cannot change them.
_exec, _compile, _type, _all, _dict, _str = exec, compile, type, all, dict, str
_dumps, _write, _flush, _setitimer = json.dumps, out.write, out.flush, signal.setitimer
_monotonic, _StringIO = time.monotonic, io.StringIO
_redirect_out, _redirect_err = contextlib.redirect_stdout, contextlib.redirect_stderr
PLAIN = (int, float, complex, str, bytes, bool, type(None))

class TestTimeout(BaseException):
    pass

class NotPlainValue(Exception):
    pass

def on_alarm(signum, frame):
    raise TestTimeout()

def report(**entry):
    _write(nonce + " " + _dumps(entry) + "\n")
    _flush()

def describe(error):
    frames = traceback.extract_tb(error.__traceback__)
    where = next((f for f in reversed(frames) if f.filename == "<solution>"), None)
    line = f" (line {where.lineno} of your code)" if where else ""
    text = _str(error)
    return f"{_type(error).__name__}{': ' + text[:300] if text else ''}{line}"

def plain(value, depth=0):
    kind = _type(value)
    if kind in PLAIN:
        return True
    if depth > 30:
        return False
    if kind in (list, tuple, set, frozenset):
        return _all(plain(item, depth + 1) for item in value)
    if kind is dict:
        return _all(plain(k, depth + 1) and plain(v, depth + 1) for k, v in value.items())
    return False

def checked(function):
    # Objects that compare equal to anything would pass every assert: only plain data counts.
    def candidate(*args, **kwargs):
        result = function(*args, **kwargs)
        if not plain(result):
            raise NotPlainValue(
                f"the function returned a {_type(result).__name__}; return plain values "
                "(numbers, strings, bytes, lists, tuples, sets, dicts, None)"
            )
        return result
    return candidate

def guarded(source, filename, namespace, seconds):
    _setitimer(signal.ITIMER_REAL, seconds)
    try:
        with _redirect_out(_StringIO()), _redirect_err(_StringIO()):
            _exec(_compile(source, filename, "exec"), namespace)
        return None
    except TestTimeout:
        return f"timed out after {seconds:g}s"
    except BaseException as error:
        return describe(error)
    finally:
        _setitimer(signal.ITIMER_REAL, 0)

signal.signal(signal.SIGALRM, on_alarm)
entry_point = payload["entry_point"]
namespace = {"__name__": "__main__"}
problem = guarded(payload["preamble"], "<prompt>", namespace, payload["program_timeout"])
if problem is None:
    problem = guarded(payload["program"], "<solution>", namespace, payload["program_timeout"])
if problem is None and entry_point not in namespace:
    problem = f"the code does not define a function named {entry_point!r}"
if problem is None:
    # The task's own helpers (HumanEval's encode_cyclic, poly...) are restored, so tests that
    # call them cannot be fooled by a redefinition.
    helpers = {"__name__": "__main__"}
    if guarded(payload["helpers"], "<prompt>", helpers, payload["program_timeout"]) is None:
        for name, value in helpers.items():
            if name != entry_point and not name.startswith("__"):
                namespace[name] = value
    problem = guarded(payload["test_setup"], "<test>", namespace, payload["program_timeout"])
    problem = None if problem is None else "test setup failed: " + problem
if problem is not None:
    report(stage="program", error=problem)
else:
    candidate = checked(namespace[entry_point])
    deadline = _monotonic() + payload["budget"]
    for index, test in enumerate(payload["tests"]):
        if _monotonic() > deadline:
            report(stage="test", index=index, ok=False, error="not run: the time budget was spent")
            continue
        scope = _dict(namespace, candidate=candidate)
        error = guarded(test, "<test>", scope, payload["test_timeout"])
        report(stage="test", index=index, ok=error is None, error=error or "")
report(stage="done")
"""


@dataclass
class TestReport:
    """What one run of the harness established.

    Attributes:
        passed: Per test, whether it passed (tests without a result count as failed).
        errors: Per test, the error text (``""`` for a pass).
        program_error: Why the agent's program could not be tested at all, if so.
        finished: Whether the harness reached its end (``False`` after a sandbox timeout or a crash).
    """

    passed: list[bool]
    errors: list[str]
    program_error: str = ""
    finished: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        """Fraction of tests passed."""
        return sum(self.passed) / len(self.passed) if self.passed else 0.0


def harness_input(
    program: str,
    *,
    preamble: str,
    entry_point: str,
    helpers: str = "",
    test_setup: str,
    tests: tuple[str, ...] | list[str],
    test_timeout_s: float,
    program_timeout_s: float,
    budget_s: float,
) -> tuple[str, str]:
    """Return ``(nonce, stdin)`` for one run of :data:`HARNESS`."""
    nonce = secrets.token_hex(16)
    payload = {
        "nonce": nonce,
        "preamble": preamble,
        "helpers": helpers,
        "program": program,
        "entry_point": entry_point,
        "test_setup": test_setup,
        "tests": list(tests),
        "test_timeout": test_timeout_s,
        "program_timeout": program_timeout_s,
        "budget": budget_s,
    }
    return nonce, json.dumps(payload)


def read_report(stdout: str, nonce: str, num_tests: int) -> TestReport:
    """Read the harness's result lines (those carrying ``nonce``) from ``stdout``."""
    report = TestReport(
        passed=[False] * num_tests, errors=["no result (the run was cut short)"] * num_tests
    )
    prefix = nonce + " "
    for line in stdout.splitlines():
        if not line.startswith(prefix):
            continue
        entry = _parse(line[len(prefix) :])
        stage = entry.get("stage")
        if stage == "program":
            report.program_error = str(entry.get("error", ""))
            report.errors = [report.program_error] * num_tests
        elif (
            stage == "test"
            and isinstance(entry.get("index"), int)
            and 0 <= entry["index"] < num_tests
        ):
            report.passed[entry["index"]] = entry.get("ok") is True
            report.errors[entry["index"]] = str(entry.get("error", ""))
        elif stage == "done":
            report.finished = True
    return report


def _parse(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
