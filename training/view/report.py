"""``envalign report``: a training run as one self-contained HTML page with PNG plots.

It reads the run folder the trainer writes (``metrics.jsonl``, and the run's config when found)
and draws what the rows hold: reward and success with 95% bands, reward components, KL and entropy,
the optimiser's numbers and throughput, plus a table of evaluations. Bands come from the logged
``<key>_std`` and episode count where present (a normal 95% interval of the mean), from the
binomial interval for success rates, and otherwise from a rolling window; each plot says which.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envalign.envs.errors import UnreadableInput

Rows = Sequence[dict[str, Any]]
#: Steps in the rolling window used for a band when no spread was logged.
ROLLING_WINDOW = 5
Z_95 = 1.96
CONFIG_NAMES = ("config.yaml", "config.yml", "config.json")


@dataclass
class Series:
    """One metric against the step, with its band and how the band was made."""

    label: str
    steps: list[int]
    values: list[float]
    low: list[float] | None = None
    high: list[float] | None = None
    band: str = ""


@dataclass
class Figure:
    """A plot of the report: title, caption, PNG as a data URI."""

    title: str
    caption: str
    png: str


def read_run(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The metric rows of a run folder.

    Raises:
        UnreadableInput: If the folder or its ``metrics.jsonl`` is missing, empty or malformed.
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        raise UnreadableInput(
            f"No run folder at '{folder}'. Pass the output_dir of `envalign train CONFIG.yaml`."
        )
    path = folder / "metrics.jsonl"
    if not path.is_file():
        raise UnreadableInput(
            f"'{folder}' has no metrics.jsonl; is it a training run folder? "
            "`envalign train` writes one into its run.output_dir."
        )
    rows = []
    with open(path, encoding="utf-8", errors="replace") as handle:  # bad bytes: not JSON
        for number, line in enumerate(handle, start=1):
            if not line.strip() or not line.endswith("\n"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise UnreadableInput(
                    f"{path}:{number} is not JSON ({error.msg}); metrics.jsonl holds one object "
                    "per step."
                ) from error
            if not isinstance(row, dict) or not isinstance(row.get("step"), int):
                raise UnreadableInput(f"{path}:{number} has no integer 'step'; not a metrics row.")
            rows.append(row)
    if not rows:
        raise UnreadableInput(f"{path} holds no metrics yet; let the run log at least one step.")
    return rows


def series(rows: Rows, key: str, label: str, count_key: str | None = None) -> Series | None:
    """``key`` against the step with a 95% band (None when no row has it).

    Args:
        rows: Metric rows.
        key: The metric, e.g. ``train/reward``.
        label: The legend text.
        count_key: The key of the episode count behind each value (for the interval of a mean).
    """
    points = [row for row in rows if _number(row.get(key)) is not None]
    if not points:
        return None
    line = Series(label, [row["step"] for row in points], [float(row[key]) for row in points])
    counts = _all_numbers([row.get(count_key) for row in points]) if count_key else None
    spreads = _all_numbers([row.get(f"{key}_std") for row in points])
    if spreads is not None and counts is not None and all(counts):
        half = [Z_95 * s / math.sqrt(c) for s, c in zip(spreads, counts, strict=True)]
        line.band = f"95% interval of the mean from the logged {key}_std and episode count"
    elif key.endswith("success") and counts is not None and all(counts):
        half = [
            Z_95 * math.sqrt(max(0.0, v * (1 - v)) / c)
            for v, c in zip(line.values, counts, strict=True)
        ]
        line.band = "95% binomial interval from the episode count"
    elif len(points) >= 3:
        half = _rolling_spread(line.values)
        line.band = f"rolling ±1 standard deviation over {ROLLING_WINDOW} steps (no spread logged)"
    else:
        return line
    line.low = [v - h for v, h in zip(line.values, half, strict=True)]
    line.high = [v + h for v, h in zip(line.values, half, strict=True)]
    return line


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _all_numbers(values: list[Any]) -> list[float] | None:
    numbers = [_number(value) for value in values]
    return None if any(n is None for n in numbers) else [float(n or 0.0) for n in numbers]


def _rolling_spread(values: list[float]) -> list[float]:
    spread = []
    for end in range(1, len(values) + 1):
        window = values[max(0, end - ROLLING_WINDOW) : end]
        mean = sum(window) / len(window)
        spread.append(math.sqrt(sum((v - mean) ** 2 for v in window) / len(window)))
    return spread


def plot(title: str, candidates: Sequence[Series | None], ylabel: str) -> Figure | None:
    """Draw the series (with their bands) into a PNG figure; None when there is nothing to draw."""
    lines = [line for line in candidates if line is not None]
    if not lines:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 3.4))
    for line in lines:
        marker = "o" if len(line.steps) <= 30 else None
        drawn = axis.plot(line.steps, line.values, marker=marker, markersize=3, label=line.label)
        if line.low is not None and line.high is not None:
            axis.fill_between(
                line.steps, line.low, line.high, alpha=0.2, color=drawn[0].get_color(), lw=0
            )
    axis.set_xlabel("step")
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    caption = "; ".join(f"{line.label}: {line.band}" for line in lines if line.band)
    png = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return Figure(title, caption or "no band: too few points", png)


def figures(rows: Rows) -> list[Figure]:
    """Every plot the rows have data for, in reading order."""
    keys = sorted({key for row in rows for key in row})
    components = [k for k in keys if k.startswith("train/reward_components/") and "_std" not in k]
    drawn = [
        plot(
            "Reward",
            [
                series(rows, "train/reward", "training", "train/episodes"),
                series(rows, "eval/reward", "evaluation", "eval/episodes"),
            ],
            "mean reward",
        ),
        plot(
            "Success rate",
            [
                series(rows, "train/success", "training", "train/episodes"),
                series(rows, "eval/success", "evaluation", "eval/episodes"),
            ],
            "success",
        ),
        plot(
            "Reward components",
            [series(rows, k, k.rsplit("/", 1)[-1], "train/episodes") for k in components],
            "mean reward",
        ),
        plot(
            "KL divergence",
            [
                series(rows, "train/kl", "to the sampling policy"),
                series(rows, "train/kl_ref", "to the reference model"),
            ],
            "nats per token",
        ),
        plot("Entropy", [series(rows, "train/entropy", "entropy")], "nats per token"),
        plot(
            "Optimisation",
            [
                series(rows, key, key.split("/")[-1])
                for key in ("train/loss", "train/grad_norm", "train/ratio", "train/clip_fraction")
            ],
            "value",
        ),
        plot(
            "Throughput",
            [series(rows, "time/completions_per_s", "completions per second")],
            "completions / s",
        ),
    ]
    return [figure for figure in drawn if figure is not None]


def evaluations(rows: Rows) -> tuple[list[str], list[list[str]]]:
    """The evaluation table: a header and one row per evaluated step."""
    keys = sorted(
        {k for row in rows for k in row if k.startswith("eval/") and not k.endswith("_std")}
    )
    table = []
    for row in rows:
        if not any(k in row for k in keys):
            continue
        cells = [str(row["step"])]
        for key in keys:
            value = _number(row.get(key))
            spread = _number(row.get(f"{key}_std"))
            count = _number(row.get("eval/episodes"))
            text = "" if value is None else f"{value:.4g}"
            if value is not None and spread is not None and count:
                text += f" ± {Z_95 * spread / math.sqrt(count):.2g}"
            cells.append(text)
        table.append(cells)
    return ["step", *(k.removeprefix("eval/") for k in keys)], table


def run_config(run_dir: Path, config: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """The run's config text and where it came from (empty when none is found)."""
    candidates = [Path(config)] if config else [run_dir / name for name in CONFIG_NAMES]
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8"), str(path)
    if config:
        raise UnreadableInput(f"No config file at '{config}'.")
    return "", ""


