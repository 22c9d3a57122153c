"""Every enumerable move of the social games is listed in ``valid_actions`` for the acting agent."""

from __future__ import annotations

import pytest

from envalign.envs import make_raw
from envalign.envs.checker import check_valid_actions


def test_ultimatum_lists_every_offer_then_the_answers():
    env = make_raw("envalign/Ultimatum-v0")
    _, infos = env.reset(seed=0)
    offers = infos["proposer"]["valid_actions"]
    assert offers == [f"OFFER {n}" for n in range(101)]
    assert "valid_actions" not in infos["responder"]
    _, _, _, _, infos = env.step({"proposer": "OFFER 40", "responder": ""})
    assert infos["responder"]["valid_actions"] == ["ACCEPT", "REJECT"]
    assert "valid_actions" not in infos["proposer"]
    _, _, terminations, _, infos = env.step({"proposer": "", "responder": "ACCEPT"})
    assert all(terminations.values())
    assert all("valid_actions" not in info for info in infos.values())


def test_every_listed_ultimatum_offer_is_accepted_by_the_parser():
    env = make_raw("envalign/Ultimatum-v0", pot=7)
    _, infos = env.reset(seed=0)
    for offer in infos["proposer"]["valid_actions"]:
        env.reset(seed=0)
        _, rewards, _, _, infos_after = env.step({"proposer": offer, "responder": ""})
        assert rewards["proposer"] == 0.0  # no invalid-action penalty
        assert infos_after["responder"]["valid_actions"] == ["ACCEPT", "REJECT"]


def test_a_huge_pot_lists_only_the_answers():
    env = make_raw("envalign/Ultimatum-v0", pot=10**6)
    _, infos = env.reset(seed=0)
    assert "valid_actions" not in infos["proposer"]


@pytest.mark.parametrize(
    "env_id",
    [
        "envalign/Ultimatum-v0",
        "envalign/PrisonersDilemma-v0",
        "envalign/PublicGoods-v0",
        "envalign/Negotiation-v0",
        "envalign/Deliberation-v0",
    ],
)
def test_acting_agents_are_offered_their_moves_on_every_turn(env_id):
    check_valid_actions(lambda: make_raw(env_id), episodes=3)
    env = make_raw(env_id)
    _, infos = env.reset(seed=0)
    acting = [a for a, info in infos.items() if info.get("acting", True)]
    listed = [a for a in acting if infos[a].get("valid_actions")]
    if env_id != "envalign/PrisonersDilemma-v0":  # its first phase is a free-text message
        assert listed == acting
