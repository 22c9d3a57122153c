"""Acting by likelihood: normalise candidate log-probs and choose among ``valid_actions``.

GLAM (Carta et al., 2023) scores an action by the sum of its tokens' log-probs; TWOSOME (Tan et al.,
2024) divides by the number of tokens or of words, so long actions are not penalised for their
length. The policy samples from the softmax of the scores (or takes the argmax when greedy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NORMALISATIONS = ("sum", "token", "word")


def normalise(logprobs: Sequence[float], text: str, how: str) -> float:
    """Return the score of one candidate from its token log-probs.

    Args:
        logprobs: Log-prob of each of the candidate's tokens given the prompt.
        text: The candidate's text (for the word count).
        how: ``"sum"``, ``"token"`` (mean per token) or ``"word"`` (sum per word).

    Returns:
        The score; ``-inf`` for an empty candidate (it has no tokens, so nothing supports it).

    Raises:
        ValueError: For an unknown normalisation.
    """
    if how not in NORMALISATIONS:
        raise ValueError(f"Unknown normalisation '{how}'; use one of {', '.join(NORMALISATIONS)}.")
    if not logprobs:
        return -math.inf
    total = math.fsum(logprobs)
    if how == "sum":
        return total
    if how == "token":
        return total / max(1, len(logprobs))
    return total / max(1, len(text.split()))


def softmax(scores: Sequence[float], temperature: float = 1.0) -> list[float]:
    """Softmax of ``scores / temperature`` (numerically stable)."""
    if not scores:
        raise ValueError("softmax of no scores: an agent needs at least one valid action.")
    scaled = [s / temperature for s in scores]
    top = max(scaled)
    if top == -math.inf:
        return [1.0 / len(scores)] * len(scores)
    weights = [math.exp(s - top) for s in scaled]
    total = math.fsum(weights)
    return [w / total for w in weights]


def choose_action(scores: Sequence[float], temperature: float, uniform: float) -> int:
    """Index of the chosen candidate: argmax when ``temperature == 0``, else a softmax sample.

    Args:
        scores: One score per candidate.
        temperature: Softmax temperature; 0 means argmax (first of ties).
        uniform: A draw from ``[0, 1)`` that picks the sample (the caller owns the RNG).
    """
    if temperature == 0:
        return max(range(len(scores)), key=lambda i: scores[i])
    cumulative = 0.0
    probabilities = softmax(scores, temperature)
    for index, probability in enumerate(probabilities):
        cumulative += probability
        if uniform < cumulative:
            return index
    return len(probabilities) - 1
