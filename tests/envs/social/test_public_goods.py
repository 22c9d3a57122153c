import pytest
from hypothesis import given
from hypothesis import strategies as st

import envalign
from envalign.envs.social.public_goods import INVALID_PENALTY, PublicGoodsEnv, parse_contribution


@given(
    st.integers(0, 10),
    st.sampled_from(["CONTRIBUTE {}", "contribute: {}", "I contribute {}", " {} "]),
)
def test_contributions_parse(amount, template):
    assert parse_contribution(template.format(amount), 10) == (amount, "")


@given(st.integers(11, 10**6) | st.integers(-(10**6), -1))
def test_out_of_range_contributions_are_refused(amount):
    value, feedback = parse_contribution(f"CONTRIBUTE {amount}", 10)
    assert value is None and "0 to 10" in feedback


@given(st.text(alphabet=st.characters(categories=["L", "Zs", "P"])))
def test_text_without_a_number_gets_feedback(text):
    value, feedback = parse_contribution(text, 10)
    if value is None:
        assert feedback


def play(policies):
    return envalign.simulate("envalign/PublicGoods-v0", policies, episodes=1).episodes[0]


def test_full_cooperation_earns_the_multiplier():
    episode = play("full_contributor")
    # Each round: 10 - 10 + 1.6 * 40 / 4 = 16 coins = 1.6 reward; five rounds.
    assert episode.returns["agent_0"] == pytest.approx(8.0)
    assert episode.metrics["agent_0"]["cooperation_rate"] == 1.0


def test_free_rider_gains_at_the_contributors_expense():
    episode = play({"agent_0": "free_rider", "*": "full_contributor"})
    # Free rider: 10 + 1.6 * 30 / 4 = 22 per round; contributors: 12 per round.
    assert episode.metrics["agent_0"]["total_payoff"] == pytest.approx(110)
    assert episode.metrics["agent_1"]["total_payoff"] == pytest.approx(60)
    assert episode.metrics["agent_0"]["cooperation_rate"] == pytest.approx(0.75)


def test_conditional_cooperator_stops_contributing_among_free_riders():
    episode = play({"agent_0": "conditional_cooperator", "*": "free_rider"})
    assert episode.metrics["agent_0"]["own_contribution_rate"] == pytest.approx(0.2)


def test_invalid_contribution_counts_as_zero_with_a_penalty():
    env = PublicGoodsEnv(num_players=2, rounds=1)
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step({"agent_0": "lots", "agent_1": "CONTRIBUTE 10"})
    assert rewards["agent_0"] == pytest.approx((10 + 1.6 * 10 / 2) / 10 + INVALID_PENALTY)
    assert infos["agent_0"]["reward_components"]["invalid_action"] == INVALID_PENALTY
    assert "counted as 0" in infos["agent_0"]["feedback"]


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="num_players"):
        PublicGoodsEnv(num_players=1)
