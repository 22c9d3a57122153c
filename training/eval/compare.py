"""Compare two evaluation runs of the same suite, episode by episode (``envalign eval compare A B``).

Episodes are paired by ``(seed, seat, opponent)``, so each difference is B minus A on the very same
episode; the tests are paired (McNemar for binary success, a sign-flip permutation test for graded
returns), Holm-corrected across entries, and an entry is called ``better``/``worse`` only when the
corrected p-value is below ``alpha`` and the paired bootstrap interval excludes 0. The methods, and
why, are in ``docs/eval.md`` (Statistics).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from envalign.envs.errors import ConfigError, DependencyNotInstalled
from envalign.training.eval.results import EntryResult, EpisodeScore, EvalResult
from envalign.training.eval.stats import (
    ALPHA,
    SEED,
    Interval,
    bootstrap_interval,
    finite,
    mean,
    metric_names,
    normalise,
    normalise_difference,
    scipy_rng,
)

try:
    from scipy import stats as scipy_stats
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.power import TTestPower
except ImportError as error:  # the eval extra is optional
    raise DependencyNotInstalled(
        error.name or "statsmodels", "eval", "compare evaluation runs"
    ) from error

BETTER, WORSE, NOT_SEPARABLE = "better", "worse", "not separable"
VERDICTS = (BETTER, WORSE, NOT_SEPARABLE)
POWER = 0.8
PERMUTATIONS = 9999
MCNEMAR_EXACT_BELOW = 25  # discordant pairs; statsmodels' advice for the exact binomial version

Pair = tuple[EpisodeScore, EpisodeScore]


@dataclass
class EntryComparison:
    """B minus A on one entry (positive = B better).

    Attributes:
        id: The entry id.
        family: The entry's family.
        pairs: Episodes played by both runs, neither failed: what the statistics are over.
        failed_pairs: Episodes played by both runs where either side failed (left out, counted).
        unpaired: Episodes present in only one of the runs.
        diff: Mean paired difference of return.
        diff_ci: Paired-bootstrap interval of ``diff``.
        normalised_diff: ``diff`` in normalised points (100 = scripted minus random baseline).
        normalised_diff_ci: Interval of ``normalised_diff``.
        success_a: A's success rate over the pairs where both define success.
        success_b: B's success rate over the same pairs.
        mcnemar_p: McNemar's p-value on those pairs' success, when any define it.
        p_value: The p-value of ``test``.
        p_holm: ``p_value`` after Holm's correction across the compared entries.
        test: ``"McNemar"`` (binary success), ``"sign-flip"`` (graded return) or ``""`` (no pairs).
        verdict: ``better``, ``worse`` or ``not separable``.
        episodes_needed: For a not-separable entry, roughly how many pairs would detect an effect
            of the comparison's ``effect`` normalised points (80% power); ``None`` when unknown.
        flags: Warnings such as ``"reward up, cooperation_rate down"``.
        metrics: ``name -> {"diff", "ci", "n", "direction"}``: paired differences of each metric.
    """

    id: str
    family: str
    pairs: int = 0
    failed_pairs: int = 0
    unpaired: int = 0
    diff: float | None = None
    diff_ci: Interval | None = None
    normalised_diff: float | None = None
    normalised_diff_ci: Interval | None = None
    success_a: float | None = None
    success_b: float | None = None
    mcnemar_p: float | None = None
    p_value: float | None = None
    p_holm: float | None = None
    test: str = ""
    verdict: str = NOT_SEPARABLE
    episodes_needed: int | None = None
    flags: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Comparison:
    """The comparison of run B against run A, entry by entry.

    Attributes:
        suite: The suite both runs evaluated.
        tier: Their tier.
        a: ``{"policy", "created"}`` of run A (the reference, e.g. before training).
        b: The same for run B.
        alpha: Family-wise error rate of the Holm correction.
        effect: Effect, in normalised points, that ``episodes_needed`` is sized for.
        entries: One comparison per entry both runs hold, in A's suite order.
        unpaired_entries: ``{"a_only": [...], "b_only": [...]}``: entries only one run holds.
    """

    suite: str
    tier: str
    a: dict[str, str]
    b: dict[str, str]
    alpha: float
    effect: float
    entries: list[EntryComparison] = field(default_factory=list)
    unpaired_entries: dict[str, list[str]] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, int]:
        """How many entries got each verdict."""
        return {verdict: sum(e.verdict == verdict for e in self.entries) for verdict in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable data (layout in ``docs/eval.md``).

        Besides the fields, ``summary`` (verdict counts) and ``unpaired`` (the ids of the
        entries only one run holds, A's first).
        """
        unpaired = self.unpaired_entries.get("a_only", []) + self.unpaired_entries.get("b_only", [])
        return {**asdict(self), "unpaired": unpaired, "summary": self.summary}


