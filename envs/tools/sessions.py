"""Sandbox sessions for tool environments: one per episode, from a shared pool, always given back.

An environment asks for a :class:`SessionLease` when an episode starts and gives it back on
``close()``; a ``weakref.finalize`` gives it back when the environment is garbage-collected without
being closed. Leases come from a module-level :class:`~envalign.sandbox.SandboxPool`, created on first
use, or from a sandbox or pool passed to the environment (tests and benchmarks inject their own).

:data:`SANDBOX_CLOCK` adds up the time spent inside ``Sandbox.run`` by every tool environment of the
process, so benchmarks can say what share of an episode is the sandbox.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

DEFAULT_POOL_SIZE = 2
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


def shared_pool() -> Any:
    """Return the process-wide pool of sandbox sessions, creating it on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from envalign.sandbox import SandboxPool

            _pool = SandboxPool(size=DEFAULT_POOL_SIZE)
        return _pool


def close_shared_pool() -> None:
    """Close the process-wide pool (its containers go away); the next lease creates a new one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


class SessionLease:
    """One sandbox session held by one environment, given back exactly once.

    Args:
        source: ``None`` (the shared pool), a ``SandboxPool`` or a ``Sandbox`` (used as it is and
            never closed here: its owner closes it).
    """

    def __init__(self, source: Any = None) -> None:
        from envalign.sandbox import Sandbox

        if isinstance(source, Sandbox):
            self.sandbox, self._pool = source, None
        else:
            self._pool = source if source is not None else shared_pool()
            self.sandbox = self._pool.acquire()
        self._released = False

    def run(self, code_or_command: str, **kwargs: Any) -> Any:
        """``Sandbox.run`` on the held session, timed by :data:`SANDBOX_CLOCK`."""
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

    def release(self) -> None:
        """Give the lease back now (the next use acquires a new one)."""
        _release_state(self._state)


def _release_state(state: dict[str, SessionLease | None]) -> None:
    lease, state["lease"] = state["lease"], None
    if lease is not None:
        lease.release()
