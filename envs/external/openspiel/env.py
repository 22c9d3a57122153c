"""The OpenSpiel adapter: any sequential OpenSpiel game as an envalign PettingZoo game in text.

OpenSpiel (DeepMind, Apache-2.0, ``pip install "envalign[openspiel]"``) provides the game: its state,
legal actions, the names of the actions (``state.action_to_string``), each player's view of the state
(``observation_string`` or ``information_state_string``) and the payoffs. The adapter adds envalign's
conventions: text observations and actions, ``info`` built by ``step_info``, chance nodes sampled from
a generator seeded by ``reset(seed=...)`` (never the process's global random state), and defined
answers to malformed actions. The games themselves are thin subclasses in ``games.py``.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from envalign.envs.core import TextParallelEnv, read_action
from envalign.envs.embodied.text_matching import match_action, unmatched_feedback
from envalign.envs.external.dependencies import require
from envalign.envs.info import step_info
from envalign.envs.spaces import multi_agent_observation

MAX_LISTED_ACTIONS = 60
SEED_SPACE = 2**31 - 1


def load_pyspiel() -> Any:
    """Import ``pyspiel`` or raise ``DependencyNotInstalled`` naming the ``openspiel`` extra."""
    return require(
        "pyspiel", package="open-spiel", extra="openspiel", purpose="play OpenSpiel games"
    )


class OpenSpielEnv(TextParallelEnv):
    """An OpenSpiel game played in text; subclasses name the game and describe its rules.

    Observation, action, reward and termination are described on each game's class (``games.py``).
    In every step one player acts (``info[agent]["acting"]``); the others' actions are ignored.

    Arguments: ``max_invalid`` (default 3: after that many invalid actions in a row, a uniformly random
    legal action is played for the agent, drawn from the episode's seeded generator),
    ``invalid_penalty`` (default -0.1), ``render_mode`` (``"ansi"``), and any OpenSpiel game
    parameter as a keyword (``max_turns=6`` for bargaining).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "openspiel"}
    num_features = 5
    #: OpenSpiel's short name of the game and the parameters envalign uses by default.
    game_name: ClassVar[str] = ""
    game_parameters: ClassVar[dict[str, Any]] = {}
    #: One paragraph of rules shown at the top of every observation.
    rules: ClassVar[str] = ""
    #: Which of OpenSpiel's per-player strings the agent reads.
    view: ClassVar[str] = "observation"

    def __init__(
        self,
        render_mode: str | None = None,
        max_invalid: int = 3,
        invalid_penalty: float = -0.1,
        **parameters: Any,
    ) -> None:
        self.pyspiel = pyspiel = load_pyspiel()
        if max_invalid < 1:
            raise ValueError("max_invalid must be at least 1.")
        self.parameters = {**self.game_parameters, **parameters}
        self.game = pyspiel.load_game(self.game_name, self.parameters)
        self.chance_player = pyspiel.PlayerId.CHANCE
        agents = [f"player_{index}" for index in range(self.game.num_players())]
        super().__init__(agents, render_mode=render_mode, max_action_length=2_048)
        self.max_invalid, self.invalid_penalty = max_invalid, invalid_penalty
        self.rng = random.Random()
        self.state: Any = None
        self.seed: int | None = None
        self.invalid = dict.fromkeys(agents, 0)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a game; chance outcomes (deals, dice, instances) follow ``seed``."""
        if seed is not None or self.state is None:
            self.rng, self.seed = random.Random(seed), seed
        if "rng_seed" in self.game.get_parameters():
            # Sampled-stochastic games (negotiation) draw chance inside C++ from this parameter.
            game_seed = self.rng.randrange(SEED_SPACE)
            parameters = {**self.parameters, "rng_seed": game_seed}
            self.game = self.pyspiel.load_game(self.game_name, parameters)
        self.state = self.game.new_initial_state()
        self._resolve_chance()
        self.agents = list(self.possible_agents)
        self.invalid = dict.fromkeys(self.agents, 0)
        self.transcript = [f"OpenSpiel {self.game_name} (seed {seed})."]
        zeros = dict.fromkeys(self.agents, 0.0)
        return self._observations(dict.fromkeys(self.agents, "")), self._infos(zeros, {}, {})

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Apply the acting player's move (others' actions are ignored)."""
        mover = self.acting_agent()
        legal = self.legal_action_names()
        text, problem = read_action(actions.get(mover, ""), self.max_action_length)
        chosen = match_action(text, list(legal)) if text is not None else None
        components: dict[str, dict[str, float]] = {agent: {} for agent in self.agents}
        feedback = dict.fromkeys(self.agents, "")
        if chosen is None:
            problem = problem or unmatched_feedback(text or "", list(legal))
            self.invalid[mover] += 1
            components[mover]["invalid_action"] = self.invalid_penalty
            if self.invalid[mover] < self.max_invalid:
                self.transcript.append(f"{mover}: invalid action ({problem})")
                feedback[mover] = f"Invalid action: {problem}"
                rewards = {agent: sum(parts.values()) for agent, parts in components.items()}
                observations = self._observations(feedback)
                return self.step_result(
                    observations, rewards, self._infos(rewards, components, feedback), over=False
                )
            chosen = self.rng.choice(sorted(legal))
            feedback[mover] = (
                f"Invalid action: {problem} After {self.max_invalid} invalid actions in a row, "
                f"a random legal action was played for you: {chosen}."
            )
        self.invalid[mover] = 0
        self.state.apply_action(legal[chosen])
        self.transcript.append(f"{mover}: {chosen}")
        feedback[mover] = feedback[mover] or f"You played: {chosen}."
        self._resolve_chance()
        for index, agent in enumerate(self.possible_agents):
            components[agent]["game"] = float(self.state.rewards()[index])
        rewards = {agent: sum(parts.values()) for agent, parts in components.items()}
        over = self.state.is_terminal()
        if over:
            returns = self.state.returns()
            outcome = "Game over. Returns: " + ", ".join(
                f"{agent} {returns[index]:g}" for index, agent in enumerate(self.possible_agents)
            )
            self.transcript.append(outcome)
            feedback = {agent: f"{feedback[agent]} {outcome}".strip() for agent in self.agents}
        infos = self._infos(rewards, components, feedback)
        return self.step_result(self._observations(feedback), rewards, infos, over=over)

    def acting_agent(self) -> str:
        """Return the agent whose turn it is."""
        return self.possible_agents[self.state.current_player()]

    def legal_action_names(self) -> dict[str, int]:
        """Return the acting player's legal actions, ``text -> OpenSpiel action id``."""
        player = self.state.current_player()
        names: dict[str, int] = {}
        for action in self.state.legal_actions(player):
            name = self.state.action_to_string(player, action).strip(" ,")
            names[name if name not in names else f"{name} #{action}"] = action
        return names

    def player_view(self, agent: str) -> str:
        """Return OpenSpiel's string of the state as ``agent`` sees it."""
        index = self.possible_agents.index(agent)
        if self.view == "information_state":
            return self.state.information_state_string(index)
        return self.state.observation_string(index)

    def _resolve_chance(self) -> None:
        while self.state.is_chance_node():
            outcomes = self.state.chance_outcomes()
            actions = [action for action, _ in outcomes]
            weights = [probability for _, probability in outcomes]
            self.state.apply_action(self.rng.choices(actions, weights)[0])

    def _observations(self, feedback: dict[str, str]) -> dict[str, dict[str, Any]]:
        over = self.state.is_terminal()
        acting = None if over else self.acting_agent()
        legal = [] if over else list(self.legal_action_names())
        observations = {}
        for index, agent in enumerate(self.possible_agents):
            lines = [self.rules, f"You are {agent}.", self.player_view(agent).strip()]
            if feedback.get(agent):
                lines.append(feedback[agent])
            if agent == acting:
                shown = "; ".join(legal[:MAX_LISTED_ACTIONS])
                more = len(legal) - MAX_LISTED_ACTIONS
                lines.append(
                    f"Your move. Legal actions: {shown}"
                    + (f" (and {more} more)." if more > 0 else ".")
                )
            elif not over:
                lines.append(f"Wait: {acting} is moving.")
            features = [
                self.state.move_number(),
                index,
                int(agent == acting),
                self.invalid[agent],
                len(legal) if agent == acting else 0,
            ]
            observations[agent] = multi_agent_observation("\n".join(lines), features)
        return observations

    def _infos(
        self,
        rewards: dict[str, float],
        components: dict[str, dict[str, float]],
        feedback: dict[str, str],
    ) -> dict[str, dict[str, Any]]:
        over = self.state.is_terminal()
        acting = None if over else self.acting_agent()
        legal = None if over else list(self.legal_action_names())
        returns = self.state.returns() if over else None
        infos = {}
        for index, agent in enumerate(self.possible_agents):
            metrics: dict[str, float | bool] = {}
            if returns is not None:
                metrics = {"success": returns[index] > 0, "return": float(returns[index])}
            infos[agent] = step_info(
                rewards.get(agent, 0.0),
                components=components.get(agent, {}),
                feedback=feedback.get(agent, ""),
                task_id=f"{self.game_name}/seed-{self.seed}",
                valid_actions=legal if agent == acting else None,
                metrics=metrics,
                acting=agent == acting,
            )
        return infos
