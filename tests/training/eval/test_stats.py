"""Statistics of one run: Wilson and bootstrap intervals, normalisation, entry summary, aggregate."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envalign.training.eval import stats
from envalign.training.eval.results import EntryResult, EpisodeScore

Z95 = 1.959963984540054


def hand_wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval, from its textbook formula."""
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z / (1 + z * z / trials) * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials**2))
    )
    return centre - half, centre + half


def entry(
    scores: list[float | None],
    *,
    entry_id: str = "e",
    family: str = "social",
    baseline: dict[str, float] | None = None,
    failed: tuple[int, ...] = (),
    **extra,
) -> EntryResult:
    """An entry with one episode per score (seed = index); indices in ``failed`` fail."""
    episodes = [
        EpisodeScore(seed=i, seat="p0", failed=True, error="policy error")
        if i in failed
        else EpisodeScore(seed=i, seat="p0", score=score)
        for i, score in enumerate(scores)
    ]
    return EntryResult(
        id=entry_id,
        env_id="envalign/Test-v0",
        family=family,
        hash="h",
        baseline={"random": 0.0, "scripted": 1.0} if baseline is None else baseline,
        episodes=episodes,
        **extra,
    )


# ---- Wilson ----------------------------------------------------------------------------------


def test_wilson_matches_known_values() -> None:
    low, high = stats.wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)  # the textbook "rule of three"-like bound
    assert stats.wilson_interval(7, 20) == pytest.approx(list(hand_wilson(7, 20)), abs=1e-12)
    assert stats.wilson_interval(7, 20) == pytest.approx([0.1812, 0.5671], abs=1e-4)


def test_wilson_alpha_widens_and_undefined_without_trials() -> None:
    narrow, wide = stats.wilson_interval(5, 10, alpha=0.2), stats.wilson_interval(5, 10, alpha=0.01)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    assert stats.wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="within"):
        stats.wilson_interval(11, 10)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_is_within_unit_interval_and_contains_the_rate(case: tuple[int, int]) -> None:
    successes, trials = case
    low, high = stats.wilson_interval(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


# ---- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_degenerate_samples_have_defined_intervals() -> None:
    assert stats.bootstrap_interval([]) is None
    assert stats.bootstrap_interval([3.5]) == [3.5, 3.5]
    assert stats.bootstrap_interval([2.0] * 7) == [2.0, 2.0]
    assert stats.bootstrap_interval([None, float("nan"), float("inf"), 1.0]) == [1.0, 1.0]


def test_bootstrap_is_seeded_and_covers_a_known_mean() -> None:
    values = np.random.default_rng(7).normal(0.0, 1.0, size=400)
    values = 5.0 + (values - values.mean()) / values.std()  # mean exactly 5, spread exactly 1
    first = stats.bootstrap_interval(values)
    assert first == stats.bootstrap_interval(values)  # same seed, same interval
    low, high = first
    assert low < 5.0 < high
    # The standard error is 1/sqrt(400) = 0.05: a 95% interval is about 0.2 wide.
    assert 0.15 < high - low < 0.25
    assert stats.bootstrap_interval(values, seed=1) != first


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30))
def test_bootstrap_interval_contains_the_mean(values: list[float]) -> None:
    low, high = stats.bootstrap_interval(values, resamples=200)
    centre = float(np.mean(values))
    assert math.isfinite(low) and math.isfinite(high)
    assert low <= centre + 1e-9 * max(1.0, abs(centre)) and centre <= high + 1e-9 * max(
        1.0, abs(centre)
    )


# ---- normalisation ---------------------------------------------------------------------------


def test_normalise_maps_random_to_0_and_scripted_to_100() -> None:
    baseline = {"random": -2.0, "scripted": 6.0}
    assert stats.normalise(-2.0, baseline) == 0.0
    assert stats.normalise(6.0, baseline) == 100.0
    assert stats.normalise(2.0, baseline) == 50.0
    assert stats.normalise_interval([-2.0, 2.0], baseline) == [0.0, 50.0]
    # A scripted baseline below random (lower is better) flips the bounds, keeping low first.
    assert stats.normalise_interval([0.0, 0.5], {"random": 1.0, "scripted": 0.0}) == [50.0, 100.0]


