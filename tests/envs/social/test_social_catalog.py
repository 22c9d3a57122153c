import pytest

from envalign.agents.baselines import baseline_policy
from envalign.envs import list_envs, make, spec

SOCIAL_IDS = [
    "envalign/PrisonersDilemma-v0",
    "envalign/PublicGoods-v0",
    "envalign/Negotiation-v0",
    "envalign/SocialSandbox-v0",
    "envalign/SocialSandboxRuleJudge-v0",
]


@pytest.mark.parametrize("env_id", SOCIAL_IDS)
def test_social_games_are_registered_with_their_baselines(env_id):
    card = spec(env_id)
    assert card.family == "social" and card.multi_agent
    for name in card.policies:
        assert callable(baseline_policy(env_id, name).function)


def test_deliberation_is_collective():
    assert spec("envalign/Deliberation-v0").family == "collective"


def test_the_rule_judge_variant_is_labelled():
    card = spec("envalign/SocialSandboxRuleJudge-v0")
    assert "rule-based-judge" in card.tags and card.kwargs == {"judge": "rule"}
    assert "rule-based-judge" not in spec("envalign/SocialSandbox-v0").tags


@pytest.mark.parametrize("env_id", [*SOCIAL_IDS, "envalign/Deliberation-v0"])
def test_the_aec_form_is_available(env_id):
    env = make(env_id, form="aec")
    env.reset(seed=0)
    assert env.agents == env.possible_agents
    env.close()


def test_agent_names_follow_the_cli_convention():
    cards = [c for c in list_envs() if c.id in SOCIAL_IDS]
    for card in cards:
        env = make(card.id)
        assert env.possible_agents[:2] == ["agent_0", "agent_1"]
