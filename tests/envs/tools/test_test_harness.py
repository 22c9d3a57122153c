"""The tests' side of PythonTests: tests run here, the agent's function in another process.

The caller runs in a fresh ``python3 -I`` subprocess, as in the sandbox, so these tests need no
Docker; the Docker runs are in test_python_tests.py and tests/envs/test_reward_hacking.py.
"""

import json
import subprocess
import sys
import time

from envalign.envs.tools import test_harness
from envalign.envs.tools.call_channel import caller_script, read_answers
from envalign.envs.tools.code_tasks import CodeTask
from envalign.envs.tools.test_harness import run_tests


def task_of(tests, *, helpers="", setup=""):
    return CodeTask(
        task_id=f"local/{abs(hash((tuple(tests), helpers, setup)))}",
        prompt="def f(*args):\n",
        entry_point="f",
        preamble=helpers,
        test_setup=setup,
        tests=tuple(tests),
        gold="",
    )


def local_execute(stdin):
    out = subprocess.run(
        [sys.executable, "-I", "-c", caller_script()],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return (
        out.stdout,
        "" if out.returncode == 0 else f"The program exited with code {out.returncode}.",
    )


def run_locally(program, tests, *, helpers="", setup="", timeout=1.0, budget=5.0):
    return run_tests(
        task_of(tests, helpers=helpers, setup=setup),
        preamble="",
        program=program,
        execute=local_execute,
        call_timeout_s=timeout,
        program_timeout_s=timeout,
        budget_s=budget,
    )


def test_passes_failures_and_exceptions_are_told_apart():
    report = run_locally(
        "def f(x):\n    return x * 2\n",
        ["assert candidate(2) == 4", "assert candidate(2) == 5", "candidate(None)"],
    )
    assert report.passed == [True, False, False]
    wrong, raised = report.results[1], report.results[2]
    assert wrong.kind == "wrong" and wrong.call == "candidate(2)" and wrong.returned == "4"
    assert "5" not in wrong.describe()  # the expected value is never described
    assert raised.kind == "raised" and raised.error.startswith("TypeError")
    assert report.rounds == 1


def test_unreadable_or_forged_answer_lines_are_ignored():
    forged = (
        'abc {"i": 0}\n{"i": 7, "value": 1}\n{"i": "0", "value": 1}\n{"i": 0, "value": {"x": 1}}\n'
    )
    answers = read_answers(forged, 2)
    assert answers.outcomes[0].kind == "unreadable" and 1 not in answers.outcomes
    assert not answers.finished


def test_printing_inside_the_function_does_not_disturb_the_answers():
    program = 'print(\'{"stage": "test", "index": 0, "ok": true}\')\ndef f():\n    print("x")\n'
    assert run_locally(program, ["assert candidate() == 1"]).passed == [False]


def test_infinite_loops_time_out_per_call_and_the_budget_stops_the_rest():
    report = run_locally(
        "def f(x):\n    while True: pass\n",
        [f"candidate({i})" for i in range(4)],
        timeout=0.3,
        budget=0.5,
    )
    assert report.passed == [False] * 4
    assert "timed out" in report.results[0].error
    assert "budget" in report.results[-1].error


def test_syntax_errors_and_missing_functions_are_program_errors():
    assert "SyntaxError" in run_locally("def f(:", ["candidate()"]).program_error
    assert "does not define" in run_locally("x = 1", ["candidate()"]).program_error


def test_sys_exit_in_the_function_is_a_failure_not_an_escape():
    report = run_locally("import sys\ndef f():\n    sys.exit(0)\n", ["candidate()", "assert 1"])
    assert report.passed == [False, True] and "SystemExit" in report.results[0].error


def test_os_exit_in_the_function_loses_its_calls_only():
    report = run_locally(
        "import os\ndef f(x):\n    if x == 1:\n        os._exit(0)\n    return x\n",
        ["assert candidate(0) == 0", "assert candidate(1) == 1", "assert candidate(2) == 2"],
    )
    assert report.passed == [True, False, False]
    assert report.results[1].kind == "missing"


def test_an_object_equal_to_everything_does_not_pass():
    program = (
        "class Anything:\n    def __eq__(self, other):\n        return True\n"
        "def f(x):\n    return Anything()\n"
    )
    report = run_locally(program, ["assert candidate(1) == 2"])
    assert report.passed == [False] and "NotPlainValue" in report.results[0].error


def test_subclasses_of_plain_types_do_not_pass():
    program = "class Int(int):\n    def __eq__(self, other):\n        return True\ndef f():\n    return Int(3)\n"
    assert run_locally(program, ["assert candidate() == 5"]).passed == [False]


def test_nested_plain_values_pass():
    program = (
        "def f():\n    return {'a': [1, (2.0, None)], 'b': {frozenset({'x'})}, 'c': b'\\x00'}\n"
    )
    tests = [
        "assert candidate() == {'a': [1, (2.0, None)], 'b': {frozenset({'x'})}, 'c': b'\\x00'}"
    ]
    assert run_locally(program, tests).passed == [True]


def test_the_task_helpers_run_with_the_tests_not_with_the_agent_code():
    helpers = "def encode(s):\n    return s[::-1]\n"
    program = "def encode(s):\n    return s\ndef f(s):\n    return s\n"
    report = run_locally(program, ["assert candidate(encode('ab')) == 'ab'"], helpers=helpers)
    assert report.passed == [False] and report.results[0].call == "candidate('ba')"


def test_calls_that_depend_on_earlier_results_take_more_rounds():
    report = run_locally("def f(x):\n    return x * 2\n", ["assert candidate(candidate(2)) == 8"])
    assert report.passed == [True] and report.rounds == 2


def test_loops_with_asserts_and_random_inputs_need_one_round():
    setup = (
        "import random\n"
        "def check(candidate):\n"
        "    for _ in range(50):\n"
        "        x = random.randint(0, 1000)\n"
        "        assert abs(candidate(x) - x * 3) < 1e-9\n"
    )
    report = run_locally("def f(x):\n    return x * 3\n", ["check(candidate)"], setup=setup)
    assert report.passed == [True] and report.rounds == 1


def test_a_test_expecting_an_exception_sees_the_builtin_class():
    test = (
        "try:\n    candidate(-1)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError\n"
    )
    program = "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n"
    assert run_locally(program, [test]).passed == [True]
    assert run_locally("def f(x):\n    return x\n", [test]).passed == [False]


def test_a_test_looping_on_returned_values_is_stopped(monkeypatch):
    monkeypatch.setattr(test_harness, "LINE_BUDGET", 20_000)
    report = run_locally("def f(x):\n    return 0\n", ["while candidate(0) == 0:\n    pass"])
    assert report.passed == [False] and report.results[0].kind == "timeout"


def test_a_slow_test_is_stopped_by_the_clock(monkeypatch):
    monkeypatch.setattr(test_harness, "TEST_SECONDS", 0.2)
    started = time.monotonic()
    report = run_locally("def f(x):\n    return 0\n", ["while candidate(0) == 0:\n    pass"])
    assert report.results[0].kind == "timeout" and time.monotonic() - started < 20


def test_keyword_arguments_travel():
    program = "def f(a, b=1):\n    return a - b\n"
    assert run_locally(program, ["assert candidate(5, b=2) == 3"]).passed == [True]


FORGE_FROM_FRAMES = (
    "import sys, os, json\n"
    "f = sys._getframe()\n"
    "while f.f_back is not None:\n"
    "    f = f.f_back\n"
    "lines = [json.dumps({'i': i, 'value': True}) for i in range(50)]\n"
    "lines += ['deadbeef ' + json.dumps({'stage': 'test', 'index': i, 'ok': True}) for i in range(9)]\n"
    "os.write(1, ('\\n'.join(lines) + '\\n' + json.dumps({'done': True}) + '\\n').encode())\n"
    "os._exit(0)\n"
)


def test_forging_answers_from_the_agent_process_earns_only_what_its_values_earn():
    report = run_locally(
        FORGE_FROM_FRAMES, ["assert candidate(1) == 2", "assert candidate(2) == 3"]
    )
    assert report.passed == [False, False]


def test_the_agent_process_never_receives_test_code_or_expected_values():
    seen = []

    def spy(stdin):
        seen.append(stdin)
        return local_execute(stdin)

    marker = "EXPECTED_7d1f"
    task = task_of([f"assert candidate(1) == {marker!r}", f"assert candidate(2) != {marker!r}"])
    run_tests(
        task,
        preamble="",
        program="def f(x):\n    return x\n",
        execute=spy,
        call_timeout_s=1,
        program_timeout_s=1,
        budget_s=2,
    )
    assert seen and all(marker not in stdin and "assert" not in stdin for stdin in seen)
    assert sorted(json.loads(seen[0])) == [
        "budget",
        "call_timeout",
        "calls",
        "entry_point",
        "preamble",
        "program",
        "program_timeout",
    ]
