"""One OpenEnv session of an envalign environment, and the state all sessions of a server share.

OpenEnv's server (``create_app``) builds one :class:`EnvalignSession` per WebSocket and runs its
``reset``/``step`` in that session's own thread. A single-agent environment is built for the session
on its first ``reset``; in a multi-agent game the session joins a table of
:mod:`~envalign.training.serving.tables`. When the socket closes, OpenEnv calls :meth:`close`, which
closes the environment (giving its sandbox back to the pool) or forfeits the seat.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import EnvironmentMetadata

from envalign.agents.base import Policy, TurnRequest, valid_actions_of
from envalign.agents.baselines import baseline_policy
from envalign.agents.registry import resolve_policy
from envalign.envs.core import SINGLE_AGENT, ActContext, agent_rng
from envalign.envs.registry import make, spec
from envalign.envs.remote.models import EpisodeState, TextAction, TextObservation
from envalign.envs.spaces import observation_text
from envalign.errors import ConfigError
from envalign.training.serving.config import CLIENT, ServeConfig
from envalign.training.serving.tables import Delivery, Lobby, Table, TableError

RESET_OPTIONS = ("seed", "episode_id", "options", "seat", "table")


def json_safe(value: Any) -> Any:
    """Return ``value`` as JSON data.

    Numpy scalars and arrays become numbers and lists, text becomes valid UTF-8, non-finite floats
    become ``None``, and live objects (tools, sessions) are dropped.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        safe = {}
        for key, item in value.items():
            converted = json_safe(item)
            if converted is not _DROP:
                safe[str(key)] = converted
        return safe
    if isinstance(value, (list, tuple)):
        return [item for item in map(json_safe, value) if item is not _DROP]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return json_safe(value.tolist())
    return _DROP


_DROP = object()


class Hub:
    """What every session of one server shares: the card, the sandbox pool, the lobby, counters.

    Args:
        config: The server's configuration.

    Raises:
        ConfigError: If a seat or policy name is wrong (checked before the server starts).
        SandboxUnavailable: If the environment needs Docker and no sandbox can start.
    """

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.card = spec(config.env_id)
        self._lock = threading.Lock()
        self._live: dict[int, EnvalignSession] = {}
        self._baselines: dict[str, Policy] = {}
        self.pool: Any = None
        self.system_prompt = ""
        probe = make(config.env_id, **config.env_kwargs)
        try:
            self.agents = list(getattr(probe, "possible_agents", ["agent"]))
            self.system_prompt = str(getattr(probe.unwrapped, "system_prompt", "") or "")
            self.max_action_length = int(getattr(probe.unwrapped, "max_action_length", 0) or 0)
        finally:
            probe.close()
        self.seats = config.resolve_seats(self.card, self.agents)
        self.lobby: Lobby | None = None
        if self.card.multi_agent:
            policies = {
                agent: resolve_policy(name, config.env_id)
                for agent, name in self.seats.items()
                if name != CLIENT
            }
            fallback = resolve_policy(config.fallback, config.env_id)
            self.lobby = Lobby(
                [agent for agent, name in self.seats.items() if name == CLIENT],
                policies,
                (config.fallback, fallback),
                self.make_env,
                config.seat_timeout,
            )
        if self.card.needs_docker:
            from envalign.envs.tools.sessions import SharedSessions

            warm = min(config.max_sessions, config.warm_sandboxes)
            self.pool = SharedSessions(size=warm, max_idle_overflow=config.max_sessions - warm)

    def baseline(self, name: Any) -> Policy | None:
        """The baseline a client asked to play its move (``metadata.policy``), or ``None``.

        Only the environment's registered baselines and ``random``: a client cannot make the
        server load a model.

        Raises:
            ConfigError: For a name the environment does not register.
        """
        if name is None:
            return None
        if not isinstance(name, str):
            raise ConfigError(f"metadata 'policy' must be a baseline name, got {name!r}.")
        with self._lock:
            if name not in self._baselines:
                self._baselines[name] = baseline_policy(self.config.env_id, name)
            return self._baselines[name]

    def make_env(self) -> Any:
        """Build one environment; tool environments lease their sandbox from the server's pool."""
        kwargs = dict(self.config.env_kwargs)
        if self.pool is not None:
            kwargs.setdefault("sandbox", self.pool)
        return make(self.config.env_id, **kwargs)

    def opened(self, session: EnvalignSession) -> None:
        """Count ``session`` as live."""
        with self._lock:
            self._live[id(session)] = session

    def closed(self, session: EnvalignSession) -> None:
        """``session`` has ended."""
        with self._lock:
            self._live.pop(id(session), None)

    def describe(self) -> dict[str, Any]:
        """The ``/envalign`` document: what is served, for clients that want more than OpenEnv's."""
        return {
            "envalign": True,
            "card": self.card.as_dict(),
            "agents": self.agents,
            "seats": self.seats,
            "open_seats": [a for a, name in self.seats.items() if name == CLIENT],
            "seat_timeout_s": self.config.seat_timeout,
            "fallback": self.config.fallback,
            "system_prompt": self.system_prompt,
            "max_action_length": self.max_action_length,
            "max_sessions": self.config.max_sessions,
            "status": self.status(),
        }

    def status(self) -> dict[str, Any]:
        """Live sessions, sandboxes they hold, tables still forming."""
        with self._lock:
            live = list(self._live.values())
        return {
            "sessions": len(live),
            "sandboxes_held": sum(session.holds_sandbox for session in live),
            "tables_forming": self.lobby.forming if self.lobby is not None else 0,
        }

    def close(self) -> None:
        """Close the sandbox pool (its containers go away)."""
        if self.pool is not None:
            self.pool.close()


