"""The local backend: subprocesses with rlimits in a temporary dir, for machines without Docker.

It is much weaker than the Docker backend: the code runs as the current user with the host's
filesystem and network (unless bubblewrap is installed, which then isolates both). It warns
once, loudly, when first used.
"""

from __future__ import annotations

import math
import os
import resource
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path

from envalign.errors import SandboxError
from envalign.sandbox.base import (
    ExecResult,
    FileMap,
    Limits,
    Sandbox,
    decode_output,
    encode_files,
    get_language,
)

_WARNED = False
_MARK = "ENVALIGN_SANDBOX_RUN"
WEAKNESS = (
    "envalign is running untrusted code with the LOCAL sandbox backend: plain subprocesses with "
    "rlimits, as your user, with your files{net}. Use Docker (`envalign sandbox build-image`) "
    "for real isolation."
)


def _warn_once(bubblewrap: bool) -> None:
    global _WARNED
    if not _WARNED:
        _WARNED = True
        net = "" if bubblewrap else " and your network"
        warnings.warn(WEAKNESS.format(net=net), RuntimeWarning, stacklevel=3)
        print("WARNING: " + WEAKNESS.format(net=net), file=sys.stderr)


class LocalSandbox(Sandbox):
    """A session of subprocesses in a temporary work dir, with rlimits and a new session each.

    Weaker than :class:`~envalign.sandbox.docker.DockerSandbox`: use it only where no Docker
    engine exists. Each run gets a new process session; the wall timeout kills its process
    group and every process that still carries the run's marker in its environment.

    Args:
        limits: Default limits of each run.
        bubblewrap: Wrap runs in ``bwrap`` (no network, read-only host); by default whenever
            ``bwrap`` is installed.
        keep_files: Keep files of the work dir between runs (until ``reset()``).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        bubblewrap: bool | None = None,
        keep_files: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self.bubblewrap = shutil.which("bwrap") is not None if bubblewrap is None else bubblewrap
        self.keep_files = keep_files
        self._lock = threading.Lock()
        self._work = Path(tempfile.mkdtemp(prefix="envalign-local-"))
        self._closed = False
        _warn_once(self.bubblewrap)

    @property
    def work_dir(self) -> Path:
        """The work dir on the host."""
        return self._work

    def run(
        self,
        code_or_command: str,
        *,
        language: str = "python",
        files: FileMap | None = None,
        stdin: str | bytes | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run code in a subprocess; see :meth:`Sandbox.run`."""
        spec = get_language(language)
        limits = limits or self.limits
        with self._lock:
            if self._closed:
                raise SandboxError("This sandbox is closed; create a new one.")
            self.upload(files or {})
            scratch = Path(tempfile.mkdtemp(prefix="envalign-run-"))
            try:
                source = scratch / spec.file_name
                source.write_text(code_or_command)
                argv = [part.replace("{file}", str(source)) for part in spec.command]
                argv = [a.replace("/work/", f"{self._work}/") for a in argv]
                if spec.fork_python:
                    # The real interpreter, not a venv link: bwrap hides /tmp, where a clone may live.
                    argv = [os.path.realpath(sys.executable), "-I", str(source)]
                if self.bubblewrap:
                    argv = self._bwrap(scratch) + argv
                data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
                return self._execute(argv, data, limits)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
                if not self.keep_files:
                    self._empty_work()

    def upload(self, files: FileMap) -> None:
        """Write files into the work dir (never through a link or into a FIFO code left there)."""
        for path, content in encode_files(files).items():
            target = self._inside(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or (target.exists() and not target.is_file()):
                raise SandboxError(f"{path!r} exists in the sandbox and is not a regular file.")
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK
            with open(os.open(target, flags, 0o644), "wb") as handle:
                handle.write(content)

    def download(self, path: str) -> bytes:
        """Return a regular file of the work dir; a FIFO, device or directory is an error at once."""
        target = self._inside(path)
        try:
            descriptor = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with open(descriptor, "rb") as handle:
                if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                    raise SandboxError(
                        f"{path!r} is not a regular file (a FIFO, socket or device)."
                    )
                return handle.read()
        except OSError as error:
            raise SandboxError(f"Cannot read {path!r} from the sandbox: {error}") from error

    def _inside(self, path: str) -> Path:
        """The work dir's ``path``, after checking that no link leads it out.

        Raises:
            SandboxError: If it leaves the work dir.
        """
        encode_files({path: b""})
        target = (self._work / path).resolve()
        if not target.is_relative_to(self._work.resolve()):
            raise SandboxError(f"{path!r} leaves the work dir.")
        return target

    def reset(self) -> None:
        """Empty the work dir (no process outlives a run anyway)."""
        self._empty_work()

    def close(self) -> None:
        """Delete the work dir; idempotent."""
        self._closed = True
        shutil.rmtree(self._work, ignore_errors=True)

    def _empty_work(self) -> None:
        for entry in self._work.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def _bwrap(self, scratch: Path) -> list[str]:
        work, run = str(self._work), str(scratch)
        return [
            "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--bind", work, work, "--ro-bind", run, run, "--chdir", work,
            *_visible_again(sys.base_prefix),
        ]  # fmt: skip

    def _execute(self, argv: list[str], stdin: bytes, limits: Limits) -> ExecResult:
        """Start the process, pump its output within the limits, clean up after it."""
        marker = uuid.uuid4().hex
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self._work), "LANG": "C.UTF-8"}
        env[_MARK] = marker
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self._work,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: _set_limits(limits),  # noqa: PLW1509 - only rlimits
        )
        if stdin:
            threading.Thread(target=_feed, args=(process, stdin), daemon=True).start()
        output, timed_out, truncated = _pump(process, limits, started, marker)
        exit_code = process.wait()
        duration = time.monotonic() - started
        _kill_marked(marker)
        stderr = decode_output(output["stderr"])
        cpu_out = exit_code in (-signal.SIGXCPU, -signal.SIGKILL) and not truncated
        return ExecResult(
            stdout=decode_output(output["stdout"]),
            stderr=stderr,
            exit_code=exit_code,
            timed_out=timed_out or (cpu_out and duration < limits.wall_time_s),
            oom_killed="MemoryError" in stderr and exit_code != 0,
            duration_s=round(duration, 6),
            truncated=truncated,
        )


