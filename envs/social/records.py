"""SocialSandbox interaction records and the training data built from them.

Each round of the sandbox yields one :class:`InteractionRecord` per answering agent: the question,
the draft, the peers' ratings and feedback on it, the revision and the ratings of the revision. Liu et
al. (2023) train on such records in three forms, all built here:

* :func:`preference_pairs`: (prompt, chosen, rejected) pairs for DPO-style training, from a draft
  against its revision and from different agents' answers to the same question.
* :func:`stable_alignment_examples`: for each question, every rated answer sorted best first, the
  input of the Stable Alignment objective (supervised loss on the best answer plus a contrastive
  term whose margin grows with the rating gap, :func:`rating_margins`).
* :func:`revision_examples`: (question, draft, feedback) -> revision, for learning to realign from
  feedback.

Records are plain data (``to_dict``/``from_dict``) and travel as JSON Lines (:func:`write_records`,
:func:`append_records`, :func:`read_records`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class InteractionRecord:
    """One agent's answer-feedback-revision cycle.

    Attributes:
        round: The sandbox round (0-based).
        agent: The answering agent.
        question_id: Id of the question in the question set.
        question: The question text.
        draft: The first answer.
        draft_ratings: ``rater -> score`` (1-7) of the draft.
        draft_feedback: ``rater -> written feedback`` on the draft.
        revision: The answer written after reading the feedback.
        revision_ratings: ``rater -> score`` of the revision.
        revision_feedback: ``rater -> written feedback`` on the revision.
        judge: Who rated: ``"peers"``, ``"rule"``, a judge's name, with ``"+fallback"`` when a
            rating had to come from the rule judge because no peer rating was usable.
    """

    round: int
    agent: str
    question_id: str
    question: str
    draft: str
    draft_ratings: dict[str, float] = field(default_factory=dict)
    draft_feedback: dict[str, str] = field(default_factory=dict)
    revision: str = ""
    revision_ratings: dict[str, float] = field(default_factory=dict)
    revision_feedback: dict[str, str] = field(default_factory=dict)
    judge: str = "peers"

    @property
    def draft_score(self) -> float:
        """Mean rating of the draft (1-7)."""
        return _mean(self.draft_ratings.values())

    @property
    def revision_score(self) -> float:
        """Mean rating of the revision (1-7)."""
        return _mean(self.revision_ratings.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable data, with the mean scores added."""
        data = asdict(self)
        data["draft_score"], data["revision_score"] = self.draft_score, self.revision_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InteractionRecord:
        """Rebuild a record from :meth:`to_dict` output (extra keys are ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass(frozen=True)
class PreferencePair:
    """A preference between two answers to the same prompt."""

    prompt: str
    chosen: str
    rejected: str
    chosen_score: float
    rejected_score: float
    source: str

    @property
    def margin(self) -> float:
        """How much higher the chosen answer was rated."""
        return self.chosen_score - self.rejected_score


@dataclass(frozen=True)
class StableAlignmentExample:
    """Every rated answer to one question, best first (the Stable Alignment objective's input)."""

    prompt: str
    responses: tuple[str, ...]
    ratings: tuple[float, ...]

    @property
    def best(self) -> str:
        """The highest-rated answer, the target of the supervised term."""
        return self.responses[0]


@dataclass(frozen=True)
class RevisionExample:
    """Learning to revise: the prompt shows the draft and feedback, the target is the revision."""

    prompt: str
    target: str
    improvement: float


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def preference_pairs(
    records: Sequence[InteractionRecord], min_margin: float = 0.5, across_agents: bool = True
) -> list[PreferencePair]:
    """Build (chosen, rejected) pairs whose ratings differ by at least ``min_margin``.

    Args:
        records: Interaction records.
        min_margin: Smallest rating gap (on the 1-7 scale) that makes a pair.
        across_agents: Also pair answers of different agents to the same question.

    Returns:
        Draft-versus-revision pairs first, then cross-agent pairs, in a deterministic order.
    """
    pairs = []
    for record in records:
        if record.draft_ratings and record.revision_ratings:
            pair = _pair(
                record.question,
                (record.draft, record.draft_score),
                (record.revision, record.revision_score),
                min_margin,
                "revision",
            )
            if pair is not None:
                pairs.append(pair)
    if across_agents:
        for question, answers in _answers_by_question(records).items():
            for index, first in enumerate(answers):
                for second in answers[index + 1 :]:
                    pair = _pair(question, first, second, min_margin, "peers")
                    if pair is not None:
                        pairs.append(pair)
    return pairs


def _pair(
    prompt: str, first: tuple[str, float], second: tuple[str, float], min_margin: float, source: str
) -> PreferencePair | None:
    (chosen, chosen_score), (rejected, rejected_score) = sorted(
        (first, second), key=lambda answer: -answer[1]
    )
    if chosen_score - rejected_score < min_margin or chosen == rejected:
        return None
    return PreferencePair(prompt, chosen, rejected, chosen_score, rejected_score, source)


def _answers_by_question(
    records: Sequence[InteractionRecord],
) -> dict[str, list[tuple[str, float]]]:
    """Each question's best answer per record (its revision when rated, else its draft)."""
    grouped: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for record in records:
        if record.revision_ratings:
            grouped[record.question].append((record.revision, record.revision_score))
        elif record.draft_ratings:
            grouped[record.question].append((record.draft, record.draft_score))
    return grouped


def stable_alignment_examples(
    records: Sequence[InteractionRecord], min_responses: int = 2
) -> list[StableAlignmentExample]:
    """Group every rated draft and revision by question, sorted by rating (best first).

    Args:
        records: Interaction records.
        min_responses: Questions with fewer distinct rated answers are skipped (a contrast needs 2).
    """
    grouped: dict[str, dict[str, float]] = defaultdict(dict)
    for record in records:
        for text, ratings, score in (
            (record.draft, record.draft_ratings, record.draft_score),
            (record.revision, record.revision_ratings, record.revision_score),
        ):
            if ratings and text not in grouped[record.question]:
                grouped[record.question][text] = score
    examples = []
    for question, scored in grouped.items():
        if len(scored) < min_responses:
            continue
        ordered = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
        examples.append(
            StableAlignmentExample(
                question, tuple(text for text, _ in ordered), tuple(s for _, s in ordered)
            )
        )
    return examples


def rating_margins(example: StableAlignmentExample, scale: float = 1.0) -> list[float]:
    """The contrastive margins of Stable Alignment: ``scale * (r_best - r_i)`` for each other answer."""
    best = example.ratings[0]
    return [scale * (best - rating) for rating in example.ratings[1:]]


def revision_examples(
    records: Sequence[InteractionRecord], min_improvement: float = 0.0
) -> list[RevisionExample]:
    """(question + draft + feedback) -> revision, for revisions rated at least as well as drafts."""
    examples = []
    for record in records:
        improvement = record.revision_score - record.draft_score
        if not record.revision or improvement < min_improvement:
            continue
        feedback = "\n".join(f"- {text}" for text in record.draft_feedback.values() if text)
        prompt = (
            f"Question: {record.question}\nYour draft answer: {record.draft}\n"
            f"Feedback from others:\n{feedback or '- (none)'}\nRevise your answer."
        )
        examples.append(RevisionExample(prompt, record.revision, improvement))
    return examples


def write_records(records: Iterable[InteractionRecord], path: str | Path) -> Path:
    """Write records as JSON Lines (one per line) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
    return path


def append_records(records: Iterable[InteractionRecord], path: str | Path) -> None:
    """Append records to a JSON Lines file (one ``write`` per call, so lines stay whole)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(lines)


def read_records(path: str | Path) -> list[InteractionRecord]:
    """Read records written by :func:`write_records`."""
    with Path(path).open(encoding="utf-8") as handle:
        return [InteractionRecord.from_dict(json.loads(line)) for line in handle if line.strip()]