def compare(a: EvalResult, b: EvalResult, alpha: float = ALPHA, effect: float = 10.0) -> Comparison:
    """Compare run B against run A, episode by episode.

    Args:
        a: The reference run (e.g. the model before training).
        b: The run compared with it.
        alpha: Family-wise error rate (Holm) and one minus the confidence level of the intervals.
        effect: The effect, in normalised points, that ``episodes_needed`` is sized to detect.

    Returns:
        The per-entry comparison, with verdicts.

    Raises:
        ConfigError: If the runs are of different suites or tiers, or an entry both hold is defined
            differently (its hash changed); the message names every changed entry.
    """
    check_pairable(a, b)
    common = [entry for entry in a.entries if entry.id in {other.id for other in b.entries}]
    paired = [
        (entry, b.entry(entry.id), pair_episodes(entry, b.entry(entry.id))) for entry in common
    ]
    tested = sum(bool(pairs) for _, _, (pairs, _, _) in paired)
    power_alpha = alpha / max(tested, 1)
    rows = [
        _compare_entry(ea, eb, episodes, alpha, effect, power_alpha) for ea, eb, episodes in paired
    ]
    apply_holm(rows, alpha)
    for row in rows:
        row.verdict = verdict(row, alpha)
        if row.verdict != NOT_SEPARABLE:
            row.episodes_needed = None
    return Comparison(
        suite=a.suite,
        tier=a.tier,
        a={"policy": a.policy, "created": a.created},
        b={"policy": b.policy, "created": b.created},
        alpha=alpha,
        effect=effect,
        entries=rows,
        unpaired_entries=_unpaired_entries(a, b),
    )


def check_pairable(a: EvalResult, b: EvalResult) -> None:
    """Refuse runs that cannot be paired.

    Raises:
        ConfigError: If the suites or tiers differ, or any entry both runs hold has a different
            hash; the message names every such entry.
    """
    if (a.suite, a.tier) != (b.suite, b.tier):
        raise ConfigError(
            f"Cannot compare a run of suite '{a.suite}' ({a.tier} tier) with one of '{b.suite}' "
            f"({b.tier} tier): compare runs of the same suite and tier."
        )
    b_hashes = {entry.id: entry.hash for entry in b.entries}
    changed = [
        f"{entry.id} ({entry.hash[:12]} in A, {b_hashes[entry.id][:12]} in B)"
        for entry in a.entries
        if entry.id in b_hashes and entry.hash != b_hashes[entry.id]
    ]
    if changed:
        raise ConfigError(
            f"Cannot compare these runs: {len(changed)} entr{'y' if len(changed) == 1 else 'ies'} "
            f"of suite '{a.suite}' changed between them: {', '.join(changed)}. "
            "Re-run both with the same suite version and envalign."
        )


def pair_episodes(a: EntryResult, b: EntryResult) -> tuple[list[Pair], int, int]:
    """Pair the episodes of one entry by ``(seed, seat, opponent)``.

    Returns:
        ``(pairs, failed_pairs, unpaired)``: the pairs where neither side failed (in A's order),
        how many pairs had a failed side, and how many episodes only one run has.
    """
    b_by_key = {episode.key: episode for episode in b.episodes}
    a_keys = {episode.key for episode in a.episodes}
    pairs, failed = [], 0
    for episode in a.episodes:
        other = b_by_key.get(episode.key)
        if other is None:
            continue
        if episode.failed or other.failed:
            failed += 1
        else:
            pairs.append((episode, other))
    return pairs, failed, len(a_keys ^ set(b_by_key))


