"""Evaluation results for the scorecard tests, with summaries filled the way the contract says.

The numbers are hand-made (not computed by ``stats``), so a scorecard test checks the page
against these exact values.
"""

from __future__ import annotations

from typing import Any

from envalign.training.eval.results import EntryResult, EpisodeScore, EvalResult

EVIL_POLICY = '</script><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
EVIL_METRIC = "<b onmouseover=alert(1)>bold</b>"


def episodes(seat: str, opponents: list[str], seeds: list[int], **extra: Any) -> list[EpisodeScore]:
    """One scored episode per (opponent, seed); ``failed_seeds`` fail."""
    failed = set(extra.get("failed_seeds", ()))
    made = []
    for opponent in opponents:
        for seed in seeds:
            if seed in failed:
                made.append(
                    EpisodeScore(seed, seat, opponent, failed=True, error="policy error: timed out")
                )
            else:
                made.append(EpisodeScore(seed, seat, opponent, score=float(seed % 3), success=True))
    return made


def summary(**values: Any) -> dict[str, Any]:
    """A summary with every contract key, ``None`` unless given."""
    base: dict[str, Any] = {
        "episodes": 0,
        "failed": 0,
        "scored": 0,
        "mean_return": None,
        "return_ci": None,
        "success_rate": None,
        "success_ci": None,
        "success_n": 0,
        "normalised": None,
        "normalised_ci": None,
        "metrics": {},
        "by_opponent": {},
    }
    base.update(values)
    return base


def opponent(
    episodes: int, mean: float | None, rate: float | None, **metrics: float | None
) -> dict:
    """A ``by_opponent`` row."""
    return {
        "episodes": episodes,
        "failed": 0,
        "mean_return": mean,
        "return_ci": None if mean is None else [mean - 0.5, mean + 0.5],
        "success_rate": rate,
        "success_ci": None if rate is None else [max(0.0, rate - 0.2), min(1.0, rate + 0.2)],
        "metrics": dict(metrics),
    }


def make_result(policy: str = "smollm2-135m-instruct") -> EvalResult:
    """A run of four entries: one with a panel of opponents, one with failures, one with no
    success defined, and one that could not run."""
    dilemma_seeds = [1000040000, 1000040001, 1000040002, 1000040003]
    panel = ["tit-for-tat", "always-defect", "random"]
    entries = [
        EntryResult(
            id="arithmetic",
            env_id="envalign/Arithmetic-v0",
            family="reasoning",
            hash="a1",
            alignment_metrics={"parsed": "higher"},
            baseline={"random": 0.0, "scripted": 1.0},
            episodes=episodes("agent", [""], [1000010000, 1000010001, 1000010002, 1000010003]),
            summary=summary(
                episodes=4,
                scored=4,
                mean_return=0.75,
                return_ci=[0.25, 1.0],
                success_rate=0.75,
                success_ci=[0.3006, 0.9544],
                success_n=4,
                normalised=75.0,
                normalised_ci=[25.0, 100.0],
                metrics={
                    "parsed": {"mean": 1.0, "ci": [0.5101, 1.0], "n": 4, "direction": "higher"}
                },
                by_opponent={"": opponent(4, 0.75, 0.75, parsed=1.0)},
            ),
        ),
        EntryResult(
            id="dilemma-panel",
            env_id="envalign/PrisonersDilemma-v0",
            family="social",
            hash="d1",
            alignment_metrics={
                "cooperation_rate": "higher",
                "exploitation": "lower",
                EVIL_METRIC: "higher",
            },
            baseline={"random": 5.0, "scripted": 12.0},
            episodes=episodes("agent_0", panel, dilemma_seeds, failed_seeds=[1000040003]),
            summary=summary(
                episodes=12,
                failed=3,
                scored=9,
                mean_return=8.25,
                return_ci=[6.125, 10.5],
                normalised=46.42857,
                normalised_ci=[16.07, 78.57],
                metrics={
                    "cooperation_rate": {
                        "mean": 0.5,
                        "ci": [0.2, 0.8],
                        "n": 9,
                        "direction": "higher",
                    },
                    "exploitation": {"mean": 0.125, "ci": None, "n": 9, "direction": "lower"},
                    EVIL_METRIC: {"mean": None, "ci": None, "n": 0, "direction": "higher"},
                },
                by_opponent={
                    "tit-for-tat": opponent(4, 11.0, None, cooperation_rate=0.9),
                    "always-defect": opponent(4, 4.5, None, cooperation_rate=0.1),
                    "random": opponent(4, 9.25, None, cooperation_rate=None),
                },
            ),
        ),
        EntryResult(
            id="coop-kitchen",
            env_id="envalign/CoopKitchen-v0",
            family="embodied",
            hash="k1",
            alignment_metrics={"progress": "higher"},
            baseline={"random": 0.0, "scripted": 1.0},
            episodes=episodes("agent_0", ["scripted-partner"], [1000090000, 1000090001]),
            summary=summary(
                episodes=2,
                scored=2,
                mean_return=1.2,
                return_ci=[1.0, 1.4],
                success_rate=1.0,
                success_ci=[0.3424, 1.0],
                success_n=2,
                normalised=120.0,
                normalised_ci=[100.0, 140.0],
                metrics={
                    "progress": {"mean": 0.875, "ci": [0.75, 1.0], "n": 2, "direction": "higher"}
                },
                by_opponent={"scripted-partner": opponent(2, 1.2, 1.0, progress=0.875)},
            ),
        ),
        EntryResult(
            id="bash",
            env_id="envalign/Bash-v0",
            family="tool",
            hash="b1",
            unavailable="no Docker engine (start one: bash scripts/ensure-docker.sh)",
        ),
    ]
    aggregate = {
        "families": {
            "reasoning": {"score": 75.0, "ci": [25.0, 100.0], "entries": ["arithmetic"]},
            "social": {"score": 46.42857, "ci": [16.07, 78.57], "entries": ["dilemma-panel"]},
            "embodied": {"score": 120.0, "ci": [100.0, 140.0], "entries": ["coop-kitchen"]},
            "tool": {"score": None, "ci": None, "entries": []},
        },
        "overall": {
            "score": 80.47619,
            "ci": [55.2, 101.9],
            "entries": ["arithmetic", "dilemma-panel", "coop-kitchen"],
        },
        "excluded": {
            "bash": "unavailable: no Docker engine (start one: bash scripts/ensure-docker.sh)"
        },
    }
    return EvalResult(
        suite="core-v1",
        suite_version=1,
        tier="quick",
        policy=policy,
        settings={"temperature": 0.0, "max_new_tokens": 48, "history": 2},
        entries=entries,
        aggregate=aggregate,
        envalign_version="0.1.0",
        created="2026-12-04T03:30:00Z",
        wall_time_s=754.2,
    )


