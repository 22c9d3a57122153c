"""The result of one evaluation run: what ``results.json`` holds (schema ``envalign.eval/1``).

One :class:`EvalResult` per run of a suite on a policy. Each :class:`EntryResult` keeps every
episode's outcome as an :class:`EpisodeScore`, keyed for pairing by ``(seed, seat, opponent)``, so
two runs of the same suite are compared episode by episode (:mod:`envalign.training.eval.compare`).
Summaries (means, intervals, normalised scores) are derived from the episodes by
:mod:`envalign.training.eval.stats` and stored beside them for readers without envalign.

The layout, field by field, is documented in ``docs/eval.md``; readers must check ``schema``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from envalign.envs.errors import UnreadableInput

SCHEMA = "envalign.eval/1"


@dataclass
class EpisodeScore:
    """The outcome of one evaluated episode.

    Attributes:
        seed: The seed passed to ``reset``.
        seat: The agent the evaluated policy played.
        opponent: Name of the fixed partner/opponent configuration (``""`` when there is none).
        score: The evaluated seat's return; ``None`` when the episode failed.
        success: The seat's binary success, ``None`` when the environment defines none or it failed.
        failed: Whether the episode could not be played to the end (policy error, sandbox failure).
        error: One line saying why, when it failed.
        metrics: The entry's alignment-relevant metrics for this episode (name -> number).
        task_id: The environment's task id.
        steps: Environment steps taken.
    """

    seed: int
    seat: str
    opponent: str = ""
    score: float | None = None
    success: bool | None = None
    failed: bool = False
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    task_id: str = ""
    steps: int = 0

    @property
    def key(self) -> tuple[int, str, str]:
        """What pairs this episode with the same episode of another run."""
        return (self.seed, self.seat, self.opponent)


@dataclass
class EntryResult:
    """Every episode of one suite entry, and what defines the entry.

    Attributes:
        id: The entry's id in the suite (``ultimatum-proposer``).
        env_id: The environment id.
        family: The environment's family (``social``, ``collective``, ``tool``, ``embodied``,
            ``reasoning``).
        hash: Hash of everything that defines the entry (see ``Entry.fingerprint``).
        alignment_metrics: ``metric -> "higher" | "lower"``: which direction is the more aligned.
        baseline: ``{"random": mean score, "scripted": mean score}`` on the same seeds: the 0 and
            100 of the normalised score.
        episodes: One score per episode, in (opponent, seed) order.
        summary: Derived statistics (see :func:`envalign.training.eval.stats.summarize_entry`).
        unavailable: Why the entry could not run at all here (e.g. no Docker engine), or ``None``.
    """

    id: str
    env_id: str
    family: str
    hash: str
    alignment_metrics: dict[str, str] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    episodes: list[EpisodeScore] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None


@dataclass
class EvalResult:
    """One evaluation of one policy on one suite tier.

    Attributes:
        suite: Suite name (``core-v1``).
        suite_version: The suite file's version number.
        tier: ``quick`` or ``full``.
        policy: The policy spec as given (``smollm2-135m-instruct``, ``hf:PATH``, ``random``).
        settings: How the policy acted (temperature, max_new_tokens, action selection, ...).
        entries: One result per entry, in suite order.
        aggregate: Family and overall scores with intervals (see ``stats.aggregate``).
        envalign_version: The envalign that ran it.
        created: ISO 8601 UTC time the run finished.
        wall_time_s: Seconds the run took.
        schema: Layout version of this record.
    """

    suite: str
    suite_version: int
    tier: str
    policy: str
    settings: dict[str, Any] = field(default_factory=dict)
    entries: list[EntryResult] = field(default_factory=list)
    aggregate: dict[str, Any] = field(default_factory=dict)
    envalign_version: str = ""
    created: str = ""
    wall_time_s: float = 0.0
    schema: str = SCHEMA

    def entry(self, entry_id: str) -> EntryResult:
        """The entry named ``entry_id``.

        Raises:
            KeyError: If the result has no such entry.
        """
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        """Rebuild a result from :meth:`to_dict`'s data.

        Raises:
            UnreadableInput: If the data is not an ``envalign.eval/1`` result.
        """
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise UnreadableInput(
                f"Not an envalign evaluation result (schema {found!r}, expected {SCHEMA!r})."
            )
        fields = dict(data)
        entries = []
        for entry in fields.pop("entries", []):
            entry = dict(entry)
            entry["episodes"] = [EpisodeScore(**episode) for episode in entry.get("episodes", [])]
            entries.append(EntryResult(**entry))
        return cls(entries=entries, **fields)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the result as indented JSON, atomically; return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")
        os.replace(partial, path)
        return path


def load_result(path: str | os.PathLike[str]) -> EvalResult:
    """Read ``results.json`` (or the folder that holds it).

    Raises:
        UnreadableInput: If the file is missing, is not JSON, or is not an evaluation result.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise UnreadableInput(
            f"No evaluation result at '{path}'; pass the --out folder of `envalign eval`."
        ) from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableInput(f"'{path}' is not a JSON evaluation result ({error}).") from error
    try:
        return EvalResult.from_dict(data)
    except TypeError as error:
        raise UnreadableInput(
            f"'{path}' has fields this envalign does not know ({error})."
        ) from error
