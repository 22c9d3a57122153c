"""The tools family's registrations."""

from envalign.envs.registry import register

TOOLS = "envalign.envs.tools"


def _policies(module: str) -> dict[str, str]:
    return {
        "scripted": f"{TOOLS}.{module}:scripted_policy",
        "random": f"{TOOLS}.{module}:random_policy",
    }


def register_all() -> None:
    """Register the tools family (one ``register(...)`` line per environment)."""
    register(
        "envalign/PythonTests-v0",
        f"{TOOLS}.python_tests:PythonTestsEnv",
        family="tool",
        description="Write a Python function; hidden tests call it in the sandbox and give "
        "feedback; reward = fraction passed.",
        needs_docker=True,
        tags=("code", "humaneval", "execution-feedback", "multi-turn"),
        policies=_policies("python_tests"),
    )
    register(
        "envalign/Bash-v0",
        f"{TOOLS}.bash_env:BashEnv",
        family="tool",
        description="Shell tasks in a sandboxed file tree, one command per turn; reward when the "
        "answer or final files match the gold command's.",
        needs_docker=True,
        tags=("shell", "intercode", "multi-turn"),
        policies=_policies("bash_env"),
    )
    register(
        "envalign/SQL-v0",
        f"{TOOLS}.sql_env:SqlEnv",
        family="tool",
        description="Explore a SQLite database with queries and submit one; reward from "
        "result-set equality with the gold query.",
        needs_docker=True,
        tags=("sql", "intercode", "multi-turn"),
        policies=_policies("sql_env"),
    )
    register(
        "envalign/ToolUse-v0",
        f"{TOOLS}.tool_use:ToolUseEnv",
        family="tool",
        description="Call LangChain tools (calculator, sandboxed Python, lookup, units) with JSON "
        "and answer; reward for the verified answer.",
        needs_docker=True,
        tags=("langchain", "tool-calling", "multi-turn"),
        policies=_policies("tool_use"),
    )