def _compare_entry(
    a: EntryResult,
    b: EntryResult,
    paired: tuple[list[Pair], int, int],
    alpha: float,
    effect: float,
    power_alpha: float,
) -> EntryComparison:
    """Everything but Holm's correction and the verdict, for one entry."""
    pairs, failed_pairs, unpaired = paired
    row = EntryComparison(
        id=a.id, family=a.family, pairs=len(pairs), failed_pairs=failed_pairs, unpaired=unpaired
    )
    row.flags = _unavailable_flags(a, b)
    if not pairs:
        return row
    baseline = a.baseline or b.baseline
    scores = _paired_scores(pairs)  # [2, n]: A's row, then B's
    _set_return_diff(row, scores, baseline, alpha)
    _set_success(row, pairs)
    binary = is_binary_success(pairs)
    row.test = "McNemar" if binary else "sign-flip"
    row.p_value = row.mcnemar_p if binary else sign_flip_test(scores[0], scores[1])
    row.metrics = _metric_diffs(pairs, {**b.alignment_metrics, **a.alignment_metrics}, alpha)
    row.flags += reward_alignment_flags(row)
    row.episodes_needed = episodes_needed(scores, baseline, effect, power_alpha)
    return row


def _unavailable_flags(a: EntryResult, b: EntryResult) -> list[str]:
    """Say which run could not play the entry at all."""
    return [
        f"unavailable in {name}: {entry.unavailable}"
        for name, entry in (("A", a), ("B", b))
        if entry.unavailable
    ]


def _paired_scores(pairs: Sequence[Pair]) -> np.ndarray:
    """The finite returns of the pairs where both sides have one: shape ``[2, n]``."""
    both = [(x.score, y.score) for x, y in pairs if len(finite([x.score, y.score])) == 2]
    return np.asarray(both, dtype=float).reshape(-1, 2).T


def _set_return_diff(
    row: EntryComparison, scores: np.ndarray, baseline: dict[str, float], alpha: float
) -> None:
    """The mean paired difference of return, raw and normalised, with its bootstrap interval."""
    differences = scores[1] - scores[0]  # [n]
    row.diff = mean(differences.tolist())
    row.diff_ci = bootstrap_interval(differences.tolist(), alpha)
    row.normalised_diff = normalise_difference(row.diff, baseline)
    if row.diff_ci is not None:
        bounds = finite(normalise_difference(bound, baseline) for bound in row.diff_ci)
        row.normalised_diff_ci = sorted(bounds) if len(bounds) == 2 else None


def _set_success(row: EntryComparison, pairs: Sequence[Pair]) -> None:
    """Success rates of both runs and McNemar's p over the pairs that both define success."""
    both = [
        (x.success, y.success) for x, y in pairs if x.success is not None and y.success is not None
    ]
    if not both:
        return
    row.success_a = mean([float(x) for x, _ in both])
    row.success_b = mean([float(y) for _, y in both])
    row.mcnemar_p = mcnemar_test([bool(x) for x, _ in both], [bool(y) for _, y in both])


def is_binary_success(pairs: Sequence[Pair]) -> bool:
    """Whether each side's return is exactly its 0/1 success on every pair.

    Then McNemar's test on success tests the very quantity whose difference is reported.
    """
    return bool(pairs) and all(
        episode.success is not None and episode.score == float(episode.success)
        for pair in pairs
        for episode in pair
    )


def mcnemar_test(success_a: Sequence[bool], success_b: Sequence[bool]) -> float:
    """McNemar's two-sided p-value for paired binary outcomes.

    Exact (binomial on the discordant pairs) below 25 discordant pairs, else the chi-square
    version with continuity correction. No discordant pair gives 1.0.

    Args:
        success_a: A's outcome on each pair.
        success_b: B's outcome on the same pairs.

    Returns:
        The p-value.
    """
    a, b = np.asarray(success_a, dtype=bool), np.asarray(success_b, dtype=bool)
    table = [[int(np.sum(a & b)), int(np.sum(a & ~b))], [int(np.sum(~a & b)), int(np.sum(~a & ~b))]]
    discordant = table[0][1] + table[1][0]
    if discordant == 0:
        return 1.0
    result = mcnemar(table, exact=discordant < MCNEMAR_EXACT_BELOW, correction=True)
    return float(min(1.0, result.pvalue))


