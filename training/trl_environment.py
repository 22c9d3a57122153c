"""Interop with TRL, multi-turn: envalign environments as TRL's ``environment_factory``.

TRL's ``GRPOTrainer(environment_factory=...)`` builds one environment object per rollout, calls its
``reset(**row)`` and appends the returned text to the prompt, exposes its public methods as tools the
model calls during generation, and scores the rollout with ``get_reward()``. :func:`environment_factory`
turns any registered envalign environment into such a class: the model acts with one tool, ``act``,
that steps the environment and returns the next observation, so every turn of a multi-turn game is a
tool call inside one TRL completion, and the reward is the episode's return::

    from trl import GRPOConfig, GRPOTrainer
    from envalign.training.trl_environment import environment_factory, tool_dataset

    trainer = GRPOTrainer(
        model=model,
        environment_factory=environment_factory(
            "envalign/Negotiation-v0", agent="agent_0", opponents="scripted"
        ),
        train_dataset=tool_dataset("envalign/Negotiation-v0", 512),
        args=GRPOConfig(output_dir="runs/trl-negotiation", max_tool_calling_iterations=8),
    )

In a multi-agent game one agent is trained; the others play the named baseline (or any policy name
``envalign run --policy`` accepts) and move automatically between the trained agent's turns.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from envalign.envs.core import agent_rng
from envalign.envs.errors import ConfigError

TOOL_INSTRUCTION = (
    "You act in a text environment through the `act` tool. Call it with your action; it answers "
    "with what happens next. Keep acting until the episode is over."
)
EPISODE_OVER = "The episode is over."


class EnvalignToolEnvironment:
    """One envalign episode driven through TRL's tool calls (see :func:`environment_factory`).

    Attributes:
        env_id: The environment id.
        agent: The trained agent (``"agent"`` in a single-agent environment).
        reward: The trained agent's return so far.
        done: Whether the episode has ended.
        steps: Environment steps taken.
    """

    env_id: str = ""
    agent: str = "agent"
    env_kwargs: Mapping[str, Any] = {}
    opponents: Mapping[str, str] = {}
    #: Opponent policies, resolved once per class and shared by its instances (TRL makes many).
    _policy_cache: dict[str, Any] = {}

    def __init__(self) -> None:
        from envalign.envs.registry import make, spec

        self._multi_agent = spec(self.env_id).multi_agent
        self._env = make(self.env_id, **dict(self.env_kwargs))
        self._infos: dict[str, dict[str, Any]] = {}
        self._observations: dict[str, Any] = {}
        self._rngs: dict[str, random.Random] = {}
        self.reward = 0.0
        self.done = True
        self.steps = 0

    def reset(self, seed: int | None = None, **row: Any) -> str:
        """Start an episode (TRL passes the dataset row; its ``seed`` column seeds the episode)."""
        del row  # the prompt and other columns are TRL's; the environment only needs the seed
        observation, info = self._env.reset(seed=None if seed is None else int(seed))
        self.reward, self.done, self.steps = 0.0, False, 0
        if self._multi_agent:
            self._observations, self._infos = dict(observation), dict(info)
            self._rngs = {a: agent_rng(seed, a) for a in self._env.possible_agents}
            self._advance_opponents()
        else:
            self._observations, self._infos = {self.agent: observation}, {self.agent: info}
        return self._view()

    def act(self, action: str) -> str:
        """Take one action in the environment.

        Args:
            action: Your action, written as the observation asks for it.

        Returns:
            What happens next: the new observation, or a note that the episode is over.
        """
        if self.done:
            return EPISODE_OVER
        if self._multi_agent:
            moves = {a: self._opponent_move(a) for a in self._env.agents if a != self.agent}
            self._step_multi({**moves, self.agent: str(action)})
            self._advance_opponents()
        else:
            observation, reward, terminated, truncated, info = self._env.step(str(action))
            self.reward += float(reward)
            self._observations[self.agent], self._infos[self.agent] = observation, info
            self.done = bool(terminated or truncated)
            self.steps += 1
        return self._view()

    def get_reward(self) -> float:
        """The trained agent's return in this episode (TRL calls it once the rollout ends)."""
        return self.reward

    def _view(self) -> str:
        from envalign.envs.spaces import observation_text

        text = observation_text(self._observations.get(self.agent, ""))
        feedback = str(self._infos.get(self.agent, {}).get("feedback", ""))
        if feedback and feedback not in text:
            text = f"{feedback}\n{text}"
        return f"{text}\n{EPISODE_OVER}" if self.done else text

    def _step_multi(self, moves: dict[str, str]) -> None:
        full = dict.fromkeys(self._env.agents, "")
        full.update(moves)
        observations, rewards, _, _, infos = self._env.step(full)
        self.reward += float(rewards.get(self.agent, 0.0))
        self._observations.update(observations)
        self._infos.update(infos)
        self.steps += 1
        self.done = self.agent not in self._env.agents

    def _advance_opponents(self) -> None:
        """Let the other agents move until the trained agent must act or the game ends."""
        while not self.done and not self._infos.get(self.agent, {}).get("acting", True):
            moves = {a: self._opponent_move(a) for a in self._env.agents if a != self.agent}
            self._step_multi(moves)

    def _opponent_move(self, agent: str) -> str:
        from envalign.agents.base import TurnRequest, valid_actions_of
        from envalign.envs.core import ActContext
        from envalign.envs.spaces import observation_text

        if not self._infos.get(agent, {}).get("acting", True):
            return ""
        context = ActContext(
            env=self._env.unwrapped,
            agent=agent,
            observation=self._observations[agent],
            info=self._infos[agent],
            rng=self._rngs[agent],
        )
        message = {"role": "user", "content": observation_text(self._observations[agent])}
        request = TurnRequest([message], context, valid_actions_of(self._infos[agent]))
        return self._policy(agent).act([request])[0].text

    def _policy(self, agent: str) -> Any:
        from envalign.agents.registry import resolve_policy

        cache = type(self)._policy_cache
        if agent not in cache:
            cache[agent] = resolve_policy(self.opponents[agent], self.env_id)
        return cache[agent]


