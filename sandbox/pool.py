"""A thread-safe pool of warm sandbox sessions; an environment episode holds one session."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from envalign.errors import ConfigError, SandboxError
from envalign.sandbox.base import Limits, Sandbox


class SandboxPool:
    """Hands out warm sessions; resets them between episodes and replaces broken ones.

    Example::

        pool = SandboxPool(size=4)
        with pool.session() as box:
            box.run("print(1)", language="python")
        pool.close()

    Args:
        size: Number of sessions kept warm (started in parallel on construction).
        image: Image of the Docker sessions; the default image when None.
        limits: Default limits of every run.
        backend: ``"docker"`` or ``"local"``; when None, the ``ENVALIGN_SANDBOX`` environment
            variable, else ``"docker"``. (``ENVALIGN_SANDBOX=local`` runs the tool environments
            on a machine without an engine, with much weaker isolation; LocalSandbox warns.)
        factory: A callable returning a new :class:`Sandbox`; overrides ``backend``.
        **options: More keyword arguments for the backend's constructor.

    Raises:
        SandboxUnavailable: If the backend cannot start a session.
    """

    def __init__(
        self,
        size: int = 4,
        image: str | None = None,
        limits: Limits | None = None,
        *,
        backend: str | None = None,
        factory: Callable[[], Sandbox] | None = None,
        **options: Any,
    ) -> None:
        if size < 1:
            raise ConfigError(f"SandboxPool size must be at least 1, got {size}.")
        self.size = size
        self.limits = limits or Limits()
        backend = backend or os.environ.get("ENVALIGN_SANDBOX") or "docker"
        self._factory = factory or _backend_factory(backend, image, self.limits, options)
        self._idle: queue.Queue[Sandbox] = queue.Queue()
        self._all: list[Sandbox] = []
        self._lock = threading.Lock()
        self._closed = False
        with ThreadPoolExecutor(max_workers=min(size, 8)) as executor:
            futures = [executor.submit(self._factory) for _ in range(size)]
            errors = []
            for future in futures:
                try:
                    self._adopt(future.result())
                except Exception as error:
                    errors.append(error)
        if errors:
            self.close()
            raise errors[0]

    def acquire(self, timeout: float | None = None) -> Sandbox:
        """Take a session for the caller's exclusive use; give it back with :meth:`release`.

        Args:
            timeout: Seconds to wait for a free session; forever when None.

        Raises:
            SandboxError: If no session frees up in time or the pool is closed.
        """
        if self._closed:
            raise SandboxError("This SandboxPool is closed; create a new one.")
        try:
            session = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise SandboxError(
                f"No sandbox session was free within {timeout} s (pool size {self.size}); "
                "release sessions after use or make the pool larger."
            ) from None
        if not session.healthy:
            session = self._replace(session)
        return session

    def release(self, session: Sandbox) -> None:
        """Give a session back: it is reset (no process, empty work dir) or replaced if broken."""
        if self._closed:
            session.close()
            return
        try:
            session.reset()
        except Exception:  # a session that cannot reset is replaced
            session = self._replace(session)
        if not session.healthy:
            session = self._replace(session)
        self._idle.put(session)

    @contextlib.contextmanager
    def session(self, timeout: float | None = None) -> Iterator[Sandbox]:
        """Context manager around :meth:`acquire` and :meth:`release`."""
        session = self.acquire(timeout)
        try:
            yield session
        finally:
            self.release(session)

    @contextlib.asynccontextmanager
    async def asession(self, timeout: float | None = None) -> AsyncIterator[Sandbox]:
        """Asyncio version of :meth:`session`."""
        import asyncio

        session = await asyncio.to_thread(self.acquire, timeout)
        try:
            yield session
        finally:
            await asyncio.to_thread(self.release, session)

    def close(self) -> None:
        """Close every session; idempotent, and never raises (an engine gone is not an error here)."""
        self._closed = True
        with self._lock:
            sessions, self._all = self._all, []
        for session in sessions:
            with contextlib.suppress(Exception):  # its container goes with its engine, or by gc
                session.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _adopt(self, session: Sandbox) -> Sandbox:
        with self._lock:
            self._all.append(session)
        self._idle.put(session)
        return session

    def _replace(self, broken: Sandbox) -> Sandbox:
        """Close a broken session and start a new one in its place."""
        with self._lock:
            if broken in self._all:
                self._all.remove(broken)
        try:
            broken.close()
        except Exception:  # it is broken already
            pass
        session = self._factory()
        with self._lock:
            self._all.append(session)
        return session


def _backend_factory(
    backend: str, image: str | None, limits: Limits, options: dict[str, Any]
) -> Callable[[], Sandbox]:
    if backend == "docker":
        from envalign.sandbox.docker import DockerSandbox

        return lambda: DockerSandbox(image, limits, **options)
    if backend == "local":
        from envalign.sandbox.local import LocalSandbox

        return lambda: LocalSandbox(limits, **options)
    raise ConfigError(
        f"Unknown sandbox backend {backend!r} (from the backend argument or ENVALIGN_SANDBOX); "
        "use 'docker' or 'local'."
    )
