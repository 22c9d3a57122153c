"""The env worker: a Ray actor that hosts a share of the episodes in flight.

Each worker holds an :class:`~envalign.training.episode_host.EpisodeHost`, so its environments
(and, for tool environments, the sandbox sessions of its process-wide pool) live on the node the
actor runs on. Baselines (:class:`~envalign.agents.baselines.BaselinePolicy`: ``random``,
``scripted`` and the environments' named policies) act inside the worker, where they can read the
live environment; every other turn goes back to the driver as a :class:`TurnTicket` and is
generated there in one batch per policy.

The class is plain Python; :mod:`envalign.training.scale.ray_runner` wraps it with ``ray.remote``.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envalign.agents.base import Generation, Policy
from envalign.agents.baselines import BaselinePolicy
from envalign.training.episode_host import EpisodeHost, PendingTurn, act_by_policy
from envalign.training.episodes import Episode


@dataclass
class WorkerRole:
    """How a worker treats one agent (or ``"*"``, every agent not named).

    Attributes:
        name: The policy's name, recorded in ``Episode.policies``.
        policy: The policy to run inside the worker, or ``None`` when the driver generates.
    """

    name: str
    policy: Policy | None = None


@dataclass
class TurnTicket:
    """A turn the driver must generate: the request without the live environment.

    Attributes:
        index: The episode's position in the run.
        agent: The agent that acts.
        messages: Its conversation (windowed), ending with the newest observation.
        observation: Its latest observation.
        info: Its latest ``info``.
        valid_actions: Admissible actions, when the environment lists them.
    """

    index: int
    agent: str
    messages: list[dict[str, str]]
    observation: Any
    info: dict[str, Any]
    valid_actions: list[str] | None = None


@dataclass
class StepReport:
    """What one :meth:`EnvWorker.step` call hands back.

    Attributes:
        finished: ``(index, episode)`` of the episodes that ended since the last call.
        tickets: Turns the driver must generate before the next call.
        live: Indices of the episodes in flight.
        backlog: Episodes assigned to the worker and not started yet.
    """

    finished: list[tuple[int, Episode]] = field(default_factory=list)
    tickets: list[TurnTicket] = field(default_factory=list)
    live: list[int] = field(default_factory=list)
    backlog: int = 0


def role_for(roles: Mapping[str, WorkerRole], agent: str) -> WorkerRole:
    """The role of ``agent``: its own entry, else the ``"*"`` default."""
    if agent in roles:
        return roles[agent]
    if "*" in roles:
        return roles["*"]
    raise ValueError(f"No policy for agent '{agent}' (policies given for: {', '.join(roles)}).")


def runs_in_worker(policy: Policy) -> bool:
    """Whether ``policy`` acts inside the env worker (baselines read the live environment)."""
    return isinstance(policy, BaselinePolicy)


class EnvWorker:
    """Host up to ``capacity`` episodes at once, starting assigned seeds as slots free up.

    Args:
        env_id: A registered environment id.
        roles: ``{agent or "*": WorkerRole}``.
        capacity: Episodes in flight at once in this worker.
        env_kwargs: Keyword arguments for the environment.
        system_prompt: Override of every agent's system message.
        history: Earlier exchanges kept in each prompt (``None``: all).
    """

    def __init__(
        self,
        env_id: str,
        roles: Mapping[str, WorkerRole],
        *,
        capacity: int,
        env_kwargs: Mapping[str, Any] | None = None,
        system_prompt: str | None = None,
        history: int | None = None,
    ) -> None:
        self.roles = dict(roles)
        self.capacity = capacity
        self.host = EpisodeHost(
            env_id,
            env_kwargs=env_kwargs,
            system_prompt=system_prompt,
            history=history,
            policy_name=lambda agent: role_for(self.roles, agent).name,
        )
        self.backlog: deque[tuple[int, int]] = deque()
        self.held: dict[int, dict[str, Generation]] = {}

    def pid(self) -> int:
        """The worker process's id (tests kill it to check fault tolerance)."""
        return os.getpid()

    def step(
        self,
        generations: Mapping[int, Mapping[str, Generation]],
        assigned: list[tuple[int, int]],
    ) -> StepReport:
        """Apply the driver's generations, start assigned episodes, play baselines' turns.

        Episodes whose turns are all played here keep stepping inside this call until the driver
        has something to generate, ``capacity`` episodes have ended (one round trip per that
        many episodes, not per step), or nothing is left in flight.

        Args:
            generations: ``{index: {agent: generation}}`` for the tickets of the last report.
            assigned: ``(index, seed)`` pairs to start when slots free up, in order.

        Returns:
            The finished episodes, the driver's tickets and the worker's load.
        """
        self.backlog.extend(assigned)
        finished = self.host.advance(self._merged(generations))
        while True:
            while self.backlog and self.host.in_flight < self.capacity:
                self.host.start(*self.backlog.popleft())
            tickets = self._collect()
            if tickets or len(finished) >= self.capacity or not self.host.in_flight:
                return StepReport(finished, tickets, list(self.host.live), len(self.backlog))
            finished += self.host.advance(self._merged({}))

    def abandon(self) -> None:
        """Drop every episode in flight and every assignment (the driver gave up on them)."""
        self.host.close()
        self.backlog.clear()
        self.held = {}

    def shutdown(self) -> None:
        """Abandon everything and close this process's sandbox sessions (containers go away)."""
        from envalign.envs.tools.sessions import close_shared_pool

        self.abandon()
        close_shared_pool()

    def _merged(
        self, generations: Mapping[int, Mapping[str, Generation]]
    ) -> dict[int, dict[str, Generation]]:
        merged, self.held = self.held, {}
        for index, by_agent in generations.items():
            merged.setdefault(index, {}).update(by_agent)
        return merged

    def _collect(self) -> list[TurnTicket]:
        """Play the worker-side turns now (kept for the next advance); ticket the others."""
        local: list[PendingTurn] = []
        tickets = []
        for turn in self.host.pending():
            if role_for(self.roles, turn.agent).policy is not None:
                local.append(turn)
                continue
            context = turn.request.context
            tickets.append(
                TurnTicket(
                    turn.index,
                    turn.agent,
                    turn.request.messages,
                    context.observation,
                    context.info,
                    turn.request.valid_actions,
                )
            )
        if local:
            self.held = act_by_policy(local, self._worker_policy)
        return tickets

    def _worker_policy(self, agent: str) -> Policy:
        policy = role_for(self.roles, agent).policy
        assert policy is not None
        return policy
