"""LangChainPolicy with langchain-core's fake chat models and with the tiny transformers model."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.language_models.fake_chat_models import (  # noqa: E402
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402

from envalign.agents.base import SamplingParams, TurnRequest  # noqa: E402
from envalign.agents.langchain_policy import (  # noqa: E402
    LangChainPolicy,
    action_text,
    parse_tool_call,
    to_generation,
)
from envalign.envs.core import ActContext  # noqa: E402

SEEN: list[list[Any]] = []
BOUND: list[list[str]] = []


class RecordingChat(FakeMessagesListChatModel):
    """Replies from a list and records (in SEEN, BOUND) every conversation and tool list."""

    def bind_tools(self, tools, **kwargs):
        BOUND.append([t.name for t in tools])
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        SEEN.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


class Env:
    """Stands in for an environment object (the history key and the tools' owner)."""

    def __init__(self, tools=None):
        if tools is not None:
            self.tools = tools


def request(env, agent, messages):
    return TurnRequest(
        messages=messages, context=ActContext(env=env, agent=agent, observation="", info={})
    )


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return str(eval(expression, {"__builtins__": {}}))  # noqa: S307 - test tool


def test_generic_fake_model_answers_a_batch_in_order():
    chat = GenericFakeChatModel(messages=iter([AIMessage("OFFER 40"), AIMessage("ACCEPT")]))
    policy = LangChainPolicy(chat)
    env = Env()
    replies = policy.act(
        [
            request(env, "proposer", [{"role": "user", "content": "offer?"}]),
            request(env, "responder", [{"role": "user", "content": "accept?"}]),
        ]
    )
    assert sorted(r.text for r in replies) == ["ACCEPT", "OFFER 40"]
    assert all(r.token_ids == [] and r.logprobs is None for r in replies)


def test_tool_calls_become_json_actions_and_results_go_back_as_tool_messages():
    SEEN.clear(), BOUND.clear()
    call = AIMessage(
        content="", tool_calls=[{"name": "calculator", "args": {"expression": "6*7"}, "id": "c1"}]
    )
    chat = RecordingChat(responses=[call, AIMessage('{"final_answer": "42"}')])
    env = Env(tools=[calculator])
    policy = LangChainPolicy(chat)
    conversation = [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "What is 6*7?"},
    ]
    first = policy.act([request(env, "agent", conversation)])[0]
    assert json.loads(first.text) == {"tool": "calculator", "args": {"expression": "6*7"}}
    assert BOUND == [["calculator"]]
    conversation += [
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": "calculator returned 42"},
    ]
    second = policy.act([request(env, "agent", conversation)])[0]
    assert second.text == '{"final_answer": "42"}'
    history = SEEN[-1]
    assert [type(m) for m in history] == [SystemMessage, HumanMessage, AIMessage, ToolMessage]
    assert history[2].tool_calls[0]["name"] == "calculator"
    assert history[3].tool_call_id == "c1" and history[3].content == "calculator returned 42"


def test_histories_are_per_agent_and_restart_with_a_new_episode():
    SEEN.clear()
    chat = RecordingChat(responses=[AIMessage("a"), AIMessage("b"), AIMessage("c")])
    policy = LangChainPolicy(chat, tools=[])
    env = Env()
    policy.act([request(env, "x", [{"role": "user", "content": "one"}])])
    policy.act([request(env, "y", [{"role": "user", "content": "other"}])])
    policy.act([request(env, "x", [{"role": "user", "content": "new episode"}])])
    assert [m.content for m in SEEN[-1]] == ["new episode"]
    assert [m.content for m in SEEN[1]] == ["other"]


def test_openai_logprobs_and_envalign_metadata_are_kept():
    reply = AIMessage(
        "hi",
        response_metadata={
            "logprobs": {
                "content": [{"token": "h", "logprob": -0.5}, {"token": "i", "logprob": -1.0}]
            },
            "finish_reason": "length",
        },
    )
    generation = to_generation(reply)
    assert generation.logprobs == [-0.5, -1.0]
    assert generation.finish_reason == "length"
    ours = to_generation(
        AIMessage("x", response_metadata={"token_ids": [4, 5], "logprobs": [-1.0, -2.0]})
    )
    assert ours.token_ids == [4, 5] and ours.logprobs == [-1.0, -2.0]


