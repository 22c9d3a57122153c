"""Summary statistics of a set of episodes: mean return with a 95% interval, success rate, throughput."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from envalign.training.episodes import Episode

if TYPE_CHECKING:
    from rich.progress import Progress

Z_95 = 1.959963984540054


@dataclass
class AgentStats:
    """Return statistics of one agent over the episodes."""

    mean_return: float
    ci95: float
    success_rate: float | None


@dataclass
class Summary:
    """Aggregate statistics of a run.

    Attributes:
        episodes: Number of finished episodes.
        agents: Per-agent return statistics.
        success_rate: Share of episodes that succeeded, where episodes have a success of their
            own (see :func:`episode_success`); ``None`` (shown "n/a") when none reports success,
            or when the game's agents can succeed apart (a winner and a loser): then only the
            per-agent rates in ``agents`` mean something.
        mean_steps: Mean environment steps per episode.
        tokens: Generated tokens, over all turns.
        wall_time_s: Seconds for the whole run.
    """

    episodes: int
    agents: dict[str, AgentStats] = field(default_factory=dict)
    success_rate: float | None = None
    mean_steps: float = 0.0
    tokens: int = 0
    wall_time_s: float = 0.0

    @property
    def episodes_per_s(self) -> float:
        """Finished episodes per second of wall time."""
        return self.episodes / self.wall_time_s if self.wall_time_s > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of wall time."""
        return self.tokens / self.wall_time_s if self.wall_time_s > 0 else 0.0


def mean_and_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Return the mean and the half-width of its normal-approximation 95% interval."""
    if not values:
        return 0.0, 0.0
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    variance = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, Z_95 * math.sqrt(variance / len(values))


def episode_success(episode: Episode) -> bool | None:
    """Return the success an episode's agents share, or None where it has none.

    A single-agent episode's success is its agent's. In a multi-agent game the episode's success
    is the outcome its agents share (a deal struck, a cooperative goal met): every agent that
    reports success reports the same value. Where they differ (one agent won, another lost), the
    episode has no success of its own, only each agent's; so has an episode no agent reports on.
    """
    reported = {bool(value) for value in episode.success.values() if value is not None}
    return reported.pop() if len(reported) == 1 else None


def run_success_rate(episodes: Sequence[Episode]) -> float | None:
    """Return the share of episodes that succeeded, or None where that is undefined.

    Undefined when no episode reports success, and when any episode's agents disagree on it:
    the game's success then belongs to each agent (see ``Summary.agents``), and a rate over the
    few episodes where everyone happened to agree would mislead.
    """
    outcomes = []
    for episode in episodes:
        if any(value is not None for value in episode.success.values()):
            outcome = episode_success(episode)
            if outcome is None:
                return None
            outcomes.append(outcome)
    return sum(outcomes) / len(outcomes) if outcomes else None


def summarize(episodes: Sequence[Episode], wall_time_s: float) -> Summary:
    """Compute the :class:`Summary` of ``episodes``."""
    summary = Summary(episodes=len(episodes), wall_time_s=wall_time_s)
    agents = sorted({agent for episode in episodes for agent in episode.agents})
    for agent in agents:
        values = [e.returns[agent] for e in episodes if agent in e.returns]
        mean, ci = mean_and_ci95(values)
        flags = [e.success.get(agent) for e in episodes if e.success.get(agent) is not None]
        rate = sum(map(bool, flags)) / len(flags) if flags else None
        summary.agents[agent] = AgentStats(mean, ci, rate)
    summary.success_rate = run_success_rate(episodes)
    summary.mean_steps = math.fsum(e.steps for e in episodes) / len(episodes) if episodes else 0.0
    summary.tokens = sum(len(turn.token_ids) for e in episodes for turn in e.turns)
    return summary


def plot_return_histogram(episodes: Sequence[Episode], path: str | Path) -> Path:
    """Draw each agent's episode returns as overlaid histograms and save a PNG.

    Args:
        episodes: Finished episodes.
        path: Where to write the PNG (parent folders are created).

    Returns:
        The path written.

    Raises:
        ImportError: Without matplotlib (``pip install "envalign[train]"``).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    agents = sorted({agent for episode in episodes for agent in episode.agents})
    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    everything = [e.returns[a] for e in episodes for a in agents if a in e.returns]
    low, high = (min(everything), max(everything)) if everything else (0.0, 1.0)
    bins = _bin_edges(low, high)
    for agent in agents:
        values = [e.returns[agent] for e in episodes if agent in e.returns]
        mean, ci = mean_and_ci95(values)
        axes.hist(values, bins=bins, alpha=0.55, label=f"{agent}: {mean:+.3f} ±{ci:.3f}")
    env_ids = sorted({e.env_id for e in episodes})
    axes.set_title(f"{', '.join(env_ids)}: returns over {len(episodes)} episodes")
    axes.set_xlabel("episode return")
    axes.set_ylabel("episodes")
    axes.legend(title="agent: mean ±95% CI", fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _bin_edges(low: float, high: float, count: int = 20) -> list[float]:
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / count
    return [low + i * width for i in range(count + 1)]


def progress_bar(label: str) -> Progress:
    """The live bar of runs and training: label, bar, done/total, elapsed, ETA, a ``stats`` text.

    Add tasks with a ``stats`` field (``add_task(..., stats="")``) and update it as work goes on.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[stats]}"),
    )
