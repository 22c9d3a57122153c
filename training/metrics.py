"""Metrics: JSON Lines (always), TensorBoard (when installed), and the reward curve at the end.

``metrics.jsonl`` holds one object per logged step (``{"step": 3, "train/reward": 0.41, ...}``); an
evaluation adds ``eval/...`` keys. On resume the file is truncated to the resumed step, so a killed
and resumed run has exactly the lines an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class MetricsLogger:
    """Append step metrics to ``metrics.jsonl`` and, optionally, TensorBoard.

    Args:
        output_dir: The run's folder.
        tensorboard: Also write TensorBoard events (skipped quietly when tensorboard is missing).
        resume_step: Drop lines of steps after this one (they belong to the interrupted run).
    """

    def __init__(
        self, output_dir: str | os.PathLike[str], *, tensorboard: bool = True, resume_step: int = 0
    ) -> None:
        self.path = Path(output_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = (
            [row for row in read_metrics(self.path) if row["step"] <= resume_step]
            if resume_step
            else []
        )
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in kept)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._writer = (
            _tensorboard_writer(Path(output_dir) / "tensorboard") if tensorboard else None
        )

    def log(self, step: int, values: dict[str, Any]) -> None:
        """Write one step's metrics (numbers only go to TensorBoard)."""
        row = {"step": step, **{k: _plain(v) for k, v in values.items()}}
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        if self._writer is not None:
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    self._writer.add_scalar(key, value, step)

    def close(self) -> None:
        """Flush and close."""
        self._file.close()
        if self._writer is not None:
            self._writer.close()


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value


def _tensorboard_writer(path: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(path))


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl`` (a truncated last line is skipped)."""
    if not Path(path).exists():
        return []
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n") and line.strip():
                rows.append(json.loads(line))
    return rows


def plot_reward_curve(
    rows: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """Draw training and held-out reward against the step into a PNG.

    Args:
        rows: Metric rows (``train/reward`` and ``eval/reward`` are plotted where present).
        path: The PNG to write.
        title: The figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for key, label in (("train/reward", "training reward"), ("eval/reward", "held-out reward")):
        points = [(r["step"], r[key]) for r in rows if key in r]
        if points:
            steps, values = zip(*points, strict=True)
            axis.plot(steps, values, marker="o" if key.startswith("eval") else None, label=label)
    axis.set_xlabel("step")
    axis.set_ylabel("mean reward")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
