"""Building blocks shared by text environments.

:class:`TextEnv` is a ``gymnasium.Env[str, str]`` with text spaces and an ``ansi`` transcript;
:class:`TextParallelEnv` is a PettingZoo ``ParallelEnv`` whose agents observe
``{"observation": features, "text": str}`` and act in text. Both leave the game to the subclass.

Conventions every environment here follows (DESIGN.md):

* The observation text is self-contained: it includes the feedback on the previous action.
* In a multi-agent game where only some agents move in a step, ``info[agent]["acting"]`` says who must
  act; the others' actions are ignored (runners send ``""``).
* An action that is not text, is too long or cannot be parsed is answered with feedback and a defined
  reward, never an exception.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envalign.envs.spaces import (
    DEFAULT_ACTION_LENGTH,
    DEFAULT_OBSERVATION_LENGTH,
    multi_agent_observation_space,
    text_space,
)

SINGLE_AGENT = "agent"


@dataclass
class ActContext:
    """What a scripted or random policy sees when it acts.

    Attributes:
        env: The unwrapped environment (scripted oracles may read its hidden state).
        agent: The agent's name (``"agent"`` in a single-agent environment).
        observation: The agent's latest observation.
        info: The agent's latest ``info``.
        rng: A generator seeded per episode and agent, for reproducible baselines.
    """

    env: Any
    agent: str
    observation: Any
    info: dict[str, Any]
    rng: random.Random = field(default_factory=random.Random)


def agent_rng(seed: int | None, agent: str) -> random.Random:
    """The generator ``agent``'s policy gets in the episode of ``seed``.

    Every place that plays an episode (the runner, Ray workers, video recording, TRL environments)
    uses it, so a seeded baseline makes the same moves wherever the episode is played.
    """
    return random.Random(f"{seed}:{agent}")


def read_action(action: Any, max_length: int) -> tuple[str | None, str]:
    """Check an agent's action before the game parses it.

    Returns:
        ``(text, "")`` for usable text, or ``(None, feedback)`` explaining what was wrong. Lone
        surrogates (which cannot be encoded) are replaced by ``"?"``.
    """
    if not isinstance(action, str):
        return None, f"Your action must be text, but it was {type(action).__name__}."
    if len(action) > max_length:
        return None, (
            f"Your reply has {len(action):,} characters; the limit is {max_length:,}. "
            "Answer more briefly."
        )
    return action.encode("utf-8", "replace").decode("utf-8"), ""


class TextEnv(gymnasium.Env[str, str]):
    """A single-agent text environment: text observations, text actions, an ``ansi`` transcript.

    Args:
        render_mode: ``None`` or ``"ansi"``.
        max_action_length: Longest action accepted; longer ones are answered with feedback.
        max_observation_length: Bound of the observation space.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        render_mode: str | None = None,
        max_action_length: int = DEFAULT_ACTION_LENGTH,
        max_observation_length: int = DEFAULT_OBSERVATION_LENGTH,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; use one of "
                f"{self.metadata['render_modes']} or None."
            )
        self.render_mode = render_mode
        self.max_action_length = max_action_length
        self.observation_space = text_space(max_observation_length)
        self.action_space = text_space(max_action_length)
        self.transcript: list[str] = []

    def render(self) -> str | None:  # type: ignore[override]
        """Return the episode so far as text when ``render_mode == "ansi"``."""
        if self.render_mode == "ansi":
            return "\n".join(self.transcript) + "\n"
        return None


class TextParallelEnv(ParallelEnv[str, dict[str, Any], str]):
    """A PettingZoo game played in text.

    Subclasses set ``possible_agents`` and ``num_features`` before calling ``super().__init__`` and
    implement ``reset`` and ``step``.

    Args:
        render_mode: ``None`` or ``"ansi"``.
        max_action_length: Longest action accepted; longer ones are answered with feedback.
        max_observation_length: Bound of the ``"text"`` entry of observations.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "text_game"}
    num_features: ClassVar[int] = 2

    def __init__(
        self,
        possible_agents: Sequence[str],
        render_mode: str | None = None,
        max_action_length: int = DEFAULT_ACTION_LENGTH,
        max_observation_length: int = DEFAULT_OBSERVATION_LENGTH,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; use one of "
                f"{self.metadata['render_modes']} or None."
            )
        self.render_mode = render_mode
        self.max_action_length = max_action_length
        self.possible_agents = list(possible_agents)
        self.agents: list[str] = []
        # One space object per agent, returned every time (parallel_api_test checks identity).
        self._observation_spaces = {
            agent: multi_agent_observation_space(self.num_features, max_observation_length)
            for agent in self.possible_agents
        }
        self._action_spaces = {
            agent: text_space(max_action_length) for agent in self.possible_agents
        }
        self.transcript: list[str] = []

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """Return the (cached) observation space of ``agent``."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """Return the (cached) action space of ``agent``."""
        return self._action_spaces[agent]

    def render(self) -> str | None:
        """Return the game so far as text when ``render_mode == "ansi"``."""
        if self.render_mode == "ansi":
            return "\n".join(self.transcript) + "\n"
        return None

    def step_result(
        self,
        observations: dict[str, Any],
        rewards: dict[str, float],
        infos: dict[str, dict[str, Any]],
        *,
        over: bool,
    ) -> tuple[dict, dict, dict, dict, dict]:
        """Return ``step``'s five dicts; when ``over`` every agent terminates and leaves the game."""
        terminations = dict.fromkeys(self.agents, over)
        truncations = dict.fromkeys(self.agents, False)
        if over:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def close(self) -> None:
        """Release resources (nothing by default)."""
