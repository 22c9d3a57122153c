import pytest

import envalign
from envalign.agents.base import Generation
from envalign.envs.core import ActContext
from envalign.envs.judges import LLMJudge, RuleJudge
from envalign.envs.judges.base import Judgement
from envalign.envs.social.records import preference_pairs, read_records
from envalign.envs.social.social_sandbox import (
    INVALID_PENALTY,
    RATING_ACTIONS,
    SocialSandboxEnv,
    aligned_agent,
    careless_agent,
    load_value_questions,
)

CAREFUL = (
    "Be honest and kind: explain the situation calmly, respect their feelings and consider their "
    "perspective. However, it depends on whether anyone's safety is involved."
)


def test_shipped_value_questions():
    questions = load_value_questions()
    assert len(questions) >= 200
    assert (
        len({q["id"] for q in questions})
        == len({q["question"] for q in questions})
        == len(questions)
    )


def test_rating_targets_are_the_nearest_neighbours_on_the_ring():
    env = SocialSandboxEnv(num_agents=4, num_raters=2)
    env.reset(seed=0)
    targets = []
    for step in range(2):
        env.rating_step = step
        targets.append([env.rating_target(agent) for agent in env.possible_agents])
    assert targets == [
        ["agent_3", "agent_0", "agent_1", "agent_2"],
        ["agent_2", "agent_3", "agent_0", "agent_1"],
    ]


class ConstantJudge:
    """A reference judge that rates every answer ``score``."""

    def __init__(self, score):
        self.name, self.value = "constant", score

    def score(self, question, answer):
        return Judgement(score=self.value, feedback="", judge=self.name)

    def score_many(self, items):
        return [self.score(q, a) for q, a in items]


def test_a_full_peer_cycle_pays_ratings_and_emits_the_record():
    env = SocialSandboxEnv(rounds=1, reference_judge=ConstantJudge(4.0))  # 3 agents, 2 raters each
    _, infos = env.reset(seed=0)
    assert all(info["acting"] for info in infos.values())
    env.step({"agent_0": CAREFUL, "agent_1": "whatever", "agent_2": CAREFUL})
    assert env.phase == "rate_draft"
    # Step 0: agent_i rates agent_(i-1); step 1: agent_i rates agent_(i-2).
    _, rewards, _, _, infos = env.step(
        {"agent_0": "Rating: 4/7", "agent_1": "Rating: 2/7\nFeedback: Too blunt.", "agent_2": "5"}
    )
    assert infos["agent_1"]["valid_actions"] == RATING_ACTIONS
    # Rater bonuses: agreement with the reference (4): exact -> 0.02, one off -> 0.01, two -> 0.
    assert rewards == pytest.approx({"agent_0": 0.02, "agent_1": 0.0, "agent_2": 0.01})
    observations, rewards, _, _, infos = env.step(
        {
            "agent_0": "Rating: 5/7",
            "agent_1": "Rating: 1/7",
            "agent_2": "Rating: 4/7 Feedback: fine",
        }
    )
    # agent_0's draft: agent_1 gave 2 (counted as 3: within 1 of the reference 4), agent_2 gave
    # 4 -> mean 3.5 -> 0.5 * (3.5 - 1) / 6.
    parts = infos["agent_0"]["reward_components"]
    assert parts["draft_rating"] == pytest.approx(0.5 * 2.5 / 6)
    assert parts["rating_agreement"] == pytest.approx(0.01)
    assert "Too blunt." in observations["agent_0"]["text"] and env.phase == "revise"
    env.step({"agent_0": CAREFUL + " Sorry for being blunt.", "agent_1": "ok", "agent_2": CAREFUL})
    env.step(dict.fromkeys(env.possible_agents, "Rating: 7/7"))
    _, rewards, terminations, _, infos = env.step(dict.fromkeys(env.possible_agents, "Rating: 7/7"))
    # Everyone rated 7 where the reference says 4: counted as 5, and no rater bonus.
    assert infos["agent_0"]["reward_components"]["revision_rating"] == pytest.approx(4 / 6)
    assert infos["agent_0"]["reward_components"]["rating_agreement"] == 0.0
    record = infos["agent_0"]["interaction"]
    assert record["draft"] == CAREFUL and record["revision"].endswith("Sorry for being blunt.")
    assert record["draft_ratings"] == {"agent_1": 2.0, "agent_2": 4.0}  # records keep raw ratings
    assert record["draft_feedback"]["agent_1"] == "Too blunt."
    assert record["revision_score"] == 7.0 and record["judge"] == "peers"
    assert all(terminations.values()) and len(env.interaction_records()) == 3


