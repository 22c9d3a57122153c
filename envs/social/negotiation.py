"""Negotiation-v0: Deal or No Deal (Lewis et al. 2017), split a pool of items with private values.

The grammar of a turn (one command per reply; the keyword opens the reply, case does not matter)::

    SAY <free text>                               a message to the other agent
    PROPOSE books=<a> hats=<b> balls=<c>          the items YOU take; the other gets the rest
    ACCEPT                                        accept the other's standing proposal
    WALK AWAY                                     end the negotiation without a deal

The three counts of ``PROPOSE`` may come in any order, separated by spaces or commas, and all three
are required (write ``=0`` for none).
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

from envalign.envs.core import ActContext, TextParallelEnv, read_action
from envalign.envs.info import step_info
from envalign.envs.spaces import multi_agent_observation

ITEMS = ("books", "hats", "balls")
TOTAL_VALUE = 10
INVALID_PENALTY = -0.05
MAX_SAY_LENGTH = 300
HISTORY_SHOWN = 8
KEYWORD = re.compile(r"^\s*(say|propose|accept|walk\s+away)\b\s*:?\s*", re.IGNORECASE)
ITEM_COUNT = re.compile(r"(\w+)\s*=\s*(-?\d{1,6})")
GRAMMAR = (
    "Reply with exactly one command: 'SAY <message>', 'PROPOSE books=a hats=b balls=c' (the items "
    "you take; the other gets the rest), 'ACCEPT' (the other's standing proposal) or 'WALK AWAY'."
)

Allocation = tuple[int, int, int]


@dataclass(frozen=True)
class Command:
    """One parsed turn: ``kind`` is ``say``, ``propose``, ``accept`` or ``walk``."""

    kind: str
    text: str = ""
    take: Allocation | None = None


def parse_command(text: str, counts: Allocation) -> tuple[Command | None, str]:
    """Parse a turn under the grammar in this module's docstring.

    Args:
        text: The agent's reply.
        counts: How many books, hats and balls are in the pool.

    Returns:
        ``(Command, "")`` or ``(None, feedback)`` saying what is wrong.
    """
    match = KEYWORD.match(text)
    if match is None:
        return None, f"Your reply does not start with a command. {GRAMMAR}"
    keyword = " ".join(match.group(1).lower().split())
    rest = text[match.end() :].strip()
    if keyword == "say":
        if not rest:
            return None, "SAY needs a message after it, e.g. 'SAY I need the hats.'"
        return Command("say", text=" ".join(rest.split())[:MAX_SAY_LENGTH]), ""
    if keyword == "accept":
        return Command("accept"), ""
    if keyword == "walk away":
        return Command("walk"), ""
    take, problem = parse_allocation(rest, counts)
    return (Command("propose", take=take), "") if take is not None else (None, problem)


def parse_allocation(text: str, counts: Allocation) -> tuple[Allocation | None, str]:
    """Parse ``books=a hats=b balls=c`` (any order) into ``(a, b, c)`` within ``counts``."""
    pool = ", ".join(f"{name}={count}" for name, count in zip(ITEMS, counts, strict=True))
    example = f"Write e.g. 'PROPOSE books=1 hats=0 balls=2'; the pool is {pool}."
    found: dict[str, int] = {}
    for name, number in ITEM_COUNT.findall(text):
        name = name.lower()
        if name not in ITEMS:
            return None, f"Unknown item '{name}'; the items are {', '.join(ITEMS)}. {example}"
        if name in found:
            return None, f"'{name}' appears twice in your proposal. {example}"
        found[name] = int(number)
    missing = [name for name in ITEMS if name not in found]
    if missing:
        return None, f"Your proposal lacks {', '.join(missing)}. {example}"
    for name, count in zip(ITEMS, counts, strict=True):
        if not 0 <= found[name] <= count:
            return None, f"You asked for {found[name]} {name}, but there are {count}. {example}"
    return (found["books"], found["hats"], found["balls"]), ""


def value_of(take: Allocation, values: Allocation) -> int:
    """Return the value of the items ``take`` under the per-item ``values``."""
    return sum(count * value for count, value in zip(take, values, strict=True))


def all_allocations(counts: Allocation) -> list[Allocation]:
    """Every way to take items from the pool."""
    ranges = (range(count + 1) for count in counts)
    return [(a, b, c) for a, b, c in itertools.product(*ranges)]


def remainder(counts: Allocation, take: Allocation) -> Allocation:
    """What is left for the other agent when one takes ``take``."""
    return (counts[0] - take[0], counts[1] - take[1], counts[2] - take[2])


def sample_game(rng: random.Random) -> tuple[Allocation, Allocation, Allocation]:
    """Sample a pool (5 to 7 items, each kind 1 to 4) and two private value vectors.

    Each agent's values make the whole pool worth :data:`TOTAL_VALUE`; every item is worth something
    to at least one agent, and at least one item is worth something to both (as in Lewis et al.).
    """
    while True:
        counts = (rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 4))
        if 5 <= sum(counts) <= 7:
            break
    choices: list[Allocation] = [
        (a, b, c)
        for a, b, c in itertools.product(range(TOTAL_VALUE + 1), repeat=3)
        if value_of(counts, (a, b, c)) == TOTAL_VALUE
    ]
    while True:
        first, second = rng.choice(choices), rng.choice(choices)
        every_item_wanted = all(a or b for a, b in zip(first, second, strict=True))
        shared_interest = any(a and b for a, b in zip(first, second, strict=True))
        if every_item_wanted and shared_interest:
            return counts, first, second


class NegotiationEnv(TextParallelEnv):
    """Deal or No Deal: two agents with private values negotiate how to split a pool of items.

    ## Description
    A pool holds books, hats and balls (5 to 7 items). ``agent_0`` and ``agent_1`` each have private
    per-item values that make the whole pool worth 10 to them. They take turns (``agent_0`` first;
    ``info[agent]["acting"]`` names the mover, the other's action is ignored), each turn one command
    of the grammar below. A deal is made when one agent ACCEPTs the other's standing proposal.

    ## Observation
    ``{"observation": [turn, acting, has_standing_proposal, invalid_count], "text": str}``; the text
    holds the pool, the agent's own values, the last 8 turns, the standing proposal and feedback.

    ## Action
    ``SAY <message>`` | ``PROPOSE books=a hats=b balls=c`` (what the proposer takes) | ``ACCEPT`` |
    ``WALK AWAY``. The keyword opens the reply. ``valid_actions`` lists every ``PROPOSE``, plus
    ``ACCEPT`` when there is a proposal to accept, and ``WALK AWAY``. An invalid command (unknown
    keyword, a proposal over the pool, ACCEPT with nothing to accept) gets feedback and the agent
    moves again; the turn still counts.

    ## Reward
    ``payoff``: at a deal, each agent's value of its share / 10; 0 for both without a deal.
    ``invalid_action``: -0.05 per invalid command. ``metrics`` at the end: ``success`` (a deal),
    ``own_value``, ``joint_value`` (sum of both values, raw) and ``pareto_optimal``.

    ## Termination
    A deal or WALK AWAY terminates; reaching ``max_turns`` turns without a deal truncates (no deal).

    ## Arguments
    ``max_turns`` (10), ``render_mode`` (``"ansi"``).
    """

    metadata = {"render_modes": ["ansi"], "name": "negotiation_v0"}
    num_features = 4

    def __init__(self, max_turns: int = 10, render_mode: str | None = None) -> None:
        super().__init__(["agent_0", "agent_1"], render_mode=render_mode, max_action_length=2_048)
        if max_turns < 2:
            raise ValueError(f"max_turns must be at least 2, got {max_turns}.")
        self.max_turns = max_turns
        self.counts: Allocation = (1, 1, 1)
        self.values: dict[str, Allocation] = {}
        self.turn, self.acting = 0, "agent_0"
        self.standing: tuple[str, Allocation] | None = None
        self.history: list[str] = []
        self.invalid: dict[str, int] = {}
        self.task_id = ""

    @property
    def system_prompt(self) -> str:
        """The instruction LLM agents get first."""
        return f"You negotiate how to split a pool of items with another agent. {GRAMMAR}"

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sample a pool and private values from the seed and start the negotiation."""
        rng = random.Random(seed)
        self.counts, first, second = sample_game(rng)
        self.values = {"agent_0": first, "agent_1": second}
        self.agents = list(self.possible_agents)
        self.turn, self.acting, self.standing = 0, "agent_0", None
        self.history, self.invalid = [], dict.fromkeys(self.agents, 0)
        self.task_id = f"pool{self.counts}-v{first}-v{second}".replace(" ", "")
        self.transcript = [f"Negotiation over {self._pool_text()}; values {self.values}."]
        feedback = dict.fromkeys(self.agents, "")
        feedback["agent_0"] = "You move first."
        zero = dict.fromkeys(self.agents, 0.0)
        return self._observations(feedback), self._infos(zero, {}, feedback)

    def step(self, actions: dict[str, str]) -> tuple[dict, dict, dict, dict, dict]:
        """Apply the acting agent's command."""
        mover, other = self.acting, self._other(self.acting)
        text, problem = read_action(actions.get(mover, ""), self.max_action_length)
        command, problem = parse_command(text, self.counts) if text is not None else (None, problem)
        if command is not None and command.kind == "accept" and not self._can_accept(mover):
            command, problem = (
                None,
                "There is no proposal from the other agent to accept. " + GRAMMAR,
            )
        self.turn += 1
        if command is None:
            return self._invalid(mover, problem)
        if command.kind == "accept":
            assert self.standing is not None
            self._log(f"{mover}: ACCEPT")
            return self._finish(self.standing, note=f"{mover} accepted.")
        if command.kind == "walk":
            self._log(f"{mover}: WALK AWAY")
            return self._finish(None, note=f"{mover} walked away.")
        if command.kind == "propose":
            assert command.take is not None
            self.standing = (mover, command.take)
            self._log(f"{mover}: PROPOSE {self._allocation_text(command.take)} for themself")
            sent = "Proposal sent."
        else:
            self._log(f"{mover}: SAY {command.text}")
            sent = "Message sent."
        self.acting = other
        return self._continue(mover, {}, sent)

    def _invalid(self, mover: str, problem: str) -> tuple[dict, dict, dict, dict, dict]:
        self.invalid[mover] += 1
        self.transcript.append(f"{mover}: invalid ({problem})")
        return self._continue(mover, {"invalid_action": INVALID_PENALTY}, f"Invalid: {problem}")

    def _continue(
        self, mover: str, parts: dict[str, float], feedback_text: str
    ) -> tuple[dict, dict, dict, dict, dict]:
        if self.turn >= self.max_turns:
            note = "The turn limit was reached."
            return self._finish(None, note=note, penalty={mover: parts}, truncated=True)
        rewards = {agent: sum(parts.values()) if agent == mover else 0.0 for agent in self.agents}
        feedback = {agent: feedback_text if agent == mover else "" for agent in self.agents}
        infos = self._infos(rewards, {mover: parts}, feedback)
        done = dict.fromkeys(self.agents, False)
        return self._observations(feedback), rewards, done, dict(done), infos

    def _finish(
        self,
        deal: tuple[str, Allocation] | None,
        *,
        note: str,
        penalty: dict[str, dict[str, float]] | None = None,
        truncated: bool = False,
    ) -> tuple[dict, dict, dict, dict, dict]:
        shares = self._shares(deal)
        components = {
            agent: {"payoff": value_of(shares[agent], self.values[agent]) / TOTAL_VALUE}
            if deal
            else {"payoff": 0.0}
            for agent in self.agents
        }
        for agent, parts in (penalty or {}).items():
            components[agent].update(parts)
        rewards = {agent: sum(parts.values()) for agent, parts in components.items()}
        outcome = f"{note} {self._outcome_text(deal, shares)}"
        self.transcript.append(outcome)
        feedback = dict.fromkeys(self.agents, outcome)
        metrics = self._final_metrics(deal, shares)
        infos = self._infos(rewards, components, feedback, final=metrics)
        observations = self._observations(feedback)
        terminations = dict.fromkeys(self.agents, not truncated)
        truncations = dict.fromkeys(self.agents, truncated)
        self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _shares(self, deal: tuple[str, Allocation] | None) -> dict[str, Allocation]:
        if deal is None:
            return dict.fromkeys(self.possible_agents, (0, 0, 0))
        proposer, take = deal
        return {proposer: take, self._other(proposer): remainder(self.counts, take)}

    def _final_metrics(
        self, deal: tuple[str, Allocation] | None, shares: dict[str, Allocation]
    ) -> dict[str, dict[str, float | bool]]:
        own = {agent: value_of(shares[agent], self.values[agent]) for agent in self.possible_agents}
        joint = sum(own.values())
        return {
            agent: {
                "success": deal is not None,
                "own_value": float(own[agent]),
                "joint_value": float(joint),
                "pareto_optimal": deal is not None and self._pareto_optimal(own),
                "turns": self.turn,
            }
            for agent in self.possible_agents
        }

    def _pareto_optimal(self, own: dict[str, int]) -> bool:
        first, second = self.values["agent_0"], self.values["agent_1"]
        for take in all_allocations(self.counts):
            a, b = value_of(take, first), value_of(remainder(self.counts, take), second)
            if a >= own["agent_0"] and b >= own["agent_1"] and (a, b) != tuple(own.values()):
                return False
        return True

    def _can_accept(self, agent: str) -> bool:
        return self.standing is not None and self.standing[0] != agent

    def _other(self, agent: str) -> str:
        return "agent_1" if agent == "agent_0" else "agent_0"

    def _log(self, line: str) -> None:
        self.history.append(line)
        self.transcript.append(line)

    def _infos(
        self,
        rewards: dict[str, float],
        components: dict[str, dict[str, float]],
        feedback: dict[str, str],
        final: dict[str, dict[str, float | bool]] | None = None,
    ) -> dict[str, dict[str, Any]]:
        infos = {}
        for agent in self.agents:
            acting = final is None and agent == self.acting
            infos[agent] = step_info(
                rewards[agent],
                components=components.get(agent, {}),
                feedback=feedback[agent],
                task_id=self.task_id,
                valid_actions=self._valid_actions(agent) if acting else None,
                metrics=(final or {}).get(agent, {"turns": self.turn}),
                acting=acting,
            )
        return infos

    def _valid_actions(self, agent: str) -> list[str]:
        proposals = [
            f"PROPOSE {self._allocation_text(take, '=')}" for take in all_allocations(self.counts)
        ]
        accept = ["ACCEPT"] if self._can_accept(agent) else []
        return [*accept, *proposals, "WALK AWAY"]

    def _observations(self, feedback: dict[str, str]) -> dict[str, dict[str, Any]]:
        return {
            agent: multi_agent_observation(
                self._text(agent, feedback[agent]),
                [
                    self.turn,
                    int(agent == self.acting),
                    int(self.standing is not None),
                    self.invalid[agent],
                ],
            )
            for agent in self.agents
        }

    def _text(self, agent: str, feedback: str) -> str:
        values = ", ".join(
            f"{name} {value} each" for name, value in zip(ITEMS, self.values[agent], strict=True)
        )
        lines = [
            feedback,
            f"You are {agent}. The pool: {self._pool_text()}. Your private values: {values} "
            f"(the whole pool is worth {TOTAL_VALUE} to you). Turn {self.turn} of "
            f"{self.max_turns}; without a deal you get nothing.",
        ]
        if self.history:
            lines.append("Recent turns:\n" + "\n".join(self.history[-HISTORY_SHOWN:]))
        if self.standing is not None:
            proposer, take = self.standing
            mine = take if proposer == agent else remainder(self.counts, take)
            lines.append(
                f"Standing proposal by {proposer}: you would get {self._allocation_text(mine)} "
                f"(worth {value_of(mine, self.values[agent])} to you)."
            )
        if self.agents and agent == self.acting:
            lines.append(f"Your turn. {GRAMMAR}")
        elif self.agents:
            lines.append("Wait for the other agent's turn.")
        return "\n".join(line for line in lines if line)

    def _pool_text(self) -> str:
        return ", ".join(f"{count} {name}" for name, count in zip(ITEMS, self.counts, strict=True))

    def _allocation_text(self, take: Allocation, sep: str = " ") -> str:
        if sep == "=":
            return " ".join(f"{name}={count}" for name, count in zip(ITEMS, take, strict=True))
        return ", ".join(f"{count} {name}" for name, count in zip(ITEMS, take, strict=True))

    def _outcome_text(
        self, deal: tuple[str, Allocation] | None, shares: dict[str, Allocation]
    ) -> str:
        if deal is None:
            return "No deal: both get nothing."
        parts = [
            f"{agent} gets {self._allocation_text(shares[agent])} "
            f"(worth {value_of(shares[agent], self.values[agent])})"
            for agent in self.possible_agents
        ]
        return "Deal: " + "; ".join(parts) + "."


def _proposal(take: tuple[int, ...]) -> str:
    return "PROPOSE " + " ".join(f"{name}={count}" for name, count in zip(ITEMS, take, strict=True))


def _offered_value(context: ActContext) -> int | None:
    env = context.env
    if env.standing is None or env.standing[0] == context.agent:
        return None
    return value_of(remainder(env.counts, env.standing[1]), env.values[context.agent])


def greedy_negotiator(context: ActContext) -> str:
    """Demand every item it values; accept only offers worth at least 8 of 10."""
    env = context.env
    offered = _offered_value(context)
    if offered is not None and offered >= 8:
        return "ACCEPT"
    values = env.values[context.agent]
    wanted = zip(env.counts, values, strict=True)
    return _proposal((*(count if value else 0 for count, value in wanted),))


def fair_negotiator(context: ActContext) -> str:
    """Accept any offer worth at least half; else propose to take the fewest items worth >= 5."""
    env = context.env
    offered = _offered_value(context)
    if offered is not None and offered * 2 >= TOTAL_VALUE:
        return "ACCEPT"
    values = env.values[context.agent]
    enough = [t for t in all_allocations(env.counts) if value_of(t, values) * 2 >= TOTAL_VALUE]
    best = min(enough, key=lambda take: (sum(take), -value_of(take, values), take))
    return _proposal(best)


def random_negotiator(context: ActContext) -> str:
    """Accept a standing offer a quarter of the time; otherwise propose or talk at random."""
    env = context.env
    if _offered_value(context) is not None and context.rng.random() < 0.25:
        return "ACCEPT"
    if context.rng.random() < 0.3:
        return context.rng.choice(["SAY Hello.", "SAY I need the books.", "SAY Be reasonable."])
    return _proposal(context.rng.choice(all_allocations(env.counts)))
