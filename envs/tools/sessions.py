"""Sandbox sessions for tool environments: one per episode, from a shared pool, always given back.

An environment asks for a :class:`SessionLease` when an episode starts and gives it back on
``close()``; a ``weakref.finalize`` gives it back when the environment is garbage-collected without
being closed. Leases come from a module-level :class:`~envalign.sandbox.SandboxPool`, created on first
use, or from a sandbox or pool passed to the environment (tests and benchmarks inject their own).

:data:`SANDBOX_CLOCK` adds up the time spent inside ``Sandbox.run`` by every tool environment of the
process, so benchmarks can say what share of an episode is the sandbox.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_POOL_SIZE = 2
MAX_IDLE_OVERFLOW = 8
_pool: Any = None
_pool_lock = threading.Lock()


@dataclass
class SandboxClock:
    """Seconds spent in ``Sandbox.run`` and the number of calls, process-wide."""

    seconds: float = 0.0
    calls: int = 0

    def reset(self) -> None:
        """Start counting from zero."""
        self.seconds, self.calls = 0.0, 0


SANDBOX_CLOCK = SandboxClock()


class SharedSessions:
    """A warm ``SandboxPool`` that grows when more episodes run at once than it holds.

    The runner keeps ``concurrency`` episodes in flight in one thread (8 by default), each
    holding a session until it closes; a fixed pool smaller than that would block forever. So
    :meth:`acquire` takes a warm session when one is free and otherwise starts another, which
    is reset and kept (up to ``max_idle_overflow`` idle ones) for the next episode.

    Args:
        size: Sessions started up front (the warm ``SandboxPool``).
        max_idle_overflow: Extra sessions kept idle after use; more are closed on release.
        factory: Starts one session (the default backend when None).
    """

    def __init__(
        self,
        size: int = DEFAULT_POOL_SIZE,
        max_idle_overflow: int = MAX_IDLE_OVERFLOW,
        factory: Any = None,
    ) -> None:
        from envalign.sandbox import SandboxPool

        self._factory = factory
        self.pool = (
            SandboxPool(size=size) if factory is None else SandboxPool(size, factory=factory)
        )
        self.max_idle_overflow = max_idle_overflow
        self._overflow: set[int] = set()
        self._overflow_idle: list[Any] = []
        self._overflow_all: list[Any] = []
        self._lock = threading.Lock()

    def acquire(self) -> Any:
        """Return a free session, starting a new one when the warm pool is exhausted."""
        from envalign.envs.errors import SandboxError

        try:
            return self.pool.acquire(timeout=0)
        except SandboxError:
            pass
        with self._lock:
            if self._overflow_idle:
                return self._overflow_idle.pop()
        session = self._new_session()
        with self._lock:
            self._overflow.add(id(session))
            self._overflow_all.append(session)
        return session

    def release(self, session: Any) -> None:
        """Give a session back (reset; a broken overflow session is closed)."""
        with self._lock:
            overflow = id(session) in self._overflow
        if not overflow:
            self.pool.release(session)
            return
        try:
            session.reset()
            keep = session.healthy
        except Exception:  # a session that cannot reset is dropped
            keep = False
        with self._lock:
            if keep and len(self._overflow_idle) < self.max_idle_overflow:
                self._overflow_idle.append(session)
                return
            self._overflow.discard(id(session))
            self._overflow_all.remove(session)
        session.close()

    def close(self) -> None:
        """Close every session, warm and overflow."""
        self.pool.close()
        with self._lock:
            sessions, self._overflow_all, self._overflow_idle = self._overflow_all, [], []
            self._overflow.clear()
        for session in sessions:
            session.close()

    def _new_session(self) -> Any:
        if self._factory is not None:
            return self._factory()
        from envalign.sandbox.docker import DockerSandbox

        return DockerSandbox()


def shared_pool() -> SharedSessions:
    """Return the process-wide sessions of tool environments, creating them on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = SharedSessions()
            atexit.register(close_shared_pool)
        return _pool


def close_shared_pool() -> None:
    """Close the process-wide sessions (containers go away); the next lease starts new ones."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


class SessionLease:
    """One sandbox session held by one environment, given back exactly once.

    Args:
        source: ``None`` (the shared sessions), a ``SandboxPool`` (or anything with ``acquire``
            and ``release``) or a ``Sandbox`` (used as it is and never closed here: its owner
            closes it).
    """

    def __init__(self, source: Any = None) -> None:
        from envalign.sandbox import Sandbox

        if isinstance(source, Sandbox):
            self.sandbox, self._pool = source, None
        else:
            self._pool = source if source is not None else shared_pool()
            self.sandbox = self._pool.acquire()
        self._released = False
        self.used = False

    def run(self, code_or_command: str, **kwargs: Any) -> Any:
        """``Sandbox.run`` on the held session, timed by :data:`SANDBOX_CLOCK`."""
        self.used = True
        start = time.perf_counter()
        try:
            return self.sandbox.run(code_or_command, **kwargs)
        finally:
            SANDBOX_CLOCK.seconds += time.perf_counter() - start
            SANDBOX_CLOCK.calls += 1

    def release(self) -> None:
        """Give the session back to its pool (idempotent)."""
        if self._released:
            return
        self._released = True
        if self._pool is not None:
            self._pool.release(self.sandbox)


class LeaseHolder:
    """Holds an environment's lease and gives it back on ``release()`` or garbage collection.

    Args:
        owner: The environment; when it is collected, the lease is released.
        source: Passed to :class:`SessionLease`.
    """

    def __init__(self, owner: object, source: Any = None) -> None:
        self._source = source
        self._state: dict[str, SessionLease | None] = {"lease": None}
        self._finalizer = weakref.finalize(owner, _release_state, self._state)

    @property
    def lease(self) -> SessionLease:
        """The held lease, acquired on first use."""
        lease = self._state["lease"]
        if lease is None:
            lease = SessionLease(self._source)
            self._state["lease"] = lease
        return lease

    @property
    def held(self) -> bool:
        """Whether a lease is held now."""
        return self._state["lease"] is not None

    def clean(self) -> None:
        """Reset the held session if it ran anything since it was acquired or last cleaned."""
        lease = self._state["lease"]
        if lease is not None and lease.used:
            lease.sandbox.reset()
            lease.used = False

    def release(self) -> None:
        """Give the lease back now (the next use acquires a new one)."""
        _release_state(self._state)


def _release_state(state: dict[str, SessionLease | None]) -> None:
    lease, state["lease"] = state["lease"], None
    if lease is not None:
        lease.release()