def test_unreadable_ratings_are_dropped_and_the_rule_judge_fills_in():
    env = SocialSandboxEnv()
    env.reset(seed=0)
    env.step(dict.fromkeys(env.possible_agents, ""))
    _, rewards, _, _, infos = env.step(dict.fromkeys(env.possible_agents, "nice"))
    assert rewards["agent_0"] == INVALID_PENALTY
    assert "not counted" in infos["agent_0"]["feedback"]
    env.step(dict.fromkeys(env.possible_agents, "nice"))
    record = env.current["agent_0"]
    assert record.draft_ratings == {"rule_fallback": 1.0}  # the empty draft, rated by RuleJudge
    assert record.judge == "peers+fallback"


def test_the_rule_judge_skips_the_rating_phases():
    env = SocialSandboxEnv(judge="rule", rounds=1)
    env.reset(seed=0)
    _, rewards, _, _, _ = env.step(dict.fromkeys(env.possible_agents, CAREFUL))
    expected = RuleJudge().score(env.current["agent_0"].question, CAREFUL)
    assert rewards["agent_0"] == pytest.approx(0.5 * expected.normalized)
    assert env.phase == "revise"
    _, _, terminations, _, infos = env.step(dict.fromkeys(env.possible_agents, CAREFUL))
    assert all(terminations.values())
    assert infos["agent_1"]["interaction"]["revision_ratings"] == {"rule": expected.score}


def test_an_llm_judge_can_rate_the_society():
    class Constant:
        name = "constant"

        def act(self, requests):
            return [Generation("Rating: 5/7\nFeedback: Solid.") for _ in requests]

    env = SocialSandboxEnv(judge=LLMJudge(Constant()))
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step(dict.fromkeys(env.possible_agents, "An answer."))
    assert rewards["agent_2"] == pytest.approx(0.5 * 4 / 6)
    assert env.current["agent_2"].draft_feedback == {"llm:constant": "Solid."}


def test_memories_persist_across_rounds_and_are_bounded():
    env = SocialSandboxEnv(judge="rule", rounds=4, memory_size=2)
    env.reset(seed=3)
    questions = []
    for _ in range(3):
        questions.append(env.current["agent_0"].question)
        env.step(dict.fromkeys(env.possible_agents, CAREFUL))
        observations, *_ = env.step(dict.fromkeys(env.possible_agents, CAREFUL))
    text = observations["agent_0"]["text"]
    assert "Your memory of earlier interactions" in text
    assert questions[1] in text and questions[2] in text and questions[0] not in text
    assert observations["agent_0"]["observation"][3] == 2


def baseline(env, agent):
    policy = careless_agent if agent == "agent_0" else aligned_agent
    return policy(ActContext(env, agent, None, {}))


def test_aligned_members_outscore_a_careless_one_and_records_make_pairs():
    result = envalign.simulate(
        "envalign/SocialSandbox-v0", {"agent_0": "careless", "*": "aligned"}, episodes=3
    )
    for episode in result.episodes:
        assert episode.returns["agent_0"] < 0.2 < 1.0 < episode.returns["agent_1"]
    env = SocialSandboxEnv()
    env.reset(seed=0)
    while env.agents:
        env.step({agent: baseline(env, agent) for agent in env.agents})
    pairs = preference_pairs(env.interaction_records())
    assert pairs and all(pair.chosen_score > pair.rejected_score for pair in pairs)
    assert any("Whatever" in pair.rejected for pair in pairs)


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="num_raters"):
        SocialSandboxEnv(num_agents=3, num_raters=3)
    with pytest.raises(ValueError, match="judge"):
        SocialSandboxEnv(judge="gpt")


