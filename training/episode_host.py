"""Episodes in flight in one process: start them, list their pending turns, step them, finish them.

:class:`EpisodeHost` is the environment half of a rollout. The local
:class:`~envalign.training.rollout.Runner` drives one in its own process; on a Ray cluster every
env worker actor holds one (:mod:`envalign.training.scale`), so environments and their sandbox
sessions live wherever the worker runs while generation stays batched on the driver.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from envalign.agents.base import Generation, Policy, TurnRequest, valid_actions_of
from envalign.envs.core import SINGLE_AGENT, ActContext, agent_rng
from envalign.envs.registry import make, spec
from envalign.envs.spaces import observation_text
from envalign.training.episodes import Episode, TurnRecord

DEFAULT_SYSTEM_PROMPT = (
    "You are an agent in a text environment. Read the observation and reply with your action only."
)
#: ``info`` keys of the step schema (DESIGN.md); other JSON-serialisable keys go to ``extras``.
SCHEMA_KEYS = frozenset(
    {"reward_components", "feedback", "valid_actions", "task_id", "metrics", "acting"}
)


@dataclass
class PendingTurn:
    """One agent of one episode in flight that must act now.

    Attributes:
        index: The episode's position in the run (its key everywhere).
        agent: The agent that acts.
        request: What its policy is given; ``request.context.env`` is the live environment.
    """

    index: int
    agent: str
    request: TurnRequest


@dataclass
class _Live:
    """An episode in flight."""

    index: int
    seed: int
    env: Any
    agents: list[str]
    observations: dict[str, Any]
    infos: dict[str, dict[str, Any]]
    conversations: dict[str, list[dict[str, str]]]
    rngs: dict[str, random.Random]
    turns: list[TurnRecord] = field(default_factory=list)
    returns: dict[str, float] = field(default_factory=dict)
    step: int = 0
    started: float = field(default_factory=time.monotonic)
    done: bool = False
    terminated: bool = False
    task_id: str = ""


def info_extras(info: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-serialisable entries of ``info`` beyond the schema (e.g. ``interaction``)."""
    extras: dict[str, Any] = {}
    for key, value in info.items():
        if key in SCHEMA_KEYS:
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue  # live objects (tools, sessions) are not records
        extras[key] = value
    return extras


def act_by_policy(
    turns: Sequence[PendingTurn], policy_for: Callable[[str], Policy]
) -> dict[int, dict[str, Generation]]:
    """Call each policy once on all of its turns and return ``{index: {agent: generation}}``.

    Raises:
        RuntimeError: If a policy returns a different number of generations than requests.
    """
    pending: dict[int, list[PendingTurn]] = defaultdict(list)
    policies: dict[int, Policy] = {}
    for turn in turns:
        policy = policy_for(turn.agent)
        policies[id(policy)] = policy
        pending[id(policy)].append(turn)
    actions: dict[int, dict[str, Generation]] = defaultdict(dict)
    for key, batch in pending.items():
        generations = policies[key].act([turn.request for turn in batch])
        if len(generations) != len(batch):
            raise RuntimeError(
                f"Policy '{policies[key].name}' returned {len(generations)} generations for "
                f"{len(batch)} requests."
            )
        for turn, generation in zip(batch, generations, strict=True):
            actions[turn.index][turn.agent] = generation
    return dict(actions)


def prompt_window(conversation: list[dict[str, str]], history: int | None) -> list[dict[str, str]]:
    """The system message, the last ``history`` exchanges and the new observation (all: None)."""
    if history is None or len(conversation) <= 2 + 2 * history:
        return list(conversation)
    return [conversation[0], *conversation[len(conversation) - 1 - 2 * history :]]


