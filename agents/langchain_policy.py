"""LangChain in both directions: any chat model as a policy, and a transformers policy as a chat model.

:class:`LangChainPolicy` wraps a LangChain ``BaseChatModel``. It keeps each agent's LangChain message
history (so an ``AIMessage`` keeps its ``tool_calls`` and a tool's result goes back as a
``ToolMessage``), binds an environment's tools with ``bind_tools`` (``env.tools``, e.g. ToolUse-v0, or
the ``tools`` given), and answers a whole batch with one ``chat_model.batch`` call. A tool call
becomes the action ``{"tool": name, "args": {...}}``.

:class:`TransformersChatModel` exposes a :class:`~envalign.agents.transformers_policy.TransformersPolicy`
as a LangChain chat model: ``batch`` generates the whole batch in one padded pass, ``bind_tools``
describes the tools in the system message and reads JSON tool calls back, and every ``AIMessage``
carries the token ids and log-probs in ``response_metadata``, which :class:`LangChainPolicy` copies
into its generations, so trainers can learn from rollouts collected through LangChain.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from envalign.agents.base import Conversation, Generation, TurnRequest
from envalign.envs.errors import DependencyNotInstalled

try:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
    )
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.utils.function_calling import convert_to_openai_tool
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise DependencyNotInstalled("langchain-core", "langchain", "use LangChain policies") from error

MAX_HISTORIES = 4_096
_CALL_IDS = itertools.count()


class LangChainPolicy:
    """Act with any LangChain chat model, one batched call per tick.

    Args:
        chat_model: A LangChain ``BaseChatModel`` (or anything with ``batch`` and ``bind_tools``).
        tools: Tools to bind; by default the environment's ``tools`` attribute when it has one.
        name: Name shown in summaries and episode records.
        max_concurrency: Passed to ``chat_model.batch`` (parallel requests for remote models).
    """

    def __init__(
        self,
        chat_model: Any,
        tools: Sequence[Any] | None = None,
        *,
        name: str | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self.chat_model = chat_model
        self.tools = list(tools) if tools is not None else None
        self.name = name or f"langchain:{type(chat_model).__name__}"
        self.max_concurrency = max_concurrency
        self._histories: OrderedDict[tuple[int, str], _History] = OrderedDict()
        self._bound: dict[tuple[int, ...], Any] = {}

    def act(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        """Extend each agent's history with its new messages and answer all in one batch."""
        histories = [self._history(request) for request in requests]
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(self._tool_key(request), []).append(index)
        replies: list[BaseMessage | None] = [None] * len(requests)
        for key, indices in groups.items():
            model = self._model_for(key, requests[indices[0]])
            config = {"max_concurrency": self.max_concurrency} if self.max_concurrency else None
            answers = model.batch([list(histories[i].messages) for i in indices], config=config)
            for index, answer in zip(indices, answers, strict=True):
                replies[index] = answer
        generations = []
        for history, reply in zip(histories, replies, strict=True):
            assert reply is not None
            history.add_reply(reply)
            generations.append(to_generation(reply))
        return generations

    def reset(self) -> None:
        """Forget every agent's history."""
        self._histories.clear()

    def _history(self, request: TurnRequest) -> _History:
        key = (id(request.context.env), request.context.agent)
        history = self._histories.get(key)
        if history is None or not history.continues(request.messages):
            history = _History()
            self._histories[key] = history
        self._histories.move_to_end(key)
        while len(self._histories) > MAX_HISTORIES:
            self._histories.popitem(last=False)
        history.extend(request.messages)
        return history

    def _tools_of(self, request: TurnRequest) -> list[Any]:
        if self.tools is not None:
            return self.tools
        return list(getattr(request.context.env, "tools", None) or [])

    def _tool_key(self, request: TurnRequest) -> tuple[int, ...]:
        return tuple(id(tool) for tool in self._tools_of(request))

    def _model_for(self, key: tuple[int, ...], request: TurnRequest) -> Any:
        if not key:
            return self.chat_model
        if key not in self._bound:
            if len(self._bound) > 64:
                self._bound.clear()
            self._bound[key] = self.chat_model.bind_tools(self._tools_of(request))
        return self._bound[key]


class _History:
    """One agent's LangChain messages, aligned with the runner's plain conversation."""

    def __init__(self) -> None:
        self.messages: list[BaseMessage] = []
        self.plain: Conversation = []

    def continues(self, conversation: Conversation) -> bool:
        """Whether ``conversation`` extends what this history has seen."""
        seen = len(self.plain)
        return len(conversation) >= seen and conversation[:seen] == self.plain

    def extend(self, conversation: Conversation) -> None:
        for message in conversation[len(self.plain) :]:
            self.plain.append(dict(message))
            if message["role"] == "assistant":
                continue  # our own reply, already stored as its AIMessage (with tool calls)
            self.messages.append(self._to_langchain(message))

    def _to_langchain(self, message: dict[str, str]) -> BaseMessage:
        if message["role"] == "system":
            return SystemMessage(content=message["content"])
        last = self.messages[-1] if self.messages else None
        if isinstance(last, AIMessage) and last.tool_calls:
            # The observation after a tool call is that tool's result.
            return ToolMessage(content=message["content"], tool_call_id=last.tool_calls[0]["id"])
        return HumanMessage(content=message["content"])

    def add_reply(self, reply: BaseMessage) -> None:
        self.messages.append(reply)
        self.plain.append({"role": "assistant", "content": action_text(reply)})


