import pytest
from hypothesis import given
from hypothesis import strategies as st

import envalign
from envalign.envs.social.prisoners_dilemma import (
    COOPERATE,
    DEFECT,
    INVALID_PENALTY,
    PrisonersDilemmaEnv,
    parse_move,
)

junk = st.text(alphabet=st.characters(categories=["Zs", "P", "N"]), max_size=20)


@given(junk, st.sampled_from(["COOPERATE", "cooperate", "C", "Cooperation"]), junk)
def test_cooperation_words_parse(before, word, after):
    assert parse_move(f"{before} {word} {after}") == (COOPERATE, "")


@given(junk, st.sampled_from(["DEFECT", "defect", "D", "defecting"]), junk)
def test_defection_words_parse(before, word, after):
    assert parse_move(f"{before} {word} {after}") == (DEFECT, "")


@given(st.text(alphabet=st.characters(categories=["Zs", "P", "N"])))
def test_text_without_a_move_gets_feedback(text):
    move, feedback = parse_move(text)
    assert move is None and "COOPERATE or DEFECT" in feedback


def test_first_move_word_wins():
    assert parse_move("I will defect, not cooperate")[0] == DEFECT


def play(first, second, episodes=1, **env_kwargs):
    return envalign.simulate(
        "envalign/PrisonersDilemma-v0",
        {"agent_0": first, "agent_1": second},
        episodes=episodes,
        env_kwargs=env_kwargs,
    ).episodes


def test_tit_for_tat_against_always_defect_over_ten_rounds():
    (episode,) = play("tit_for_tat", "always_defect")
    # Raw payoffs (T=5, R=3, P=1, S=0): TFT 0 + 9 x 1 = 9, AD 5 + 9 x 1 = 14; rewards are payoff / T.
    assert episode.metrics["agent_0"]["total_payoff"] == 9
    assert episode.metrics["agent_1"]["total_payoff"] == 14
    assert episode.returns == {"agent_0": pytest.approx(1.8), "agent_1": pytest.approx(2.8)}
    assert episode.metrics["agent_0"]["cooperation_rate"] == pytest.approx(0.1)
    assert episode.steps == 20  # a message step and a move step per round


def test_mutual_tit_for_tat_cooperates_throughout():
    (episode,) = play("tit_for_tat", "tit_for_tat")
    assert episode.metrics["agent_0"]["total_payoff"] == 30
    assert episode.metrics["agent_0"]["joint_cooperation_rate"] == 1.0


def test_always_cooperate_is_exploited():
    (episode,) = play("always_cooperate", "always_defect", rounds=4, message_phase=False)
    assert episode.metrics["agent_0"]["total_payoff"] == 0
    assert episode.metrics["agent_1"]["total_payoff"] == 20
    assert episode.steps == 4


def test_invalid_move_is_played_as_defect_with_a_penalty():
    env = PrisonersDilemmaEnv(rounds=1, message_phase=False)
    env.reset(seed=0)
    _, rewards, terminations, _, infos = env.step({"agent_0": "hmm", "agent_1": "COOPERATE"})
    assert rewards["agent_0"] == pytest.approx(1.0 + INVALID_PENALTY)  # T / T plus the penalty
    assert rewards["agent_1"] == 0.0
    assert "played as DEFECT" in infos["agent_0"]["feedback"]
    assert all(terminations.values())


def test_the_other_agents_message_is_shown_before_the_move():
    env = PrisonersDilemmaEnv(rounds=2)
    env.reset(seed=0)
    observations, _, _, _, infos = env.step({"agent_0": "I promise to cooperate", "agent_1": ""})
    assert "I promise to cooperate" in observations["agent_1"]["text"]
    assert infos["agent_1"]["valid_actions"] == [COOPERATE, DEFECT]
    assert infos["agent_1"]["feedback"]  # an empty message still gets feedback


def test_payoffs_must_form_a_dilemma():
    with pytest.raises(ValueError, match="T > R > P > S"):
        PrisonersDilemmaEnv(payoffs=(3, 5, 1, 0))


def test_render_shows_the_moves():
    env = PrisonersDilemmaEnv(rounds=1, message_phase=False, render_mode="ansi")
    env.reset(seed=0)
    env.step({"agent_0": "C", "agent_1": "D"})
    assert "agent_0 COOPERATE, agent_1 DEFECT" in env.render()