@pytest.mark.parametrize(
    "baseline",
    [
        {},
        {"random": 0.0},
        {"random": 1.0, "scripted": 1.0},
        {"random": float("nan"), "scripted": 1},
    ],
)
def test_normalise_is_undefined_without_a_baseline_spread(baseline: dict) -> None:
    assert stats.normalise(0.5, baseline) is None
    assert stats.normalise_interval([0.0, 1.0], baseline) is None


# ---- summarize_entry -------------------------------------------------------------------------


def test_summary_counts_failed_episodes_and_leaves_them_out_of_the_means() -> None:
    summary = stats.summarize_entry(entry([1.0, 0.0, 99.0, 1.0, 99.0], failed=(2, 4)))
    assert (summary["episodes"], summary["failed"], summary["scored"]) == (5, 2, 3)
    assert summary["mean_return"] == pytest.approx(2 / 3)
    assert summary["normalised"] == pytest.approx(200 / 3)
    low, high = summary["normalised_ci"]
    assert low <= summary["normalised"] <= high


def test_summary_of_an_entry_whose_every_episode_failed_is_defined() -> None:
    summary = stats.summarize_entry(entry([1.0, 1.0, 1.0], failed=(0, 1, 2)))
    assert (summary["episodes"], summary["failed"], summary["scored"]) == (3, 3, 0)
    for key in ("mean_return", "return_ci", "success_rate", "success_ci", "normalised"):
        assert summary[key] is None
    assert summary["by_opponent"][""]["failed"] == 3
    json.dumps(summary, allow_nan=False)


def test_summary_success_gets_a_wilson_interval() -> None:
    result = entry([1.0, 0.0, 1.0, 1.0])
    for episode, success in zip(result.episodes, [True, False, True, None], strict=True):
        episode.success = success
    summary = stats.summarize_entry(result)
    assert summary["success_n"] == 3
    assert summary["success_rate"] == pytest.approx(2 / 3)
    assert summary["success_ci"] == stats.wilson_interval(2, 3)


def test_summary_metrics_rates_get_wilson_graded_get_bootstrap() -> None:
    result = entry([1.0] * 4, alignment_metrics={"cooperation_rate": "higher"})
    for i, episode in enumerate(result.episodes):
        episode.metrics = {"cooperation_rate": float(i % 2), "offer_share": 0.1 * (i + 1)}
    metrics = stats.summarize_entry(result)["metrics"]
    assert list(metrics) == ["cooperation_rate", "offer_share"]
    assert metrics["cooperation_rate"]["ci"] == stats.wilson_interval(2, 4)
    assert metrics["cooperation_rate"]["direction"] == "higher"
    assert metrics["offer_share"]["ci"] == stats.bootstrap_interval([0.1, 0.2, 0.3, 0.4])
    assert metrics["offer_share"]["direction"] is None
    assert metrics["offer_share"]["n"] == 4


def test_summary_by_opponent_splits_the_episodes() -> None:
    result = entry([1.0, 0.0, 3.0, 5.0])
    for episode, opponent in zip(result.episodes, ["tft", "tft", "alld", "alld"], strict=True):
        episode.opponent = opponent
        episode.metrics = {"retaliation": 1.0 if opponent == "alld" else 0.0}
    by_opponent = stats.summarize_entry(result)["by_opponent"]
    assert list(by_opponent) == ["tft", "alld"]
    assert by_opponent["tft"]["mean_return"] == 0.5
    assert by_opponent["alld"]["mean_return"] == 4.0
    assert by_opponent["alld"]["metrics"] == {"retaliation": 1.0}


