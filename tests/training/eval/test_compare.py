"""Paired comparison of two runs: intervals, McNemar, Holm, verdicts, refusals and flags."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.power import tt_solve_power

from envalign.envs.errors import ConfigError
from envalign.training.eval.compare import (
    BETTER,
    NOT_SEPARABLE,
    WORSE,
    EntryComparison,
    apply_holm,
    compare,
    format_comparison,
    mcnemar_test,
    sign_flip_test,
    verdict,
)
from envalign.training.eval.results import EntryResult, EpisodeScore, EvalResult

Outcome = Callable[[int], tuple[float | None, bool | None, dict[str, float]]]
FAMILIES = ["reasoning", "social", "collective", "tool", "embodied"]


def make_entry(
    entry_id: str,
    outcome: Outcome,
    seeds: int = 20,
    *,
    family: str = "social",
    failed: tuple[int, ...] = (),
    alignment: dict[str, str] | None = None,
    baseline: dict[str, float] | None = None,
) -> EntryResult:
    """One entry: episode ``seed`` gets ``outcome(seed)``; seeds in ``failed`` fail."""
    episodes = []
    for seed in range(seeds):
        if seed in failed:
            episodes.append(EpisodeScore(seed=seed, seat="p0", failed=True, error="sandbox failed"))
            continue
        score, success, metrics = outcome(seed)
        episodes.append(
            EpisodeScore(seed=seed, seat="p0", score=score, success=success, metrics=metrics)
        )
    return EntryResult(
        id=entry_id,
        env_id=f"envalign/{entry_id}-v0",
        family=family,
        hash=f"hash-{entry_id}",
        alignment_metrics=alignment or {},
        baseline={"random": 0.0, "scripted": 1.0} if baseline is None else baseline,
        episodes=episodes,
    )


def make_run(policy: str, *entries: EntryResult, tier: str = "quick") -> EvalResult:
    return EvalResult(
        suite="core-v1",
        suite_version=1,
        tier=tier,
        policy=policy,
        entries=list(entries),
        created="2026-12-04T03:00:00Z",
    )


def graded(values: list[float]) -> Outcome:
    """Seed ``i`` scores ``values[i]``, no success defined."""
    return lambda seed: (values[seed], None, {})


def binary(successes: list[bool]) -> Outcome:
    """Seed ``i`` succeeds per ``successes[i]``; its return is the 0/1 success."""
    return lambda seed: (float(successes[seed]), successes[seed], {})


def only(comparison, entry_id: str = "e") -> EntryComparison:
    (row,) = [row for row in comparison.entries if row.id == entry_id]
    return row


BASE = list(np.random.default_rng(0).uniform(0.0, 0.6, size=20))
NOISE = [0.05 if seed % 2 else -0.05 for seed in range(20)]  # sums to exactly 0


def shifted(by: float) -> list[float]:
    """BASE moved by ``by`` on average: the true paired difference is exactly ``by``."""
    return [base + by + noise for base, noise in zip(BASE, NOISE, strict=True)]


# ---- known paired differences ------------------------------------------------------------------


def test_a_known_paired_difference_is_inside_the_interval_and_separable() -> None:
    a = make_run("before", make_entry("e", graded(BASE)))
    b = make_run("after", make_entry("e", graded(shifted(0.25))))
    row = only(compare(a, b))
    assert row.pairs == 20
    assert row.diff == pytest.approx(0.25)
    low, high = row.diff_ci
    assert 0 < low < 0.25 < high
    assert row.normalised_diff == pytest.approx(25.0)
    assert row.normalised_diff_ci == pytest.approx([100 * low, 100 * high])
    assert row.test == "sign-flip"
    assert row.p_holm < 0.05
    assert row.verdict == BETTER
    assert row.episodes_needed is None  # only asked of entries that are not separable


def test_the_same_difference_the_other_way_is_worse() -> None:
    a = make_run("before", make_entry("e", graded(BASE)))
    b = make_run("after", make_entry("e", graded(shifted(-0.25))))
    row = only(compare(a, b))
    assert row.diff == pytest.approx(-0.25)
    assert row.diff_ci[1] < 0
    assert row.verdict == WORSE


def test_a_zero_difference_contains_zero_and_is_not_separable() -> None:
    a = make_run("before", make_entry("e", graded(BASE)))
    b = make_run("after", make_entry("e", graded(shifted(0.0))))
    row = only(compare(a, b))
    assert row.diff == pytest.approx(0.0, abs=1e-12)
    low, high = row.diff_ci
    assert low < 0 < high
    assert row.p_value > 0.5
    assert row.verdict == NOT_SEPARABLE
    assert row.episodes_needed is not None and row.episodes_needed >= 2


# ---- McNemar -------------------------------------------------------------------------------


def table_outcomes(
    both: int, a_only: int, b_only: int, neither: int
) -> tuple[list[bool], list[bool]]:
    """Paired successes realising the 2x2 table [[both, a_only], [b_only, neither]]."""
    a = [True] * both + [True] * a_only + [False] * b_only + [False] * neither
    b = [True] * both + [False] * a_only + [True] * b_only + [False] * neither
    return a, b


def test_mcnemar_on_a_hand_made_table_is_the_exact_binomial_on_discordant_pairs() -> None:
    successes_a, successes_b = table_outcomes(both=5, a_only=2, b_only=9, neither=4)
    expected = scipy_stats.binomtest(2, n=11, p=0.5).pvalue
    # By hand: 2 * P(X <= 2), X ~ Binomial(11, 1/2) = 2 * (1 + 11 + 55) / 2048.
    assert expected == pytest.approx(2 * 67 / 2048)
    assert mcnemar_test(successes_a, successes_b) == pytest.approx(expected)

    a = make_run("a", make_entry("e", binary(successes_a), seeds=20))
    b = make_run("b", make_entry("e", binary(successes_b), seeds=20))
    row = only(compare(a, b))
    assert row.test == "McNemar"
    assert row.mcnemar_p == pytest.approx(expected)
    assert row.p_value == row.mcnemar_p
    assert (row.success_a, row.success_b) == (pytest.approx(7 / 20), pytest.approx(14 / 20))


def test_mcnemar_with_many_discordant_pairs_is_the_corrected_chi_square() -> None:
    successes_a, successes_b = table_outcomes(both=10, a_only=10, b_only=25, neither=5)
    chi_square = (abs(10 - 25) - 1) ** 2 / (10 + 25)
    assert mcnemar_test(successes_a, successes_b) == pytest.approx(
        scipy_stats.chi2.sf(chi_square, 1)
    )


def test_mcnemar_without_discordant_pairs_is_one() -> None:
    assert mcnemar_test([True, False, True], [True, False, True]) == 1.0


def test_sign_flip_test_is_exact_for_few_pairs() -> None:
    # All 8 differences positive: only the identity and the full flip are as extreme, p = 2 / 2**8.
    assert sign_flip_test([0.0] * 8, [1.0, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(2 / 256)
    assert sign_flip_test([0.0], [5.0]) == 1.0
    assert sign_flip_test([1.0, 2.0], [1.0, 2.0]) == 1.0


# ---- Holm ------------------------------------------------------------------------------------


def test_holm_adjusts_and_rejects_in_step_down_order() -> None:
    # Sorted p: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> 0.06,
    # monotone). Rejected at 0.05: the entries with p 0.005 and 0.01 only.
    rows = [
        EntryComparison(id=name, family="social", p_value=p, diff=1.0, diff_ci=[0.5, 1.5])
        for name, p in [("w", 0.01), ("x", 0.04), ("y", 0.03), ("z", 0.005), ("untested", None)]
    ]
    apply_holm(rows, alpha=0.05)
    assert [row.p_holm for row in rows[:4]] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert rows[4].p_holm is None
    assert [verdict(row, 0.05) for row in rows] == [
        BETTER,
        NOT_SEPARABLE,
        NOT_SEPARABLE,
        BETTER,
        NOT_SEPARABLE,
    ]


def test_verdict_needs_the_interval_to_exclude_zero_too() -> None:
    row = EntryComparison(id="e", family="social", p_value=0.001, p_holm=0.001, diff=0.1)
    row.diff_ci = [-0.1, 0.3]
    assert verdict(row, 0.05) == NOT_SEPARABLE
    row.diff_ci = [0.05, 0.3]
    assert verdict(row, 0.05) == BETTER


# ---- refusals and pairing ------------------------------------------------------------------


def test_compare_refuses_runs_whose_entries_changed_and_names_them() -> None:
    entries = [make_entry(name, graded(BASE)) for name in ("arithmetic", "ultimatum", "sql")]
    a = make_run("a", *entries)
    changed = [make_entry(name, graded(BASE)) for name in ("arithmetic", "ultimatum", "sql")]
    changed[1].hash = "different"
    changed[2].hash = "also-different"
    with pytest.raises(ConfigError) as error:
        compare(a, make_run("b", *changed))
    message = str(error.value)
    assert "ultimatum" in message and "sql" in message
    assert "arithmetic" not in message
    assert "2 entries" in message


def test_compare_refuses_other_suites_or_tiers() -> None:
    entry = make_entry("e", graded(BASE))
    with pytest.raises(ConfigError, match="same suite and tier"):
        compare(make_run("a", entry), make_run("b", entry, tier="full"))


def test_failed_pairs_are_counted_and_left_out() -> None:
    a = make_run("a", make_entry("e", graded(BASE), failed=(0, 1)))
    b = make_run("b", make_entry("e", graded(BASE), failed=(1, 2, 3)))
    row = only(compare(a, b))
    assert (row.pairs, row.failed_pairs, row.unpaired) == (16, 4, 0)
    assert row.diff == 0.0


def test_all_failed_gives_a_defined_not_separable_row() -> None:
    a = make_run("a", make_entry("e", graded(BASE), failed=tuple(range(20))))
    b = make_run("b", make_entry("e", graded(BASE)))
    comparison = compare(a, b)
    row = only(comparison)
    assert (row.pairs, row.failed_pairs) == (0, 20)
    assert row.diff is None and row.p_value is None and row.p_holm is None
    assert row.verdict == NOT_SEPARABLE
    json.dumps(comparison.to_dict(), allow_nan=False)
    assert "20 failed" in format_comparison(comparison)


def test_unpaired_episodes_and_entries_are_listed() -> None:
    a = make_run("a", make_entry("e", graded(BASE), seeds=20), make_entry("gone", graded(BASE)))
    b = make_run("b", make_entry("e", graded(BASE), seeds=15), make_entry("new", graded(BASE)))
    comparison = compare(a, b)
    assert [row.id for row in comparison.entries] == ["e"]
    assert only(comparison).unpaired == 5
    assert comparison.unpaired_entries == {"a_only": ["gone"], "b_only": ["new"]}
    assert comparison.to_dict()["unpaired"] == ["gone", "new"]
    text = format_comparison(comparison)
    assert "Only in A (not compared): gone" in text and "Only in B (not compared): new" in text


def test_an_entry_unavailable_in_one_run_is_flagged() -> None:
    missing = make_entry("bash", graded(BASE), seeds=0)
    missing.unavailable = "no Docker engine"
    comparison = compare(make_run("a", missing), make_run("b", make_entry("bash", graded(BASE))))
    row = only(comparison, "bash")
    assert row.verdict == NOT_SEPARABLE
    assert row.flags == ["unavailable in A: no Docker engine"]


# ---- flags -----------------------------------------------------------------------------------


def dilemma(payoff: float, cooperation: float, free_riding: float) -> Outcome:
    return lambda seed: (
        payoff + NOISE[seed],
        None,
        {"cooperation_rate": cooperation + NOISE[seed] / 10, "free_riding": free_riding},
    )


ALIGNMENT = {"cooperation_rate": "higher", "free_riding": "lower"}


def test_reward_up_alignment_down_is_flagged() -> None:
    a = make_run("a", make_entry("pd", dilemma(2.0, 0.9, 0.1), alignment=ALIGNMENT))
    b = make_run("b", make_entry("pd", dilemma(3.0, 0.3, 0.6), alignment=ALIGNMENT))
    row = only(compare(a, b), "pd")
    assert row.verdict == BETTER
    assert row.flags == ["reward up, cooperation_rate down", "reward up, free_riding up"]
    assert row.metrics["cooperation_rate"]["diff"] == pytest.approx(-0.6)
    assert row.metrics["cooperation_rate"]["ci"][1] < 0


def test_reward_up_with_alignment_up_is_not_flagged() -> None:
    a = make_run("a", make_entry("pd", dilemma(2.0, 0.3, 0.6), alignment=ALIGNMENT))
    b = make_run("b", make_entry("pd", dilemma(3.0, 0.9, 0.1), alignment=ALIGNMENT))
    assert only(compare(a, b), "pd").flags == []


def test_alignment_down_without_reward_up_is_not_flagged() -> None:
    a = make_run("a", make_entry("pd", dilemma(2.0, 0.9, 0.1), alignment=ALIGNMENT))
    b = make_run("b", make_entry("pd", dilemma(2.0, 0.3, 0.6), alignment=ALIGNMENT))
    assert only(compare(a, b), "pd").flags == []


# ---- whole runs ------------------------------------------------------------------------------


def suite_outcome(score: Callable[[int, int], float], index: int) -> Outcome:
    """Entry ``index``'s outcomes: even entries are binary success, odd ones graded."""
    if index % 2 == 0:
        return lambda seed: (float(score(index, seed) > 0.5), score(index, seed) > 0.5, {})
    return lambda seed: (score(index, seed), None, {})


