"""The TextArena adapter: TextArena's turn-based games as envalign PettingZoo games.

TextArena (Guertler et al. 2025, MIT, ``pip install "envalign[textarena]"``) has its own API
(``reset(num_players, seed)``, ``get_observation()``, ``step(action) -> (done, info)``,
``close() -> (rewards, game_info)``); its ``State`` calls the global ``random.seed`` and its games
draw from the global ``random`` (two of them from numpy's). The adapter gives every game a private
state of the global generator (and of numpy's, for games that use it): around each call into
TextArena it swaps the game's own state in and the caller's back out, so a TextArena game played
beside other environments plays exactly as alone, and the process's streams are left as they were.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from envalign.envs.core import ActContext, TextParallelEnv, read_action
from envalign.envs.external.dependencies import require
from envalign.envs.info import step_info
from envalign.envs.spaces import multi_agent_observation

SEED_SPACE = 2**31 - 1
INVALID_PENALTY = -0.1
MAX_INVALID = 3
BRACKETED = re.compile(r"\[[^\[\]\n]{1,40}\]")
_swap_lock = threading.RLock()


class PrivateRandom:
    """A private state of Python's (and optionally numpy's) global generator, swapped in around calls.

    Args:
        seed: Seeds the private state.
        numpy: Also swap numpy's legacy global generator (about 0.5 ms a swap, so only for games
            that draw from ``np.random``; none of the registered ones does).
    """

    def __init__(self, seed: int, *, numpy: bool = False) -> None:
        self.numpy = numpy
        self.python_state: tuple[Any, ...] = random.getstate()
        self.numpy_state: Any = None
        with self.swapped_in(fresh=seed):
            pass

    @contextlib.contextmanager
    def swapped_in(self, fresh: int | None = None) -> Iterator[None]:
        """Run the block with this state as the global one; keep what the block left for next time."""
        with _swap_lock:
            caller_python = random.getstate()
            caller_numpy: Any = np.random.get_state() if self.numpy else None
            try:
                if fresh is not None:
                    random.seed(fresh)
                    if self.numpy:
                        np.random.seed(fresh % 2**32)
                else:
                    random.setstate(self.python_state)
                    if self.numpy:
                        np.random.set_state(self.numpy_state)
                yield
            finally:
                self.python_state = random.getstate()
                random.setstate(caller_python)
                if self.numpy:
                    self.numpy_state = np.random.get_state()
                    np.random.set_state(caller_numpy)


def load_textarena() -> Any:
    """Import ``textarena`` (with private random state) or raise ``DependencyNotInstalled``."""
    with PrivateRandom(0).swapped_in():
        return require(
            "textarena", package="textarena", extra="textarena", purpose="play TextArena games"
        )


class TextArenaEnv(TextParallelEnv):
    """A TextArena game; subclasses name it (``games.py``). See each game's class for its rules.

    Arguments: ``num_players`` (the game's default when omitted), ``render_mode`` (``"ansi"``).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "textarena"}
    num_features = 4
    #: TextArena's id of the game (``ta.make``'s argument) and its default number of players.
    game_id: ClassVar[str] = ""
    players: ClassVar[int] = 2
    #: Whether the game draws from numpy's global generator (then it is made private too).
    uses_numpy_random: ClassVar[bool] = False

    def __init__(self, num_players: int | None = None, render_mode: str | None = None) -> None:
        self.textarena = load_textarena()
        count = num_players or self.players
        super().__init__([f"player_{index}" for index in range(count)], render_mode=render_mode)
        self.random = PrivateRandom(0)
        self.rng = random.Random()
        self.game: Any = None
        self.seed: int | None = None
        self.current = 0
        self.turn = 0
        self.invalid = 0
        self.texts: dict[str, str] = {}
        self.outcome = ""

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a game; its dealing and every random draw follow ``seed``."""
        if seed is not None or self.game is None:
            self.rng, self.seed = random.Random(seed), seed
        game_seed = self.rng.randrange(SEED_SPACE)
        self.random = PrivateRandom(game_seed, numpy=self.uses_numpy_random)
        with self.random.swapped_in():
            self.game = self.textarena.make(self.game_id)
            self.game.reset(num_players=len(self.possible_agents), seed=game_seed)
            self.current, observation = self.game.get_observation()
        self.agents = list(self.possible_agents)
        self.turn, self.outcome, self.invalid = 0, "", 0
        self.texts = dict.fromkeys(self.agents, "Wait for your turn.")
        self.texts[self.acting_agent()] = str(observation).strip()
        self.transcript = [f"TextArena {self.game_id} (seed {seed})."]
        zeros = dict.fromkeys(self.agents, 0.0)
        return self._observations(), self._infos(zeros, {}, dict.fromkeys(self.agents, ""), None)

    def acting_agent(self) -> str:
        """Return the agent whose turn it is."""
        return self.possible_agents[self.current]

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Send the acting player's text to TextArena (others' actions are ignored)."""
        mover = self.acting_agent()
        text, problem = read_action(actions.get(mover, ""), self.max_action_length)
        feedback = dict.fromkeys(self.agents, "")
        self.invalid = self.invalid + 1 if text is None else 0
        if text is None and self.invalid >= MAX_INVALID:
            # A player that never sends usable text must not stall the game: TextArena judges "".
            text, self.invalid = "", 0
        if text is None:
            self.transcript.append(f"{mover}: invalid ({problem})")
            feedback[mover] = f"{problem} Nothing was sent to the game; it is still your turn."
            rewards = {agent: (INVALID_PENALTY if agent == mover else 0.0) for agent in self.agents}
            components = {mover: {"invalid_action": INVALID_PENALTY}}
            infos = self._infos(rewards, components, feedback, None)
            return self.step_result(self._observations(), rewards, infos, over=False)
        with self.random.swapped_in():
            done, _ = self.game.step(text)
            if done:
                game_rewards, game_info = self.game.close()
            else:
                self.current, observation = self.game.get_observation()
        self.turn += 1
        self.transcript.append(f"{mover}: {text[:500]}")
        feedback[mover] = (
            f"Your move was sent: {text[:200]!r}." if text.strip() else "You said nothing."
        )
        if not done:
            self.texts[mover] = "Wait for your turn."
            self.texts[self.acting_agent()] = str(observation).strip()
            zeros = dict.fromkeys(self.agents, 0.0)
            infos = self._infos(zeros, {}, feedback, None)
            return self.step_result(self._observations(), zeros, infos, over=False)
        rewards = {
            agent: float(game_rewards.get(index, 0.0)) for index, agent in enumerate(self.agents)
        }
        reasons = {str(details.get("reason", "")) for details in game_info.values()}
        self.outcome = "Game over. " + " ".join(sorted(reason for reason in reasons if reason))
        self.transcript.append(self.outcome)
        for agent in self.agents:
            self.texts[agent] = self.outcome
            feedback[agent] = f"{feedback[agent]} {self.outcome}".strip()
        components = {agent: {"game": reward} for agent, reward in rewards.items()}
        infos = self._infos(rewards, components, feedback, game_info)
        return self.step_result(self._observations(), rewards, infos, over=True)

    def _observations(self) -> dict[str, dict[str, Any]]:
        limit = self._observation_spaces[self.possible_agents[0]]["text"].max_length
        acting = None if self.outcome else self.acting_agent()
        return {
            agent: multi_agent_observation(
                self.texts[agent][-limit:], [self.turn, index, int(agent == acting), self.current]
            )
            for index, agent in enumerate(self.possible_agents)
        }

    def _infos(
        self,
        rewards: dict[str, float],
        components: dict[str, dict[str, float]],
        feedback: dict[str, str],
        game_info: dict[int, dict[str, Any]] | None,
    ) -> dict[str, dict[str, Any]]:
        acting = None if game_info is not None else self.acting_agent()
        infos = {}
        for index, agent in enumerate(self.possible_agents):
            metrics: dict[str, float | bool] = {}
            if game_info is not None:
                details = game_info.get(index, {})
                metrics = {
                    "success": rewards[agent] > 0,
                    "invalid_move": bool(details.get("invalid_move", False)),
                }
            infos[agent] = step_info(
                rewards.get(agent, 0.0),
                components=components.get(agent, {}),
                feedback=feedback.get(agent, ""),
                task_id=f"{self.game_id}/seed-{self.seed}",
                metrics=metrics,
                acting=agent == acting,
            )
        return infos

    def close(self) -> None:
        """Drop the game (TextArena holds no outside resources)."""
        self.game = None


def random_policy(context: ActContext) -> str:
    """Play a random bracketed move among those the game's latest text mentions (``[call]``...)."""
    if not context.info.get("acting"):
        return ""
    text = context.observation["text"] if isinstance(context.observation, dict) else ""
    moves = BRACKETED.findall(text[-2_000:])
    return context.rng.choice(moves) if moves else "[0]"