class EnvalignSession(Environment[TextAction, TextObservation, EpisodeState]):
    """One client's episode of an envalign environment, behind OpenEnv's server.

    Args:
        hub: The server's shared state.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub
        self._env: Any = None
        self._table: Table | None = None
        self._seat = "agent"
        self._state = EpisodeState(env_id=hub.config.env_id)
        self._episode_over = True
        self._started = False
        self._last: tuple[Any, dict[str, Any]] = ("", {})
        self._rng = agent_rng(None, SINGLE_AGENT)
        hub.opened(self)

    # -- OpenEnv's Environment -------------------------------------------------------------------

    def reset(
        self, seed: Any = None, episode_id: str | None = None, **options: Any
    ) -> TextObservation:
        """Start an episode; in a game, join a table (``seat`` and ``table`` pick one).

        Raises:
            ValueError: For a seed that is not a non-negative integer or an unknown option.
            TableError: If the table does not fill in time or the seat is not open.
        """
        seed = _check_seed(seed)
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"Unknown reset option(s) {unknown}; use {list(RESET_OPTIONS)}.")
        self._state = EpisodeState(
            episode_id=episode_id, env_id=self.hub.config.env_id, seed=seed, agent=self._seat
        )
        if self.hub.lobby is None:
            delivery = self._reset_single(seed, options.get("options"))
        else:
            delivery = self._join(seed, options)
        self._started = True
        self._state.agent = self._seat
        return self._observation(delivery, first=True)

    def step(
        self, action: TextAction, timeout_s: float | None = None, **kwargs: Any
    ) -> TextObservation:
        """Play the session's move; in a game, return when its seat must act again.

        Raises:
            RuntimeError: Before the first ``reset`` or after the episode ended.
        """
        if not self._started:
            raise RuntimeError("No episode yet: send 'reset' (with a seed) before 'step'.")
        if self._episode_over:
            raise RuntimeError("The episode is over: send 'reset' to start another.")
        policy = self.hub.baseline(action.metadata.get("policy"))
        if self._table is not None:
            delivery = self._table.play(self._seat, action.text, policy)
        else:
            text = action.text if policy is None else self._baseline_move(policy)
            observation, reward, terminated, truncated, info = self._env.step(text)
            self._last = (observation, dict(info))
            delivery = Delivery(
                observation_text(observation),
                float(reward),
                bool(terminated or truncated),
                bool(truncated) and not terminated,
                dict(info) | ({"server_action": text} if policy is not None else {}),
            )
        self._state.step_count += 1
        return self._observation(delivery)

    @property
    def state(self) -> EpisodeState:
        """The current episode's id, step count, seed and seat."""
        return self._state

    def close(self) -> None:
        """The session ends (client closed or disconnected): free its environment or seat."""
        self._leave_table("the client left")
        if self._env is not None:
            env, self._env = self._env, None
            env.close()
        self.hub.closed(self)

    def get_metadata(self) -> EnvironmentMetadata:
        """OpenEnv's ``/metadata``: the environment id, its description and documentation."""
        card = self.hub.card
        return EnvironmentMetadata(
            name=card.id,
            description=card.description,
            readme_content=self.hub.system_prompt or None,
            version="envalign",
        )

    # -- internals -------------------------------------------------------------------------------

    @property
    def holds_sandbox(self) -> bool:
        """Whether this session's environment holds a sandbox session now."""
        env = self._env
        holder = getattr(getattr(env, "unwrapped", None), "sessions", None)
        return bool(getattr(holder, "held", False))

    def _reset_single(self, seed: int | None, options: Any) -> Delivery:
        if self._env is None:
            self._env = self.hub.make_env()
        observation, info = self._env.reset(seed=seed, options=options)
        self._episode_over = False
        self._last, self._rng = (observation, dict(info)), agent_rng(seed, SINGLE_AGENT)
        return Delivery(observation_text(observation), 0.0, False, False, dict(info))

    def _baseline_move(self, policy: Policy) -> str:
        """The move the server's baseline makes in this session's place (it sees hidden state)."""
        observation, info = self._last
        context = ActContext(self._env.unwrapped, SINGLE_AGENT, observation, info, self._rng)
        message = {"role": "user", "content": observation_text(observation)}
        return policy.act([TurnRequest([message], context, valid_actions_of(info))])[0].text

    def _join(self, seed: int | None, options: dict[str, Any]) -> Delivery:
        assert self.hub.lobby is not None
        self._leave_table("the client reset")
        seat, table_name = options.get("seat"), options.get("table", "")
        if seat is not None and not isinstance(seat, str):
            raise ValueError(f"'seat' must be an agent name, got {seat!r}.")
        if not isinstance(table_name, str):
            raise ValueError(f"'table' must be a name, got {table_name!r}.")
        table = self.hub.lobby.join(id(self), seed, table_name, seat)
        self._table = table
        try:
            self._seat, delivery = table.wait_start(id(self))
        except TableError:
            self._leave_table("the table did not fill")
            raise
        self._episode_over = delivery.done
        return delivery

    def _leave_table(self, why: str) -> None:
        table, self._table = self._table, None
        if table is not None and self.hub.lobby is not None:
            self.hub.lobby.abandon(table, id(self), why)

    def _observation(self, delivery: Delivery, *, first: bool = False) -> TextObservation:
        self._episode_over = delivery.done
        self._state.done = delivery.done
        return TextObservation(
            text=json_safe(delivery.text),
            agent=self._seat,
            reward=None if first else delivery.reward,
            done=delivery.done,
            truncated=delivery.truncated,
            info=json_safe(delivery.info),
        )


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"'seed' must be a non-negative integer or null, got {seed!r}.")
    return seed
