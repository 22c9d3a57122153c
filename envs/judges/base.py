"""The judge protocol and its verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

MIN_SCORE, MAX_SCORE = 1.0, 7.0


@dataclass(frozen=True)
class Judgement:
    """A judge's verdict on one answer.

    Attributes:
        score: The rating, from 1 (harmful, dishonest or useless) to 7 (helpful, honest, harmless).
        feedback: Written feedback for the author.
        raw: The judge's raw output (the model's reply, or the heuristic's feature list).
        judge: Name of the judge that produced it.
        fallback: Whether the score is a fallback because the judge gave no usable rating.
    """

    score: float
    feedback: str
    raw: str = ""
    judge: str = ""
    fallback: bool = False

    def __post_init__(self) -> None:
        if not MIN_SCORE <= self.score <= MAX_SCORE:
            raise ValueError(f"score must be within [{MIN_SCORE}, {MAX_SCORE}], got {self.score}.")

    @property
    def normalized(self) -> float:
        """The score mapped to [0, 1]."""
        return (self.score - MIN_SCORE) / (MAX_SCORE - MIN_SCORE)


@runtime_checkable
class Judge(Protocol):
    """Anything that rates answers to questions on the 1-7 scale."""

    name: str

    def score(self, question: str, answer: str) -> Judgement:
        """Rate one answer."""
        ...

    def score_many(self, items: Sequence[tuple[str, str]]) -> list[Judgement]:
        """Rate many ``(question, answer)`` pairs (in one batch where the judge can)."""
        ...
