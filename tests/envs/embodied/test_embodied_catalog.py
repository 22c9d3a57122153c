"""Every embodied environment lists its admissible actions at every step, and accepts them verbatim."""

from __future__ import annotations

import random

import pytest

from envalign.envs import list_envs, make_raw

EMBODIED = [card.id for card in list_envs("embodied")]


def test_the_family_has_the_promised_environments():
    assert "envalign/Household-v0" in EMBODIED and "envalign/CoopKitchen-v0" in EMBODIED
    assert sum(env_id.startswith("envalign/BabyAIText-") for env_id in EMBODIED) >= 5


@pytest.mark.parametrize("env_id", EMBODIED)
def test_valid_actions_every_step_and_each_is_understood(env_id):
    env = make_raw(env_id, **({"max_steps": 40} if "BabyAI" not in env_id else {}))
    rng = random.Random(0)
    observation, info = env.reset(seed=0)
    infos = info if isinstance(observation, dict) and "text" not in observation else {"agent": info}
    for _ in range(40):
        assert all(agent_info["valid_actions"] for agent_info in infos.values())
        actions = {
            agent: rng.choice(agent_info["valid_actions"]) for agent, agent_info in infos.items()
        }
        if "agent" in actions:
            _, _, terminated, truncated, info = env.step(actions["agent"])
            infos, over = {"agent": info}, terminated or truncated
        else:
            _, _, _, _, infos = env.step(actions)
            over = not env.agents
        for agent_info in infos.values():
            assert "did not understand" not in agent_info["feedback"]
            assert agent_info["feedback"] != "Nothing happens." or "BabyAI" in env_id
        if over:
            break