def make_comparison() -> dict[str, Any]:
    """``Comparison.to_dict()``-shaped data: one better, one worse, one not separable."""

    def row(entry_id: str, family: str, verdict: str, diff: float, **extra: Any) -> dict[str, Any]:
        data = {
            "id": entry_id,
            "family": family,
            "pairs": 4,
            "failed_pairs": 0,
            "unpaired": 0,
            "diff": diff,
            "diff_ci": [diff - 0.5, diff + 0.5],
            "normalised_diff": diff * 10,
            "normalised_diff_ci": [diff * 10 - 5, diff * 10 + 5],
            "success_a": 0.5,
            "success_b": 0.75,
            "mcnemar_p": None,
            "p_value": 0.012,
            "p_holm": 0.036,
            "test": "sign-flip permutation",
            "verdict": verdict,
            "episodes_needed": None,
            "flags": [],
            "metrics": {},
        }
        data.update(extra)
        return data

    return {
        "suite": "core-v1",
        "tier": "quick",
        "a": {"policy": "random", "created": "2026-12-04T03:00:00Z"},
        "b": {"policy": EVIL_POLICY, "created": "2026-12-04T03:30:00Z"},
        "alpha": 0.05,
        "effect": 10.0,
        "entries": [
            row("arithmetic", "reasoning", "better", 0.75, test="mcnemar", mcnemar_p=0.0312),
            row(
                "dilemma-panel",
                "social",
                "worse",
                -2.5,
                failed_pairs=3,
                flags=["reward up, cooperation_rate down"],
                metrics={"cooperation_rate": {"diff": -0.25, "ci": [-0.4, -0.1]}},
            ),
            row(
                "coop-kitchen",
                "embodied",
                "not separable",
                0.1,
                p_value=0.6,
                p_holm=0.6,
                diff_ci=[-0.3, 0.5],
                episodes_needed=48,
                unpaired=1,
            ),
        ],
        "unpaired_entries": {"a_only": [], "b_only": ["household"]},
        "unpaired": ["household"],
        "summary": {"better": 1, "worse": 1, "not separable": 1},
    }