def sign_flip_test(a: Sequence[float], b: Sequence[float], seed: int = SEED) -> float:
    """Two-sided paired permutation test of the mean difference ``b - a`` (sign flips).

    Exact (all ``2**n`` sign patterns) when ``2**n`` does not exceed 9999, else 9999 seeded
    random flips. Fewer than two pairs cannot show anything: 1.0.

    Args:
        a: A's values on each pair.
        b: B's values on the same pairs.
        seed: Seed of the random flips.

    Returns:
        The p-value.
    """
    x, y = np.asarray(b, dtype=float), np.asarray(a, dtype=float)
    if x.size < 2 or not np.any(x != y):
        return 1.0
    result = scipy_stats.permutation_test(
        (x, y),
        _mean_difference,
        permutation_type="samples",
        vectorized=True,
        n_resamples=PERMUTATIONS,
        **scipy_rng(seed),
    )
    return float(min(1.0, result.pvalue))


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """The statistic of the sign-flip test."""
    return np.asarray(np.mean(x - y, axis=axis))


def _metric_diffs(
    pairs: Sequence[Pair], directions: dict[str, str], alpha: float
) -> dict[str, dict[str, Any]]:
    """The paired difference (B minus A) of each metric, with its bootstrap interval."""
    diffs = {}
    for name in metric_names([episode for pair in pairs for episode in pair], directions):
        values = [
            y.metrics[name] - x.metrics[name]
            for x, y in pairs
            if len(finite([x.metrics.get(name), y.metrics.get(name)])) == 2
        ]
        diffs[name] = {
            "diff": mean(values),
            "ci": bootstrap_interval(values, alpha),
            "n": len(values),
            "direction": directions.get(name),
        }
    return diffs


def reward_alignment_flags(row: EntryComparison) -> list[str]:
    """``"reward up, METRIC down"`` for each alignment metric B worsened while raising the return.

    Both moves must be clear: the return's paired interval above 0, and the metric's paired
    interval on the unaligned side of 0 (below 0 for a ``higher`` metric, above for a ``lower``).
    """
    if row.diff_ci is None or row.diff_ci[0] <= 0:
        return []
    flags = []
    for name, moved in row.metrics.items():
        ci, direction = moved["ci"], moved["direction"]
        if ci is None or direction not in ("higher", "lower"):
            continue
        if direction == "higher" and ci[1] < 0:
            flags.append(f"reward up, {name} down")
        elif direction == "lower" and ci[0] > 0:
            flags.append(f"reward up, {name} up")
    return flags


def episodes_needed(
    scores: np.ndarray, baseline: dict[str, float], effect: float, alpha: float
) -> int | None:
    """Roughly how many pairs a paired t-test needs to detect ``effect`` normalised points.

    The spread is that of the normalised paired differences; when they have none, that of the
    per-episode scores of both runs (as if independent). The answer is at least the smallest
    number of pairs with which the exact tests can reach ``alpha`` at all, and is that floor when
    every pair differs by the same amount.

    Args:
        scores: ``[2, n]`` paired returns, A's row then B's.
        baseline: The entry's baseline (``effect`` is in its normalised points).
        effect: The effect to detect, in normalised points.
        alpha: The significance level each entry faces (``alpha / entries`` for Holm's first step).

    Returns:
        A number of pairs; ``None`` without a baseline, or when no pair differs and neither run
        has any spread (nothing to size the test by).
    """
    normalised = [[normalise(value, baseline) for value in row] for row in scores.tolist()]
    if scores.shape[1] == 0 or normalised[0][0] is None or effect <= 0:
        return None
    smallest = math.floor(math.log2(2 / alpha)) + 1  # 2 ** (1 - n) < alpha
    spread = _difference_spread(np.asarray(normalised, dtype=float))
    if spread is None:  # the same difference on every pair: only the exact tests' floor is left
        return smallest if np.any(scores[1] != scores[0]) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning for huge effects: smallest applies
        needed = TTestPower().solve_power(effect_size=effect / spread, alpha=alpha, power=POWER)
    needed = float(np.asarray(needed).item())
    return max(smallest, math.ceil(needed)) if math.isfinite(needed) else smallest


def _difference_spread(normalised: np.ndarray) -> float | None:
    """Standard deviation of the paired differences, else of the two runs' scores combined."""
    ddof = 1 if normalised.shape[1] > 1 else 0
    spread = float(np.std(normalised[1] - normalised[0], ddof=ddof))
    if spread < 1e-9:
        spread = math.sqrt(
            float(np.var(normalised[0], ddof=ddof) + np.var(normalised[1], ddof=ddof))
        )
    return spread if spread >= 1e-9 else None


