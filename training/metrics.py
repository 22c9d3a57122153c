"""Metrics: JSON Lines (always), TensorBoard (when installed), and the reward curve at the end.

``metrics.jsonl`` holds one object per logged step (``{"step": 3, "train/reward": 0.41, ...}``); an
evaluation adds ``eval/...`` keys. On resume the file is truncated to the resumed step, so a killed
and resumed run has exactly the lines an uninterrupted one would.

Episode metrics are made in two steps: :func:`episode_values` reduces each episode to a few numbers
(small, so data-parallel ranks can gather them), and :func:`episode_metrics` summarises the numbers
of every rank's episodes into ``train/...`` or ``eval/...`` keys.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envalign.training.episodes import Episode


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


def episode_values(
    episodes: Sequence[Episode], agents: Sequence[str] | None
) -> list[dict[str, Any]]:
    """What the step metrics need of each episode, averaged over the trained agents.

    Args:
        episodes: Finished episodes.
        agents: The trained agents (``None``: every agent of each episode).

    Returns:
        One ``{"return", "success", "steps", "components"}`` dict per episode: the mean return, the
        mean success flag (``None`` when the environment reports none), the steps, and each reward
        component summed over an agent's turns (averaged over the agents).
    """
    values = []
    for episode in episodes:
        chosen = list(agents or episode.agents)
        flags = [episode.success[a] for a in chosen if episode.success.get(a) is not None]
        components: dict[str, float] = {}
        for turn in episode.turns:
            if turn.agent in chosen:
                for name, amount in turn.reward_components.items():
                    components[name] = components.get(name, 0.0) + amount / len(chosen)
        values.append(
            {
                "return": _mean([episode.returns.get(a, 0.0) for a in chosen]),
                "success": _mean([float(bool(f)) for f in flags]) if flags else None,
                "steps": episode.steps,
                "components": components,
            }
        )
    return values


def episode_metrics(values: Sequence[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """Summarise :func:`episode_values` (of every rank) into ``{prefix}/...`` metrics.

    Returns:
        ``reward`` (mean return), ``reward_std`` (population standard deviation of the returns over
        episodes), ``episodes``, ``success`` (when reported), ``steps`` (mean), and
        ``reward_components/<name>`` (mean per episode; an episode without the component counts 0).
    """
    returns = [v["return"] for v in values]
    mean = _mean(returns)
    row: dict[str, Any] = {
        f"{prefix}/reward": mean,
        f"{prefix}/reward_std": _mean([(r - mean) ** 2 for r in returns]) ** 0.5,
        f"{prefix}/episodes": len(values),
    }
    successes = [v["success"] for v in values if v["success"] is not None]
    if successes:
        row[f"{prefix}/success"] = _mean(successes)
    row[f"{prefix}/steps"] = _mean([v["steps"] for v in values])
    names = sorted({name for v in values for name in v["components"]})
    for name in names:
        row[f"{prefix}/reward_components/{name}"] = _mean(
            [v["components"].get(name, 0.0) for v in values]
        )
    return row


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


class ProgressDisplay:
    """A rich progress bar showing the training step, the reward and the held-out reward.

    Args:
        total: Steps of the run.
        done: Steps already done (a resumed run).
    """

    def __init__(self, total: int, done: int) -> None:
        from envalign.training.summary import progress_bar

        self.progress = progress_bar("training")
        self.task = self.progress.add_task("train", total=total, completed=done, stats="")
        self.progress.start()
        self.held_out = ""

    def update(self, step: int, row: dict[str, Any]) -> None:
        """Show step ``step`` and its metrics row."""
        if "eval/reward" in row:
            self.held_out = f" · held-out {row['eval/reward']:.3f}"
        stats = f"reward {row.get('train/reward', 0):.3f}{self.held_out}"
        self.progress.update(self.task, completed=step, stats=stats)

    def stop(self) -> None:
        """Stop drawing."""
        self.progress.stop()