def summary(rows: Rows) -> list[tuple[str, str]]:
    """Headline numbers: steps, last and best rewards, time spent."""
    last = rows[-1]
    facts = [("steps logged", str(len(rows))), ("last step", str(last["step"]))]
    for key, name in (
        ("train/reward", "last training reward"),
        ("eval/reward", "last eval reward"),
    ):
        values = [row[key] for row in rows if _number(row.get(key)) is not None]
        if values:
            facts.append((name, f"{values[-1]:.4g}"))
    evals = [row["eval/reward"] for row in rows if _number(row.get("eval/reward")) is not None]
    if evals:
        facts.append(("best eval reward", f"{max(evals):.4g}"))
    seconds = sum(
        _number(row.get(key)) or 0.0 for row in rows for key in ("time/rollout_s", "time/update_s")
    )
    if seconds:
        facts.append(("rollout + update time", f"{seconds:.1f} s"))
    return facts


def suite_comparison(run_dir: Path) -> list[str]:
    """The before/after suite comparison of ``run.eval_suite``, when the run made one."""
    path = run_dir / "eval" / "comparison.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    escape = html.escape
    parts = [
        f"<h2>Suite {escape(str(data.get('suite')))} ({escape(str(data.get('tier')))}): "
        "after vs before training</h2><table><tr><th>entry</th><th>pairs</th><th>diff</th>"
        "<th>95% interval</th><th>p (Holm)</th><th>verdict</th><th>flags</th></tr>"
    ]
    for entry in data.get("entries", []):
        interval = entry.get("diff_ci") or ["", ""]
        cells = [
            entry.get("id"),
            entry.get("pairs"),
            _fixed(entry.get("diff")),
            f"[{_fixed(interval[0])}, {_fixed(interval[1])}]",
            _fixed(entry.get("p_holm")),
            entry.get("verdict"),
            "; ".join(entry.get("flags") or []),
        ]
        parts.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    parts.append("</table><p>Per entry: <a href='eval/comparison.html'>scorecard</a>.</p>")
    return parts