class EpisodeHost:
    """Hold episodes of one environment in flight and step them with the generations given.

    Args:
        env_id: A registered environment id.
        env_kwargs: Keyword arguments for the environment.
        system_prompt: The first message of every conversation; defaults to the environment's
            ``system_prompt`` attribute or a generic instruction.
        history: Earlier exchanges kept in each prompt after the system message (``None``: all).
        policy_name: Name recorded in ``Episode.policies`` for an agent.
        isolate_errors: Catch an exception raised while building, resetting or stepping one
            episode (a sandbox that failed, a broken environment): that episode is dropped and
            listed in :attr:`failures` instead of ending every episode in flight.
        max_steps: Truncate every episode after this many environment steps (``None``: the
            environment's own limit).
    """

    def __init__(
        self,
        env_id: str,
        *,
        env_kwargs: Mapping[str, Any] | None = None,
        system_prompt: str | None = None,
        history: int | None = None,
        policy_name: Callable[[str], str],
        isolate_errors: bool = False,
        max_steps: int | None = None,
    ) -> None:
        self.env_id = env_id
        self.card = spec(env_id)
        self.env_kwargs = dict(env_kwargs or {})
        self.system_prompt = system_prompt
        self.history = history
        self.policy_name = policy_name
        self.live: dict[int, _Live] = {}
        self.isolate_errors = isolate_errors
        self.max_steps = max_steps
        #: ``(index, seed, one-line reason)`` of each episode dropped by ``isolate_errors``.
        self.failures: list[tuple[int, int, str]] = []

    @property
    def in_flight(self) -> int:
        """Episodes started and not yet finished."""
        return len(self.live)

    def start(self, index: int, seed: int) -> None:
        """Build the environment and reset it with ``seed``."""
        try:
            self._start(index, seed)
        except Exception as error:
            if not self.isolate_errors:
                raise
            self.failures.append((index, seed, _one_line(error)))

    def _start(self, index: int, seed: int) -> None:
        env = make(self.env_id, **self.env_kwargs)
        observation, info = env.reset(seed=seed)
        if self.card.multi_agent:
            agents = list(env.agents)
            observations, infos = dict(observation), dict(info)
        else:
            agents = [SINGLE_AGENT]
            observations, infos = {SINGLE_AGENT: observation}, {SINGLE_AGENT: info}
        own_prompt = getattr(env.unwrapped, "system_prompt", None)
        prompt = str(self.system_prompt or own_prompt or DEFAULT_SYSTEM_PROMPT)
        first_info: dict[str, Any] = next(iter(infos.values()), {})
        self.live[index] = _Live(
            index=index,
            seed=seed,
            env=env,
            agents=agents,
            observations=observations,
            infos=infos,
            conversations={agent: [{"role": "system", "content": prompt}] for agent in agents},
            rngs={agent: agent_rng(seed, agent) for agent in agents},
            returns=dict.fromkeys(agents, 0.0),
            task_id=str(first_info.get("task_id", "")),
        )

    def pending(self) -> list[PendingTurn]:
        """Every turn due now, in episode order; the observation joins each conversation.

        Call it once per step, then :meth:`advance` with the generations.
        """
        turns = []
        for episode in self.live.values():
            for agent in self._acting(episode):
                text = observation_text(episode.observations[agent])
                episode.conversations[agent].append({"role": "user", "content": text})
                context = ActContext(
                    env=episode.env.unwrapped,
                    agent=agent,
                    observation=episode.observations[agent],
                    info=episode.infos[agent],
                    rng=episode.rngs[agent],
                )
                request = TurnRequest(
                    messages=prompt_window(episode.conversations[agent], self.history),
                    context=context,
                    valid_actions=valid_actions_of(episode.infos[agent]),
                )
                turns.append(PendingTurn(episode.index, agent, request))
        return turns

    def advance(
        self, generations: Mapping[int, Mapping[str, Generation]]
    ) -> list[tuple[int, Episode]]:
        """Step every episode in flight with its generations; return (and drop) those that ended.

        Returns:
            ``(index, episode)`` of each episode that ended, in episode order.
        """
        finished = []
        for episode in list(self.live.values()):
            try:
                self._step(episode, generations.get(episode.index, {}))
            except Exception as error:
                if not self.isolate_errors:
                    raise
                self.failures.append((episode.index, episode.seed, _one_line(error)))
                self._discard(episode.index)
                continue
            if episode.done:
                del self.live[episode.index]
                finished.append((episode.index, self._finish(episode)))
        return finished

    def drop(self, index: int) -> None:
        """Abandon one episode in flight (its environment is closed)."""
        episode = self.live.pop(index, None)
        if episode is not None:
            episode.env.close()

    def _discard(self, index: int) -> None:
        """Drop a failed episode; its environment may fail to close as well."""
        try:
            self.drop(index)
        except Exception:  # already counted as failed; a second error adds nothing
            self.live.pop(index, None)

    def close(self) -> None:
        """Abandon every episode in flight."""
        for index in list(self.live):
            self.drop(index)

    def _acting(self, episode: _Live) -> list[str]:
        if not self.card.multi_agent:
            return [SINGLE_AGENT]
        return [a for a in episode.env.agents if episode.infos.get(a, {}).get("acting", True)]

    def _step(self, episode: _Live, generations: Mapping[str, Generation]) -> None:
        if self.card.multi_agent:
            moves = {agent: "" for agent in episode.env.agents}
            moves.update({agent: g.text for agent, g in generations.items()})
            observations, rewards, terminations, truncations, infos = episode.env.step(moves)
            ended = not episode.env.agents
            terminated = ended and any(terminations.values())
        else:
            obs, reward, term, trunc, info = episode.env.step(generations[SINGLE_AGENT].text)
            observations, rewards, infos = (
                {SINGLE_AGENT: obs},
                {SINGLE_AGENT: reward},
                {SINGLE_AGENT: info},
            )
            ended, terminated = bool(term or trunc), bool(term)
        for agent, reward in rewards.items():
            episode.returns[agent] = episode.returns.get(agent, 0.0) + float(reward)
        for agent, generation in generations.items():
            episode.conversations[agent].append({"role": "assistant", "content": generation.text})
            episode.turns.append(self._record(episode, agent, generation, rewards, infos))
        episode.observations.update(observations)
        episode.infos.update(infos)
        episode.step += 1
        episode.done, episode.terminated = ended, terminated
        if self.max_steps is not None and episode.step >= self.max_steps and not ended:
            episode.done = True  # truncated: the record says terminated=False

    def _record(
        self,
        episode: _Live,
        agent: str,
        generation: Generation,
        rewards: Mapping[str, Any],
        infos: Mapping[str, dict[str, Any]],
    ) -> TurnRecord:
        info = infos.get(agent, {})
        return TurnRecord(
            agent=agent,
            step=episode.step,
            observation=episode.conversations[agent][-2]["content"],
            action=generation.text,
            reward=float(rewards.get(agent, 0.0)),
            reward_components=dict(info.get("reward_components", {})),
            feedback=str(info.get("feedback", "")),
            token_ids=list(generation.token_ids),
            logprobs=generation.logprobs,
            prompt_token_ids=generation.prompt_token_ids,
            valid_actions=valid_actions_of(episode.infos.get(agent, {})),
            metrics=dict(info.get("metrics", {})),
            finish_reason=generation.finish_reason,
            extras=info_extras(info),
        )

    def _finish(self, episode: _Live) -> Episode:
        episode.env.close()
        metrics = {
            agent: dict(episode.infos.get(agent, {}).get("metrics", {})) for agent in episode.agents
        }
        success = {
            agent: (bool(m["success"]) if "success" in m else None) for agent, m in metrics.items()
        }
        return Episode(
            env_id=self.env_id,
            seed=episode.seed,
            task_id=episode.task_id,
            agents=episode.agents,
            policies={agent: self.policy_name(agent) for agent in episode.agents},
            system_prompts={a: c[0]["content"] for a, c in episode.conversations.items()},
            turns=episode.turns,
            returns=episode.returns,
            success=success,
            steps=episode.step,
            terminated=episode.terminated,
            metrics=metrics,
            wall_time_s=time.monotonic() - episode.started,
            env_kwargs=self.env_kwargs,
        )


def _one_line(error: BaseException) -> str:
    """``Type: message`` of ``error`` on one line."""
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text}"[:500]
