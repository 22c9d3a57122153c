import pytest
from hypothesis import given
from hypothesis import strategies as st

import envalign
from envalign.envs.social.ultimatum import (
    INVALID_PENALTY,
    PROPOSER,
    RESPONDER,
    UltimatumEnv,
    parse_decision,
    parse_offer,
)


@given(st.integers(0, 100), st.sampled_from(["OFFER {}", "offer: {}", "I offer {} coins", " {} "]))
def test_offers_in_the_grammar_parse(n, template):
    assert parse_offer(template.format(n), 100) == (n, "")


@given(st.text(alphabet=st.characters(categories=["L", "Zs", "P"])))
def test_text_without_an_offer_gets_feedback(text):
    offer, feedback = parse_offer(text, 100)
    if offer is None:
        assert "OFFER n" in feedback


def test_offer_above_the_pot_is_refused():
    assert parse_offer("OFFER 101", 100)[0] is None


@pytest.mark.parametrize(
    "text, accepted", [("ACCEPT", True), ("I reject this.", False), ("accept, not reject", True)]
)
def test_decisions_parse(text, accepted):
    assert parse_decision(text) == (accepted, "")


def run(actions_per_step, **kwargs):
    env = UltimatumEnv(**kwargs)
    env.reset(seed=0)
    result = None
    for actions in actions_per_step:
        result = env.step(actions)
    return env, result


def test_accepted_offer_pays_both_sides():
    env, (_, rewards, terminations, _, infos) = run(
        [{PROPOSER: "OFFER 30", RESPONDER: ""}, {PROPOSER: "", RESPONDER: "ACCEPT"}]
    )
    assert rewards == {PROPOSER: pytest.approx(0.7), RESPONDER: pytest.approx(0.3)}
    assert all(terminations.values()) and env.agents == []
    assert infos[PROPOSER]["metrics"]["success"] is True


def test_rejection_pays_nothing():
    _, (_, rewards, _, _, infos) = run(
        [{PROPOSER: "OFFER 5", RESPONDER: ""}, {PROPOSER: "", RESPONDER: "REJECT"}]
    )
    assert rewards == {PROPOSER: 0.0, RESPONDER: 0.0}
    assert infos[RESPONDER]["metrics"]["success"] is False


def test_invalid_offer_is_penalised_and_retried():
    env, (observations, rewards, terminations, _, infos) = run([{PROPOSER: "half?", RESPONDER: ""}])
    assert rewards[PROPOSER] == INVALID_PENALTY and rewards[RESPONDER] == 0.0
    assert "OFFER n" in infos[PROPOSER]["feedback"]
    assert "Invalid offer" in observations[PROPOSER]["text"]
    assert not any(terminations.values()) and infos[PROPOSER]["acting"] is True


def test_too_many_invalid_offers_end_without_a_deal():
    _, (_, rewards, terminations, _, infos) = run(
        [{PROPOSER: "?", RESPONDER: ""}] * 3, max_invalid=3
    )
    assert all(terminations.values())
    assert rewards == {PROPOSER: INVALID_PENALTY, RESPONDER: 0.0}
    assert "No deal" in infos[RESPONDER]["feedback"]


def test_only_the_acting_agent_is_listened_to():
    env, (_, _, _, _, infos) = run([{PROPOSER: "OFFER 40", RESPONDER: "REJECT"}])
    assert env.offer == 40 and env.agents  # the responder's early REJECT was ignored
    assert infos[RESPONDER]["acting"] is True and infos[PROPOSER]["acting"] is False


def test_baselines_through_the_runner():
    fair = envalign.simulate("envalign/Ultimatum-v0", "fair", episodes=5)
    assert fair.summary.agents[PROPOSER].mean_return == pytest.approx(0.5)
    greedy_vs_fair = envalign.simulate(
        "envalign/Ultimatum-v0", {PROPOSER: "greedy", RESPONDER: "fair"}, episodes=5
    )
    assert greedy_vs_fair.summary.success_rate == 0.0
