"""Likelihood normalisations (GLAM sum, TWOSOME token/word) and choosing among actions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.agents.scoring import choose_action, normalise, softmax

logprob_lists = st.lists(st.floats(min_value=-30, max_value=0), min_size=1, max_size=12)


def test_normalisations():
    assert normalise([-1.0, -3.0], "go north now", "sum") == -4.0
    assert normalise([-1.0, -3.0], "go north now", "token") == -2.0
    assert normalise([-1.0, -3.0], "go north now", "word") == pytest.approx(-4.0 / 3)
    with pytest.raises(ValueError, match="Unknown normalisation"):
        normalise([-1.0], "x", "max")


@given(logprob_lists, st.text(min_size=1, max_size=40))
def test_token_and_word_scores_are_the_sum_rescaled(logprobs, text):
    total = normalise(logprobs, text, "sum")
    assert normalise(logprobs, text, "token") == pytest.approx(total / len(logprobs))
    assert normalise(logprobs, text, "word") == pytest.approx(total / max(1, len(text.split())))


@given(st.lists(st.floats(min_value=-50, max_value=50), min_size=1, max_size=10))
def test_softmax_is_a_distribution(scores):
    probabilities = softmax(scores)
    assert math.fsum(probabilities) == pytest.approx(1.0)
    assert probabilities[scores.index(max(scores))] == max(probabilities)


@given(
    st.lists(st.floats(min_value=-50, max_value=50), min_size=1, max_size=10), st.floats(0, 0.999)
)
def test_choice_is_a_valid_index_and_greedy_takes_the_best(scores, uniform):
    assert 0 <= choose_action(scores, 1.0, uniform) < len(scores)
    assert choose_action(scores, 0.0, uniform) == scores.index(max(scores))


def test_sampling_follows_the_cumulative_softmax():
    scores = [math.log(0.2), math.log(0.8)]
    assert choose_action(scores, 1.0, 0.1) == 0
    assert choose_action(scores, 1.0, 0.3) == 1


def test_an_empty_candidate_never_wins():
    assert normalise([], "", "sum") == -math.inf
    scores = [normalise([], "", "token"), normalise([-5.0], "go", "token")]
    assert choose_action(scores, 0.0, 0.5) == 1
    assert softmax([-math.inf, -math.inf]) == [0.5, 0.5]