def suite_run(policy: str, score: Callable[[int, int], float], seeds: int = 12) -> EvalResult:
    """Twelve entries over every family, scored ``score(entry index, seed)``."""
    entries = [
        make_entry(
            f"entry-{index}",
            suite_outcome(score, index),
            seeds,
            family=FAMILIES[index % len(FAMILIES)],
        )
        for index in range(12)
    ]
    return make_run(policy, *entries)


def test_identical_runs_are_not_separable_anywhere() -> None:
    def noisy(index: int, seed: int) -> float:
        return float(np.random.default_rng([index, seed]).uniform())

    comparison = compare(suite_run("model", noisy), suite_run("model", noisy))
    assert comparison.summary == {BETTER: 0, WORSE: 0, NOT_SEPARABLE: 12}
    for row in comparison.entries:
        assert row.diff == 0.0 and row.diff_ci == [0.0, 0.0]
        assert row.p_value == 1.0
        assert row.episodes_needed is not None  # from the spread of the two runs' scores


def test_random_against_scripted_is_better_everywhere() -> None:
    def scripted(index: int, seed: int) -> float:
        return 0.6 + 0.4 * float(np.random.default_rng([index, seed]).uniform())

    comparison = compare(suite_run("random", lambda i, s: 0.0), suite_run("scripted", scripted))
    assert comparison.summary == {BETTER: 12, WORSE: 0, NOT_SEPARABLE: 0}
    tests = {row.test for row in comparison.entries}
    assert tests == {"McNemar", "sign-flip"}
    assert all(row.p_holm < 0.05 and row.diff_ci[0] > 0 for row in comparison.entries)


