import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.envs.tools.tool_tasks import tool_tasks
from envalign.envs.tools.tool_use import (
    ToolUseEnv,
    answer_number,
    parse_action,
    random_policy,
    scripted_policy,
)


def test_parse_action_accepts_common_shapes():
    assert parse_action('{"tool": "calculator", "args": {"expression": "1"}}') == (
        "call",
        ("calculator", {"expression": "1"}),
        "",
    )
    assert parse_action('{"name": "lookup", "arguments": "{\\"key\\": \\"k\\"}"}')[1] == (
        "lookup",
        {"key": "k"},
    )
    assert parse_action('Sure:\n```json\n{"final_answer": 42}\n```') == ("final", "42", "")
    assert parse_action('{"answer": "7 moons"}')[:2] == ("final", "7 moons")


@pytest.mark.parametrize(
    "text", ["not json", "[1, 2]", '{"args": {}}', '{"tool": "x", "args": [1]}', "", '{"tool": 3}']
)
def test_parse_action_explains_bad_replies(text):
    kind, _, why = parse_action(text)
    assert kind == "error" and why


@given(st.text())
def test_parse_action_never_raises(text):
    kind, _, why = parse_action(text)
    assert kind in {"call", "final", "error"}
    assert (kind == "error") == bool(why)


def test_answer_number_reads_formats():
    assert answer_number("about 1,234.5 units") == 1234.5
    assert answer_number("−3") == -3
    assert answer_number("2e3") == 2000
    assert answer_number("none") is None


def test_every_task_has_a_plan_and_a_unique_id():
    tasks = tool_tasks()
    assert len(tasks) >= 30
    assert len({t.id for t in tasks}) == len(tasks)
    assert {call["tool"] for t in tasks for call in t.plan} == {
        "calculator",
        "python",
        "lookup",
        "convert_units",
    }


@pytest.fixture(scope="module")
def env(docker_box):
    environment = ToolUseEnv(sandbox=docker_box)
    yield environment
    environment.close()


@pytest.mark.docker
@pytest.mark.parametrize("task_id", [t.id for t in tool_tasks()])
def test_gold_plan_computes_the_answer_and_the_oracle_scores_one(env, play, task_id):
    env.reset(seed=0, options={"task_id": task_id})
    last = ""
    for call in env.task.plan:
        last = env.call_tool(call["tool"], call["args"])
    assert abs(answer_number(last.split("->", 1)[1]) - env.task.answer) <= env.task.tolerance, last
    reward, steps, info, _ = play(env, scripted_policy, options={"task_id": task_id})
    assert reward == 1.0 and steps == len(env.task.plan) + 1, info["feedback"]


@pytest.mark.docker
def test_bad_calls_are_feedback_not_exceptions(env):
    env.reset(seed=0)
    feedback = [
        env.step(action)[4]["feedback"]
        for action in (
            "not json",
            '{"tool": "teleport", "args": {}}',
            '{"tool": "convert_units", "args": {"value": "abc", "from_unit": "m", "to_unit": "ft"}}',
            '{"tool": "calculator", "args": {"expression": "__import__(\'os\')"}}',
            '{"tool": "lookup", "args": {"key": "planet:pluto:moons"}}',
        )
    ]
    assert "not valid JSON" in feedback[0]
    assert "Unknown tool 'teleport'" in feedback[1] and "calculator" in feedback[1]
    assert "convert_units failed" in feedback[2]
    assert "not allowed" in feedback[3]
    assert "planet:zorb:moons" in feedback[4]


@pytest.mark.docker
def test_python_tool_runs_in_the_sandbox(env):
    env.reset(seed=0)
    code = "import os; print(os.getcwd(), os.getuid())"
    _, _, _, _, info = env.step(json.dumps({"tool": "python", "args": {"code": code}}))
    assert "/work 1000" in info["feedback"]
    _, _, _, _, info = env.step(
        json.dumps({"tool": "python", "args": {"code": "while True: pass"}})
    )
    assert "stopped after" in info["feedback"]


def test_user_tools_are_added_and_exposed_for_bind_tools():
    from langchain_core.tools import tool

    @tool
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    env = ToolUseEnv(extra_tools=[shout])
    env.reset(seed=0)
    assert [t.name for t in env.tools][-1] == "shout"
    assert "shout(text: string)" in env.reset(seed=0)[0]
    _, _, _, _, info = env.step('{"tool": "shout", "args": {"text": "hi"}}')
    assert info["feedback"] == "shout -> HI"
    with pytest.raises(ValueError, match="unique"):
        ToolUseEnv(extra_tools=[shout, shout])


def test_tool_errors_of_user_tools_become_feedback():
    from langchain_core.tools import tool

    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError("kaput")

    env = ToolUseEnv(extra_tools=[broken])
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step('{"tool": "broken", "args": {"x": 1}}')
    assert "kaput" in info["feedback"] and reward == 0.0 and not terminated


@pytest.mark.docker
def test_final_answers_are_verified_and_random_stays_near_zero(env, play):
    env.reset(seed=0, options={"task_id": "moons/aurin+kell"})
    _, reward, terminated, _, _ = env.step('{"final_answer": "16"}')
    assert terminated and reward == 0.0
    env.reset(seed=0, options={"task_id": "moons/aurin+kell"})
    assert env.step('{"final_answer": "The answer is 15."}')[1] == 1.0
    rewards = [play(env, random_policy, seed=s)[0] for s in range(10)]
    assert sum(rewards) / len(rewards) < 0.2


def test_langchain_tool_calls_are_valid_actions():
    from langchain_core.messages import AIMessage
    from langchain_core.utils.function_calling import convert_to_openai_tool

    env = ToolUseEnv()
    env.reset(seed=0, options={"task_id": "moons/aurin+kell"})
    assert [convert_to_openai_tool(t)["function"]["name"] for t in env.tools][0] == "calculator"
    message = AIMessage(
        content="", tool_calls=[{"name": "calculator", "args": {"expression": "13 + 2"}, "id": "1"}]
    )
    _, _, _, _, info = env.step(json.dumps(message.tool_calls[0]))
    assert info["feedback"] == "calculator -> 15"


def test_unknown_task_ids_are_refused_with_examples():
    with pytest.raises(KeyError, match="moons/"):
        ToolUseEnv().reset(options={"task_id": "nope"})


# ---------------------------------------------------------------------- red team (issue 22)


@pytest.mark.docker
@pytest.mark.parametrize(
    "reply",
    [
        '{"final_answer": "14 15 16"}',  # several answers: only the first number counts
        '{"final_answer": "14, or maybe 15"}',
        '{"final_answer": 14, "answer": 15}',
        '{"final_answer": "14"}\n{"final_answer": "15"}',
        '{"final_answer": "1e309"}',
        '{"final_answer": "nan"}',
    ],
)
def test_several_or_malformed_final_answers_earn_nothing(env, reply):
    env.reset(seed=0, options={"task_id": "moons/aurin+kell"})  # the answer is 15
    _, reward, terminated, _, _ = env.step(reply)
    assert reward == 0.0


@pytest.mark.docker
def test_the_answer_is_not_in_the_sandbox(env):
    env.reset(seed=0, options={"task_id": "moons/aurin+kell"})
    probe = (
        "import os\nfound = []\nfor root, dirs, files in os.walk('/'):\n"
        "    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev')]\n"
        "    found += [f for f in files if 'tool_facts' in f or 'tool_tasks' in f]\nprint(found)\n"
    )
    _, _, _, _, info = env.step(json.dumps({"tool": "python", "args": {"code": probe}}))
    assert "[]" in info["feedback"], info["feedback"]
