"""PrisonersDilemma-v0: the iterated prisoner's dilemma with a message phase before each move."""

from __future__ import annotations

import re
from typing import Any

from envalign.envs.core import ActContext, TextParallelEnv, read_action
from envalign.envs.info import step_info
from envalign.envs.spaces import multi_agent_observation

COOPERATE, DEFECT = "COOPERATE", "DEFECT"
MOVES = (COOPERATE, DEFECT)
MESSAGE, MOVE = "message", "move"
MOVE_WORD = re.compile(
    r"\b(cooperate|cooperation|cooperating|defect|defection|defecting|[CD])\b", re.IGNORECASE
)
INVALID_PENALTY = -0.05
MAX_MESSAGE_LENGTH = 500
NO_MOVE, CODE = 0, {COOPERATE: 1, DEFECT: 2}


def parse_move(text: str) -> tuple[str | None, str]:
    """Parse a move: the first of ``COOPERATE``/``DEFECT`` (or ``C``/``D``) that appears.

    Inflections such as "cooperation" or "defecting" count. Case does not matter.

    Returns:
        ``(COOPERATE or DEFECT, "")`` or ``(None, feedback)``.
    """
    match = MOVE_WORD.search(text)
    if match is None:
        return None, "Reply with COOPERATE or DEFECT."
    return (COOPERATE if match.group(1).lower().startswith("c") else DEFECT), ""


def payoff_matrix(
    temptation: float, reward: float, punishment: float, sucker: float
) -> dict[tuple[str, str], tuple[float, float]]:
    """Return ``{(move_0, move_1): (payoff_0, payoff_1)}`` for the standard T, R, P, S payoffs."""
    return {
        (COOPERATE, COOPERATE): (reward, reward),
        (COOPERATE, DEFECT): (sucker, temptation),
        (DEFECT, COOPERATE): (temptation, sucker),
        (DEFECT, DEFECT): (punishment, punishment),
    }


