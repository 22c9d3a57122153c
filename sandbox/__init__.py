r"""Run untrusted code (written by LLM agents) fast and contained.

Public API (stable)::

    from envalign.sandbox import DockerSandbox, Limits, SandboxPool, default_sandbox

    with DockerSandbox() as box:                        # one warm container = one session
        result = box.run("print(6 * 7)", language="python")
        result.stdout, result.exit_code                 # "42\n", 0
        box.run("ls", language="bash", files={"data.csv": "a,b\n1,2\n"})
        box.run("CREATE TABLE t(x); SELECT 1;", language="sql")   # sqlite3 on /work/database.db
        box.upload({"in.txt": b"..."}); box.download("out.txt")  # -> bytes
        box.reset()                                     # kill everything, empty the work dir

    pool = SandboxPool(size=4, limits=Limits(wall_time_s=5))
    with pool.session() as box:                         # an episode holds one session
        box.run(...)
    # or: box = pool.acquire(); ...; pool.release(box)  (reset, or replaced when broken)
    pool.close()

    await box.arun("print(1)", language="python")      # asyncio-friendly
    async with pool.asession() as box: ...

``Sandbox.run(code_or_command, *, language, files=None, stdin=None, limits=None) -> ExecResult``
with ``stdout``, ``stderr`` (UTF-8, invalid bytes replaced), ``exit_code``, ``timed_out``,
``oom_killed``, ``duration_s``, ``truncated`` and ``ok``. It never raises for what the code does.
:class:`Limits` holds ``wall_time_s``, ``cpu_time_s``, ``memory_mb``, ``processes``,
``output_bytes`` and ``file_size_mb``. Languages ``python``, ``bash`` and ``sql`` are built in;
add more with :func:`register_language`. The work dir (``/work``) keeps its files between runs of
a session until ``reset()``; no process outlives the run that started it.

Backends: :class:`DockerSandbox` (default; needs an engine and the image from
``envalign sandbox build-image``) and :class:`LocalSandbox` (subprocesses with rlimits; weaker,
warns loudly). :func:`default_sandbox` picks Docker whenever an engine is reachable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envalign.sandbox.base import (
    ExecResult,
    Language,
    Limits,
    Sandbox,
    get_language,
    languages,
    register_language,
)

if TYPE_CHECKING:
    from envalign.sandbox.docker import DockerSandbox
    from envalign.sandbox.local import LocalSandbox
    from envalign.sandbox.pool import SandboxPool

__all__ = [
    "DockerSandbox",
    "ExecResult",
    "Language",
    "Limits",
    "LocalSandbox",
    "Sandbox",
    "SandboxPool",
    "default_sandbox",
    "docker_available",
    "get_language",
    "languages",
    "register_language",
]

_LAZY = {
    "DockerSandbox": "envalign.sandbox.docker",
    "LocalSandbox": "envalign.sandbox.local",
    "SandboxPool": "envalign.sandbox.pool",
    "default_sandbox": "envalign.sandbox.choose",
    "docker_available": "envalign.sandbox.choose",
}


def __getattr__(name: str) -> Any:
    """Import backends on first use, so that importing this package never imports docker."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'envalign.sandbox' has no attribute {name!r}")