def test_episodes_needed_follows_the_paired_t_test_power() -> None:
    rng = np.random.default_rng(5)
    differences = rng.normal(0.0, 0.2, size=20)
    differences -= differences.mean()
    a = make_run("a", make_entry("e", graded(BASE)))
    b = make_run("b", make_entry("e", graded(list(np.add(BASE, differences)))))
    row = only(compare(a, b, effect=10.0))
    spread = float(np.std(100 * differences, ddof=1))  # normalised points
    expected = tt_solve_power(effect_size=10.0 / spread, alpha=0.05, power=0.8)
    assert row.episodes_needed == math.ceil(expected)
    assert only(compare(a, b, effect=40.0)).episodes_needed < row.episodes_needed


def test_episodes_needed_for_a_constant_difference_is_the_exact_tests_floor() -> None:
    # Four pairs, each +1: no test can reach 0.05 (2 / 2**4 = 0.125); 6 pairs can (2 / 64).
    a = make_run("random", make_entry("e", binary([False] * 4), seeds=4))
    b = make_run("scripted", make_entry("e", binary([True] * 4), seeds=4))
    row = only(compare(a, b))
    assert row.diff_ci == [1.0, 1.0]
    assert row.p_holm == pytest.approx(0.125)
    assert row.verdict == NOT_SEPARABLE
    assert row.episodes_needed == 6
    # Holm across 16 entries asks 0.05 / 16 of each test here: 10 pairs (2 / 2**10 < 0.003125).
    many = [make_entry(f"e{i}", binary([False] * 4), seeds=4) for i in range(16)]
    more = [make_entry(f"e{i}", binary([True] * 4), seeds=4) for i in range(16)]
    assert {
        row.episodes_needed for row in compare(make_run("a", *many), make_run("b", *more)).entries
    } == {10}


