"""The results table ``envalign eval`` prints at the end of a run."""

from __future__ import annotations

import io
from typing import Any

from envalign.training.eval.results import EvalResult


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _interval(value: float | None, interval: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if not interval:
        return _number(value, digits)
    low, high = interval
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _rate(summary: dict[str, Any]) -> str:
    rate, interval = summary.get("success_rate"), summary.get("success_ci")
    if rate is None:
        return "n/a"
    if not interval:
        return f"{rate:.0%}"
    return f"{rate:.0%} [{interval[0]:.0%}, {interval[1]:.0%}]"


def format_result(result: EvalResult, width: int = 160) -> str:
    """The per-entry table, then the family and overall scores, as text."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.suite} ({result.tier}) · {result.policy}")
    for column in ("entry", "family", "episodes", "failed", "return", "success", "normalised"):
        table.add_column(column, justify="left" if column in ("entry", "family") else "right")
    for entry in result.entries:
        summary = entry.summary
        if entry.unavailable:
            table.add_row(entry.id, entry.family, "-", "-", "not run", "", entry.unavailable[:40])
            continue
        table.add_row(
            entry.id,
            entry.family,
            str(summary.get("episodes", 0)),
            str(summary.get("failed", 0)),
            _interval(summary.get("mean_return"), summary.get("return_ci")),
            _rate(summary),
            _interval(summary.get("normalised"), summary.get("normalised_ci"), 0),
        )
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(table)
    for name, group in {**result.aggregate.get("families", {}), "overall": None}.items():
        group = group if group is not None else result.aggregate.get("overall", {})
        score = _interval(group.get("score"), group.get("ci"), 0)
        console.print(f"{name:>11}: {score}  ({len(group.get('entries', []))} entries)")
    for entry_id, reason in result.aggregate.get("excluded", {}).items():
        console.print(f"   excluded: {entry_id} ({reason})")
    return console.export_text()
