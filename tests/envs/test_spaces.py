import numpy as np
import pytest
from gymnasium.spaces import Text

from envalign.envs.spaces import (
    UnicodeText,
    multi_agent_observation,
    multi_agent_observation_space,
    observation_text,
)


def test_unicode_text_accepts_any_sentence_within_the_bound():
    space = UnicodeText(50)
    assert isinstance(space, Text)
    assert space.contains("Héllo, wörld! 你好 — 🤖\n\ttabs & symbols {}")
    assert not space.contains("x" * 51)
    assert not space.contains(b"bytes")
    assert not space.contains(42)


def test_unicode_text_samples_belong_and_are_seeded():
    first, second = UnicodeText(30, seed=5), UnicodeText(30, seed=5)
    samples = [first.sample() for _ in range(20)]
    assert samples == [second.sample() for _ in range(20)]
    assert all(first.contains(sample) for sample in samples)


def test_gymnasium_default_text_rejects_sentences_but_ours_accepts():
    sentence = "What is 3 + 5?"
    assert not Text(100).contains(sentence)
    assert UnicodeText(100).contains(sentence)


def test_multi_agent_observation_matches_its_space():
    space = multi_agent_observation_space(3)
    observation = multi_agent_observation("your turn", [1, 2, 3])
    assert space.contains(observation)
    assert observation["observation"].dtype == np.int64
    assert observation_text(observation) == "your turn"
    assert observation_text("plain") == "plain"


def test_observation_text_rejects_other_types():
    with pytest.raises(TypeError, match="text observation"):
        observation_text(np.zeros(3))