def _fixed(value: Any) -> str:
    return f"{value:+.3f}" if isinstance(value, int | float) else "n/a"


def render_report(run_dir: Path, rows: Rows, config_text: str, config_source: str) -> str:
    """The report page's HTML (every inserted text escaped)."""
    from envalign.training.view.episodes_page import asset, fill_template

    escape = html.escape
    parts = ["<h2>Summary</h2><dl class='summary'>"]
    parts += [f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in summary(rows)]
    parts.append("</dl><h2>Curves</h2><div class='figures'>")
    for figure in figures(rows):
        parts.append(
            f"<figure><img alt='{escape(figure.title)}' src='{figure.png}'>"
            f"<figcaption><b>{escape(figure.title)}.</b> Band: {escape(figure.caption)}"
            "</figcaption></figure>"
        )
    parts.append("</div><h2>Evaluations</h2>")
    header, table = evaluations(rows)
    if table:
        parts.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>")
        for cells in table:
            parts.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No evaluation was logged (set run.eval_every).</p>")
    parts += suite_comparison(run_dir)
    parts.append("<h2>Config</h2>")
    if config_text:
        parts.append(f"<p>from {escape(config_source)}</p><pre>{escape(config_text)}</pre>")
    else:
        parts.append(
            "<p>No config.yaml in the run folder; pass <code>--config FILE</code> to include it.</p>"
        )
    return fill_template(
        asset("report.html"),
        {
            "title": escape(f"envalign training report: {run_dir.name}"),
            "style": asset("report.css"),
            "body": "".join(parts),
        },
    )


def build_report(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the training report of a run folder.

    Args:
        run_dir: The run's output folder (holds ``metrics.jsonl``).
        out: The HTML file to write; defaults to ``RUN_DIR/report.html``.
        config: The run's config file when the folder holds none.

    Returns:
        The page written.

    Raises:
        UnreadableInput: If the run folder has no readable metrics.
    """
    folder = Path(run_dir)
    rows = read_run(folder)
    config_text, config_source = run_config(folder, config)
    target = Path(out) if out is not None else folder / "report.html"
    page = render_report(folder, rows, config_text, config_source)
    from envalign.training.view.episodes_page import write_page

    return write_page(target, page)
