"""Summary statistics and the return histogram."""

from __future__ import annotations

import math

import pytest

from envalign.training.episodes import Episode, TurnRecord
from envalign.training.summary import (
    episode_success,
    mean_and_ci95,
    plot_return_histogram,
    summarize,
)


def episode(
    returns: dict[str, float], success: bool | None | dict[str, bool | None], tokens: int = 0
) -> Episode:
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
        success=success if isinstance(success, dict) else dict.fromkeys(returns, success),
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


def test_a_shared_outcome_is_the_episode_success():
    # A deal struck (or not) is every agent's outcome: the episode succeeds with them.
    episodes = [episode({"a": 1.0, "b": 1.0}, True), episode({"a": 0.0, "b": 0.0}, False)]
    summary = summarize(episodes, wall_time_s=1.0)
    assert summary.success_rate == 0.5
    assert summary.agents["a"].success_rate == summary.agents["b"].success_rate == 0.5


def test_a_game_with_a_winner_and_a_loser_has_no_episode_success():
    # Before: every episode "failed" (0.0%) while each agent's own column was positive.
    episodes = [
        episode({"a": 1.0, "b": -1.0}, {"a": True, "b": False}),
        episode({"a": -1.0, "b": 1.0}, {"a": False, "b": True}),
        episode({"a": 0.0, "b": 0.0}, {"a": False, "b": False}),  # a draw: agreed, yet n/a
    ]
    summary = summarize(episodes, wall_time_s=1.0)
    assert summary.success_rate is None
    assert summary.agents["a"].success_rate == pytest.approx(1 / 3)
    assert summary.agents["b"].success_rate == pytest.approx(1 / 3)
    assert episode_success(episodes[0]) is None and episode_success(episodes[2]) is False


def test_agents_that_do_not_report_are_left_out():
    partial = episode({"a": 1.0, "b": 0.0}, {"a": True, "b": None})
    assert episode_success(partial) is True
    assert summarize([partial], 1.0).success_rate == 1.0
    silent = episode({"a": 1.0}, None)
    assert episode_success(silent) is None and summarize([silent], 1.0).success_rate is None


def test_the_run_summary_shows_n_a_for_no_episode_success(capsys):
    from types import SimpleNamespace

    from envalign.cli.run import print_summary

    episodes = [
        episode({"a": 1.0, "b": -1.0}, {"a": True, "b": False}),
        episode({"a": -1.0, "b": 1.0}, {"a": False, "b": True}),
    ]
    result = SimpleNamespace(summary=summarize(episodes, wall_time_s=1.0), out=None)
    print_summary(result, {"*": "random"})
    text = capsys.readouterr().out
    assert "success rate n/a" in text and "50.0%" in text and " 0.0%" not in text
