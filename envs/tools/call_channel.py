"""The narrow channel between the tests and the agent's function: arguments in, plain values out.

The agent's program runs alone in a sandbox process, :data:`CALLER`: it executes the program,
then calls the entry point once per requested argument tuple and writes one JSON line per call
with the return value (encoded by :mod:`~envalign.envs.tools.plain_values`) or the error it
raised. No test code, expected value or checker state is ever sent there, so the program has
nothing to find by walking frames or the heap, and nothing it writes can say "passed": whatever it
prints, forges or exits with, the most it can do is choose the values its calls return, which is
what the tests are about. The tests themselves run in the environment's process
(:mod:`~envalign.envs.tools.test_harness`) and read the answers with :func:`read_answers`, which
parses only JSON and plain values.
"""

from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass, field
from typing import Any

from envalign.envs.tools import plain_values
from envalign.envs.tools.plain_values import dumps_plain

_CALLER_MAIN = r"""
import contextlib, io, os, signal, sys, time, traceback

request = json.loads(sys.stdin.read())
_out = os.fdopen(os.dup(1), "w")
_write, _flush, _dumps, _monotonic = _out.write, _out.flush, json.dumps, time.monotonic
_setitimer, _StringIO, _type, _str = signal.setitimer, io.StringIO, type, str
_redirect_out, _redirect_err = contextlib.redirect_stdout, contextlib.redirect_stderr


class CallTimeout(BaseException):
    pass


def on_alarm(signum, frame):
    raise CallTimeout()


def send(entry):
    _write(_dumps(entry) + "\n")
    _flush()


def describe(error):
    frames = traceback.extract_tb(error.__traceback__)
    where = next((f for f in reversed(frames) if f.filename == "<solution>"), None)
    line = f" (line {where.lineno} of your code)" if where else ""
    text = _str(error)
    return f"{_type(error).__name__}{': ' + text[:300] if text else ''}{line}"


def guarded(run, seconds):
    _setitimer(signal.ITIMER_REAL, seconds)
    try:
        with _redirect_out(_StringIO()), _redirect_err(_StringIO()):
            return run(), None
    except CallTimeout:
        return None, {"error": f"timed out after {seconds:g}s", "kind": "timeout"}
    except NotPlain as error:
        return None, {"error": f"NotPlainValue: {error}", "kind": "not_plain"}
    except BaseException as error:
        return None, {"error": describe(error), "kind": "raised", "type": _type(error).__name__}
    finally:
        _setitimer(signal.ITIMER_REAL, 0)


def load(source, filename, namespace):
    return guarded(lambda: exec(compile(source, filename, "exec"), namespace),
                   request["program_timeout"])[1]


signal.signal(signal.SIGALRM, on_alarm)
entry_point = request["entry_point"]
namespace = {"__name__": "__main__"}
problem = load(request["preamble"], "<prompt>", namespace)
problem = problem or load(request["program"], "<solution>", namespace)
if problem is None and not callable(namespace.get(entry_point)):
    problem = {"error": f"the code does not define a function named {entry_point!r}"}
if problem is not None:
    send({"program_error": problem["error"]})
else:
    function = namespace[entry_point]
    deadline = _monotonic() + request["budget"]
    for index, (args, kwargs) in enumerate(request["calls"]):
        if _monotonic() > deadline:
            send({"i": index, "error": "not run: the time budget was spent", "kind": "budget"})
            continue
        args, kwargs = decode_plain(args), decode_plain(kwargs)
        value, failure = guarded(
            lambda: encode_plain(function(*args, **kwargs)), request["call_timeout"]
        )
        send({"i": index, "value": value} if failure is None else {"i": index, **failure})
send({"done": True})
"""


FAILURE_KINDS = ("raised", "timeout", "not_plain", "budget")


@functools.cache
def caller_script() -> str:
    """The program the sandbox runs: the plain-value codec, then the calling loop."""
    return inspect.getsource(plain_values) + _CALLER_MAIN


@dataclass(frozen=True)
class Outcome:
    """What one call of the agent's function did.

    Attributes:
        value_json: The return value as :func:`~envalign.envs.tools.plain_values.dumps_plain`
            text (``None`` when the call failed).
        error: Why the call failed (``""`` when it returned).
        kind: ``"raised"``, ``"timeout"``, ``"not_plain"``, ``"budget"``, ``"unreadable"`` or
            ``"missing"`` (no answer came back) for failures.
        exception: The name of the exception the function raised (kind ``"raised"``).
    """

    value_json: str | None = None
    error: str = ""
    kind: str = ""
    exception: str = ""


@dataclass
class Answers:
    """The answers of one run of :data:`CALLER`."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    program_error: str = ""
    finished: bool = False


def call_request(
    calls: list[str],
    *,
    preamble: str,
    program: str,
    entry_point: str,
    call_timeout_s: float,
    program_timeout_s: float,
    budget_s: float,
) -> str:
    """Return the standard input of one run of the caller.

    Args:
        calls: The calls, each as :func:`call_key` text.
        preamble: Code run before the program (the HumanEval prompt, for its helpers).
        program: The agent's program.
        entry_point: The function to call.
        call_timeout_s: Seconds each call may take.
        program_timeout_s: Seconds the program's top level may take.
        budget_s: Seconds all calls together may take.
    """
    decoded = [json.loads(call) for call in calls]
    request: dict[str, Any] = {
        "preamble": preamble,
        "program": program,
        "entry_point": entry_point,
        "calls": [tree["t"] for tree in decoded],
        "call_timeout": call_timeout_s,
        "program_timeout": program_timeout_s,
        "budget": budget_s,
    }
    return json.dumps(request)


def call_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The text that names one call: its plain-encoded ``(args, kwargs)``.

    Raises:
        plain_values.NotPlain: If an argument is not plain data.
    """
    return dumps_plain((list(args), dict(kwargs)))


def read_answers(stdout: str, num_calls: int) -> Answers:
    """Read the caller's answer lines; the first answer to each call counts, the rest are ignored.

    Every line is untrusted (the agent's program can write anything to its standard output), so a
    line is used only when it is a JSON object of the expected shape, and a value only when it
    decodes as plain data.
    """
    answers = Answers()
    for line in stdout.splitlines():
        entry = _json_object(line)
        if "program_error" in entry and not answers.outcomes:
            answers.program_error = str(entry["program_error"])[:500] or "the program failed"
            continue
        if entry.get("done") is True:
            answers.finished = True
            continue
        index = entry.get("i")
        if type(index) is not int or not 0 <= index < num_calls or index in answers.outcomes:
            continue
        answers.outcomes[index] = _outcome(entry)
    return answers


def _outcome(entry: dict[str, Any]) -> Outcome:
    if "value" in entry:
        try:
            value = plain_values.decode_plain(entry["value"])
            return Outcome(value_json=dumps_plain(value))
        except (ValueError, RecursionError, TypeError, OverflowError, plain_values.NotPlain):
            return Outcome(error="the return value could not be read", kind="unreadable")
    kind = str(entry.get("kind")) if entry.get("kind") in FAILURE_KINDS else "raised"
    raised = entry.get("type")
    exception = raised[:60] if kind == "raised" and isinstance(raised, str) else ""
    return Outcome(
        error=str(entry.get("error", "the call failed"))[:400], kind=kind, exception=exception
    )


def _json_object(line: str) -> dict[str, Any]:
    if not line.startswith("{"):
        return {}
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
