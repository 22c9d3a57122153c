"""Text spaces: the platform's observation and action conventions.

Observations and actions are text. Gymnasium's ``Text`` space defaults to letters and digits only, so
an ordinary sentence falls outside it; :class:`UnicodeText` accepts any Unicode string up to a length
bound and samples from a mixed charset that includes whitespace, punctuation and non-Latin scripts.

Single-agent environments observe plain text. Multi-agent environments observe a ``Dict`` with a
numeric ``"observation"`` vector (PettingZoo's AEC ``api_test`` requires a numeric array there) and the
text under ``"text"``; :func:`observation_text` returns the text of either form.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

#: Characters that ``UnicodeText.sample`` draws from. Membership is not limited to them.
SAMPLE_CHARSET = (
    string.ascii_letters
    + string.digits
    + string.punctuation
    + " \n\t"
    + "éàüßñçøÅЖжΩλ中文日本語한국어😀🤖€£→"
)

DEFAULT_OBSERVATION_LENGTH = 16_384
DEFAULT_ACTION_LENGTH = 8_192
FEATURE_HIGH = 2**31 - 1


class UnicodeText(spaces.Text):
    """A ``gymnasium.spaces.Text`` whose charset is all of Unicode, bounded in length.

    Args:
        max_length: The longest string that belongs to the space.
        min_length: The shortest string that belongs to the space.
        seed: Seed for sampling.
    """

    def __init__(self, max_length: int, *, min_length: int = 0, seed: int | None = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        """Return whether ``x`` is a string within the length bounds (any Unicode character)."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    def __hash__(self) -> int:
        return hash(("UnicodeText", self.min_length, self.max_length))


def text_space(max_length: int = DEFAULT_ACTION_LENGTH) -> UnicodeText:
    """Return the text space for actions or single-agent observations."""
    return UnicodeText(max_length)


def multi_agent_observation_space(
    num_features: int, max_length: int = DEFAULT_OBSERVATION_LENGTH
) -> spaces.Dict:
    """Return the observation space of an agent in a multi-agent environment.

    Args:
        num_features: Length of the numeric ``"observation"`` vector (non-negative integers such as
            the turn number, the agent's index or counts the game exposes).
        max_length: Bound on the length of the ``"text"`` entry.

    Returns:
        ``Dict({"observation": Box[int64], "text": UnicodeText})``.
    """
    features = spaces.Box(0, FEATURE_HIGH, shape=(num_features,), dtype=np.int64)
    return spaces.Dict({"observation": features, "text": UnicodeText(max_length)})


def multi_agent_observation(text: str, features: Sequence[int]) -> dict[str, Any]:
    """Build one agent's observation in the form of :func:`multi_agent_observation_space`."""
    return {"observation": np.asarray(features, dtype=np.int64), "text": text}


def observation_text(observation: Any) -> str:
    """Return the text an LLM agent reads from an observation of either form."""
    if isinstance(observation, str):
        return observation
    if isinstance(observation, dict) and isinstance(observation.get("text"), str):
        return observation["text"]
    raise TypeError(
        f"Expected a text observation or a dict with a 'text' entry, got {type(observation).__name__}."
    )