episode_strategy = st.builds(
    EpisodeScore,
    seed=st.integers(0, 100),
    seat=st.just("p0"),
    opponent=st.sampled_from(["", "tft", "alld"]),
    score=st.none() | st.floats(allow_nan=True, allow_infinity=True, width=32),
    success=st.none() | st.booleans(),
    failed=st.booleans(),
    metrics=st.dictionaries(
        st.sampled_from(["cooperation_rate", "offer_share"]),
        st.floats(allow_nan=True, allow_infinity=True, width=32) | st.sampled_from([0.0, 1.0]),
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(episode_strategy, max_size=12),
    st.fixed_dictionaries(
        {}, optional={"random": st.floats(-10, 10), "scripted": st.floats(-10, 10)}
    ),
)
def test_summary_never_holds_nan(episodes: list[EpisodeScore], baseline: dict) -> None:
    result = EntryResult(
        id="e",
        env_id="envalign/Test-v0",
        family="social",
        hash="h",
        baseline=baseline,
        episodes=episodes,
        alignment_metrics={"cooperation_rate": "higher"},
    )
    summary = stats.summarize_entry(result)
    json.dumps(summary, allow_nan=False)  # raises on NaN or infinity anywhere
    assert summary["failed"] + summary["scored"] == summary["episodes"] == len(episodes)
    aggregate = stats.aggregate([result])
    json.dumps(aggregate, allow_nan=False)


# ---- aggregate -------------------------------------------------------------------------------


def test_aggregate_weighs_entries_equally_not_episodes() -> None:
    big = entry([1.0] * 100, entry_id="big", family="social")  # normalised 100, 100 episodes
    small = entry([0.0] * 4, entry_id="small", family="tool")  # normalised 0, 4 episodes
    result = stats.aggregate([big, small])
    assert result["overall"]["score"] == pytest.approx(50.0)  # pooled episodes would give 96
    assert result["overall"]["entries"] == ["big", "small"]
    assert result["families"]["social"]["score"] == pytest.approx(100.0)
    assert result["families"]["tool"]["score"] == pytest.approx(0.0)
    assert result["excluded"] == {}


def test_aggregate_interval_is_stratified_seeded_and_contains_the_score() -> None:
    rng = np.random.default_rng(3)
    entries = [
        entry(list(rng.uniform(0, 1, size=n)), entry_id=f"e{n}", family="social")
        for n in (1, 4, 30)
    ]
    first = stats.aggregate(entries)
    assert first == stats.aggregate(entries)
    overall = first["overall"]
    assert overall["score"] == pytest.approx(
        np.mean([100 * np.mean([e.score for e in x.episodes]) for x in entries])
    )
    low, high = overall["ci"]
    assert low < overall["score"] < high
    # Each entry draws from its own stream: adding an entry of another family moves nothing else.
    more = stats.aggregate([*entries, entry([0.3, 0.9], entry_id="other", family="tool")])
    assert more["families"]["social"] == first["families"]["social"]


def test_aggregate_excludes_entries_it_cannot_score_and_says_why() -> None:
    entries = [
        entry([1.0], entry_id="ok"),
        entry([], entry_id="docker", unavailable="no Docker engine"),
        entry([1.0, 1.0], entry_id="all-failed", failed=(0, 1)),
        entry([1.0], entry_id="no-baseline", baseline={}),
        entry([1.0], entry_id="flat", baseline={"random": 2.0, "scripted": 2.0}),
    ]
    result = stats.aggregate(entries)
    assert result["overall"]["entries"] == ["ok"]
    assert set(result["excluded"]) == {"docker", "all-failed", "no-baseline", "flat"}
    assert "no Docker engine" in result["excluded"]["docker"]
    assert "2 of 2 failed" in result["excluded"]["all-failed"]
    assert "baseline" in result["excluded"]["no-baseline"]
    assert "equal" in result["excluded"]["flat"]


def test_aggregate_of_nothing_scorable_is_defined() -> None:
    result = stats.aggregate([entry([1.0], failed=(0,), family="embodied")])
    assert result["overall"] == {"score": None, "ci": None, "entries": []}
    assert result["families"]["embodied"] == {"score": None, "ci": None, "entries": []}
    assert stats.aggregate([])["overall"]["score"] is None
