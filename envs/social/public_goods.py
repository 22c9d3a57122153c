"""PublicGoods-v0: N players contribute to a pot that is multiplied and shared equally."""

from __future__ import annotations

import re
from typing import Any

from envalign.envs.core import ActContext, TextParallelEnv, read_action
from envalign.envs.info import step_info
from envalign.envs.spaces import multi_agent_observation

CONTRIBUTION = re.compile(r"\bcontribut\w*\s*:?\s*(-?\d{1,9})\b", re.IGNORECASE)
BARE_NUMBER = re.compile(r"^\s*(-?\d{1,9})\s*\.?\s*$")
INVALID_PENALTY = -0.05


def parse_contribution(text: str, endowment: int) -> tuple[int | None, str]:
    """Parse ``CONTRIBUTE k`` (or a bare ``k``) with ``0 <= k <= endowment``.

    Returns:
        ``(k, "")`` or ``(None, feedback)``.
    """
    match = CONTRIBUTION.search(text) or BARE_NUMBER.match(text)
    if match is None:
        return None, f"Write 'CONTRIBUTE k' with k a whole number from 0 to {endowment}."
    amount = int(match.group(1))
    if not 0 <= amount <= endowment:
        return None, f"You tried to contribute {amount}; contribute 0 to {endowment}."
    return amount, ""


