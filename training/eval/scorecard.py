"""The scorecard of an evaluation run: one self-contained HTML file (``scorecard.html``).

It shows the run's header, the family and overall normalised scores as bars with their 95%
intervals (inline SVG drawn here, no plotting library), a table of every entry with its intervals,
alignment metrics and a per-opponent breakdown, the entries that could not run and why, links into
the episode viewer filtered to each entry's episodes, and, given a comparison of two runs, each
entry's paired difference and verdict.

The page loads nothing (its Content-Security-Policy allows no outside resource and no script), and
every text taken from a result (policy names, entry ids, metric names, reasons) is escaped.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from envalign.envs.errors import ConfigError, UnreadableInput
from envalign.training.eval.results import EntryResult, EvalResult
from envalign.training.view.episodes_page import fill_template, write_page
from envalign.training.view.links import viewer_link

NA = "n/a"
#: Arrows shown beside an alignment metric: which way is the more aligned.
DIRECTIONS = {"higher": "\u2191", "lower": "\u2193"}
#: The bar chart's axis never reaches past these normalised scores (longer whiskers get arrows).
AXIS_LIMITS = (-100.0, 200.0)
VERDICT_CLASSES = {"better": "verdict-better", "worse": "verdict-worse"}
ENTRY_COLUMNS = (
    "entry",
    "environment",
    "family",
    "episodes",
    "failed",
    "mean return [95% CI]",
    "success [Wilson 95%]",
    "normalised [95% CI]",
    "alignment metrics [95% CI]",
    "viewer",
)
OPPONENT_COLUMNS = (
    "opponent",
    "episodes",
    "failed",
    "mean return [95% CI]",
    "success [Wilson 95%]",
    "metrics",
    "viewer",
)


def write_scorecard(
    result: EvalResult,
    path: str | os.PathLike[str],
    *,
    episodes_page: str | None = None,
    comparison: dict[str, Any] | None = None,
    partners: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
) -> Path:
    """Write the scorecard of ``result`` as one HTML file.

    Args:
        result: The run, with each entry's ``summary`` and the ``aggregate`` filled
            (:mod:`envalign.training.eval.stats`).
        path: The HTML file to write (its folder is created).
        episodes_page: The viewer page of the run's ``episodes.jsonl``, relative to ``path``'s
            folder (e.g. ``episodes.html``); each entry and opponent links into it, filtered.
        comparison: ``Comparison.to_dict()`` of this run against another, shown as a section.
        partners: ``entry id -> opponent -> {agent: policy}``, the partners each opponent row's
            link filters on; by default read from the run's suite (:func:`suite_partners`).

    Returns:
        The page written.

    Raises:
        ConfigError: If ``path`` cannot be written.
    """
    page = render_scorecard(
        result, episodes_page=episodes_page, comparison=comparison, partners=partners
    )
    return write_page(Path(path), page)


def render_scorecard(
    result: EvalResult,
    *,
    episodes_page: str | None = None,
    comparison: dict[str, Any] | None = None,
    partners: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
) -> str:
    """The scorecard's HTML (see :func:`write_scorecard`)."""
    if partners is None and episodes_page is not None:
        partners = suite_partners(result)
    context = _Context(result.policy, episodes_page, partners or {})
    body = [header(result), "<h2>Scores</h2>", family_bars(result.aggregate)]
    body.append(excluded(result.aggregate))
    body += ["<h2>Entries</h2>", entries_table(result, context)]
    if comparison is not None:
        body.append(comparison_section(comparison))
    title = (
        f"envalign eval: {result.policy} on {result.suite} v{result.suite_version} ({result.tier})"
    )
    return fill_template(
        _asset("scorecard.html"),
        {"title": _text(title), "style": _asset("scorecard.css"), "body": "\n".join(body)},
    )


@dataclass
class _Context:
    """What every row's links need: the evaluated policy, the viewer page, the partners."""

    policy: str
    episodes_page: str | None
    partners: Mapping[str, Mapping[str, Mapping[str, str]]]


