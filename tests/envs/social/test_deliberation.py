import pytest
from hypothesis import given
from hypothesis import strategies as st

import envalign
from envalign.envs.social.deliberation import (
    INVALID_PENALTY,
    Ballot,
    DeliberationEnv,
    borda_scores,
    group_answer,
    load_questions,
    majority_scores,
    parse_answer,
    parse_ballot,
    parse_ranking,
)

reasons = st.text(alphabet=st.characters(categories=["Ll", "Zs"]), max_size=60)


@given(
    st.sampled_from("ABCD"),
    st.sampled_from(["ANSWER: {}", "answer {}", "Answer is ({})", "{}"]),
    reasons,
)
def test_answers_parse(letter, template, reason):
    text = f"{template.format(letter)}\nREASON: {reason}"
    assert parse_answer(text, 4) == (letter, "")


@given(st.text(max_size=80))
def test_any_text_parses_or_gets_feedback(text):
    letter, feedback = parse_answer(text, 4)
    assert (letter is None) == bool(feedback)
    assert letter is None or letter in "ABCD"


def test_letters_beyond_the_choices_are_refused():
    letter, feedback = parse_answer("ANSWER: E", 4)
    assert letter is None and "not an option" in feedback


@given(st.permutations("ABCD"))
def test_rankings_parse(order):
    assert parse_ranking("RANKING: " + " > ".join(order), 4) == (list(order), "")


def test_bad_rankings_are_ignored_with_feedback():
    assert parse_ranking("RANKING: A > A > B", 4)[0] == []
    assert "ignored" in parse_ranking("RANKING: A > Z", 4)[1]


def test_a_ranking_alone_supplies_the_answer():
    ballot, feedback = parse_ballot("RANKING: C > A", 4)
    assert (ballot.answer, ballot.ranking, feedback) == ("C", ["C", "A"], "")


def test_borda_count_shares_the_points_of_unranked_options():
    ballots = [Ballot("A", ranking=["A", "B"]), Ballot("B", ranking=["B"]), Ballot(None)]
    # Ballot 1: A 3, B 2, C and D share 1 -> 0.5 each. Ballot 2: B 3, the other three share 3.
    assert borda_scores(ballots, 4) == {"A": 4.0, "B": 5.0, "C": 1.5, "D": 1.5}


def test_majority_ignores_abstentions_and_ties_follow_the_order():
    scores = majority_scores([Ballot("B"), Ballot("C"), Ballot(None)], 4)
    assert group_answer(scores, "DCBA") == "C"
    assert group_answer(majority_scores([Ballot(None)], 4), "ABCD") is None


def test_shipped_questions_are_well_formed():
    questions = load_questions()
    assert len(questions) >= 200
    assert len({q.id for q in questions}) == len(questions)
    assert all(len(q.choices) == 4 and q.answer in "ABCD" for q in questions)
    assert len({(q.question, q.choices) for q in questions}) == len(questions)


def fixed_env(**kwargs):
    env = DeliberationEnv(**kwargs)
    env.reset(seed=0)
    truth = env.current.answer
    wrong = next(letter for letter in "ABCD" if letter != truth)
    return env, truth, wrong


def test_deliberation_that_fixes_a_wrong_majority():
    env, truth, wrong = fixed_env(rounds=1)
    env.step({"agent_0": f"ANSWER: {wrong}", "agent_1": f"ANSWER: {wrong}", "agent_2": truth})
    _, rewards, terminations, _, infos = env.step(dict.fromkeys(env.agents, f"ANSWER: {truth}"))
    assert rewards == dict.fromkeys(rewards, pytest.approx(1.0))
    metrics = infos["agent_0"]["metrics"]
    assert metrics["fixed_rate"] == 1.0 and metrics["broke_rate"] == 0.0 and metrics["success"]
    assert all(terminations.values())


def test_deliberation_that_breaks_a_right_majority():
    env, truth, wrong = fixed_env(rounds=1)
    env.step({"agent_0": f"ANSWER: {truth}", "agent_1": f"ANSWER: {truth}", "agent_2": wrong})
    final = {"agent_0": f"ANSWER: {truth}", "agent_1": f"ANSWER: {wrong}", "agent_2": wrong}
    _, rewards, _, _, infos = env.step(final)
    assert rewards["agent_0"] == pytest.approx(0.5)  # right alone: individual only
    assert rewards["agent_1"] == 0.0
    assert infos["agent_0"]["metrics"]["broke_rate"] == 1.0


def test_others_answers_and_reasons_are_shown():
    env, truth, _ = fixed_env(rounds=1)
    observations, *_ = env.step(
        {"agent_0": f"ANSWER: {truth}\nREASON: I read it somewhere", "agent_1": "B", "agent_2": "C"}
    )
    assert f"agent_0: {truth} because: I read it somewhere" in observations["agent_1"]["text"]


def test_unusable_replies_abstain_with_a_penalty():
    env, truth, _ = fixed_env(rounds=0)
    _, rewards, _, _, infos = env.step({"agent_0": "no idea", "agent_1": truth, "agent_2": truth})
    assert infos["agent_0"]["reward_components"]["invalid_action"] == INVALID_PENALTY
    assert rewards["agent_0"] == pytest.approx(0.5 + INVALID_PENALTY)  # the group was right


def test_borda_aggregation_uses_rankings():
    env, truth, wrong = fixed_env(rounds=0, aggregation="borda")
    second = [letter for letter in "ABCD" if letter not in (truth, wrong)][0]
    _, _, _, _, infos = env.step(
        {
            "agent_0": f"RANKING: {wrong} > {truth}",
            "agent_1": f"RANKING: {second} > {truth}",
            "agent_2": f"RANKING: {truth} > {wrong}",
        }
    )
    assert infos["agent_0"]["metrics"]["group_accuracy"] == 1.0


def test_several_questions_per_episode():
    env = DeliberationEnv(rounds=0, questions_per_episode=3)
    env.reset(seed=1)
    ids = set()
    for _ in range(3):
        ids.add(env.current.id)
        *_, infos = env.step(dict.fromkeys(env.agents, "ANSWER: A"))
    assert len(ids) == 3 and env.agents == []


def test_honest_group_beats_its_members():
    episodes = envalign.simulate("envalign/Deliberation-v0", "honest", episodes=200).episodes
    group = sum(e.metrics["agent_0"]["group_accuracy"] for e in episodes) / 200
    individual = sum(e.metrics["agent_0"]["individual_accuracy"] for e in episodes) / 200
    assert individual < group  # three 70%-accurate voters: majority correct ~78%
    assert 0.72 <= group <= 0.86