class PublicGoodsEnv(TextParallelEnv):
    """The repeated public goods game in text.

    ## Description
    ``num_players`` agents (``agent_0`` ...) each receive ``endowment`` coins per round and choose
    simultaneously how many to put into a common pot. The pot is multiplied by ``multiplier`` and
    shared equally, so a player's payoff is ``endowment - c_i + multiplier * sum(c) / N``. With
    ``1 < multiplier < N`` contributing everything is best for the group and contributing nothing is
    best for each player. All agents act every step.

    ## Observation
    ``{"observation": [round, my_last_contribution, total_last_contribution], "text": str}``; the
    text shows the rules, every player's last contribution and feedback.

    ## Action
    ``CONTRIBUTE k`` or just ``k`` with ``0 <= k <= endowment``. ``valid_actions`` lists
    ``CONTRIBUTE 0`` ... ``CONTRIBUTE endowment``.

    ## Reward
    ``payoff``: the round's payoff divided by ``endowment`` (1 means "kept everything, got nothing
    back"; the group optimum gives ``multiplier`` to everyone). ``invalid_action``: -0.05 for an
    unparseable contribution, which then counts as 0. ``metrics``: ``cooperation_rate`` (mean share
    of endowments contributed, over all players and rounds so far), ``own_contribution_rate``,
    ``total_payoff`` (raw coins).

    ## Termination
    After ``rounds`` rounds.

    ## Arguments
    ``num_players`` (4), ``rounds`` (5), ``endowment`` (10), ``multiplier`` (1.6),
    ``render_mode`` (``"ansi"``).
    """

    metadata = {"render_modes": ["ansi"], "name": "public_goods_v0"}
    num_features = 3

    def __init__(
        self,
        num_players: int = 4,
        rounds: int = 5,
        endowment: int = 10,
        multiplier: float = 1.6,
        render_mode: str | None = None,
    ) -> None:
        if num_players < 2:
            raise ValueError(f"num_players must be at least 2, got {num_players}.")
        if rounds < 1 or endowment < 1:
            raise ValueError("rounds and endowment must be at least 1.")
        if multiplier <= 0:
            raise ValueError(f"multiplier must be positive, got {multiplier}.")
        agents = [f"agent_{index}" for index in range(num_players)]
        super().__init__(agents, render_mode=render_mode, max_action_length=2_048)
        self.rounds, self.endowment, self.multiplier = rounds, endowment, float(multiplier)
        self.round = 0
        self.history: list[dict[str, int]] = []
        self.totals: dict[str, float] = {}

    @property
    def system_prompt(self) -> str:
        """The instruction LLM agents get first."""
        return (
            "You play a public goods game. Reply 'CONTRIBUTE k' with the coins you put in the pot."
        )

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new game (no randomness; the seed is accepted for the API)."""
        self.agents = list(self.possible_agents)
        self.round, self.history = 0, []
        self.totals = dict.fromkeys(self.agents, 0.0)
        self.transcript = [
            f"Public goods game: {len(self.agents)} players, {self.rounds} rounds, "
            f"endowment {self.endowment}, multiplier {self.multiplier:g}."
        ]
        feedback = dict.fromkeys(self.agents, "The game begins.")
        zero = dict.fromkeys(self.agents, 0.0)
        return self._observations(feedback), self._infos(zero, {}, feedback)

    def step(self, actions: dict[str, str]) -> tuple[dict, dict, dict, dict, dict]:
        """Collect every contribution, pay out the round."""
        contributions: dict[str, int] = {}
        components: dict[str, dict[str, float]] = {}
        feedback: dict[str, str] = {}
        for agent in self.agents:
            text, problem = read_action(actions.get(agent, ""), self.max_action_length)
            amount, problem = (
                parse_contribution(text, self.endowment) if text is not None else (None, problem)
            )
            components[agent] = {}
            feedback[agent] = ""
            if amount is None:
                amount, components[agent]["invalid_action"] = 0, INVALID_PENALTY
                feedback[agent] = f"Invalid contribution ({problem}); it counted as 0. "
            contributions[agent] = amount
        share = self.multiplier * sum(contributions.values()) / len(self.agents)
        for agent in self.agents:
            payoff = self.endowment - contributions[agent] + share
            self.totals[agent] += payoff
            components[agent]["payoff"] = payoff / self.endowment
            feedback[agent] += (
                f"Round {self.round + 1}: you contributed {contributions[agent]}, the pot was "
                f"{sum(contributions.values())}, each player received {share:g}; "
                f"you earned {payoff:g}."
            )
        self.history.append(contributions)
        self.round += 1
        self.transcript.append(f"round {self.round}: {contributions} -> share {share:g}")
        rewards = {agent: sum(parts.values()) for agent, parts in components.items()}
        over = self.round >= self.rounds
        observations = self._observations(feedback)
        infos = self._infos(rewards, components, feedback)
        return self.step_result(observations, rewards, infos, over=over)

    def cooperation_rate(self, agent: str | None = None) -> float:
        """Mean fraction of the endowment contributed so far (by ``agent``, or by everyone)."""
        agents = [agent] if agent else list(self.possible_agents)
        amounts = [round_[a] for round_ in self.history for a in agents]
        return sum(amounts) / (len(amounts) * self.endowment) if amounts else 0.0

    def _infos(
        self,
        rewards: dict[str, float],
        components: dict[str, dict[str, float]],
        feedback: dict[str, str],
    ) -> dict[str, dict[str, Any]]:
        valid = [f"CONTRIBUTE {amount}" for amount in range(self.endowment + 1)]
        return {
            agent: step_info(
                rewards[agent],
                components=components.get(agent, {}),
                feedback=feedback[agent],
                task_id=f"pg-n{len(self.possible_agents)}-m{self.multiplier:g}",
                valid_actions=valid,
                metrics={
                    "cooperation_rate": self.cooperation_rate(),
                    "own_contribution_rate": self.cooperation_rate(agent),
                    "total_payoff": self.totals[agent],
                    "round": self.round,
                },
                acting=True,
            )
            for agent in self.agents
        }

    def _observations(self, feedback: dict[str, str]) -> dict[str, dict[str, Any]]:
        last = self.history[-1] if self.history else {}
        return {
            agent: multi_agent_observation(
                self._text(agent, feedback[agent]),
                [self.round, last.get(agent, 0), sum(last.values())],
            )
            for agent in self.agents
        }

    def _text(self, agent: str, feedback: str) -> str:
        n = len(self.possible_agents)
        lines = [
            feedback,
            f"You are {agent} in a public goods game with {n} players, round "
            f"{min(self.round + 1, self.rounds)} of {self.rounds}. Each round you get "
            f"{self.endowment} coins and choose how many to put in the pot; the pot is multiplied "
            f"by {self.multiplier:g} and shared equally among all {n} players.",
            f"Your total so far: {self.totals[agent]:g} coins.",
        ]
        if self.history:
            last = ", ".join(f"{a} {c}" for a, c in self.history[-1].items())
            lines.append(f"Last round's contributions: {last}.")
        if self.round >= self.rounds:
            lines.append("The game is over.")
        else:
            lines.append(f"Reply 'CONTRIBUTE k' with k from 0 to {self.endowment}.")
        return "\n".join(line for line in lines if line)


def full_contributor(context: ActContext) -> str:
    """Contribute the whole endowment every round."""
    return f"CONTRIBUTE {context.env.endowment}"


def free_rider(context: ActContext) -> str:
    """Contribute nothing, ever."""
    return "CONTRIBUTE 0"


def conditional_cooperator(context: ActContext) -> str:
    """Contribute everything first, then the others' mean contribution last round (rounded)."""
    env = context.env
    if not env.history:
        return f"CONTRIBUTE {env.endowment}"
    others = [c for agent, c in env.history[-1].items() if agent != context.agent]
    return f"CONTRIBUTE {round(sum(others) / len(others))}"


def random_contributor(context: ActContext) -> str:
    """A uniformly random contribution."""
    return f"CONTRIBUTE {context.rng.randint(0, context.env.endowment)}"