def environment_factory(
    env_id: str,
    *,
    agent: str | None = None,
    opponents: str | Mapping[str, str] = "scripted",
    **env_kwargs: Any,
) -> Callable[[], EnvalignToolEnvironment]:
    """A class for TRL's ``GRPOTrainer(environment_factory=...)`` that plays ``env_id``.

    Args:
        env_id: A registered environment id, single- or multi-agent.
        agent: The trained agent of a multi-agent game (default: the first agent).
        opponents: The policy of every other agent (a name such as ``"scripted"``, ``"random"`` or
            a model), or ``{agent: name}``.
        **env_kwargs: Keyword arguments for the environment.

    Returns:
        A class whose instances TRL resets, drives through the ``act`` tool and scores with
        ``get_reward``; TRL logs the reward under the class name (e.g. ``Negotiation_v0``).

    Raises:
        ConfigError: If ``agent`` is not in the game or an opponent has no policy.
    """
    from envalign.envs.registry import make, spec

    card = spec(env_id)
    trained, others = "agent", {}
    if card.multi_agent:
        env = make(card.id, **env_kwargs)
        agents = list(env.possible_agents)
        env.close()
        trained = agent or agents[0]
        if trained not in agents:
            raise ConfigError(f"{card.id} has agents {agents}; '{trained}' is not one of them.")
        others = _opponent_names(opponents, [a for a in agents if a != trained], card.id)
    name = card.id.split("/")[-1].replace("-", "_")
    attributes = {
        "env_id": card.id,
        "agent": trained,
        "env_kwargs": env_kwargs,
        "opponents": others,
        "_policy_cache": {},
    }
    return type(name, (EnvalignToolEnvironment,), attributes)


def tool_prompts(
    env_id: str, n: int, seed: int = 0, *, system_prompt: str | None = None
) -> list[dict[str, Any]]:
    """``n`` rows ``{"prompt": [system, user], "seed": s}``; ``reset`` appends the observation.

    Args:
        env_id: The environment id (its own system prompt is kept, followed by the tool instruction).
        n: Number of rows.
        seed: The first seed.
        system_prompt: Replace the environment's system prompt.
    """
    from envalign.envs.registry import make

    env = make(env_id)
    own = system_prompt or getattr(env.unwrapped, "system_prompt", "") or ""
    env.close()
    system = f"{own}\n\n{TOOL_INSTRUCTION}".strip()
    return [
        {
            "prompt": [
                {"role": "system", "content": system},
                {"role": "user", "content": "The episode begins.\n"},
            ],
            "seed": s,
        }
        for s in range(seed, seed + n)
    ]


def tool_dataset(env_id: str, n: int, seed: int = 0, **kwargs: Any) -> Any:
    """A ``datasets.Dataset`` of :func:`tool_prompts` for TRL's ``train_dataset``.

    Raises:
        DependencyNotInstalled: If ``datasets`` is missing.
    """
    from envalign.training.trl import rows_to_dataset

    return rows_to_dataset(tool_prompts(env_id, n, seed, **kwargs))


def _opponent_names(
    opponents: str | Mapping[str, str], others: list[str], env_id: str
) -> dict[str, str]:
    if isinstance(opponents, str):
        return dict.fromkeys(others, opponents)
    missing = [a for a in others if a not in opponents]
    if missing:
        raise ConfigError(f"{env_id}: no opponent policy for {missing}; give one per other agent.")
    return {a: opponents[a] for a in others}
