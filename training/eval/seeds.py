"""The seed range evaluation suites own; trainers never draw from it (no heavy imports here)."""

from __future__ import annotations

#: Seeds reserved for evaluation suites: trainers never draw from this range.
SUITE_SEEDS = range(1_000_000_000, 2_000_000_000)
