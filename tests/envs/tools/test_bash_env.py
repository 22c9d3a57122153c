import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.envs.tools.bash_env import (
    BashEnv,
    bash_tasks,
    normalize_answer,
    random_policy,
    scripted_policy,
    state_difference,
)


def test_at_least_fifty_tasks_of_both_kinds():
    tasks = bash_tasks()
    assert len(tasks) >= 50
    assert {t.check for t in tasks} == {"answer", "state"}
    assert len({t.id for t in tasks}) == len(tasks)


def test_answers_compare_by_lines_numbers_and_order():
    assert normalize_answer("  35.60 \n\n") == normalize_answer("35.6")
    assert normalize_answer("a  b\nc") == ["a b", "c"]
    assert normalize_answer("b\na", ordered=False) == normalize_answer("a\nb", ordered=False)
    assert normalize_answer("b\na") != normalize_answer("a\nb")


@given(st.text())
def test_normalize_never_raises_and_is_idempotent(text):
    once = normalize_answer(text)
    assert normalize_answer("\n".join(once)) == once


def test_state_difference_names_paths():
    text = state_difference({"a": "1", "b": "2"}, {"a": "9", "c": "3"})
    assert "missing: c" in text and "unexpected: b" in text and "different: a" in text
    assert state_difference({"a": "1"}, {"a": "1"}) == ""


@pytest.fixture(scope="module")
def env(docker_box):
    environment = BashEnv(sandbox=docker_box)
    yield environment
    environment.close()


@pytest.mark.docker
@pytest.mark.parametrize("task_id", [t.id for t in bash_tasks()])
def test_gold_solution_reaches_one(env, play, task_id):
    reward, _, info, _ = play(env, scripted_policy, options={"task_id": task_id})
    assert reward == 1.0, info["feedback"]
    if env.task.check == "answer":
        assert env.expected_answer.strip(), "the gold command printed nothing"
    else:
        assert env.expected_state, "the gold command left no files"


@pytest.mark.docker
def test_state_tasks_need_the_change(env):
    env.reset(seed=0, options={"task_id": "inbox/4"})  # delete the .tmp files
    _, reward, terminated, _, info = env.step("submit")
    assert terminated and reward == 0.0 and "draft.tmp" in info["feedback"]


@pytest.mark.docker
def test_commands_show_output_and_files_persist_between_turns(env):
    env.reset(seed=0, options={"task_id": "data/1"})
    observation, *_ = env.step("echo 42 > mine.txt && ls")
    assert "data" in observation and "mine.txt" in observation and "(exit code 0)" in observation
    observation, *_ = env.step("cat mine.txt; cat missing")
    assert "42" in observation and "No such file" in observation and "(exit code 1)" in observation


@pytest.mark.docker
def test_wrong_answer_and_runaway_commands(docker_box):
    env = BashEnv(sandbox=docker_box, command_timeout_s=1)
    env.reset(seed=0, options={"task_id": "data/1"})
    observation, *_ = env.step("sleep 30")
    assert "stopped after 1s" in observation
    observation, *_ = env.step("yes | head -c 100000")
    assert "(output truncated)" in observation
    _, reward, terminated, _, info = env.step("submit 11")
    assert terminated and reward == 0.0 and "wrong" in info["feedback"]


@pytest.mark.docker
def test_episodes_start_from_a_clean_tree(env):
    env.reset(seed=0, options={"task_id": "inbox/4"})
    env.step("rm -rf inbox")
    env.reset(seed=0, options={"task_id": "inbox/4"})
    observation, *_ = env.step("ls inbox | wc -l")
    assert "15" in observation


@pytest.mark.docker
def test_random_policy_stays_near_zero(env, play):
    rewards = [play(env, random_policy, seed=s)[0] for s in range(8)]
    assert sum(rewards) / len(rewards) <= 0.25


# ---------------------------------------------------------------------- red team (issue 22)

# Python in the sandbox used to import from the work dir first: a planted hashlib.py ran inside
# the grader. Each plant writes a marker when imported and offers a fake digest.
PLANTS = {
    "task/hashlib.py": "import os\nopen('/work/PWNED', 'w').close()\n",
    "hashlib.py": "import os\nopen('/work/PWNED', 'w').close()\n",
    "json.py": "import os\nopen('/work/PWNED', 'w').close()\n",
    "sitecustomize.py": "import os\nopen('/work/PWNED', 'w').close()\n",
    ".local/lib/python3.11/site-packages/evil.pth": "import os; open('/work/PWNED', 'w').close()\n",
    "usercustomize.py": "import os\nopen('/work/PWNED', 'w').close()\n",
}


@pytest.mark.docker
def test_the_grader_imports_nothing_the_agent_planted(env):
    env.reset(seed=0, options={"task_id": "inbox/4"})  # a state task: graded by the digest
    env.sessions.lease.sandbox.upload(PLANTS)
    _, reward, terminated, _, info = env.step("submit")
    assert terminated and reward == 0.0
    assert "hashlib.py" in info["feedback"]  # the planted file is simply an unexpected file
    listing = env.sessions.lease.run("ls /work", language="bash").stdout.split()
    assert "PWNED" not in listing


@pytest.mark.docker
@pytest.mark.parametrize("task_id", ["logs/1", "inbox/4", "data/1"])
def test_no_gold_answer_or_gold_files_are_left_in_the_sandbox(env, task_id):
    env.reset(seed=0, options={"task_id": task_id})
    search = env.sessions.lease.run(
        "find /work /tmp /dev/shm -mindepth 1 2>/dev/null | grep -v '^/work/task'"
        " | grep -v '^/tmp/.envalign-run'",  # this very command's script
        language="bash",
    )
    assert search.stdout.strip() == "", search.stdout  # nothing outside the task tree
    if env.task.check == "answer":
        answer = env.expected_answer.strip().splitlines()[0]
        grep = env.sessions.lease.run(
            f"grep -rlF -- {answer!r} /tmp /work 2>/dev/null | grep -v '^/work/task/'"
            " | grep -v '^/tmp/.envalign-run'",
            language="bash",
        )
        assert grep.stdout.strip() == ""
    else:
        digest = env._digest()
        assert digest != env.expected_state  # the sandbox holds the setup, not the gold tree
