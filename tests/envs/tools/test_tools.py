import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.envs.tools.tools import build_tools, convert_units, evaluate


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 ** 10", 1024),
        ("7 // 2", 3),
        ("-3 % 5", 2),
        ("sqrt(16) + round(2.567, 2)", 6.57),
        ("pi", math.pi),
        ("max(1, 5, 3)", 5),
    ],
)
def test_calculator_evaluates_arithmetic(expression, value):
    assert evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('ls')",
        "open('/etc/passwd')",
        "x",
        "[1, 2]",
        "(lambda: 1)()",
        "9 ** 9 ** 9",
        "10 ** 5000",
        "1 +",
        "'a' * 3",
        "sqrt(x=4)",
        "1" * 600,
    ],
)
def test_calculator_refuses_everything_else(expression):
    with pytest.raises(ValueError):
        evaluate(expression)


@given(st.text(max_size=80))
def test_calculator_only_raises_value_or_arithmetic_errors(text):
    try:
        evaluate(text)
    except (ValueError, ArithmeticError, TypeError):
        pass


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1, "km", "m", 1000),
        (1, "mi", "km", 1.609344),
        (10, "lb", "kg", 4.5359237),
        (100, "c", "f", 212),
        (32, "f", "c", 0),
        (0, "k", "c", -273.15),
        (2, "h", "min", 120),
        (1, "gal", "l", 3.785411784),
    ],
)
def test_unit_conversion(value, source, target, expected):
    assert convert_units(value, source, target) == pytest.approx(expected)


@pytest.mark.parametrize(("source", "target"), [("m", "kg"), ("parsec", "m"), ("c", "m")])
def test_impossible_conversions_raise(source, target):
    with pytest.raises(ValueError):
        convert_units(1, source, target)


def test_tools_are_langchain_base_tools_with_schemas():
    from langchain_core.tools import BaseTool
    from langchain_core.utils.function_calling import convert_to_openai_tool

    tools = build_tools({"a:b": "1"}, run_python=lambda code: "ran")
    assert all(isinstance(tool, BaseTool) for tool in tools)
    assert [t.name for t in tools] == ["calculator", "python", "lookup", "convert_units"]
    schema = convert_to_openai_tool(tools[3])["function"]["parameters"]
    assert set(schema["required"]) == {"value", "from_unit", "to_unit"}
    assert tools[0].invoke({"expression": "6 * 7"}) == "42"
    assert tools[1].invoke({"code": "print(1)"}) == "ran"
    assert tools[2].invoke({"key": "A:B"}) == "1"
