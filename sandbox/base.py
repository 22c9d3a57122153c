"""The sandbox contract: limits, results, languages and the :class:`Sandbox` base class.

Every backend (Docker, local) implements :class:`Sandbox`; environments only ever see this API.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from envalign.errors import ConfigError

#: Files to put in the work dir before a run: relative path -> content (str is UTF-8 encoded).
FileMap = Mapping[str, "str | bytes"]

WORK_DIR = "/work"


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one execution; the defaults suit short tool calls of an LLM agent.

    Attributes:
        wall_time_s: Seconds of real time before every process of the execution is killed.
        cpu_time_s: Seconds of CPU time (user + system) of the execution's main process.
        memory_mb: Memory of the execution in MiB: the address space of each of its processes;
            on the Docker backend the session's value also sizes the container's memory (swap
            off), which caps every run.
        processes: Processes and threads at once. On the Docker backend this is the
            container's pids limit, set from the session's limits (a per-run value cannot
            raise it); the local backend does not enforce it.
        output_bytes: Bytes of stdout plus stderr kept; past it the execution is killed and
            ``truncated`` is set.
        file_size_mb: Largest file the execution may write, in MiB.
    """

    wall_time_s: float = 10.0
    cpu_time_s: float = 10.0
    memory_mb: int = 256
    processes: int = 64
    output_bytes: int = 1 << 20
    file_size_mb: int = 16

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ConfigError(
                    f"Limits.{field.name} must be a positive number, got {value!r}; "
                    f"leave it out to use the default ({field.default})."
                )
        if self.memory_mb < 16:
            raise ConfigError(f"Limits.memory_mb must be at least 16, got {self.memory_mb}.")
        if self.processes < 2:
            raise ConfigError(f"Limits.processes must be at least 2, got {self.processes}.")

    def replace(self, **changes: Any) -> Limits:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        """Return the limits as a plain dict (sent to the in-container server)."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ExecResult:
    """What one execution did.

    Attributes:
        stdout: Standard output, decoded as UTF-8 with replacement characters.
        stderr: Standard error, decoded the same way.
        exit_code: Exit status of the main process; ``-N`` when killed by signal ``N``.
        timed_out: The wall-time or CPU-time limit was reached.
        oom_killed: The memory limit was reached.
        duration_s: Wall time of the execution in seconds, measured inside the sandbox.
        truncated: Output went past ``Limits.output_bytes``; the execution was stopped there.
    """

    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False
    oom_killed: bool = False
    duration_s: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the execution exited with status 0 within its limits."""
        return self.exit_code == 0 and not (self.timed_out or self.oom_killed or self.truncated)


@dataclasses.dataclass(frozen=True)
class Language:
    """How to run source code of one language.

    Attributes:
        name: Name given to ``Sandbox.run(language=...)``.
        file_name: Where the source is written (relative to a per-run scratch dir).
        command: Argument vector; ``{file}`` is replaced by the source file's absolute path.
        fork_python: Run the source inside a fork of the sandbox's warm Python interpreter
            instead of ``command`` (the fast path; only for Python).
    """

    name: str
    file_name: str
    command: tuple[str, ...]
    fork_python: bool = False


_LANGUAGES: dict[str, Language] = {}


def register_language(
    name: str, file_name: str, command: Sequence[str], *, fork_python: bool = False
) -> Language:
    """Register (or replace) a language that ``Sandbox.run`` accepts.

    Args:
        name: The language's name, e.g. ``"ruby"``.
        file_name: File name for the source, e.g. ``"main.rb"``.
        command: Command that runs it, with ``{file}`` for the source path, e.g.
            ``["ruby", "{file}"]``. The program must exist in the sandbox image.
        fork_python: Run the source in a fork of the warm Python server (Python only).

    Returns:
        The registered :class:`Language`.
    """
    if not name or not file_name or "/" in file_name:
        raise ConfigError(
            f"A language needs a name and a plain file name, got {name!r}, {file_name!r}."
        )
    if not fork_python and not any("{file}" in part for part in command):
        raise ConfigError(f"The command of language {name!r} must contain '{{file}}': {command!r}.")
    language = Language(name, file_name, tuple(command), fork_python)
    _LANGUAGES[name] = language
    return language


