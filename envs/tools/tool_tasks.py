"""ToolUse-v0's tasks: questions over a key-value store of invented facts, with verified answers.

Every task has a gold plan (the tool calls that answer it) and the answer, computed here from the
facts. Tests execute each plan with the real tools and check that its last result is the answer.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class ToolTask:
    """One question.

    Attributes:
        id: ``<template>/<subject>``.
        question: The question shown to the agent.
        answer: The verified numeric answer.
        tolerance: Largest accepted absolute error.
        plan: Tool calls that answer it, ``({"tool": name, "args": {...}}, ...)``; the last one's
            result is the answer.
    """

    id: str
    question: str
    answer: float
    tolerance: float
    plan: tuple[dict[str, Any], ...]


@functools.cache
def tool_facts() -> dict[str, str]:
    """The key-value store (``data/tool_facts.json``)."""
    text = resources.files("envalign.envs.tools").joinpath("data/tool_facts.json").read_text()
    return dict(json.loads(text))


def _call(tool: str, **args: Any) -> dict[str, Any]:
    return {"tool": tool, "args": args}


def _fact(key: str) -> float:
    return float(tool_facts()[key])


def _names(kind: str, attribute: str) -> list[str]:
    return sorted(
        k.split(":")[1]
        for k in tool_facts()
        if k.startswith(kind + ":") and k.endswith(":" + attribute)
    )


def _exact(value: float) -> float:
    return 1e-6 * max(1.0, abs(value))


def _moons() -> list[ToolTask]:
    planets = _names("planet", "moons")
    pairs = [(a, b) for i, a in enumerate(planets) for b in planets[i + 1 :]][:6]
    tasks = []
    for a, b in pairs:
        x, y = _fact(f"planet:{a}:moons"), _fact(f"planet:{b}:moons")
        tasks.append(
            ToolTask(
                f"moons/{a}+{b}",
                f"How many moons do the planets {a.title()} and {b.title()} have together?",
                x + y,
                _exact(x + y),
                (
                    _call("lookup", key=f"planet:{a}:moons"),
                    _call("lookup", key=f"planet:{b}:moons"),
                    _call("calculator", expression=f"{x:g} + {y:g}"),
                ),
            )
        )
    return tasks


def _mountains() -> list[ToolTask]:
    tasks = []
    for name in _names("mountain", "height_m"):
        height = _fact(f"mountain:{name}:height_m")
        feet = round(height / 0.3048, 2)
        tasks.append(
            ToolTask(
                f"feet/{name}",
                f"How tall is the mountain {name.title()} in feet? Round to 2 decimals.",
                feet,
                0.011,
                (
                    _call("lookup", key=f"mountain:{name}:height_m"),
                    _call("convert_units", value=height, from_unit="m", to_unit="ft"),
                ),
            )
        )
    return tasks


def _prices() -> list[ToolTask]:
    tasks = []
    for count, name in enumerate(_names("item", "price_usd"), start=2):
        price, rate = _fact(f"item:{name}:price_usd"), _fact("rate:usd_eur")
        total = count * price * rate
        tasks.append(
            ToolTask(
                f"euros/{name}",
                f"What do {count} units of the item '{name}' cost in euros (prices are "
                "in US dollars; use the stored exchange rate)? Round to 2 decimals.",
                round(total, 2),
                0.011,
                (
                    _call("lookup", key=f"item:{name}:price_usd"),
                    _call("lookup", key="rate:usd_eur"),
                    _call("calculator", expression=f"round({count} * {price:g} * {rate:g}, 2)"),
                ),
            )
        )
    return tasks


def _weights() -> list[ToolTask]:
    tasks = []
    for count, name in enumerate(_names("item", "weight_lb"), start=3):
        pounds = count * _fact(f"item:{name}:weight_lb")
        kilograms = pounds * 0.45359237
        tasks.append(
            ToolTask(
                f"kilograms/{name}",
                f"How many kilograms do {count} units of the item '{name}' weigh "
                "(weights are stored in pounds)? Round to 2 decimals.",
                round(kilograms, 2),
                0.011,
                (
                    _call("lookup", key=f"item:{name}:weight_lb"),
                    _call(
                        "calculator", expression=f"{count} * {_fact(f'item:{name}:weight_lb'):g}"
                    ),
                    _call("convert_units", value=pounds, from_unit="lb", to_unit="kg"),
                ),
            )
        )
    return tasks


def _density() -> list[ToolTask]:
    tasks = []
    for name in _names("city", "population"):
        people, area = _fact(f"city:{name}:population"), _fact(f"city:{name}:area_km2")
        tasks.append(
            ToolTask(
                f"density/{name}",
                f"What is the population density of {name.title()} in people per "
                "square kilometre? Round to 1 decimal.",
                round(people / area, 1),
                0.051,
                (
                    _call("lookup", key=f"city:{name}:population"),
                    _call("lookup", key=f"city:{name}:area_km2"),
                    _call("calculator", expression=f"round({people:g} / {area:g}, 1)"),
                ),
            )
        )
    return tasks


def _temperatures() -> list[ToolTask]:
    tasks = []
    for name in _names("city", "july_temp_c"):
        celsius = _fact(f"city:{name}:july_temp_c")
        tasks.append(
            ToolTask(
                f"fahrenheit/{name}",
                f"What is the average July temperature of {name.title()} in "
                "degrees Fahrenheit? Round to 1 decimal.",
                round(celsius * 9 / 5 + 32, 1),
                0.051,
                (
                    _call("lookup", key=f"city:{name}:july_temp_c"),
                    _call("convert_units", value=celsius, from_unit="c", to_unit="f"),
                ),
            )
        )
    return tasks


def _primes() -> list[ToolTask]:
    tasks = []
    for limit in (100, 500, 1000, 2500, 10000):
        total = sum(n for n in range(2, limit) if all(n % d for d in range(2, int(n**0.5) + 1)))
        code = (
            f"print(sum(n for n in range(2, {limit}) "
            "if all(n % d for d in range(2, int(n ** 0.5) + 1))))"
        )
        tasks.append(
            ToolTask(
                f"primes/{limit}",
                f"What is the sum of all prime numbers below {limit}?",
                float(total),
                0.5,
                (_call("python", code=code),),
            )
        )
    return tasks


@functools.cache
def tool_tasks() -> tuple[ToolTask, ...]:
    """Every ToolUse task, in a fixed order."""
    return tuple(
        task
        for make in (_moons, _mountains, _prices, _weights, _density, _temperatures, _primes)
        for task in make()
    )
