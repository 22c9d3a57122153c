"""Conformance over the whole catalog, plugins included: adding an environment adds its tests.

Gymnasium's ``check_env`` or PettingZoo's ``api_test``/``parallel_api_test``/``seed_test``; same seed
gives the same episode; a Hypothesis fuzz of malformed actions never raises, never hangs and always
yields a finite reward and feedback.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envalign.envs import list_envs, make_raw
from envalign.envs.checker import (
    MALFORMED_ACTIONS,
    check_determinism,
    check_episodes,
    check_malformed_actions,
    check_valid_actions,
    upstream_checks,
)


def catalog_params() -> list:
    return [
        pytest.param(card, id=card.id, marks=[pytest.mark.docker] if card.needs_docker else [])
        for card in list_envs()
    ]


def factory(card):
    return lambda: make_raw(card.id)


@pytest.mark.parametrize("card", catalog_params())
def test_upstream_checkers(card):
    upstream_checks(factory(card), card.multi_agent)


@pytest.mark.parametrize("card", catalog_params())
def test_episodes_follow_the_info_schema(card):
    check_episodes(factory(card), episodes=3)


@pytest.mark.parametrize("card", catalog_params())
def test_same_seed_same_episode(card):
    check_determinism(factory(card), seed=11)


@pytest.mark.parametrize("card", catalog_params())
def test_valid_actions_are_listed_on_every_acting_turn(card):
    check_valid_actions(factory(card), episodes=2)


@pytest.mark.parametrize("card", catalog_params())
def test_listed_malformed_actions_get_feedback(card):
    check_malformed_actions(factory(card), MALFORMED_ACTIONS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
malformed_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cs", "Co", "Zs"]), max_size=200),
    st.binary(max_size=300).map(lambda raw: raw.decode("utf-8", "replace")),
    st.binary(max_size=300).map(lambda raw: raw.decode("latin-1")),
    json_values.map(json.dumps),
    st.integers(1_000, 120_000).map(lambda n: "a" * n),
)


@pytest.mark.parametrize("card", catalog_params())
def test_fuzzed_actions_never_break_the_environment(card):
    @settings(
        max_examples=15 if card.needs_docker else 40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(action=malformed_text)
    def fuzz(action):
        check_malformed_actions(factory(card), (action,))

    fuzz()