def test_parse_tool_call_accepts_only_known_tools():
    assert parse_tool_call(
        '{"tool": "calculator", "args": {"expression": "1+1"}}', {"calculator"}
    ) == (
        "calculator",
        {"expression": "1+1"},
    )
    assert parse_tool_call('{"name": "calculator", "arguments": {}}', {"calculator"}) == (
        "calculator",
        {},
    )
    assert parse_tool_call('{"tool": "rm", "args": {}}', {"calculator"}) is None
    assert parse_tool_call("no json here", {"calculator"}) is None
    assert action_text(AIMessage(content=[{"type": "text", "text": " go "}])) == "go"


def test_transformers_chat_model_batches_and_carries_token_ids():
    pytest.importorskip("torch")
    from envalign.agents.langchain_policy import TransformersChatModel
    from envalign.agents.models import tiny_random_model
    from envalign.agents.transformers_policy import TransformersPolicy

    model, tokenizer = tiny_random_model()
    inner = TransformersPolicy(
        model, tokenizer, sampling=SamplingParams(temperature=0, max_new_tokens=5)
    )
    calls = []
    original = inner.generate

    def counting(conversations, sampling=None):
        calls.append(len(conversations))
        return original(conversations, sampling)

    inner.generate = counting
    chat = TransformersChatModel(policy=inner)
    policy = LangChainPolicy(chat, name="lc-tiny")
    env = Env()
    requests = [
        request(env, f"a{i}", [{"role": "user", "content": f"hello {i}"}]) for i in range(3)
    ]
    generations = policy.act(requests)
    assert calls == [3]
    direct = original([r.messages for r in requests])
    for via_langchain, plain in zip(generations, direct, strict=True):
        assert via_langchain.token_ids == plain.token_ids
        assert via_langchain.logprobs == pytest.approx(plain.logprobs)
        assert via_langchain.prompt_token_ids == plain.prompt_token_ids
    single = chat.invoke([HumanMessage("hello 0")])
    assert single.response_metadata["token_ids"] == direct[0].token_ids


def test_transformers_chat_model_describes_tools_and_reads_tool_calls():
    pytest.importorskip("torch")
    from envalign.agents.base import Generation
    from envalign.agents.langchain_policy import TransformersChatModel, to_ai_message, to_plain

    bound_tools = [
        {
            "type": "function",
            "function": {
                "name": "calculator",
                "description": "math",
                "parameters": {"properties": {"expression": {"type": "string"}}},
            },
        }
    ]
    plain = to_plain([SystemMessage("sys"), HumanMessage("q")], bound_tools)
    assert plain[0]["role"] == "system" and "calculator" in plain[0]["content"]
    message = to_ai_message(
        Generation(text='{"tool": "calculator", "args": {"expression": "2+2"}}'), {"calculator"}
    )
    assert message.tool_calls[0]["args"] == {"expression": "2+2"}
    assert TransformersChatModel.bind_tools  # exists for LangChainPolicy's bind_tools path


@pytest.mark.slow
def test_smollm2_through_langchain_answers():
    """The default model (pulled once, then cached) as a LangChain chat model."""
    pytest.importorskip("gguf")
    from envalign.agents.langchain_policy import TransformersChatModel
    from envalign.agents.transformers_policy import TransformersPolicy

    inner = TransformersPolicy.from_pretrained(
        "smollm2-135m-instruct", sampling=SamplingParams(temperature=0, max_new_tokens=12)
    )
    chat = TransformersChatModel(policy=inner)
    reply = chat.invoke([HumanMessage("What is the capital of France?")])
    assert "Paris" in reply.content
    assert reply.response_metadata["token_ids"][-1] in inner.eos_token_ids


def test_tool_use_env_through_the_runner_with_bound_env_tools():
    from envalign.envs.registry import spec
    from envalign.training.rollout import simulate

    try:
        spec("envalign/ToolUse-v0")
    except Exception:
        pytest.skip("ToolUse-v0 is not registered")
    SEEN.clear(), BOUND.clear()
    call = AIMessage(
        content="",
        tool_calls=[{"name": "calculator", "args": {"expression": "6*7"}, "id": "t1"}],
    )
    chat = RecordingChat(responses=[call, AIMessage('{"final_answer": "1"}')])
    result = simulate("envalign/ToolUse-v0", LangChainPolicy(chat), episodes=1, histogram=False)
    first, second = result.episodes[0].turns[:2]
    assert json.loads(first.action) == {"tool": "calculator", "args": {"expression": "6*7"}}
    assert "calculator -> 42" in second.observation
    assert BOUND[0][:4] == ["calculator", "python", "lookup", "convert_units"]
    tool_message = SEEN[1][-1]
    assert isinstance(tool_message, ToolMessage) and "calculator -> 42" in tool_message.content
    assert second.action == '{"final_answer": "1"}'
