"""Statistics of one evaluation run: intervals, normalised scores, entry summaries, the aggregate.

Rates (success, 0/1 metrics) get Wilson intervals (statsmodels); graded scores get bootstrap
intervals (scipy's BCa). Every function answers ``None`` where a quantity is undefined (no scored
episode, no baseline spread), never NaN and never an exception: an evaluation in which every
episode failed still gets a summary. The methods, and why, are in ``docs/eval.md`` (Statistics).
"""

from __future__ import annotations

import inspect
import math
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from envalign.envs.errors import DependencyNotInstalled
from envalign.training.eval.results import EntryResult, EpisodeScore

try:
    from scipy import stats as scipy_stats
    from statsmodels.stats.proportion import proportion_confint
except ImportError as error:  # the eval extra is optional
    raise DependencyNotInstalled(
        error.name or "statsmodels", "eval", "compute evaluation statistics"
    ) from error

ALPHA = 0.05
RESAMPLES = 2000
SEED = 0

Interval = list[float]


def finite(values: Iterable[Any]) -> list[float]:
    """The values that are finite numbers, as floats (``None``, NaN, infinities, text dropped)."""
    return [
        float(value) for value in values if isinstance(value, (int, float)) and math.isfinite(value)
    ]


def mean(values: Sequence[float]) -> float | None:
    """The mean of ``values``, or ``None`` when there are none."""
    return float(np.mean(values)) if len(values) else None


def wilson_interval(successes: int, trials: int, alpha: float = ALPHA) -> Interval | None:
    """The Wilson score interval of a binomial proportion.

    Args:
        successes: Number of successes, ``0 <= successes <= trials``.
        trials: Number of trials.
        alpha: One minus the confidence level.

    Returns:
        ``[low, high]`` within ``[0, 1]`` and containing ``successes / trials``; ``None`` when
        ``trials`` is 0.

    Raises:
        ValueError: If ``successes`` is outside ``[0, trials]``.
    """
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be within [0, {trials}], got {successes}.")
    low, high = proportion_confint(successes, trials, alpha=alpha, method="wilson")
    rate = successes / trials
    # Rounding can put a bound a hair outside [0, 1] or past the estimate at 0 and 1.
    return [max(0.0, min(float(low), rate)), min(1.0, max(float(high), rate))]


def bootstrap_interval(
    values: Iterable[Any], alpha: float = ALPHA, seed: int = SEED, resamples: int = RESAMPLES
) -> Interval | None:
    """A bootstrap interval of the mean of ``values`` (BCa, seeded, so the same every run).

    Non-finite values are dropped. One value, or values without spread, give the degenerate
    interval ``[v, v]``: there is nothing to resample (scipy would answer NaN).

    Args:
        values: The sample (per-episode scores, or paired differences for a paired interval).
        alpha: One minus the confidence level.
        seed: Seed of the resampling.
        resamples: Number of bootstrap resamples.

    Returns:
        ``[low, high]`` containing the sample mean, or ``None`` for an empty sample.
    """
    data = np.asarray(finite(values))
    if data.size == 0:
        return None
    centre = float(data.mean())
    if data.size == 1 or float(np.ptp(data)) == 0.0:
        return [centre, centre]
    low, high = _bca_bounds(data, alpha, seed, resamples)
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = _percentile_bounds(_resampled_means(data, _rng(seed), resamples), alpha)
    return [min(low, centre), max(high, centre)]


def _bca_bounds(data: np.ndarray, alpha: float, seed: int, resamples: int) -> tuple[float, float]:
    """The BCa bounds of the mean (scipy); NaN where scipy finds the sample degenerate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DegenerateDataWarning: handled by the caller's fallback
        result = scipy_stats.bootstrap(
            (data,),
            np.mean,
            n_resamples=resamples,
            confidence_level=1 - alpha,
            method="BCa",
            **scipy_rng(seed),
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def scipy_rng(seed: int) -> dict[str, Any]:
    """Keyword arguments that seed scipy's resampling functions (``rng`` since scipy 1.15)."""
    if "rng" in inspect.signature(scipy_stats.bootstrap).parameters:
        return {"rng": _rng(seed)}
    return {"random_state": _rng(seed)}


