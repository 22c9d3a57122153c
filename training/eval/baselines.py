"""The 0 and the 100 of every entry: the random and scripted baselines on the entry's own seeds.

Shipped beside each suite as ``suites/NAME.baselines.json`` (``{tier: {entry: {"hash", "random",
"scripted"}}}``) and recomputed with ``envalign eval baselines --suite NAME --write``. An entry whose
shipped hash no longer matches (its environment changed) is measured on the spot, with a warning,
so a normalised score is never computed against a stale baseline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from envalign.training.eval.runner import build_streams, evaluated_policy, play
from envalign.training.eval.suite import SUITES_DIR, Entry, Suite

BASELINES = ("random", "scripted")


def shipped_path(suite: Suite) -> Path:
    """Where the suite's baselines file lives."""
    return SUITES_DIR / f"{suite.name}.baselines.json"


def read_shipped(suite: Suite) -> dict[str, dict[str, dict[str, float | str]]]:
    """The shipped baselines, ``{}`` when there are none."""
    path = shipped_path(suite)
    return json.loads(path.read_text()) if path.is_file() else {}


def measure(suite: Suite, tier: str, entries: list[Entry]) -> dict[str, dict[str, float]]:
    """Play the random and scripted baselines in the evaluated seat: ``{entry: {name: mean}}``."""
    hashes = {entry.id: "" for entry in entries}
    means: dict[str, dict[str, float]] = {entry.id: {} for entry in entries}
    for name in BASELINES:
        streams = build_streams(
            suite, tier, entries, evaluated_policy(name, entries), hashes, set()
        )
        scores: dict[str, list[float]] = {entry.id: [] for entry in entries}
        by_id = {entry.id: entry for entry in entries}
        for played in play(streams):
            if played.episode is not None:
                scores[played.entry].append(by_id[played.entry].score_of(played.episode.returns))
        for entry_id, values in scores.items():
            if values:
                means[entry_id][name] = sum(values) / len(values)
    return means


def for_entries(
    suite: Suite,
    tier: str,
    entries: list[Entry],
    hashes: dict[str, str],
    unavailable: dict[str, str],
) -> dict[str, dict[str, float]]:
    """Baselines of ``entries`` in ``tier``: shipped where current, measured where stale."""
    shipped = read_shipped(suite).get(tier, {})
    found: dict[str, dict[str, float]] = {}
    stale = []
    for entry in entries:
        record = shipped.get(entry.id)
        if record is not None and record.get("hash") == hashes[entry.id]:
            found[entry.id] = {name: float(record[name]) for name in BASELINES if name in record}
        elif entry.id not in unavailable:
            stale.append(entry)
    if stale:
        names = ", ".join(entry.id for entry in stale)
        print(
            f"envalign eval: shipped baselines of {names} do not match the entries' current hash; "
            f"measuring them now (refresh: envalign eval baselines --suite {suite.name} --write).",
            file=sys.stderr,
        )
        found.update(measure(suite, tier, stale))
    return found


def refresh(suite: Suite, tiers: list[str], path: Path | None = None) -> Path:
    """Measure every entry's baselines in ``tiers`` and write the baselines file."""
    from envalign.training.eval.evaluate import unavailable_reason

    target = path or shipped_path(suite)
    data = json.loads(target.read_text()) if target.is_file() else {}
    runnable = [entry for entry in suite.entries if unavailable_reason(entry) is None]
    for tier in tiers:
        means = measure(suite, tier, runnable)
        rows = data.setdefault(tier, {})
        for entry in runnable:
            acting = suite.acting_for(entry)
            rows[entry.id] = {
                "hash": entry.fingerprint(tier, suite.tiers, acting),
                **means[entry.id],
            }
    target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return target