def _set_limits(limits: Limits) -> None:
    """Apply the run's rlimits (in the child, before exec)."""
    cpu = max(1, math.ceil(limits.cpu_time_s))
    memory = limits.memory_mb << 20
    size = limits.file_size_mb << 20
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        process.stdin.close()
    except OSError:
        pass


def _pump(
    process: subprocess.Popen[bytes], limits: Limits, started: float, marker: str
) -> tuple[dict[str, bytes], bool, bool]:
    """Read stdout/stderr into bounded buffers until EOF, the wall time or the output budget."""
    output = {"stdout": bytearray(), "stderr": bytearray()}
    budget = limits.output_bytes
    timed_out = truncated = False
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, "stdout")  # type: ignore[arg-type]
    selector.register(process.stderr, selectors.EVENT_READ, "stderr")  # type: ignore[arg-type]
    deadline = started + limits.wall_time_s
    while selector.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            _kill_group(process.pid)
            break
        for key, _ in selector.select(remaining):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            take = chunk[:budget]
            output[key.data] += take
            budget -= len(take)
            if budget <= 0:
                truncated = True
                _kill_group(process.pid)
                selector.close()
                return {k: bytes(v) for k, v in output.items()}, timed_out, truncated
        if process.poll() is not None:
            _kill_group(process.pid)  # background processes may still hold the pipes
            _kill_marked(marker)
    selector.close()
    return {k: bytes(v) for k, v in output.items()}, timed_out, truncated


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _kill_marked(marker: str) -> None:
    """Kill every process whose environment carries the run's marker (detached ones too)."""
    needle = f"{_MARK}={marker}".encode()
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found = True
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return


def _visible_again(prefix: str) -> list[str]:
    """Bind the interpreter's prefix back, read-only, when it lies under the hidden ``/tmp``."""
    real = os.path.realpath(prefix)
    return ["--ro-bind", real, real] if real.startswith("/tmp/") else []