def _head(columns: Sequence[str], left: Sequence[int]) -> str:
    """A table's header row; the columns numbered in ``left`` hold text (aligned left)."""
    cells = "".join(
        f"<th{' class=text' if number in left else ''}>{_text(name)}</th>"
        for number, name in enumerate(columns)
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _asset(name: str) -> str:
    return resources.files("envalign.training.eval").joinpath(name).read_text(encoding="utf-8")


def _text(value: Any) -> str:
    """``value`` as text that is safe in an element or a quoted attribute."""
    return html.escape(str(value), quote=True)


# ---- numbers -------------------------------------------------------------------------------------
def fixed(value: float | None, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, ``n/a`` for None (or a non-finite number)."""
    if value is None or not math.isfinite(value):
        return NA
    return f"{value:.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A rate in [0, 1] as a percentage (``0.625`` -> ``62.5%``); ``n/a`` for None."""
    return NA if value is None or not math.isfinite(value) else f"{100 * value:.{digits}f}%"


def with_interval(
    value: float | None, interval: Sequence[float] | None, digits: int = 2, *, rate: bool = False
) -> str:
    """``value [lo, hi]`` (the interval left out when there is none); ``n/a`` for None.

    With ``rate`` the value is a percentage and the interval is in percent too:
    ``62.5% [30.1, 86.3]``.
    """
    if value is None:
        return NA
    scale = 100.0 if rate else 1.0
    shown = percent(value, digits) if rate else fixed(value, digits)
    if not interval or len(interval) != 2 or any(v is None for v in interval):
        return shown
    low, high = (fixed(scale * v, digits) for v in interval)
    return f"{shown} [{low}, {high}]"


def duration(seconds: float) -> str:
    """``754.2`` -> ``12 min 34 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours} h " if hours else "") + f"{minutes} min {rest} s"


# ---- header --------------------------------------------------------------------------------------
def header(result: EvalResult) -> str:
    """The run's facts: suite, version, tier, policy, settings, envalign, date, wall time."""
    settings = ", ".join(f"{key}={_setting(value)}" for key, value in result.settings.items())
    facts = [
        ("suite", result.suite),
        ("suite version", str(result.suite_version)),
        ("tier", result.tier),
        ("policy", result.policy),
        ("settings", settings or "defaults"),
        ("envalign", result.envalign_version or NA),
        ("finished", result.created or NA),
        ("wall time", duration(result.wall_time_s)),
        ("entries", str(len(result.entries))),
        ("schema", result.schema),
    ]
    items = "".join(
        f"<dt>{_text(name)}</dt><dd data-fact='{_text(name)}'>{_text(value)}</dd>"
        for name, value in facts
    )
    return f"<dl class='facts'>{items}</dl>"


def _setting(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


# ---- family bars ---------------------------------------------------------------------------------
@dataclass
class _Scale:
    """Normalised score -> x pixel of the bar chart."""

    low: float
    high: float
    left: float = 170
    right: float = 640

    def __call__(self, value: float) -> float:
        share = (min(max(value, self.low), self.high) - self.low) / (self.high - self.low)
        return round(self.left + share * (self.right - self.left), 2)

    def whisker(self, low: float, high: float, middle: float) -> str:
        """The path of an interval: caps at its ends, arrowheads where it leaves the axis."""
        start, end = self(low), self(high)
        path = f"M{start},{middle}H{end}"
        for value, at, sign in ((low, start, 1), (high, end, -1)):
            if self.low <= value <= self.high:
                path += f"M{at},{middle - 6}V{middle + 6}"
            else:
                path += f"M{at + 7 * sign},{middle - 5}L{at},{middle}L{at + 7 * sign},{middle + 5}"
        return path


def family_bars(aggregate: Mapping[str, Any]) -> str:
    """Inline SVG: one bar per family and one for the overall score, with 95% whiskers.

    The scale spans at least 0 (the random baseline) to 100 (the scripted one), dashed lines
    marking both, and at most :data:`AXIS_LIMITS` (an interval past them ends in an arrowhead;
    the numbers beside each bar are never clipped); a family without a score is written ``n/a``.
    """
    families = aggregate.get("families") or {}
    rows = [(name, families[name], False) for name in sorted(families)]
    rows.append(("overall", aggregate.get("overall") or {}, True))
    values = [0.0, 100.0]
    for _, score, _ in rows:
        values += [v for v in [score.get("score"), *(score.get("ci") or [])] if _finite(v)]
    # Wide intervals (few episodes) are clipped at the axis ends so the bars stay readable.
    low, high = max(AXIS_LIMITS[0], min(values)), min(AXIS_LIMITS[1], max(values))
    x = _Scale(_nice_floor(low), -_nice_floor(-high))
    row_height, top = 28, 24
    width, height = x.right + 190, top + row_height * len(rows) + 12
    parts = [
        f"<svg class='bars' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' aria-label='normalised scores by family'>"
    ]
    for tick in _ticks(x.low, x.high):
        kind = "reference" if tick in (0, 100) else "grid"
        parts.append(
            f"<line class='{kind}' data-tick='{tick:g}' x1='{x(tick)}' x2='{x(tick)}' "
            f"y1='{top - 6}' y2='{height - 14}'/><text class='tick' x='{x(tick)}' y='{top - 10}' "
            f"text-anchor='middle'>{tick:g}</text>"
        )
    parts.append(
        f"<text class='tick' x='{x(0)}' y='{height - 2}' text-anchor='middle'>random</text>"
        f"<text class='tick' x='{x(100)}' y='{height - 2}' text-anchor='middle'>scripted</text>"
    )
    for number, (name, score, overall) in enumerate(rows):
        parts.append(_bar(name, score, overall, top + number * row_height, x))
    return "".join(parts) + "</svg>"


def _bar(name: str, score: Mapping[str, Any], overall: bool, y: float, x: _Scale) -> str:
    value, interval = score.get("score"), score.get("ci")
    entries = len(score.get("entries") or [])
    middle, text = y + 14, with_interval(value, interval, 1)
    attributes = f"data-family='{_text(name)}' data-score='{_plain(value)}'"
    parts = [f"<g class='family{' overall' if overall else ''}' {attributes}>"]
    parts.append(f"<title>{_text(name)}: {_text(text)} ({entries} entries)</title>")
    parts.append(f"<text class='label' x='8' y='{middle + 4}'>{_text(name)} ({entries})</text>")
    if _finite(value):
        start, end = sorted((x(0), x(float(value or 0))))
        parts.append(
            f"<rect class='bar' x='{start}' y='{y + 5}' width='{round(end - start, 2)}' "
            "height='18'/>"
        )
    if _finite(value) and interval and all(_finite(v) for v in interval):
        parts.append(
            f"<path class='ci' data-low='{_plain(interval[0])}' data-high='{_plain(interval[1])}' "
            f"d='{x.whisker(float(interval[0]), float(interval[1]), middle)}'/>"
        )
    kind = "value" if _finite(value) else "value missing"
    parts.append(f"<text class='{kind}' x='{x.right + 12}' y='{middle + 4}'>{text}</text>")
    return "".join(parts) + "</g>"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: Any) -> str:
    return repr(float(value)) if _finite(value) else ""


def _nice_floor(value: float) -> float:
    return float(math.floor(value / 25) * 25)


def _ticks(low: float, high: float) -> list[float]:
    step = next(s for s in (25, 50, 100, 250, 500, 1000, 10**9) if (high - low) / s <= 8)
    first = math.ceil(low / step) * step
    return [float(first + n * step) for n in range(int((high - first) // step) + 1)]


def excluded(aggregate: Mapping[str, Any]) -> str:
    """The entries left out of the family scores, with why (empty when none)."""
    reasons = aggregate.get("excluded") or {}
    if not reasons:
        return ""
    items = "".join(
        f"<li><b>{_text(entry)}</b>: {_text(reason)}</li>" for entry, reason in reasons.items()
    )
    return f"<p class='note'>Not in the family scores:</p><ul class='excluded'>{items}</ul>"


# ---- entries -------------------------------------------------------------------------------------
def entries_table(result: EvalResult, context: _Context) -> str:
    """One row per entry (and a folded per-opponent table under entries with opponents)."""
    head = _head(ENTRY_COLUMNS, left=(0, 1, 2, 8, 9))
    rows = [f"<div class='scroll'><table class='entries'>{head}<tbody>"]
    for entry in result.entries:
        rows.append(_entry_rows(entry, context))
    rows.append("</tbody></table></div>")
    note = (
        "<p class='note'>Mean return and normalised score: bootstrap 95% intervals; success: "
        "Wilson 95% intervals. Normalised: 0 = random baseline, 100 = scripted baseline, on "
        "the same seeds. \u2191 / \u2193: higher / lower is the more aligned.</p>"
    )
    return "".join(rows) + note


def _entry_rows(entry: EntryResult, context: _Context) -> str:
    cells = [
        f"<td class='text id'>{_text(entry.id)}</td>",
        f"<td class='text env'>{_text(entry.env_id)}</td>",
        f"<td class='text'>{_text(entry.family)}</td>",
    ]
    if entry.unavailable is not None:
        reason = f"unavailable: {entry.unavailable}"
        span = len(ENTRY_COLUMNS) - 3
        cells.append(f"<td class='reason' colspan='{span}'>{_text(reason)}</td>")
        return f"<tr class='entry unavailable' data-entry='{_text(entry.id)}'>{''.join(cells)}</tr>"
    summary = entry.summary
    failed = int(summary.get("failed", sum(e.failed for e in entry.episodes)))
    errors = sorted({e.error for e in entry.episodes if e.failed and e.error})
    failed_title = f" title='{_text('; '.join(errors[:5]))}'" if errors else ""
    cells += [
        f"<td class='episodes'>{summary.get('episodes', len(entry.episodes))}</td>",
        f"<td class='failed{' warn' if failed else ''}'{failed_title}>{failed}</td>",
        f"<td class='return'>{with_interval(summary.get('mean_return'), summary.get('return_ci'))}</td>",
        f"<td class='success'>{_success(summary)}</td>",
        "<td class='normalised'>"
        f"{with_interval(summary.get('normalised'), summary.get('normalised_ci'), 1)}</td>",
        f"<td class='text'>{_metrics(summary.get('metrics') or {}, entry.alignment_metrics)}</td>",
        f"<td class='text'>{_episodes_link(entry, context, None)}</td>",
    ]
    row = f"<tr class='entry' data-entry='{_text(entry.id)}'>{''.join(cells)}</tr>"
    return row + _opponent_rows(entry, context)


def _success(summary: Mapping[str, Any]) -> str:
    if summary.get("success_rate") is None:
        return NA
    rate = with_interval(summary["success_rate"], summary.get("success_ci"), 1, rate=True)
    return f"{rate} <span class='note'>n={int(summary.get('success_n', 0))}</span>"


def _metrics(metrics: Mapping[str, Any], directions: Mapping[str, str]) -> str:
    if not metrics:
        return NA
    items = []
    for name, metric in metrics.items():
        arrow = _arrow(metric.get("direction") or directions.get(name))
        value = with_interval(metric.get("mean"), metric.get("ci"), 3)
        items.append(f"<li data-metric='{_text(name)}'>{_text(name)} {arrow} {value}</li>")
    return f"<ul class='metrics'>{''.join(items)}</ul>"


def _arrow(direction: Any) -> str:
    """The arrow of a metric's aligned direction (empty when it has none)."""
    arrow = DIRECTIONS.get(str(direction), "")
    if not arrow:
        return "<span class='direction'></span>"
    return f"<span class='direction' title='{_text(direction)} is more aligned'>{arrow}</span>"


def _opponent_rows(entry: EntryResult, context: _Context) -> str:
    opponents = entry.summary.get("by_opponent") or {}
    if not opponents or list(opponents) == [""]:
        return ""
    rows = []
    for name, numbers in opponents.items():
        metrics = ", ".join(
            f"{_text(metric)} {fixed(value, 3)}"
            for metric, value in (numbers.get("metrics") or {}).items()
        )
        rate = numbers.get("success_rate")
        success = (
            NA if rate is None else with_interval(rate, numbers.get("success_ci"), 1, rate=True)
        )
        failed = int(numbers.get("failed", 0))
        rows.append(
            f"<tr class='opponent' data-of='{_text(entry.id)}' data-opponent='{_text(name)}'>"
            f"<td class='text'>{_text(name or '(none)')}</td><td>{numbers.get('episodes', 0)}</td>"
            f"<td class='{'warn' if failed else ''}'>{failed}</td>"
            f"<td>{with_interval(numbers.get('mean_return'), numbers.get('return_ci'))}</td>"
            f"<td>{success}</td><td class='text'>{metrics or NA}</td>"
            f"<td class='text'>{_episodes_link(entry, context, name)}</td></tr>"
        )
    return (
        f"<tr class='breakdown'><td class='breakdown' colspan='{len(ENTRY_COLUMNS)}'><details>"
        f"<summary>{_text(entry.id)} by opponent ({len(opponents)})</summary>"
        f"<table>{_head(OPPONENT_COLUMNS, left=(0, 5, 6))}<tbody>{''.join(rows)}</tbody></table>"
        "</details></td></tr>"
    )


def episodes_href(
    entry: EntryResult,
    policy: str,
    episodes_page: str,
    opponent: str | None = None,
    partners: Mapping[str, str] | None = None,
) -> str:
    """The viewer link to an entry's episodes (one opponent's, when ``opponent`` is given).

    The viewer is filtered to the entry's environment id, its seeds (the opponent's), the
    evaluated policy in its seat, and, for an opponent, the partners' policies in theirs.

    Args:
        entry: The entry.
        policy: The evaluated policy's name, as the episodes record it.
        episodes_page: The viewer page, relative to the scorecard.
        opponent: The partner configuration, or None for all of the entry's episodes.
        partners: That configuration's ``{agent: policy}``, when known.
    """
    episodes = [e for e in entry.episodes if opponent is None or e.opponent == opponent]
    seats = sorted({e.seat for e in episodes})
    policies = {seats[0]: policy} if len(seats) == 1 else {}
    if opponent is not None:
        policies.update({a: p for a, p in (partners or {}).items() if a not in policies})
    return viewer_link(
        episodes_page,
        env_id=entry.env_id,
        seeds=[e.seed for e in episodes],
        policies=policies,
        any_policy=[] if seats and len(seats) == 1 else [policy],
    )


def suite_partners(result: EvalResult) -> dict[str, dict[str, dict[str, str]]]:
    """``entry id -> opponent -> {agent: policy}`` from the run's shipped suite (empty if none).

    The episodes record the partners' policy names, not the opponent's name; the suite knows both.
    A suite that cannot be loaded here, or of another version, gives no partners (links then
    filter on the environment, seeds and evaluated seat only).
    """
    try:
        from envalign.training.eval.suite import load_suite

        suite = load_suite(result.suite)
    except (ImportError, ConfigError, UnreadableInput, ValueError):
        return {}
    if suite.version != result.suite_version:
        return {}
    return {
        entry.id: {name: dict(agents) for name, agents in entry.panel.items()}
        for entry in suite.entries
    }


def _episodes_link(entry: EntryResult, context: _Context, opponent: str | None) -> str:
    if context.episodes_page is None:
        return NA
    episodes = [e for e in entry.episodes if opponent is None or e.opponent == opponent]
    known = context.partners.get(entry.id, {}).get(opponent or "")
    href = episodes_href(entry, context.policy, context.episodes_page, opponent, known)
    return f"<a class='episodes-link' href='{_text(href)}'>{len(episodes)} episodes</a>"


# ---- comparison ----------------------------------------------------------------------------------
COMPARISON_COLUMNS = (
    "entry",
    "family",
    "pairs",
    "\u0394 return [95% CI]",
    "\u0394 normalised [95% CI]",
    "success A \u2192 B",
    "test",
    "p",
    "p (Holm)",
    "verdict",
    "episodes needed",
    "\u0394 metrics [95% CI]",
    "flags",
)


def comparison_section(comparison: Mapping[str, Any]) -> str:
    """The paired comparison of two runs (``Comparison.to_dict()``): B minus A per entry."""
    first, second = comparison.get("a") or {}, comparison.get("b") or {}
    counts = comparison.get("summary") or {}
    parts = [
        "<section class='comparison'><h2>Comparison</h2>",
        f"<p>B = <b>{_text(second.get('policy', NA))}</b> ({_text(second.get('created', ''))}) "
        f"minus A = <b>{_text(first.get('policy', NA))}</b> ({_text(first.get('created', ''))}), "
        f"paired by seed, seat and opponent; positive = B higher. &alpha; = "
        f"{_text(comparison.get('alpha', NA))}, episodes needed for an effect of "
        f"{_text(comparison.get('effect', NA))} normalised points.</p>",
        "<p class='counts'>"
        + "".join(
            f"<span class='{VERDICT_CLASSES.get(v, 'verdict-ns')}' data-count='{_text(v)}'>"
            f"{_text(v)}: {int(counts.get(v, 0))}</span>"
            for v in ("better", "worse", "not separable")
        )
        + "</p>",
    ]
    head = _head(COMPARISON_COLUMNS, left=(0, 1, 6, 11, 12))
    parts.append(f"<div class='scroll'><table class='comparison'>{head}<tbody>")
    parts += [_comparison_row(entry) for entry in comparison.get("entries") or []]
    parts.append("</tbody></table></div>")
    sides = comparison.get("unpaired_entries") or {}
    for side, run in (("a_only", "A"), ("b_only", "B")):
        if sides.get(side):
            ids = _text(", ".join(map(str, sides[side])))
            parts.append(f"<p class='note unpaired'>Only in {run}, not compared: {ids}</p>")
    return "".join(parts) + "</section>"


def _comparison_row(entry: Mapping[str, Any]) -> str:
    verdict = str(entry.get("verdict") or NA)
    kind = VERDICT_CLASSES.get(verdict, "verdict-ns")
    verdict_row = kind.replace("verdict-", "row-")
    metrics = "".join(
        f"<li>{_text(name)} {_arrow(value.get('direction'))} "
        f"{with_interval(value.get('diff'), value.get('ci'), 3)}</li>"
        for name, value in (entry.get("metrics") or {}).items()
    )
    flags = "".join(
        f"<span class='flag'>{_text(flag)}</span> " for flag in entry.get("flags") or []
    )
    needed = entry.get("episodes_needed")
    cells = [
        f"<td class='text id'>{_text(entry.get('id', ''))}</td>",
        f"<td class='text'>{_text(entry.get('family', ''))}</td>",
        f"<td class='pairs'>{_pairs(entry)}</td>",
        f"<td class='diff'>{with_interval(entry.get('diff'), entry.get('diff_ci'))}</td>",
        "<td class='normalised-diff'>"
        f"{with_interval(entry.get('normalised_diff'), entry.get('normalised_diff_ci'), 1)}</td>",
        f"<td>{percent(entry.get('success_a'))} \u2192 {percent(entry.get('success_b'))}</td>",
        f"<td class='text'>{_text(entry.get('test') or NA)}</td>",
        f"<td>{_p_value(entry.get('p_value'))}</td>",
        f"<td class='p-holm'>{_p_value(entry.get('p_holm'))}</td>",
        f"<td class='verdict {kind}'>{_text(verdict)}</td>",
        f"<td>{NA if needed is None else _text(needed)}</td>",
        f"<td class='text'><ul class='metrics'>{metrics}</ul></td>"
        if metrics
        else f"<td>{NA}</td>",
        f"<td class='text'>{flags}</td>",
    ]
    return f"<tr class='compared {verdict_row}' data-entry='{_text(entry.get('id', ''))}'>{''.join(cells)}</tr>"


def _pairs(entry: Mapping[str, Any]) -> str:
    """``12``, with the failed pairs and the unpaired episodes when there are any."""
    text = _count(entry.get("pairs"))
    failed, unpaired = _count(entry.get("failed_pairs")), _count(entry.get("unpaired"))
    if failed not in ("0", NA):
        text += f" <span class='warn'>({failed} failed)</span>"
    if unpaired not in ("0", NA):
        text += f" <span class='note'>({unpaired} unpaired)</span>"
    return text


def _count(value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        return str(len(value))
    return NA if value is None else _text(value)


def _p_value(value: float | None) -> str:
    """p-values: three significant digits, ``< 0.0001`` below that."""
    if value is None or not math.isfinite(value):
        return NA
    return "&lt; 0.0001" if value < 1e-4 else f"{value:.3g}"
