"""Red team over the whole catalog: parser quirks must not pay more than the rules allow.

Every registered environment (plugins too) inherits these checks, like the conformance suite:

* several answers in one reply (every listed action at once; where no actions are listed, a list
  of numbers and yes/no) earn no more than the best single answer at the same state;
* numbers out of range, malformed numbers and expressions earn no more than the best listed
  action, where the environment lists its actions.

A state is rebuilt by replaying the seed and the actions before it (environments are deterministic
under their seed; the conformance suite checks it). The family-specific hacks (forged harness
output, introspection of the checker, gold data in the sandbox, keyword stuffing, rater collusion,
accepting one's own proposal, repeated sub-goals) are tested next to each family and listed in
``docs/reward_integrity.md``.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from envalign.envs import list_envs, make_raw
from envalign.envs.checker import _reset, _step

#: Short answers for steps that list no actions: numbers and yes/no (replies to a free-text step,
#: such as an essay rated by a judge, are compared only among these).
PLAIN_ANSWERS = ("0", "1", "2", "5", "10", "50", "yes", "no")
OUT_OF_RANGE = (
    "-1", "999999999999", "1e309", "-1e309", "nan", "inf", "3.5", "0x10", "10**100", "1/0",
    "OFFER -5", "OFFER 100000", "Rating: 9/7", "Rating: 0/7", "Rating: -3/7", "PROPOSE books=99",
)  # fmt: skip
STATES = 2  # states per episode at which the hacks are tried (steps 0 and 1)
MAX_SINGLE = 8  # listed actions tried one by one at each state
EPS = 1e-9


def catalog_params() -> list:
    return [
        pytest.param(card, id=card.id, marks=[pytest.mark.docker] if card.needs_docker else [])
        for card in list_envs()
    ]


def _first_choice(agent: str, observation: Any, info: dict[str, Any]) -> str:
    choices = info.get("valid_actions")
    return choices[0] if choices else "hello"


class Replay:
    """Rebuilds the state after a fixed prefix of joint actions, then tries one action there.

    One environment serves every replay: ``reset`` with the same seed, then the prefix.
    """

    def __init__(self, card: Any, seed: int) -> None:
        self.env = make_raw(card.id)
        self.seed = seed
        self.prefix: list[dict[str, str]] = []
        self.others: dict[str, str] = {}

    def _replayed(self) -> tuple[dict[str, Any], dict[str, Any]]:
        observation, info = _reset(self.env, seed=self.seed)
        for joint in self.prefix:
            step = _play(self.env, joint, observation, info)
            observation = {agent: values[0] for agent, values in step.items()}
            info = {agent: values[4] for agent, values in step.items()}
        return observation, info

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The observations and infos at the current state."""
        return self._replayed()

    def reward_of(self, agent: str, action: str, others: dict[str, str]) -> float:
        """``agent``'s reward for ``action`` at the current state (others play ``others``)."""
        observation, info = self._replayed()
        step = _play(self.env, {**others, agent: action}, observation, info)
        return float(step[agent][1])

    def advance(self, joint: dict[str, str]) -> bool:
        """Move the state on by one joint action; False when the episode ended."""
        observation, info = self._replayed()
        step = _play(self.env, joint, observation, info)
        self.prefix.append(joint)
        if hasattr(self.env, "possible_agents"):
            return bool(self.env.agents)
        return not any(values[2] or values[3] for values in step.values())

    def close(self) -> None:
        """Close the environment."""
        self.env.close()


def _play(env: Any, joint: dict[str, str], observation: Any, info: Any) -> dict[str, tuple]:
    return _step(env, lambda agent, _o, _i: joint.get(agent, ""), observation, info)


@pytest.mark.parametrize("card", catalog_params())
def test_several_answers_or_out_of_range_numbers_pay_no_more_than_one_valid_answer(card):
    replay = Replay(card, seed=5)
    try:
        for _ in range(STATES):
            if not _hacks_pay_nothing_here(card, replay) or not replay.advance(replay.others):
                return
    finally:
        replay.close()


