"""Read a rating and written feedback out of free text ("Rating: 5/7", "6 out of 7", "4")."""

from __future__ import annotations

import re

NUMBER = r"(\d{1,3}(?:\.\d+)?)"
LABELLED = re.compile(
    rf"\b(?:rating|score|rate|grade)\b\s*(?:is|of|=|:|-)?\s*{NUMBER}"
    rf"(?:\s*(?:/|out\s+of)\s*(\d{{1,3}}))?",
    re.IGNORECASE,
)
FRACTION = re.compile(rf"(?<![\d.]){NUMBER}\s*(?:/|out\s+of)\s*(\d{{1,3}})\b", re.IGNORECASE)
LEADING = re.compile(rf"^\s*\**\s*{NUMBER}\s*\**\s*(?:[.):,\-]|$|\s)")
FEEDBACK = re.compile(r"\b(?:feedback|comment|reason)\s*[:=\-]\s*(.+)", re.IGNORECASE | re.DOTALL)
MAX_FEEDBACK_LENGTH = 500


def parse_rating(text: str, scale: int = 7) -> tuple[float | None, str]:
    """Find a rating on the 1..``scale`` scale.

    Tried in order: a labelled rating (``Rating: 5``, ``score of 6/7``), a fraction anywhere
    (``5/7``, ``6 out of 7``), a number opening the reply (``4``, ``**5**.``). A fraction with another
    denominator (``8/10``) or a number outside the scale is refused, not rescaled.

    Returns:
        ``(score, "")`` or ``(None, feedback)`` saying what to write.
    """
    how = f"Write 'Rating: k/{scale}' with k a whole number from 1 to {scale}."
    match = _rating_match(text)
    if match is None:
        return None, f"No rating found. {how}"
    value = float(match.group(1))
    denominator = match.group(2) if match.lastindex and match.lastindex >= 2 else None
    if denominator is not None and int(denominator) != scale:
        return None, f"Your rating was out of {denominator}; ratings are out of {scale}. {how}"
    if not 1 <= value <= scale:
        return None, f"{match.group(1)} is outside the scale. {how}"
    return value, ""


def parse_feedback(text: str) -> str:
    """Return the written feedback: what follows ``Feedback:``, else the text without the rating."""
    labelled = FEEDBACK.search(text)
    if labelled is not None:
        body = labelled.group(1)
    else:
        rating = _rating_match(text)
        body = text if rating is None else text[: rating.start()] + " " + text[rating.end() :]
    return " ".join(body.split())[:MAX_FEEDBACK_LENGTH]


def _rating_match(text: str) -> re.Match[str] | None:
    """The first rating-looking span, in the order :func:`parse_rating` tries them."""
    return LABELLED.search(text) or FRACTION.search(text) or LEADING.match(text)
