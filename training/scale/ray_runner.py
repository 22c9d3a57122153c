"""``RayRunner``: the batched runner with its environments spread over Ray actors.

The driver keeps the policies that generate (models: one batch per policy per tick, on the
learner's GPU); env workers (:class:`~envalign.training.scale.worker.EnvWorker` actors, on any
node) hold the environments, their sandbox sessions and the baselines. Every tick the driver sends
each worker the generations for its tickets, gets back the finished episodes and the next tickets
(all workers in parallel), and batches the tickets per policy.

A worker that dies costs only its episodes in flight: they restart from their seeds on the other
workers or a replacement actor, and finished episodes were already handed over. Ray restarts
actors (``max_restarts``) and retries tasks (``max_task_retries``), but an episode's state lives in
its worker, so a retried ``step`` on a fresh actor would find nothing: the unit of retry here is the
episode, replayed from its seed.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from envalign.agents.base import Generation, SamplingParams, TurnRequest
from envalign.envs.core import ActContext, agent_rng
from envalign.envs.errors import ConfigError, DependencyNotInstalled, RolloutWorkerLost
from envalign.training.episode_host import PendingTurn, act_by_policy
from envalign.training.episodes import Episode
from envalign.training.rollout import PolicyMap, Runner
from envalign.training.scale.worker import (
    EnvWorker,
    StepReport,
    TurnTicket,
    WorkerRole,
    runs_in_worker,
)

#: Seconds to wait for the workers to come up before blaming the cluster's resources.
STARTUP_TIMEOUT_S = 180.0
#: Seconds to wait for free CPUs (those of actors just ended take a moment to be counted).
RESOURCE_WAIT_S = 30.0


def import_ray() -> Any:
    """Import ray, or say how to install it.

    Raises:
        DependencyNotInstalled: Naming ``pip install "envalign[ray]"``.
    """
    try:
        import ray
    except ImportError as error:
        raise DependencyNotInstalled("ray", "ray", "run episodes on a Ray cluster") from error
    return ray


class RemoteEnvironment:
    """Stands in for ``context.env`` of driver-side policies: the environment lives in a worker.

    Driver-side policies (models) see ``agent``, ``observation``, ``info`` and ``rng`` of their
    :class:`~envalign.envs.core.ActContext`; reading the live environment is what baselines do,
    and they run inside the worker. The object is stable per episode (policies may key on it).
    """

    def __init__(self, env_id: str, index: int, seed: int) -> None:
        self.env_id, self.index, self.seed = env_id, index, seed

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"context.env.{name}: episode {self.index} (seed {self.seed}) of {self.env_id} runs "
            "in a Ray env worker, so driver-side policies do not see the live environment. "
            "Use a baseline (it runs inside the worker) or run without Ray."
        )

    def __repr__(self) -> str:
        return f"RemoteEnvironment({self.env_id!r}, index={self.index}, seed={self.seed})"


@dataclass
class Retry:
    """An episode restarted from its seed because its worker died.

    Attributes:
        index: The episode's position in the run.
        seed: Its seed.
        worker: Number of the worker that died.
        reason: Ray's error, first line.
    """

    index: int
    seed: int
    worker: int
    reason: str


@dataclass
class _Slot:
    """One env worker as the driver sees it."""

    number: int
    actor: Any
    capacity: int
    assigned: set[int] = field(default_factory=set)
    live: set[int] = field(default_factory=set)
    backlog: int = 0
    generations: dict[int, dict[str, Generation]] = field(default_factory=dict)
    new: list[tuple[int, int]] = field(default_factory=list)


class RayRunner(Runner):
    """A :class:`~envalign.training.rollout.Runner` whose environments run in Ray actors.

    Same arguments and results as ``Runner``; with deterministic policies (baselines, greedy
    models) the same seeds give the same episodes as the local runner. Driver-side policies get a
    :class:`RemoteEnvironment` as ``context.env``. Actors live across :meth:`run` calls until
    :meth:`close` (or the ``with`` block) ends them.

    Args:
        env_id: A registered environment id.
        policies: As for ``Runner``; baselines (by name or as ``BaselinePolicy``) run in the
            workers, every other policy stays on the driver and is never pickled.
        env_kwargs: Keyword arguments for the environment.
        concurrency: Episodes in flight at once, over all workers.
        system_prompt: Override of every agent's system message.
        sampling: Sampling parameters for LLM policies given by name.
        history: Earlier exchanges kept in each prompt (``None``: all).
        workers: Env worker actors.
        address: Ray cluster to join: ``"auto"``, ``"ray://HOST:PORT"``, ``"HOST:PORT"``; ``None``
            starts a local Ray. An already initialised Ray is used as it is.
        worker_cpus: CPUs each worker reserves on the cluster.
        max_retries: Restarts of one episode after worker deaths before the run reports it lost.
    """

    def __init__(
        self,
        env_id: str,
        policies: PolicyMap = "random",
        *,
        env_kwargs: Mapping[str, Any] | None = None,
        concurrency: int = 8,
        system_prompt: str | None = None,
        sampling: SamplingParams | None = None,
        history: int | None = None,
        workers: int = 2,
        address: str | None = None,
        worker_cpus: float = 1.0,
        max_retries: int = 3,
    ) -> None:
        super().__init__(
            env_id,
            policies,
            env_kwargs=env_kwargs,
            concurrency=concurrency,
            system_prompt=system_prompt,
            sampling=sampling,
            history=history,
        )
        if workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}.")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}.")
        #: More workers than episodes in flight would sit idle (and each is a process).
        self.workers = min(workers, self.concurrency)
        self.address = address
        self.worker_cpus = worker_cpus
        self.max_retries = max_retries
        #: Episodes restarted after worker deaths in the last :meth:`run`.
        self.retries: list[Retry] = []
        #: Seconds of the last :meth:`run` spent generating on the driver and waiting for the
        #: workers (environments, sandboxes, baselines and transfer), and its ticks.
        self.timing: dict[str, float] = {}
        self._slots: list[_Slot] = []
        self._started_ray = False
        self._spawned = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def actors(self) -> list[Any]:
        """The live worker actor handles, in slot order."""
        return [slot.actor for slot in self._slots]

    def worker_pids(self) -> list[int]:
        """Process ids of the workers (starting them if needed)."""
        ray = self._start()
        return list(ray.get([slot.actor.pid.remote() for slot in self._slots]))

    def close(self) -> None:
        """End the workers (their sandbox sessions close) and a Ray this runner started."""
        ray = import_ray()
        for slot in self._slots:
            try:
                ray.get(slot.actor.shutdown.remote(), timeout=60)
            except Exception:  # a dead or hung worker is killed below all the same
                pass
            ray.kill(slot.actor)
        self._slots = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> RayRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> Any:
        """Join or start Ray and the workers; the seconds it takes count as ``load_time_s``."""
        ray = import_ray()
        if ray.is_initialized() and self._slots:
            return ray
        starting = time.monotonic()
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address is None:
                needed = math.ceil(self.workers * self.worker_cpus)
                options["num_cpus"] = max(os.cpu_count() or 1, needed)
            else:
                options["address"] = self.address
            try:
                ray.init(**options)
            except (ConnectionError, ValueError) as error:
                raise ConfigError(
                    f"Cannot reach Ray at '{self.address}': {str(error).rstrip('.')}. Pass local, auto (a cluster "
                    "started with `ray start --head`), HOST:PORT or ray://HOST:PORT of a running "
                    "cluster."
                ) from error
            self._started_ray = True
        if not self._slots:
            self._check_resources(ray)
            shares = [self.concurrency // self.workers] * self.workers
            for number in range(self.concurrency % self.workers):
                shares[number] += 1
            self._slots = [self._spawn(max(1, share)) for share in shares]
            try:
                ray.get(
                    [slot.actor.pid.remote() for slot in self._slots], timeout=STARTUP_TIMEOUT_S
                )
            except ray.exceptions.GetTimeoutError as error:
                raise ConfigError(
                    f"{self.workers} Ray env workers did not start in {STARTUP_TIMEOUT_S:.0f}s; "
                    f"the cluster has {ray.available_resources().get('CPU', 0)} free CPUs "
                    f"and each worker reserves {self.worker_cpus}. Lower workers or worker_cpus."
                ) from error
        self.load_time_s += time.monotonic() - starting
        return ray

    def _check_resources(self, ray: Any) -> None:
        """Wait (a while) for the CPUs the workers reserve; freed actors take a moment to count."""
        needed = self.workers * self.worker_cpus
        deadline = time.monotonic() + RESOURCE_WAIT_S
        free = ray.available_resources().get("CPU", 0.0)
        while free < needed and time.monotonic() < deadline:
            time.sleep(0.2)  # polling Ray's resource view until the deadline
            free = ray.available_resources().get("CPU", 0.0)
        if free < needed:
            raise ConfigError(
                f"workers={self.workers} need {needed:g} CPUs on the Ray cluster but {free:g} "
                "are free. Lower workers, lower worker_cpus, or add nodes."
            )

    def _spawn(self, capacity: int) -> _Slot:
        ray = import_ray()
        roles = self._roles()
        actor_class = ray.remote(num_cpus=self.worker_cpus, max_restarts=0)(EnvWorker)
        try:
            actor = actor_class.remote(
                self.env_id,
                roles,
                capacity=capacity,
                env_kwargs=self.env_kwargs,
                system_prompt=self.system_prompt,
                history=self.history,
            )
        except TypeError as error:  # Ray could not pickle an argument for the worker
            raise ConfigError(
                f"Ray cannot send the environment's arguments or the worker-side policies to an "
                f"env worker: {str(error).splitlines()[0]} Pass picklable env_kwargs and "
                "policies, or run without Ray."
            ) from error
        self._spawned += 1
        return _Slot(self._spawned - 1, actor, capacity)

    def _roles(self) -> dict[str, WorkerRole]:
        chosen = self._policy_spec
        keys = list(chosen) if isinstance(chosen, Mapping) else ["*"]
        roles = {}
        for key in keys:
            policy = self.policy_for(key)
            roles[key] = WorkerRole(policy.name, policy if runs_in_worker(policy) else None)
        return roles

    # ------------------------------------------------------------------ the run

    def run(
        self,
        seeds: Iterable[int],
        *,
        on_episode: Callable[[Episode], None] | None = None,
    ) -> list[Episode]:
        """Play one episode per seed on the workers and return them in the order of ``seeds``.

        Raises:
            RolloutWorkerLost: After the run, if an episode lost its worker more than
                ``max_retries`` times (every other episode is finished and handed over first).
        """
        ray = self._start()
        run = _Run(self, list(enumerate(seeds)), on_episode)
        self.retries = run.retries
        self.timing = {"driver_generate_s": 0.0, "worker_wait_s": 0.0, "ticks": 0}
        try:
            while run.queue or any(slot.assigned for slot in self._slots):
                run.deal()
                waiting = time.perf_counter()
                reports = self._exchange(ray, run)
                generating = time.perf_counter()
                tickets = [(slot, ticket) for slot, report in reports for ticket in report.tickets]
                tickets.sort(key=lambda pair: pair[1].index)
                run.generate(tickets)
                self.timing["worker_wait_s"] += generating - waiting
                self.timing["driver_generate_s"] += time.perf_counter() - generating
                self.timing["ticks"] += 1
        except BaseException:
            self._abandon(ray)
            raise
        if run.lost:
            raise RolloutWorkerLost(run.lost_message())
        return [run.finished[index] for index in sorted(run.finished)]

    def _exchange(self, ray: Any, run: _Run) -> list[tuple[_Slot, StepReport]]:
        """One ``step`` call per busy worker, all in flight at once; dead workers are replaced."""
        calls = []
        for slot in self._slots:
            if slot.assigned or slot.new:
                generations, slot.generations = slot.generations, {}
                new, slot.new = slot.new, []
                calls.append((slot, slot.actor.step.remote(generations, new)))
        reports = []
        for slot, call in calls:
            try:
                report = ray.get(call)
            except ray.exceptions.RayActorError as error:
                run.worker_died(slot, error)
                self._replace(ray, slot)
                continue
            run.take(slot, report)
            reports.append((slot, report))
        return reports

    def _replace(self, ray: Any, slot: _Slot) -> None:
        ray.kill(slot.actor)
        if self._spawned >= self.workers * (self.max_retries + 2):
            raise RolloutWorkerLost(
                f"{self._spawned - self.workers} Ray env workers died in this runner; giving up. "
                "Check the worker logs (out of memory? a crashing environment?)."
            )
        fresh = self._spawn(slot.capacity)
        self._slots[self._slots.index(slot)] = fresh

    def _abandon(self, ray: Any) -> None:
        """After an error or Ctrl-C: workers drop their episodes so the next run starts clean."""
        for slot in self._slots:
            slot.assigned.clear()
            slot.live.clear()
            slot.generations, slot.new = {}, []
        try:
            ray.get([slot.actor.abandon.remote() for slot in self._slots], timeout=60)
        except Exception:  # a dead worker has nothing left to drop
            pass


class _Run:
    """The driver's bookkeeping for one :meth:`RayRunner.run`."""

    def __init__(
        self,
        runner: RayRunner,
        items: list[tuple[int, int]],
        on_episode: Callable[[Episode], None] | None,
    ) -> None:
        self.runner = runner
        self.seeds = dict(items)
        self.queue: deque[tuple[int, int]] = deque(items)
        self.on_episode = on_episode
        self.finished: dict[int, Episode] = {}
        self.attempts: dict[int, int] = {}
        self.retries: list[Retry] = []
        self.lost: dict[int, str] = {}
        self.rngs: dict[tuple[int, str], Any] = {}
        self.envs: dict[int, RemoteEnvironment] = {}

    def deal(self) -> None:
        """Hand queued seeds round-robin to workers holding less than twice their capacity."""
        slots = self.runner._slots
        wants = [2 * s.capacity - len(s.live) - s.backlog - len(s.new) for s in slots]
        while self.queue and any(want > 0 for want in wants):
            for number, slot in enumerate(slots):
                if self.queue and wants[number] > 0:
                    index, seed = self.queue.popleft()
                    slot.new.append((index, seed))
                    slot.assigned.add(index)
                    wants[number] -= 1

    def take(self, slot: _Slot, report: StepReport) -> None:
        """Keep the worker's finished episodes and its load."""
        for index, episode in report.finished:
            slot.assigned.discard(index)
            self._forget(index)
            self.finished[index] = episode
            if self.on_episode is not None:
                self.on_episode(episode)
        slot.live, slot.backlog = set(report.live), report.backlog

    def worker_died(self, slot: _Slot, error: BaseException) -> None:
        """Queue the dead worker's episodes again; those it had started count as retries."""
        text = str(error).strip()
        reason = text.splitlines()[0] if text else type(error).__name__
        again = []
        for index in sorted(slot.assigned):
            seed = self.seeds[index]
            self._forget(index)
            if index in slot.live:
                self.attempts[index] = self.attempts.get(index, 0) + 1
                self.retries.append(Retry(index, seed, slot.number, reason))
                if self.attempts[index] > self.runner.max_retries:
                    self.lost[index] = reason
                    continue
            again.append((index, seed))
        self.queue.extendleft(reversed(again))
        slot.assigned.clear()

    def generate(self, tickets: list[tuple[_Slot, TurnTicket]]) -> None:
        """Batch every ticket per policy on the driver and route the generations back."""
        turns = [PendingTurn(t.index, t.agent, self._request(t)) for _, t in tickets]
        generations = act_by_policy(turns, self.runner.policy_for)
        for slot, ticket in tickets:
            by_agent = slot.generations.setdefault(ticket.index, {})
            by_agent[ticket.agent] = generations[ticket.index][ticket.agent]

    def lost_message(self) -> str:
        """Which episodes were given up, and what to check."""
        lost = ", ".join(f"{index} (seed {self.seeds[index]})" for index in sorted(self.lost))
        return (
            f"Episodes {lost} lost their Ray env worker more than {self.runner.max_retries} "
            f"times (last error: {next(iter(self.lost.values()))}); the other "
            f"{len(self.finished)} episodes finished and were handed over. An episode that "
            "keeps killing its worker may exhaust its memory; check the worker logs."
        )

    def _request(self, ticket: TurnTicket) -> TurnRequest:
        seed = self.seeds[ticket.index]
        key = (ticket.index, ticket.agent)
        if key not in self.rngs:
            self.rngs[key] = agent_rng(seed, ticket.agent)
        if ticket.index not in self.envs:
            self.envs[ticket.index] = RemoteEnvironment(self.runner.env_id, ticket.index, seed)
        context = ActContext(
            env=self.envs[ticket.index],
            agent=ticket.agent,
            observation=ticket.observation,
            info=ticket.info,
            rng=self.rngs[key],
        )
        return TurnRequest(ticket.messages, context, ticket.valid_actions)

    def _forget(self, index: int) -> None:
        self.envs.pop(index, None)
        for key in [key for key in self.rngs if key[0] == index]:
            del self.rngs[key]
