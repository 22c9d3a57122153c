"""MeetingPoint-v0: a two-agent coordination game, written as a plugin would write a PettingZoo game."""

from __future__ import annotations

import re
from typing import Any

from envalign.envs import (
    ActContext,
    TextParallelEnv,
    multi_agent_observation,
    read_action,
    step_info,
)

PLACES = ("station", "library", "market", "harbour", "museum")
AGENTS = ("alice", "bob")
WORD = re.compile(r"[a-z]+")


class MeetingPointEnv(TextParallelEnv):
    """Two friends must meet without talking: each names a place, both win if they match.

    ## Description
    Each round both agents name one of ``PLACES`` at the same time. They meet when they name the
    same place; otherwise each sees where the other went and they try again, for at most
    ``max_rounds`` rounds.

    ## Observation
    ``{"observation": [round, met], "text": str}``: the rules, then where the other one went.

    ## Action
    Free text; the first known place named in it. A reply without one loses the round.

    ## Reward
    ``met``: 1.0 to both when they meet; ``invalid``: -0.1 to an agent whose reply names no place.

    ## Termination
    When they meet, or after ``max_rounds`` rounds (truncation).

    ## Arguments
    ``max_rounds`` (default 3), ``render_mode`` (``"ansi"``).
    """

    metadata = {"render_modes": ["ansi"], "name": "meeting_point_v0"}
    num_features = 2

    def __init__(self, max_rounds: int = 3, render_mode: str | None = None) -> None:
        super().__init__(list(AGENTS), render_mode=render_mode, max_action_length=1_000)
        self.max_rounds = max_rounds
        self.round = 0
        self.last: dict[str, str] = {}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new game (no randomness; the seed is accepted for the API)."""
        self.agents = list(self.possible_agents)
        self.round, self.last = 0, {}
        self.transcript = ["MeetingPoint: " + ", ".join(PLACES)]
        text = (
            f"You and a friend must meet in town without talking. Name one place of: "
            f"{', '.join(PLACES)}. You meet if you both name the same one; "
            f"{self.max_rounds} tries."
        )
        observations = {agent: multi_agent_observation(text, [0, 0]) for agent in self.agents}
        infos = {agent: step_info(0.0, components={}, task_id="town") for agent in self.agents}
        return observations, infos

    def step(self, actions: dict[str, str]) -> tuple[dict, dict, dict, dict, dict]:
        """Both agents name a place at once."""
        self.round += 1
        choices: dict[str, str | None] = {}
        for agent in self.agents:
            text, _ = read_action(actions.get(agent, ""), self.max_action_length)
            words = WORD.findall(text.lower()) if text is not None else []
            choices[agent] = next((word for word in words if word in PLACES), None)
        met = None not in choices.values() and len(set(choices.values())) == 1
        truncated = self.round >= self.max_rounds and not met
        observations, rewards, infos = {}, {}, {}
        for agent in self.agents:
            other = next(a for a in self.agents if a != agent)
            components = {"met": 1.0} if met else {}
            if choices[agent] is None:
                components["invalid"] = -0.1
            reward = sum(components.values())
            feedback = (
                f"You met at the {choices[agent]}."
                if met
                else f"You went to the {choices[agent] or 'nowhere'}, your friend to the "
                f"{choices[other] or 'nowhere'}."
            )
            observations[agent] = multi_agent_observation(feedback, [self.round, int(met)])
            rewards[agent] = reward
            infos[agent] = step_info(
                reward,
                components=components,
                feedback=feedback,
                task_id="town",
                metrics={"success": met} if met or truncated else {},
            )
        self.transcript.append(f"round {self.round}: {choices}")
        result = self.step_result(observations, rewards, infos, over=met)
        if truncated:
            result[3].update(dict.fromkeys(self.agents, True))
            self.agents = []
        return result


def focal_policy(context: ActContext) -> str:
    """Go to the first place listed: the focal point both friends think of."""
    return PLACES[0]


def random_policy(context: ActContext) -> str:
    """Name a random place."""
    return context.rng.choice(PLACES)