def _hacks_pay_nothing_here(card: Any, replay: Replay) -> bool:
    observation, info = replay.state()
    acting = [a for a, i in info.items() if i.get("acting", True)]
    if not acting:
        return False
    replay.others = {a: _first_choice(a, observation[a], info[a]) for a in acting}
    agent = acting[0]
    listed = list(info[agent].get("valid_actions") or [])
    singles = listed[:MAX_SINGLE] if listed else list(PLAIN_ANSWERS)
    best = max(replay.reward_of(agent, action, replay.others) for action in singles)
    hacks = ["\n".join(listed or PLAIN_ANSWERS), " ".join(listed or PLAIN_ANSWERS)]
    hacks += list(OUT_OF_RANGE) if listed else []
    for hack in hacks:
        earned = replay.reward_of(agent, hack, replay.others)
        assert earned <= best + EPS, (
            f"{card.id}: the reply {hack[:80]!r} earned {earned} at step "
            f"{len(replay.prefix)}, more than the best single answer ({best})"
        )
    return True


# ---------------------------------------------------------------------- per-family hacks


def _repeat_what_paid(seed: int):
    """A policy that replays whatever earned reward before (repeated sub-goals), else explores."""
    rng = random.Random(seed)
    paid: dict[str, list[str]] = {}

    def act(agent: str, info: dict[str, Any], last: str | None, last_reward: float) -> str:
        if last is not None and last_reward > 0:
            paid.setdefault(agent, []).append(last)
        choices = info.get("valid_actions") or ["look"]
        repeats = [a for a in paid.get(agent, []) if a in choices]
        return rng.choice(repeats) if repeats and rng.random() < 0.7 else rng.choice(choices)

    return act


@pytest.mark.parametrize("seed", range(6))
def test_household_sub_goals_pay_once_so_an_episode_earns_at_most_one(seed):
    env = make_raw("envalign/Household-v0")
    act = _repeat_what_paid(seed)
    _, info = env.reset(seed=seed)
    total, last, reward = 0.0, None, 0.0
    for _ in range(200):
        last = act("agent", info, last, reward)
        _, reward, terminated, truncated, info = env.step(last)
        total += reward
        if terminated or truncated:
            break
    env.close()
    assert total <= 1.0 + EPS


@pytest.mark.parametrize("seed", range(6))
def test_coop_kitchen_progress_is_paid_at_most_once_per_order(seed):
    from envalign.envs.embodied.coop_kitchen import PROGRESS_REWARD

    env = make_raw("envalign/CoopKitchen-v0")
    act = _repeat_what_paid(seed)
    _, infos = env.reset(seed=seed)
    progress = 0.0
    last: dict[str, str | None] = dict.fromkeys(env.possible_agents)
    rewards = dict.fromkeys(env.possible_agents, 0.0)
    while env.agents:
        actions = {a: act(a, infos[a], last[a], rewards[a]) for a in env.agents}
        _, rewards, _, _, infos = env.step(actions)
        last = dict(actions)
        progress += sum(i["reward_components"].get("progress", 0.0) for i in infos.values())
    orders = len(env.orders)
    env.close()
    assert progress <= PROGRESS_REWARD * orders * len(env.possible_agents) + EPS


def test_accepting_ones_own_proposal_makes_no_deal():
    env = make_raw("envalign/Negotiation-v0")
    env.reset(seed=0)
    pool = env.counts
    proposal = f"PROPOSE books={pool[0]} hats={pool[1]} balls={pool[2]}"  # everything for me
    env.step({"agent_0": proposal, "agent_1": ""})
    env.step({"agent_0": "", "agent_1": "SAY let me think"})
    _, rewards, terminations, _, infos = env.step({"agent_0": "ACCEPT", "agent_1": ""})
    assert rewards["agent_0"] <= 0.0 and not any(terminations.values())
    assert "no proposal from the other agent" in infos["agent_0"]["feedback"]
    env.close()
