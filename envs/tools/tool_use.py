"""ToolUse-v0: answer a question by calling LangChain tools with JSON, then give a final answer."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.info import step_info
from envalign.envs.tools.code_extract import fenced_blocks
from envalign.envs.tools.sessions import LeaseHolder
from envalign.envs.tools.task_ids import pick_by_id
from envalign.envs.tools.tool_tasks import ToolTask, tool_facts, tool_tasks

SHOWN_RESULT = 2_000
NUMBER = re.compile(
    r"[-−]?\d{1,3}(?:,\d{3}){1,8}(?:\.\d{1,30})?|[-−]?\d{1,40}(?:\.\d{1,30})?(?:[eE][-+]?\d{1,3})?"
)
ACTION_HELP = (
    'Reply with one JSON object: {"tool": "<name>", "args": {...}} to call a tool, or '
    '{"final_answer": "<answer>"} to answer.'
)


def parse_action(text: str) -> tuple[str, Any, str]:
    """Read a tool call or a final answer from an agent's reply.

    Accepts ``{"tool": name, "args": {...}}``, ``{"name": name, "arguments": {...} or "<json>"}``
    (OpenAI and LangChain tool-call shapes), and ``{"final_answer": ...}`` or ``{"answer": ...}``,
    bare or in a fenced block.

    Returns:
        ``("call", (name, args), "")``, ``("final", answer_text, "")`` or ``("error", None, why)``.
    """
    blocks = [body for _, body in fenced_blocks(text)]
    candidates = [*reversed(blocks), text]
    value: Any = None
    for candidate in candidates:
        try:
            value = json.loads(candidate.strip())
            break
        except (json.JSONDecodeError, RecursionError):
            continue
    else:
        return "error", None, f"Your reply is not valid JSON. {ACTION_HELP}"
    if not isinstance(value, dict):
        return "error", None, f"Expected a JSON object, got {type(value).__name__}. {ACTION_HELP}"
    for key in ("final_answer", "answer"):
        if key in value:
            return "final", str(value[key]), ""
    name = value.get("tool", value.get("name"))
    args = value.get("args", value.get("arguments", value.get("tool_input", {})))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return "error", None, "The tool arguments are a string that is not valid JSON."
    if not isinstance(name, str) or not name:
        return (
            "error",
            None,
            f'The JSON names no tool ("tool") and no "final_answer". {ACTION_HELP}',
        )
    if not isinstance(args, dict):
        return (
            "error",
            None,
            f'The "args" of a tool call must be a JSON object, got {type(args).__name__}.',
        )
    return "call", (name, args), ""


def answer_number(text: str) -> float | None:
    """The first number written in a final answer (``"1,234.5"``, ``"-3"``, ``"2e3"``), or None."""
    match = NUMBER.search(text)
    if match is None:
        return None
    value = float(match.group().replace(",", "").replace("−", "-"))
    return value if math.isfinite(value) else None


class ToolUseEnv(TextEnv):
    """Tool use with LangChain tools: call tools in JSON, read their results, answer.

    ## Description
    Each episode asks one of 34 questions over a key-value store of invented facts (planets,
    mountains, items, cities; ``envs/tools/data/tool_facts.json``), so the answer cannot be
    recalled, only computed with the tools. Tools are LangChain ``BaseTool`` objects
    (``env.tools``; pass them to ``bind_tools``): ``calculator`` (a safe ``ast`` evaluator),
    ``python`` (runs in the sandbox), ``lookup`` (the key-value store) and ``convert_units``, plus
    any ``extra_tools`` given.

    ## Observation
    The question, the tool list with argument schemas, then each tool's result (or the error).

    ## Action
    One JSON object: ``{"tool": "calculator", "args": {"expression": "2 + 2"}}`` (``name`` /
    ``arguments`` also accepted) or ``{"final_answer": "42"}``. Invalid JSON, unknown tools and
    bad arguments are answered with feedback.

    ## Reward
    On the final answer: ``correct`` 1.0 when its first number is within the task's tolerance of
    the verified answer, else 0. Tool calls return 0.

    ## Termination
    On the final answer; truncated after ``max_turns`` actions.

    ## Arguments
    ``extra_tools`` (a list of LangChain tools to add), ``max_turns`` (8), ``sandbox`` (a
    ``Sandbox`` or ``SandboxPool`` for the python tool), ``render_mode``.
    ``reset(options={"task_id": "moons/aurin+kell"})`` picks a task.
    """

    system_prompt = (
        "You answer questions by calling tools. Each reply is one JSON object: a tool call "
        '{"tool": ..., "args": {...}} or {"final_answer": ...}.'
    )

    def __init__(
        self,
        extra_tools: Sequence[Any] = (),
        max_turns: int = 8,
        python_timeout_s: float = 5.0,
        sandbox: Any = None,
        render_mode: str | None = None,
        max_action_length: int = 8_192,
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=max_action_length)
        from envalign.envs.tools.tools import build_tools

        self.tools = [*build_tools(tool_facts(), self._run_python), *extra_tools]
        names = [tool.name for tool in self.tools]
        if len(set(names)) != len(names):
            raise ValueError(f"Tool names must be unique, got {names}.")
        self.tasks = tool_tasks()
        self.max_turns = max_turns
        self.python_timeout_s = python_timeout_s
        self.sessions = LeaseHolder(self, sandbox)
        self.task: ToolTask = self.tasks[0]
        self.turns = 0

    @property
    def tool_descriptions(self) -> str:
        """One line per tool: name, description and argument names."""
        lines = []
        for tool in self.tools:
            fields = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in tool.args.items())
            lines.append(f"- {tool.name}({fields}): {tool.description}")
        return "\n".join(lines)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Pick a question."""
        super().reset(seed=seed)
        self.sessions.clean()  # files of the last episode must not leak into this one
        wanted = (options or {}).get("task_id")
        if wanted is not None:
            self.task = pick_by_id(self.tasks, wanted, "task_id")
        else:
            self.task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        self.turns = 0
        observation = self._observation("")
        self.transcript = [observation]
        return observation, step_info(0.0, components={}, task_id=self.task.id)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Execute a tool call or grade the final answer."""
        self.turns += 1
        text, problem = read_action(action, self.max_action_length)
        parsed: tuple[str, Any, str] = (
            parse_action(text) if text is not None else ("error", None, problem)
        )
        kind, payload, why = parsed
        correct = False
        if kind == "call":
            name, args = payload
            feedback = self.call_tool(name, args)
        elif kind == "final":
            correct, feedback = self._grade(str(payload))
        else:
            feedback = why
        terminated = kind == "final"
        truncated = not terminated and self.turns >= self.max_turns
        reward = 1.0 if correct else 0.0
        self.transcript += [f"A: {str(action)[:500]}", feedback]
        info = step_info(
            reward,
            components={"correct": reward},
            feedback=feedback,
            task_id=self.task.id,
            metrics={"success": correct, "turns": self.turns, "tool_call": kind == "call"},
        )
        return self._observation(feedback), reward, terminated, truncated, info

    def close(self) -> None:
        """Give the sandbox session (if the python tool used one) back."""
        self.sessions.release()

    def call_tool(self, name: str, args: dict[str, Any]) -> str:
        """Run one tool and return its result, or feedback on why it could not run."""
        tool = next((t for t in self.tools if t.name == name), None)
        if tool is None:
            known = ", ".join(t.name for t in self.tools)
            return f"Unknown tool {name!r}. Available tools: {known}."
        try:
            result = tool.invoke(args)
        except Exception as error:  # a tool's failure is feedback for the agent, not a crash
            message = " ".join(str(error).split())[:500]
            return f"Tool {name} failed ({type(error).__name__}): {message}"
        text = str(getattr(result, "content", result))
        if len(text) > SHOWN_RESULT:
            text = text[:SHOWN_RESULT] + " ... (truncated)"
        return f"{name} -> {text}"

    def _run_python(self, code: str) -> str:
        from envalign.sandbox import Limits

        limits = Limits(wall_time_s=self.python_timeout_s, output_bytes=1 << 16)
        result = self.sessions.lease.run(code, language="python", limits=limits)
        output = (result.stdout + result.stderr).strip() or "(no output)"
        if result.timed_out:
            output += f"\n(stopped after {self.python_timeout_s:g}s)"
        elif result.exit_code != 0:
            output += f"\n(exit code {result.exit_code})"
        return output

    def _grade(self, answer: str) -> tuple[bool, str]:
        value = answer_number(answer)
        if value is None:
            return False, "Final answer given, but it contains no number."
        if abs(value - self.task.answer) <= self.task.tolerance:
            return True, "Final answer: correct."
        return False, "Final answer: incorrect."

    def _observation(self, last: str) -> str:
        result = f"\n\nLast result: {last}" if last else ""
        return (
            f"Question: {self.task.question}\n\nTools:\n{self.tool_descriptions}\n\n{ACTION_HELP}"
            f"{result}\nTurn {self.turns}/{self.max_turns}."
        )


def scripted_policy(context: ActContext) -> str:
    """The oracle: follow the gold plan, then answer with the verified answer."""
    env = context.env
    if env.turns < len(env.task.plan):
        return json.dumps(env.task.plan[env.turns])
    return json.dumps({"final_answer": repr(env.task.answer)})


RANDOM_ACTIONS = (
    '{"tool": "calculator", "args": {"expression": "1 + 1"}}',
    '{"tool": "lookup", "args": {"key": "planet:zorb:moons"}}',
    '{"tool": "nonexistent", "args": {}}',
    '{"final_answer": "7"}',
    "not json",
    '{"tool": "convert_units", "args": {"value": 1}}',
)


def random_policy(context: ActContext) -> str:
    """Random calls and guesses."""
    return context.rng.choice(RANDOM_ACTIONS)