def action_text(reply: BaseMessage) -> str:
    """The environment action of a reply: its first tool call as JSON, else its text."""
    calls = getattr(reply, "tool_calls", None) or []
    if calls:
        return json.dumps({"tool": calls[0]["name"], "args": calls[0]["args"]}, ensure_ascii=False)
    content = reply.content
    if isinstance(content, list):
        content = "".join(
            part if isinstance(part, str) else str(part.get("text", "")) for part in content
        )
    return str(content).strip()


def to_generation(reply: BaseMessage) -> Generation:
    """Turn a reply into a :class:`Generation`, keeping token ids and log-probs when present."""
    metadata = getattr(reply, "response_metadata", None) or {}
    logprobs = metadata.get("logprobs")
    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
        logprobs = [float(item["logprob"]) for item in logprobs["content"]]  # OpenAI's layout
    if not (isinstance(logprobs, list) and all(isinstance(v, int | float) for v in logprobs)):
        logprobs = None
    return Generation(
        text=action_text(reply),
        token_ids=list(metadata.get("token_ids") or []),
        logprobs=logprobs,
        prompt_token_ids=metadata.get("prompt_token_ids"),
        finish_reason=str(metadata.get("finish_reason") or "stop"),
        model_logprobs=metadata.get("model_logprobs"),
    )


class TransformersChatModel(BaseChatModel):
    """A :class:`TransformersPolicy` as a LangChain chat model.

    Args:
        policy: The transformers policy that generates.
    """

    policy: Any

    @property
    def _llm_type(self) -> str:
        return "envalign-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"policy": getattr(self.policy, "name", "transformers")}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._answer([messages], stop, kwargs.get("tools"))[0]
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def batch(  # type: ignore[override]
        self,
        inputs: list[Any],
        config: Any = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[BaseMessage]:
        """Answer every input in one padded generation pass (callbacks are not invoked)."""
        conversations = [self._convert_input(item).to_messages() for item in inputs]
        return list(self._answer(conversations, kwargs.get("stop"), kwargs.get("tools")))

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """Describe ``tools`` to the model and read JSON tool calls from its replies."""
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _answer(
        self,
        conversations: list[list[BaseMessage]],
        stop: list[str] | None,
        tools: list[dict[str, Any]] | None,
    ) -> list[AIMessage]:
        plain = [to_plain(messages, tools) for messages in conversations]
        sampling = self.policy.sampling
        if stop:
            from dataclasses import replace

            sampling = replace(sampling, stop=tuple(stop))
        generations = self.policy.generate(plain, sampling)
        known = {tool["function"]["name"] for tool in tools or []}
        return [to_ai_message(generation, known) for generation in generations]


def to_plain(messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> Conversation:
    """LangChain messages to chat dicts; tool results become user turns, tools join the system."""
    plain: Conversation = []
    for message in messages:
        if isinstance(message, SystemMessage):
            plain.append({"role": "system", "content": str(message.content)})
        elif isinstance(message, AIMessage):
            plain.append({"role": "assistant", "content": action_text(message)})
        elif isinstance(message, ToolMessage):
            plain.append({"role": "user", "content": f"Tool result: {message.content}"})
        else:
            plain.append({"role": "user", "content": str(message.content)})
    if tools:
        described = describe_tools(tools)
        if plain and plain[0]["role"] == "system":
            plain[0] = {"role": "system", "content": plain[0]["content"] + "\n\n" + described}
        else:
            plain.insert(0, {"role": "system", "content": described})
    return plain


def describe_tools(tools: list[dict[str, Any]]) -> str:
    """The tool list as the model reads it, with the JSON call format."""
    lines = ['Tools (call one with {"tool": "<name>", "args": {...}}):']
    for tool in tools:
        function = tool["function"]
        parameters = json.dumps(function.get("parameters", {}).get("properties", {}))
        lines.append(f"- {function['name']}: {function.get('description', '')} args: {parameters}")
    return "\n".join(lines)


def to_ai_message(generation: Generation, tool_names: set[str]) -> AIMessage:
    """Wrap a generation; a JSON tool call to a known tool becomes ``tool_calls``."""
    metadata = {
        "token_ids": generation.token_ids,
        "logprobs": generation.logprobs,
        "model_logprobs": generation.model_logprobs,
        "prompt_token_ids": generation.prompt_token_ids,
        "finish_reason": generation.finish_reason,
    }
    call = parse_tool_call(generation.text, tool_names)
    if call is None:
        return AIMessage(content=generation.text, response_metadata=metadata)
    name, args = call
    tool_call = {"name": name, "args": args, "id": f"call_{next(_CALL_IDS)}"}
    return AIMessage(content="", tool_calls=[tool_call], response_metadata=metadata)


def parse_tool_call(text: str, tool_names: set[str]) -> tuple[str, dict[str, Any]] | None:
    """``(name, args)`` when ``text`` is a JSON call of a known tool, else ``None``."""
    if not tool_names:
        return None
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    name = value.get("tool", value.get("name"))
    args = value.get("args", value.get("arguments", {}))
    if name not in tool_names or not isinstance(args, dict):
        return None
    return name, args
