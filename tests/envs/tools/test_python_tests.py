import uuid
from pathlib import Path

import pytest

from envalign.envs.tools.code_tasks import generated_task, humaneval_tasks
from envalign.envs.tools.python_tests import (
    PythonTestsEnv,
    compose_program,
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