def _rng(seed: int, stream: str = "") -> np.random.Generator:
    """A generator for ``seed`` and a named stream (stable across processes, unlike ``hash``)."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def _resampled_means(data: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """Means of ``resamples`` bootstrap resamples of ``data``: shape ``[resamples]``."""
    picks = rng.integers(0, data.size, size=(resamples, data.size))  # [resamples, n]
    return np.asarray(data[picks].mean(axis=1))


def _percentile_bounds(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    """The percentile interval of bootstrap ``draws``."""
    low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def baseline_span(baseline: Mapping[str, Any]) -> tuple[float, float] | None:
    """``(random, scripted - random)`` of an entry's baseline, or ``None`` when unusable.

    Unusable means a baseline is missing or not a finite number, or the two are closer than
    ``1e-9`` (nothing to normalise by).
    """
    random, scripted = finite([baseline.get("random")]), finite([baseline.get("scripted")])
    if not random or not scripted or abs(scripted[0] - random[0]) < 1e-9:
        return None
    return random[0], scripted[0] - random[0]


def normalise(value: float | None, baseline: Mapping[str, Any]) -> float | None:
    """``value`` on the entry's 0 (random baseline) to 100 (scripted baseline) scale.

    Returns:
        ``100 * (value - random) / (scripted - random)``; ``None`` when ``value`` is ``None`` or
        the baseline is unusable (see :func:`baseline_span`).
    """
    span = baseline_span(baseline)
    if value is None or span is None:
        return None
    return 100.0 * (value - span[0]) / span[1]


def normalise_interval(interval: Interval | None, baseline: Mapping[str, Any]) -> Interval | None:
    """Both bounds of ``interval`` normalised, low first (a scripted baseline below random flips them)."""
    if interval is None:
        return None
    low, high = normalise(interval[0], baseline), normalise(interval[1], baseline)
    if low is None or high is None:
        return None
    return sorted([low, high])


def normalise_difference(value: float | None, baseline: Mapping[str, Any]) -> float | None:
    """A difference of returns in normalised points: ``100 * value / (scripted - random)``."""
    span = baseline_span(baseline)
    if value is None or span is None:
        return None
    return 100.0 * value / span[1]


def rate_or_graded_interval(values: Sequence[float], alpha: float = ALPHA) -> Interval | None:
    """Wilson interval when every value is 0 or 1, else a bootstrap interval."""
    if values and all(value in (0.0, 1.0) for value in values):
        return wilson_interval(int(sum(values)), len(values), alpha)
    return bootstrap_interval(values, alpha)


def summarize_entry(entry: EntryResult, alpha: float = ALPHA) -> dict[str, Any]:
    """The summary of one entry (``EntryResult.summary``; layout in ``docs/eval.md``).

    Failed episodes are counted (``failed``) and left out of every mean; with no scored episode
    the means and intervals are ``None``.

    Args:
        entry: The entry's episodes, baseline and alignment metrics.
        alpha: One minus the confidence level of every interval.

    Returns:
        ``episodes``, ``failed``, ``scored``, ``mean_return``/``return_ci`` (bootstrap),
        ``success_rate``/``success_ci``/``success_n`` (Wilson), ``normalised``/``normalised_ci``,
        ``metrics`` and ``by_opponent``.
    """
    scored = [episode for episode in entry.episodes if not episode.failed]
    summary = _outcome(entry.episodes, alpha)
    summary["normalised"] = normalise(summary["mean_return"], entry.baseline)
    summary["normalised_ci"] = normalise_interval(summary["return_ci"], entry.baseline)
    summary["metrics"] = _metric_summaries(scored, entry.alignment_metrics, alpha)
    summary["by_opponent"] = _by_opponent(entry.episodes, alpha)
    return summary


def _outcome(episodes: Sequence[EpisodeScore], alpha: float) -> dict[str, Any]:
    """Counts, mean return and success rate of ``episodes``, with intervals."""
    scored = [episode for episode in episodes if not episode.failed]
    returns = finite(episode.score for episode in scored)
    successes = [episode.success for episode in scored if episode.success is not None]
    return {
        "episodes": len(episodes),
        "failed": len(episodes) - len(scored),
        "scored": len(scored),
        "mean_return": mean(returns),
        "return_ci": bootstrap_interval(returns, alpha),
        "success_rate": mean([float(success) for success in successes]),
        "success_ci": wilson_interval(sum(successes), len(successes), alpha),
        "success_n": len(successes),
    }


def metric_names(episodes: Iterable[EpisodeScore], alignment_metrics: Iterable[str]) -> list[str]:
    """The declared alignment metrics first, then any other metric the episodes report."""
    names = dict.fromkeys(alignment_metrics)
    for episode in episodes:
        names.update(dict.fromkeys(episode.metrics))
    return list(names)


def _metric_summaries(
    scored: Sequence[EpisodeScore], directions: Mapping[str, str], alpha: float
) -> dict[str, dict[str, Any]]:
    """Mean, interval, count and aligned direction of every metric of the scored episodes."""
    summaries = {}
    for name in metric_names(scored, directions):
        values = finite(episode.metrics.get(name) for episode in scored)
        summaries[name] = {
            "mean": mean(values),
            "ci": rate_or_graded_interval(values, alpha),
            "n": len(values),
            "direction": directions.get(name),
        }
    return summaries


def _by_opponent(episodes: Sequence[EpisodeScore], alpha: float) -> dict[str, dict[str, Any]]:
    """The outcome and metric means against each opponent, in the order they were played."""
    groups: dict[str, list[EpisodeScore]] = {}
    for episode in episodes:
        groups.setdefault(episode.opponent, []).append(episode)
    result = {}
    for opponent, group in groups.items():
        outcome = _outcome(group, alpha)
        del outcome["scored"], outcome["success_n"]
        scored = [episode for episode in group if not episode.failed]
        outcome["metrics"] = {
            name: mean(finite(episode.metrics.get(name) for episode in scored))
            for name in metric_names(scored, ())
        }
        result[opponent] = outcome
    return result


def exclusion_reason(entry: EntryResult) -> str | None:
    """Why ``entry`` cannot count towards family and overall scores, or ``None`` when it can."""
    if entry.unavailable:
        return f"unavailable: {entry.unavailable}"
    scored = finite(episode.score for episode in entry.episodes if not episode.failed)
    if not scored:
        failed = sum(episode.failed for episode in entry.episodes)
        return f"no scored episodes ({failed} of {len(entry.episodes)} failed)"
    if baseline_span(entry.baseline) is None:
        if not finite([entry.baseline.get("random")]) or not finite(
            [entry.baseline.get("scripted")]
        ):
            return "no random/scripted baseline"
        return "random and scripted baselines are equal: nothing to normalise by"
    return None


def aggregate(
    entries: Sequence[EntryResult],
    alpha: float = ALPHA,
    seed: int = SEED,
    resamples: int = RESAMPLES,
) -> dict[str, Any]:
    """Family and overall normalised scores, equal weight per entry, with stratified bootstrap intervals.

    A group's score is the mean of its entries' normalised means, so an entry of 100 episodes
    weighs the same as one of 4. The interval resamples episodes within each entry independently
    (seeded per entry id, so adding an entry does not move the others' draws), recomputes each
    entry's normalised mean and averages them; it is the percentile interval of those averages.

    Args:
        entries: The run's entries.
        alpha: One minus the confidence level.
        seed: Seed of the resampling.
        resamples: Number of bootstrap resamples.

    Returns:
        ``{"families": {family: group}, "overall": group, "excluded": {entry_id: reason}}`` where a
        group is ``{"score", "ci", "entries"}`` (``score``/``ci`` ``None`` when it has no entry).
    """
    excluded: dict[str, str] = {}
    draws: dict[str, np.ndarray] = {}
    points: dict[str, float] = {}
    families: dict[str, list[str]] = {}
    for entry in entries:
        families.setdefault(entry.family, [])
        reason = exclusion_reason(entry)
        if reason is not None:
            excluded[entry.id] = reason
            continue
        points[entry.id], draws[entry.id] = _normalised_draws(entry, seed, resamples)
        families[entry.family].append(entry.id)
    return {
        "families": {family: _group(ids, points, draws, alpha) for family, ids in families.items()},
        "overall": _group(list(points), points, draws, alpha),
        "excluded": excluded,
    }


def _normalised_draws(entry: EntryResult, seed: int, resamples: int) -> tuple[float, np.ndarray]:
    """The entry's normalised mean and its bootstrap draws (an entry with a usable baseline)."""
    returns = np.asarray(finite(episode.score for episode in entry.episodes if not episode.failed))
    random, span = baseline_span(entry.baseline) or (0.0, 1.0)
    means = _resampled_means(returns, _rng(seed, entry.id), resamples)
    return 100.0 * (float(returns.mean()) - random) / span, 100.0 * (means - random) / span


def _group(
    ids: list[str], points: dict[str, float], draws: dict[str, np.ndarray], alpha: float
) -> dict[str, Any]:
    """The equal-weight score of the entries ``ids`` and its percentile interval."""
    if not ids:
        return {"score": None, "ci": None, "entries": []}
    averages = np.mean([draws[entry_id] for entry_id in ids], axis=0)  # [resamples]
    score = float(np.mean([points[entry_id] for entry_id in ids]))
    low, high = _percentile_bounds(averages, alpha)
    return {"score": score, "ci": [min(low, score), max(high, score)], "entries": ids}