def test_records_can_be_appended_to_a_file_for_runs(tmp_path):
    path = tmp_path / "records.jsonl"
    result = envalign.simulate(
        "envalign/SocialSandboxRuleJudge-v0",
        "aligned",
        episodes=2,
        env_kwargs={"records_path": str(path), "rounds": 2},
    )
    records = read_records(path)
    assert len(result.episodes) == 2 and len(records) == 2 * 2 * 3
    assert {r.judge for r in records} == {"rule"} and all(r.revision for r in records)


def test_an_llm_judge_by_policy_name(monkeypatch):
    from envalign.agents import registry

    class Terse:
        name = "terse"

        def act(self, requests):
            return [Generation("3/7") for _ in requests]

    monkeypatch.setitem(registry.NAMED_LOADERS, "terse-model", lambda env_id: Terse())
    env = SocialSandboxEnv(judge="llm:terse-model")
    assert isinstance(env.judge, LLMJudge) and env.judge.name == "llm:terse"
    env.reset(seed=0)
    env.step(dict.fromkeys(env.possible_agents, "An answer."))
    assert env.current["agent_0"].draft_ratings == {"llm:terse": 3.0}


# ---------------------------------------------------------------------- red team (issue 22)


def play_society(answer, rating, *, seed=0, rounds=2):
    """Play a peer-rated episode where every agent answers ``answer(env, agent)`` and rates
    ``rating(env, agent)``; return (returns, rater bonus per agent, rating-step infos)."""
    env = SocialSandboxEnv(rounds=rounds)
    env.reset(seed=seed)
    returns = dict.fromkeys(env.possible_agents, 0.0)
    bonus = dict.fromkeys(env.possible_agents, 0.0)
    rating_infos = []
    while env.agents:
        policy = answer if env.phase in ("draft", "revise") else rating
        actions = {agent: policy(env, agent) for agent in env.agents}
        _, rewards, _, _, infos = env.step(actions)
        for agent, reward in rewards.items():
            returns[agent] += reward
            bonus[agent] += infos[agent]["reward_components"].get("rating_agreement", 0.0)
        if env.phase in ("rate_draft", "rate_revision"):
            rating_infos.append(infos)
    return returns, bonus, rating_infos


def aligned(env, agent):
    return aligned_agent(ActContext(env, agent, None, {}))


def junk(env, agent):
    return "ok fine sure yes whatever works for me"


def test_rating_careful_answers_one_out_of_seven_earns_no_rater_bonus():
    _, bonus, _ = play_society(aligned, lambda env, agent: "Rating: 1/7")
    assert sum(bonus.values()) == 0.0


@pytest.mark.parametrize("constant", ["Rating: 1/7", "Rating: 4/7", "Rating: 7/7"])
def test_a_constant_rater_earns_less_than_an_informative_one(constant):
    def mixed(env, agent):  # one careful member per round, the others write junk
        careful = env.possible_agents[env.round % len(env.possible_agents)]
        return aligned(env, agent) if agent == careful else junk(env, agent)

    _, bonus, _ = play_society(mixed, lambda env, agent: constant, rounds=3)
    _, informative, _ = play_society(mixed, aligned, rounds=3)
    assert sum(bonus.values()) < 0.75 * sum(informative.values()), (bonus, informative)


def test_colluding_at_seven_does_not_pay():
    colluders, colluders_bonus, _ = play_society(junk, lambda env, agent: "Rating: 7/7")
    honest, honest_bonus, _ = play_society(aligned, aligned)
    assert sum(colluders_bonus.values()) == 0.0
    assert max(colluders.values()) < min(honest.values())
    # Clipping: junk rated 7 by everyone counts as the reference score + 1 at most.
    junk_score = RuleJudge().score("any question", junk(None, None)).score
    per_round = 1.5 * (min(junk_score + 1, 7) - 1) / 6
    assert max(colluders.values()) <= 2 * per_round + 1e-9


def test_every_rating_step_lists_the_rating_choices():
    _, _, rating_infos = play_society(aligned, aligned)
    assert len(rating_infos) == 2 * 2 * 2  # rounds x rating phases x rating steps
    for infos in rating_infos:
        for info in infos.values():
            assert info["valid_actions"] == RATING_ACTIONS and info["acting"]
