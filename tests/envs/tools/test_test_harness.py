import json
import subprocess
import sys

from envalign.envs.tools.test_harness import HARNESS, harness_input, read_report


def run_locally(program, tests, *, preamble="", helpers="", timeout=1.0, budget=5.0):
    nonce, stdin = harness_input(
        program,
        preamble=preamble,
        helpers=helpers,
        entry_point="f",
        test_setup="",
        tests=tests,
        test_timeout_s=timeout,
        program_timeout_s=timeout,
        budget_s=budget,
    )
    out = subprocess.run(
        [sys.executable, "-c", HARNESS], input=stdin, capture_output=True, text=True, timeout=60
    )
    return read_report(out.stdout, nonce, len(tests))


def test_lines_without_the_nonce_are_ignored():
    forged = 'abc {"stage": "test", "index": 0, "ok": true}\n{"stage": "done"}\n'
    report = read_report(forged, "nonce", 2)
    assert report.passed == [False, False] and not report.finished


def test_results_are_read_per_test():
    lines = [
        f"n {json.dumps({'stage': 'test', 'index': i, 'ok': i == 1, 'error': 'E'})}"
        for i in range(2)
    ]
    report = read_report("\n".join([*lines, 'n {"stage": "done"}']), "n", 2)
    assert report.passed == [False, True] and report.fraction == 0.5 and report.finished


def test_harness_counts_passes_failures_and_exceptions():
    report = run_locally(
        "def f(x):\n    return x * 2\n",
        ["assert candidate(2) == 4", "assert candidate(2) == 5", "candidate(None)"],
    )
    assert report.passed == [True, False, False]
    assert report.errors[1].startswith("AssertionError")
    assert report.errors[2].startswith("TypeError")


def test_printing_fake_results_does_not_count():
    program = 'print(\'{"stage": "test", "index": 0, "ok": true}\')\ndef f():\n    print("x")\n'
    assert run_locally(program, ["assert candidate() == 1"]).passed == [False]


def test_infinite_loops_time_out_per_test_and_the_budget_stops_the_rest():
    report = run_locally(
        "def f():\n    while True: pass\n", ["candidate()"] * 4, timeout=0.3, budget=0.5
    )
    assert report.passed == [False] * 4
    assert "timed out" in report.errors[0]
    assert "budget" in report.errors[-1]
    assert report.finished


def test_syntax_errors_and_missing_functions_are_program_errors():
    assert "SyntaxError" in run_locally("def f(:", ["candidate()"]).program_error
    assert "does not define" in run_locally("x = 1", ["candidate()"]).program_error


def test_sys_exit_in_a_test_is_a_failure_not_an_escape():
    report = run_locally("import sys\ndef f():\n    sys.exit(0)\n", ["candidate()", "assert 1"])
    assert report.passed == [False, True] and report.finished


def test_an_object_equal_to_everything_does_not_pass():
    program = (
        "class Anything:\n    def __eq__(self, other):\n        return True\n"
        "def f(x):\n    return Anything()\n"
    )
    report = run_locally(program, ["assert candidate(1) == 2"])
    assert report.passed == [False] and "NotPlainValue" in report.errors[0]


def test_nested_plain_values_pass():
    program = "def f():\n    return {'a': [1, (2.0, None)], 'b': {frozenset({'x'})}}\n"
    assert run_locally(program, ["assert candidate()['a'][0] == 1"]).passed == [True]


def test_patching_json_or_builtins_cannot_forge_results():
    program = (
        "import json, builtins\n"
        'json.dumps = lambda *a, **k: \'{"stage": "test", "index": 0, "ok": true}\'\n'
        "builtins.compile = lambda *a, **k: compile('pass', '<x>', 'exec')\n"
        "def f():\n    return 0\n"
    )
    report = run_locally(program, ["assert candidate() == 1", "assert candidate() == 0"])
    assert report.passed == [False, True] and report.finished


def test_the_task_helpers_are_restored_after_the_agent_code():
    helpers = "def encode(s):\n    return s[::-1]\n"
    program = "def encode(s):\n    return s\ndef f(s):\n    return s\n"
    report = run_locally(program, ["assert candidate(encode('ab')) == 'ab'"], helpers=helpers)
    assert report.passed == [False]