class PrisonersDilemmaEnv(TextParallelEnv):
    """The iterated prisoner's dilemma in text, with cheap talk before every move.

    ## Description
    Two agents, ``agent_0`` and ``agent_1``, play ``rounds`` rounds. With ``message_phase`` on, each
    round first has a *message* step (both write a free message the other reads) and then a *move*
    step (both choose simultaneously). Both agents act in every step (``info[agent]["acting"]`` is
    always true). The number of rounds is known to the players.

    ## Observation
    ``{"observation": [round, phase, my_last_move, their_last_move], "text": str}`` where phase
    is 0 for message and 1 for move, and moves are 0 (none yet), 1 (cooperate), 2 (defect). The
    text holds the payoffs, the history, the other's message and feedback on the last action.

    ## Action
    Message step: any text up to 500 characters (longer is cut). Move step: ``COOPERATE`` or
    ``DEFECT`` (also ``C``/``D``; the first such word counts). ``valid_actions`` lists both moves.

    ## Reward
    ``payoff``: the round's payoff divided by the temptation payoff ``T``, so a round is worth at
    most 1 (standard payoffs T=5, R=3, P=1, S=0: tit-for-tat against always-defect over 10 rounds
    earns 9 raw points = 1.8 reward, always-defect 14 = 2.8). ``invalid_action``: -0.05 for an
    unparseable move, which is then played as ``DEFECT``, or for a message that is not text.
    ``metrics`` hold the raw ``total_payoff``, the agent's ``cooperation_rate`` and the
    ``joint_cooperation_rate``.

    ## Termination
    After the last round's move.

    ## Arguments
    ``rounds`` (10), ``message_phase`` (True), ``payoffs`` (``(T, R, P, S)``, default
    ``(5, 3, 1, 0)``, must satisfy T > R > P > S), ``render_mode`` (``"ansi"``).
    """

    metadata = {"render_modes": ["ansi"], "name": "prisoners_dilemma_v0"}
    num_features = 4

    def __init__(
        self,
        rounds: int = 10,
        message_phase: bool = True,
        payoffs: tuple[float, float, float, float] = (5.0, 3.0, 1.0, 0.0),
        render_mode: str | None = None,
    ) -> None:
        super().__init__(["agent_0", "agent_1"], render_mode=render_mode, max_action_length=2_048)
        temptation, reward, punishment, sucker = (float(value) for value in payoffs)
        if rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {rounds}.")
        if not temptation > reward > punishment > sucker:
            raise ValueError(f"payoffs (T, R, P, S) must satisfy T > R > P > S, got {payoffs}.")
        self.rounds, self.message_phase = rounds, message_phase
        self.payoffs = (temptation, reward, punishment, sucker)
        self.matrix = payoff_matrix(*self.payoffs)
        self.round, self.phase = 0, MESSAGE if message_phase else MOVE
        self.history: list[dict[str, str]] = []
        self.messages: dict[str, str] = {}
        self.totals: dict[str, float] = {}

    @property
    def system_prompt(self) -> str:
        """The instruction LLM agents get first."""
        return (
            "You play an iterated prisoner's dilemma. In message steps write a short message to "
            "the other player; in move steps reply COOPERATE or DEFECT."
        )

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new match (the game has no randomness; the seed is accepted for the API)."""
        self.agents = list(self.possible_agents)
        self.round, self.phase = 0, MESSAGE if self.message_phase else MOVE
        self.history, self.totals = [], dict.fromkeys(self.agents, 0.0)
        self.messages = dict.fromkeys(self.agents, "")
        self.transcript = [f"Iterated prisoner's dilemma, {self.rounds} rounds."]
        feedback = dict.fromkeys(self.agents, "The match begins.")
        zero = dict.fromkeys(self.agents, 0.0)
        return self._observations(feedback), self._infos(zero, {}, feedback)

    def step(self, actions: dict[str, str]) -> tuple[dict, dict, dict, dict, dict]:
        """Apply both agents' messages or moves."""
        if self.phase == MESSAGE:
            return self._step_messages(actions)
        return self._step_moves(actions)

    def _step_messages(self, actions: dict[str, str]) -> tuple[dict, dict, dict, dict, dict]:
        rewards: dict[str, float] = {}
        components: dict[str, dict[str, float]] = {}
        feedback: dict[str, str] = {}
        for agent in self.agents:
            text, problem = read_action(actions.get(agent, ""), self.max_action_length)
            if text is None:
                text, components[agent] = "", {"invalid_action": INVALID_PENALTY}
                feedback[agent] = f"Your message was not sent: {problem}"
            else:
                text = " ".join(text.split())[:MAX_MESSAGE_LENGTH]
                feedback[agent] = "Message sent." if text else "You sent no message."
            self.messages[agent] = text
            rewards[agent] = sum(components.get(agent, {}).values())
            self.transcript.append(f"round {self.round + 1} {agent} says: {text!r}")
        self.phase = MOVE
        done = dict.fromkeys(self.agents, False)
        return (
            self._observations(feedback),
            rewards,
            done,
            dict(done),
            self._infos(rewards, components, feedback),
        )

    def _step_moves(self, actions: dict[str, str]) -> tuple[dict, dict, dict, dict, dict]:
        moves: dict[str, str] = {}
        components: dict[str, dict[str, float]] = {}
        feedback: dict[str, str] = {}
        for agent in self.agents:
            text, problem = read_action(actions.get(agent, ""), self.max_action_length)
            move, problem = parse_move(text) if text is not None else (None, problem)
            components[agent] = {}
            if move is None:
                move, components[agent]["invalid_action"] = DEFECT, INVALID_PENALTY
                feedback[agent] = f"Invalid move ({problem}); it was played as DEFECT. "
            moves[agent] = move
        raw = self.matrix[(moves["agent_0"], moves["agent_1"])]
        for agent, payoff in zip(self.possible_agents, raw, strict=True):
            components[agent]["payoff"] = payoff / self.payoffs[0]
            self.totals[agent] += payoff
        self.history.append(moves)
        self.round += 1
        self.transcript.append(
            f"round {self.round}: agent_0 {moves['agent_0']}, agent_1 {moves['agent_1']} -> "
            f"payoffs {raw[0]:g}, {raw[1]:g}"
        )
        for agent, payoff in zip(self.possible_agents, raw, strict=True):
            other = self._other(agent)
            feedback[agent] = (
                f"{feedback.get(agent, '')}Round {self.round}: you played {moves[agent]}, "
                f"the other played {moves[other]}; you scored {payoff:g}."
            )
        rewards = {agent: sum(parts.values()) for agent, parts in components.items()}
        over = self.round >= self.rounds
        self.phase = MESSAGE if self.message_phase else MOVE
        self.messages = dict.fromkeys(self.possible_agents, "")
        observations = self._observations(feedback)
        infos = self._infos(rewards, components, feedback)
        return self.step_result(observations, rewards, infos, over=over)

    def cooperation_rate(self, agent: str | None = None) -> float:
        """Fraction of moves so far that were ``COOPERATE`` (of ``agent``, or of both)."""
        agents = [agent] if agent else list(self.possible_agents)
        moves = [round_[a] for round_ in self.history for a in agents]
        return sum(m == COOPERATE for m in moves) / len(moves) if moves else 0.0

    def _other(self, agent: str) -> str:
        return "agent_1" if agent == "agent_0" else "agent_0"

    def _infos(
        self,
        rewards: dict[str, float],
        components: dict[str, dict[str, float]],
        feedback: dict[str, str],
    ) -> dict[str, dict[str, Any]]:
        valid = list(MOVES) if self.phase == MOVE else None
        return {
            agent: step_info(
                rewards[agent],
                components=components.get(agent, {}),
                feedback=feedback[agent],
                task_id=f"ipd-r{self.rounds}",
                valid_actions=valid,
                metrics={
                    "total_payoff": self.totals[agent],
                    "cooperation_rate": self.cooperation_rate(agent),
                    "joint_cooperation_rate": self.cooperation_rate(),
                    "round": self.round,
                },
                acting=True,
                phase=self.phase,
            )
            for agent in self.agents
        }

    def _observations(self, feedback: dict[str, str]) -> dict[str, dict[str, Any]]:
        return {
            agent: multi_agent_observation(
                self._text(agent, feedback[agent]), self._features(agent)
            )
            for agent in self.agents
        }

    def _features(self, agent: str) -> list[int]:
        last = self.history[-1] if self.history else {}
        other = self._other(agent)
        phase = 0 if self.phase == MESSAGE else 1
        return [
            self.round,
            phase,
            CODE.get(last.get(agent, ""), NO_MOVE),
            CODE.get(last.get(other, ""), NO_MOVE),
        ]

    def _text(self, agent: str, feedback: str) -> str:
        other = self._other(agent)
        t, r, p, s = (f"{value:g}" for value in self.payoffs)
        lines = [
            feedback,
            f"Prisoner's dilemma, round {min(self.round + 1, self.rounds)} of {self.rounds}. "
            f"Payoffs: both cooperate {r} each; both defect {p} each; if one defects and the other "
            f"cooperates, the defector gets {t} and the cooperator {s}.",
            f"Your total: {self.totals[agent]:g}; the other's total: {self.totals[other]:g}.",
        ]
        if self.history:
            recent = self.history[-5:]
            moves = "; ".join(f"you {m[agent]}, they {m[other]}" for m in recent)
            lines.append(f"Last {len(recent)} rounds: {moves}.")
        if self.round >= self.rounds:
            lines.append("The match is over.")
        elif self.phase == MESSAGE:
            lines.append("Write a short message to the other player before you both move.")
        else:
            said = self.messages.get(other, "")
            if said:
                lines.append(f"The other player said: {said!r}")
            lines.append("Choose your move: reply COOPERATE or DEFECT.")
        return "\n".join(line for line in lines if line)


def _move_step(context: ActContext) -> bool:
    return context.env.phase == MOVE


def _their_last(context: ActContext) -> str | None:
    history = context.env.history
    other = "agent_1" if context.agent == "agent_0" else "agent_0"
    return history[-1][other] if history else None


def tit_for_tat(context: ActContext) -> str:
    """Cooperate first, then copy the other's last move."""
    if not _move_step(context):
        return "I will cooperate as long as you do."
    return _their_last(context) or COOPERATE


def always_defect(context: ActContext) -> str:
    """Defect every round (and promise otherwise)."""
    return DEFECT if _move_step(context) else "Let's both cooperate."


def always_cooperate(context: ActContext) -> str:
    """Cooperate every round."""
    return COOPERATE if _move_step(context) else "I will always cooperate."


def random_move(context: ActContext) -> str:
    """A fair coin between the two moves; a random short message."""
    if _move_step(context):
        return context.rng.choice(MOVES)
    return context.rng.choice(["Hello.", "Trust me.", "Let's cooperate.", "We'll see."])