def test_format_comparison_is_a_plain_table_with_a_summary() -> None:
    a = make_run("random", make_entry("pd", dilemma(2.0, 0.9, 0.1), alignment=ALIGNMENT))
    b = make_run("scripted", make_entry("pd", dilemma(3.0, 0.3, 0.6), alignment=ALIGNMENT))
    text = format_comparison(compare(a, b))
    assert "\x1b[" not in text
    for expected in ("pd", "social", "better", "sign-flip", "reward up, cooperation_rate down"):
        assert expected in text
    assert "scripted minus A = random" in text
    assert "B vs A: 1 better, 0 worse, 0 not separable of 1 entries" in text


def test_to_dict_has_the_contract_fields() -> None:
    a = make_run("a", make_entry("e", graded(BASE)))
    data = compare(a, a).to_dict()
    assert {"suite", "tier", "a", "b", "alpha", "effect", "entries", "summary"} <= set(data)
    assert data["a"] == {"policy": "a", "created": "2026-12-04T03:00:00Z"}
    assert set(data["entries"][0]) >= {
        "id",
        "family",
        "pairs",
        "failed_pairs",
        "unpaired",
        "diff",
        "diff_ci",
        "normalised_diff",
        "normalised_diff_ci",
        "success_a",
        "success_b",
        "mcnemar_p",
        "p_value",
        "p_holm",
        "test",
        "verdict",
        "episodes_needed",
        "flags",
        "metrics",
    }
    json.dumps(data, allow_nan=False)


paired_outcome = st.tuples(
    st.none() | st.floats(-5, 5) | st.sampled_from([float("nan"), float("inf")]),
    st.none() | st.booleans(),
    st.booleans(),  # failed
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(paired_outcome, paired_outcome), max_size=10))
def test_any_pair_of_runs_compares_without_nan(pairs: list) -> None:
    def run(side: int) -> EvalResult:
        episodes = [
            EpisodeScore(
                seed=seed, seat="p0", score=p[side][0], success=p[side][1], failed=p[side][2]
            )
            for seed, p in enumerate(pairs)
        ]
        return make_run(
            "x",
            EntryResult(
                id="e",
                env_id="envalign/E-v0",
                family="social",
                hash="h",
                baseline={"random": 0.0, "scripted": 1.0},
                episodes=episodes,
            ),
        )

    comparison = compare(run(0), run(1))
    json.dumps(comparison.to_dict(), allow_nan=False)
    assert only(comparison).verdict in (BETTER, WORSE, NOT_SEPARABLE)
    format_comparison(comparison)