def apply_holm(rows: Sequence[EntryComparison], alpha: float) -> None:
    """Set ``p_holm`` on every row that has a p-value (Holm across those rows)."""
    tested = [row for row in rows if row.p_value is not None]
    if not tested:
        return
    _, adjusted, _, _ = multipletests([row.p_value for row in tested], alpha=alpha, method="holm")
    for row, p_holm in zip(tested, adjusted, strict=True):
        row.p_holm = float(p_holm)


def verdict(row: EntryComparison, alpha: float) -> str:
    """``better``/``worse`` when the Holm p is below ``alpha`` and the interval excludes 0."""
    if row.p_holm is None or row.p_holm >= alpha or row.diff_ci is None or row.diff is None:
        return NOT_SEPARABLE
    if row.diff_ci[0] > 0:
        return BETTER
    if row.diff_ci[1] < 0:
        return WORSE
    return NOT_SEPARABLE


def _unpaired_entries(a: EvalResult, b: EvalResult) -> dict[str, list[str]]:
    """The entries only one of the runs holds."""
    a_ids, b_ids = [entry.id for entry in a.entries], [entry.id for entry in b.entries]
    return {
        "a_only": [entry_id for entry_id in a_ids if entry_id not in b_ids],
        "b_only": [entry_id for entry_id in b_ids if entry_id not in a_ids],
    }


def format_comparison(comparison: Comparison, width: int = 160) -> str:
    """The comparison as a table for the terminal, with a one-line summary under it.

    Args:
        comparison: What :func:`compare` returned.
        width: Characters per line.

    Returns:
        Plain text (no colour codes).
    """
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(_table(comparison))
    console.print(summary_line(comparison))
    unpaired = comparison.unpaired_entries
    for side, ids in (("A", unpaired.get("a_only", [])), ("B", unpaired.get("b_only", []))):
        if ids:
            console.print(f"Only in {side} (not compared): {', '.join(ids)}")
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def _table(comparison: Comparison) -> Any:
    """The rich table of the comparison's entries."""
    from rich.table import Table

    table = Table(
        title=f"{comparison.suite} ({comparison.tier}): B = {comparison.b['policy']} "
        f"minus A = {comparison.a['policy']}"
    )
    # Short columns never wrap; the intervals, p-values and flags wrap when the terminal is narrow.
    for column, no_wrap in [
        ("entry", True), ("family", False), ("pairs", False), ("diff [CI]", False),
        ("normalised diff [CI]", False), ("test", True), ("p (Holm)", False), ("verdict", True),
        ("episodes needed", False), ("flags", False),
    ]:  # fmt: skip
        table.add_column(column, no_wrap=no_wrap, min_width=5 if column == "flags" else None)
    for row in comparison.entries:
        table.add_row(*_cells(row))
    return table


def _cells(row: EntryComparison) -> list[str]:
    """One table row's text."""
    notes = [f"{row.failed_pairs} failed"] if row.failed_pairs else []
    notes += [f"{row.unpaired} unpaired"] if row.unpaired else []
    pairs = str(row.pairs) + (f" ({', '.join(notes)})" if notes else "")
    p_value = "—" if row.p_value is None else f"{row.p_value:.2g} ({_number(row.p_holm, '.2g')})"
    return [
        row.id,
        row.family,
        pairs,
        _with_interval(row.diff, row.diff_ci, "+.3g"),
        _with_interval(row.normalised_diff, row.normalised_diff_ci, "+.1f"),
        row.test or "—",
        p_value,
        row.verdict,
        "—" if row.episodes_needed is None else f"≈{row.episodes_needed}",
        "; ".join(row.flags),
    ]


def _number(value: float | None, spec: str) -> str:
    """``value`` formatted, or a dash when it is undefined."""
    return "—" if value is None else format(value, spec)


def _with_interval(value: float | None, interval: Interval | None, spec: str) -> str:
    """``value [low, high]``, or a dash."""
    if value is None:
        return "—"
    if interval is None:
        return format(value, spec)
    return f"{value:{spec}} [{interval[0]:{spec}}, {interval[1]:{spec}}]"


def summary_line(comparison: Comparison) -> str:
    """One line: how many entries B is better, worse and not separable on."""
    counts = comparison.summary
    return (
        f"B vs A: {counts[BETTER]} better, {counts[WORSE]} worse, "
        f"{counts[NOT_SEPARABLE]} not separable of {len(comparison.entries)} entries "
        f"(paired; Holm-corrected, alpha {comparison.alpha:g}; episodes needed for "
        f"{comparison.effect:g} normalised points at {POWER:.0%} power)."
    )
