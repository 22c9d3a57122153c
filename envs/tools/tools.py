"""LangChain tools of ToolUse-v0: calculator, Python (in the sandbox), key-value lookup, units.

Each tool is a ``langchain_core.tools.BaseTool``, so a LangChain agent can ``bind_tools`` with the
same objects the environment executes. ``langchain-core`` is imported when a tool is built.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from envalign.envs.errors import DependencyNotInstalled

MAX_EXPONENT = 10_000
MAX_EXPRESSION = 500
BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "log": math.log,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "floor": math.floor,
    "ceil": math.ceil,
}
CONSTANTS = {"pi": math.pi, "e": math.e}

# Unit factors to the base unit of each dimension (metre, kilogram, second, litre).
UNITS: dict[str, tuple[str, float]] = {
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "yd": ("length", 0.9144),
    "mi": ("length", 1609.344),
    "g": ("mass", 0.001),
    "kg": ("mass", 1.0),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
    "t": ("mass", 1000.0),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "day": ("time", 86400.0),
    "ml": ("volume", 0.001),
    "l": ("volume", 1.0),
    "gal": ("volume", 3.785411784),
}
TEMPERATURES = ("c", "f", "k")


def evaluate(expression: str) -> float | int:
    """Evaluate an arithmetic expression safely (``ast``, never ``eval``).

    Numbers, ``+ - * / // % **``, parentheses, ``pi``, ``e`` and a few math functions
    (``sqrt``, ``log``, ``round``...). Exponents are bounded so ``9**9**9`` cannot hang.

    Raises:
        ValueError: For anything else, with a message saying what is not allowed.
    """
    if len(expression) > MAX_EXPRESSION:
        raise ValueError(f"expression longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not an arithmetic expression ({error.msg})") from None
    return _node(tree.body)


def _node(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_node(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _node(node.left), _node(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponent {right} is too large (limit {MAX_EXPONENT})")
        if (
            isinstance(node.op, ast.Pow)
            and abs(left) > 1
            and abs(right) * math.log2(abs(left)) > 4096
        ):
            raise ValueError("the result would be too large")
        return BINARY[type(node.op)](left, right)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
    ):
        return FUNCTIONS[node.func.id](*(_node(arg) for arg in node.args))
    raise ValueError(
        f"'{ast.unparse(node)[:40]}' is not allowed; use numbers, + - * / ** and math functions"
    )


def convert_units(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` between units of length, mass, time, volume or temperature.

    Raises:
        ValueError: For unknown units or units of different dimensions.
    """
    source, target = from_unit.strip().lower(), to_unit.strip().lower()
    if source in TEMPERATURES or target in TEMPERATURES:
        if source not in TEMPERATURES or target not in TEMPERATURES:
            raise ValueError("temperatures convert only between c, f and k")
        kelvin = {"c": value + 273.15, "f": (value - 32) * 5 / 9 + 273.15, "k": value}[source]
        return {"c": kelvin - 273.15, "f": (kelvin - 273.15) * 9 / 5 + 32, "k": kelvin}[target]
    for unit in (source, target):
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}; known: {', '.join([*UNITS, *TEMPERATURES])}")
    if UNITS[source][0] != UNITS[target][0]:
        raise ValueError(
            f"cannot convert {UNITS[source][0]} ({source}) to {UNITS[target][0]} ({target})"
        )
    return value * UNITS[source][1] / UNITS[target][1]


def _langchain() -> Any:
    try:
        from langchain_core import tools
    except ImportError as error:
        raise DependencyNotInstalled(
            "langchain-core", "tools", "build the ToolUse tools"
        ) from error
    return tools


def build_tools(facts: Mapping[str, str], run_python: Callable[[str], str]) -> list[Any]:
    """Build the four standard tools.

    Args:
        facts: The key-value store the ``lookup`` tool reads.
        run_python: Runs Python source in the sandbox and returns its output text.

    Returns:
        ``[calculator, python, lookup, convert_units]`` as LangChain ``BaseTool`` objects.
    """
    tools = _langchain()
    from pydantic import BaseModel, Field

    class CalculatorArgs(BaseModel):
        expression: str = Field(description="Arithmetic expression, e.g. '(3 + 4) * 2 / 7'.")

    class PythonArgs(BaseModel):
        code: str = Field(description="Python source; print what you want to see.")

    class LookupArgs(BaseModel):
        key: str = Field(description="Key to look up, e.g. 'planet:zorb:moons'.")

    class ConvertArgs(BaseModel):
        value: float = Field(description="The number to convert.")
        from_unit: str = Field(description="Unit of value, e.g. 'km', 'lb', 'c'.")
        to_unit: str = Field(description="Unit wanted, e.g. 'mi', 'kg', 'f'.")

    def calculator(expression: str) -> str:
        return repr(evaluate(expression))

    def python(code: str) -> str:
        return run_python(code)

    def lookup(key: str) -> str:
        wanted = key.strip().lower()
        if wanted in facts:
            return facts[wanted]
        prefix, suffix = wanted.split(":")[0], wanted.split(":")[-1]
        family = [k for k in sorted(facts) if k.startswith(prefix + ":")]
        near = sorted(family, key=lambda k: not k.endswith(":" + suffix))[:10]
        hint = (
            f" Keys with that prefix: {', '.join(near)}." if near else " Try 'keys' to list keys."
        )
        if wanted == "keys":
            return ", ".join(sorted(facts))
        raise tools.ToolException(f"no entry for {key!r}.{hint}")

    def convert(value: float, from_unit: str, to_unit: str) -> str:
        return repr(round(convert_units(value, from_unit, to_unit), 9))

    specs = [
        (calculator, "calculator", "Evaluate an arithmetic expression exactly.", CalculatorArgs),
        (python, "python", "Run Python code in a sandbox and return what it prints.", PythonArgs),
        (lookup, "lookup", "Look up a fact by key ('keys' lists every key).", LookupArgs),
        (
            convert,
            "convert_units",
            "Convert a value between units (length, mass, time, volume, temperature c/f/k).",
            ConvertArgs,
        ),
    ]
    return [
        tools.StructuredTool.from_function(
            func=function,
            name=name,
            description=description,
            args_schema=schema,
            handle_tool_error=False,
        )
        for function, name, description, schema in specs
    ]
