"""Summary statistics and the return histogram."""

from __future__ import annotations

import math

import pytest

from envalign.training.episodes import Episode, TurnRecord
from envalign.training.summary import mean_and_ci95, plot_return_histogram, summarize


def episode(returns: dict[str, float], success: bool | None, tokens: int = 0) -> Episode:
    turn = TurnRecord("a", 0, "obs", "act", 0.0, {}, "", token_ids=list(range(tokens)))
    return Episode(
        env_id="envalign/X-v0",
        seed=0,
        task_id="",
        agents=list(returns),
        policies={},
        system_prompts={},
        turns=[turn],
        returns=returns,
        success=dict.fromkeys(returns, success),
        steps=2,
        terminated=True,
    )


def test_mean_and_interval():
    mean, half = mean_and_ci95([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert half == pytest.approx(1.959963984540054 * math.sqrt((5 / 3) / 4))
    assert mean_and_ci95([7.0]) == (7.0, 0.0)
    assert mean_and_ci95([]) == (0.0, 0.0)


def test_summary_counts_success_tokens_and_throughput():
    episodes = [
        episode({"a": 1.0, "b": 0.0}, True, tokens=10),
        episode({"a": 0.0, "b": 1.0}, False, tokens=30),
        episode({"a": 0.5, "b": 0.5}, None),
    ]
    summary = summarize(episodes, wall_time_s=4.0)
    assert summary.agents["a"].mean_return == pytest.approx(0.5)
    assert summary.agents["a"].success_rate == 0.5
    assert summary.success_rate == 0.5
    assert summary.tokens == 40
    assert summary.tokens_per_s == 10.0
    assert summary.episodes_per_s == 0.75
    assert summarize([], 0.0).tokens_per_s == 0.0


def test_histogram_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = plot_return_histogram(
        [episode({"a": 1.0, "b": 0.0}, True), episode({"a": 1.0, "b": 0.0}, True)],
        tmp_path / "sub" / "h.png",
    )
    assert path.read_bytes()[:4] == b"\x89PNG"
