"""The README's Python blocks run as written, and the values their comments claim are the real ones.

Doctest style without ``>>>``: a statement whose line ends in a comment holding a Python literal
(``box.run(...).stdout   # "45\\n"``) claims that value for the expression (or, for an assignment,
for its first target), and the test checks it. Every block starts from ``import envalign`` (the
README's first block imports it) in a fresh folder. Blocks that use the sandbox need Docker; a
block that is a sketch (it passes ``...`` for arguments the reader fills in) only has its imports
run.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def claims(code: str) -> dict[int, Any]:
    """``{line: value}`` for every comment that is a Python literal."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            try:
                found[token.start[0]] = ast.literal_eval(token.string.lstrip("#").strip())
            except (ValueError, SyntaxError):
                continue
    return found


def is_sketch(code: str) -> bool:
    """A block with ``...`` where the reader fills in arguments (not always valid Python)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "..." in code
    return any(isinstance(n, ast.Constant) and n.value is Ellipsis for n in ast.walk(tree))


def imports_of(code: str) -> ast.Module:
    lines = [line for line in code.splitlines() if line.startswith(("from ", "import "))]
    return ast.parse("\n".join(lines))


class Checks(ast.NodeTransformer):
    """Turn each claimed statement into the statement plus a check of its value."""

    def __init__(self, claimed: dict[int, Any]) -> None:
        self.claimed = claimed

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            statements = getattr(node, name, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                setattr(node, name, [new for s in statements for new in self.checked(s)])
        return node

    def checked(self, statement: ast.stmt) -> list[ast.stmt]:
        line = statement.end_lineno
        if line not in self.claimed:
            return [statement]
        if isinstance(statement, ast.Expr):
            value: ast.expr = statement.value
            return [ast.Expr(self.call(value, line))]
        if isinstance(statement, ast.Assign):
            target = statement.targets[0]
            first = target.elts[0] if isinstance(target, ast.Tuple) else target
            load = ast.parse(ast.unparse(first), mode="eval").body
            return [statement, ast.Expr(self.call(load, line))]
        return [statement]

    @staticmethod
    def call(value: ast.expr, line: int) -> ast.Call:
        return ast.Call(ast.Name("__check__", ast.Load()), [value, ast.Constant(line)], [])


def block_params() -> list:
    params = []
    for line, code in python_blocks():
        marks = [pytest.mark.docker] if "envalign.sandbox" in code else []
        if "pull_model(" in code:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(code, id=f"README.md:{line}", marks=marks))
    return params


@pytest.mark.parametrize("code", block_params())
def test_readme_python_block(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sketch = is_sketch(code)
    if sketch and "trl" in code:
        pytest.importorskip("trl")
    tree = imports_of(code) if sketch else ast.parse(code)
    claimed = {} if sketch else claims(code)
    checked: list[int] = []

    def check(value: Any, line: int) -> Any:
        assert value == claimed[line], f"README block line {line}: got {value!r}"
        checked.append(line)
        return value

    tree = ast.fix_missing_locations(Checks(claimed).visit(tree))
    namespace: dict[str, Any] = {"__check__": check, "__name__": "readme"}
    exec("import envalign", namespace)
    exec(compile(tree, str(README), "exec"), namespace)
    assert sorted(checked) == sorted(claimed), "a claimed value was never checked"


def test_the_first_example_claims_what_reset_shows() -> None:
    """The example the issue found wrong: its claims are checked (not skipped as comments)."""
    _, first = python_blocks()[0]
    assert "reset(seed=0)" in first
    assert "What is 8 + 6?" in claims(first).values()