def get_language(name: str) -> Language:
    """Return the registered language ``name``.

    Raises:
        ConfigError: If no such language is registered.
    """
    try:
        return _LANGUAGES[name]
    except KeyError:
        raise ConfigError(
            f"Unknown sandbox language {name!r}; known: {sorted(_LANGUAGES)}. "
            "Add one with envalign.sandbox.register_language(name, file_name, command)."
        ) from None


def languages() -> list[str]:
    """Return the names of the registered languages."""
    return sorted(_LANGUAGES)


register_language("python", "main.py", ["python3", "{file}"], fork_python=True)
register_language("bash", "main.sh", ["bash", "{file}"])
# SQL runs with the sqlite3 shell against a database file that persists in the work dir.
register_language(
    "sql", "query.sql", ["sqlite3", "-bail", f"{WORK_DIR}/database.db", ".read {file}"]
)


def encode_files(files: FileMap | None) -> dict[str, bytes]:
    """Return ``files`` with str contents encoded, after checking each path stays in the work dir.

    Raises:
        ConfigError: If a path is absolute or climbs out with ``..``.
    """
    encoded: dict[str, bytes] = {}
    for path, content in (files or {}).items():
        parts = path.split("/")
        if not path or path.startswith("/") or ".." in parts or "\0" in path:
            raise ConfigError(
                f"File path {path!r} must be relative to the work dir, without '..' or NUL."
            )
        encoded[path] = content.encode() if isinstance(content, str) else bytes(content)
    return encoded


class Sandbox(abc.ABC):
    """A session that runs untrusted code; one execution at a time, thread-safe.

    A session keeps the files of its work dir between runs (an episode's state, e.g. a SQLite
    database) until :meth:`reset`; processes never outlive the run that started them.
    Use it as a context manager, or call :meth:`close`.
    """

    limits: Limits

    @abc.abstractmethod
    def run(
        self,
        code_or_command: str,
        *,
        language: str = "python",
        files: FileMap | None = None,
        stdin: str | bytes | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run source code and return what it did; never raises for what the code does.

        Args:
            code_or_command: Source code of ``language`` (for ``bash``, a command line).
            language: A registered language: ``python``, ``bash``, ``sql`` or your own.
            files: Files written into the work dir before the run (kept afterwards).
            stdin: Data for standard input.
            limits: Limits of this run; defaults to the session's.

        Returns:
            The :class:`ExecResult`.

        Raises:
            SandboxError: If the sandbox itself failed (not the code).
        """

    @abc.abstractmethod
    def upload(self, files: FileMap) -> None:
        """Write files into the work dir (paths relative to it)."""

    @abc.abstractmethod
    def download(self, path: str) -> bytes:
        """Return the content of a file of the work dir.

        Raises:
            SandboxError: If the file does not exist or cannot be read.
        """

    @abc.abstractmethod
    def reset(self) -> None:
        """Kill every process and empty the work dir: the session is as new."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the session's resources (its container); idempotent."""

    @property
    def healthy(self) -> bool:
        """False when the session is broken and should be replaced."""
        return True

    async def arun(self, code_or_command: str, **kwargs: Any) -> ExecResult:
        """Asyncio version of :meth:`run` (runs it in a worker thread)."""
        return await asyncio.to_thread(self.run, code_or_command, **kwargs)

    async def aupload(self, files: FileMap) -> None:
        """Asyncio version of :meth:`upload`."""
        await asyncio.to_thread(self.upload, files)

    async def adownload(self, path: str) -> bytes:
        """Asyncio version of :meth:`download`."""
        return await asyncio.to_thread(self.download, path)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def decode_output(data: bytes) -> str:
    """Decode program output as UTF-8, replacing invalid bytes with U+FFFD."""
    return data.decode("utf-8", errors="replace")
