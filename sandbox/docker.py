"""The Docker backend: one hardened, warm container per session, with an execution server inside.

The container runs :mod:`envalign.sandbox.server` as its main process under Docker's init. The
host talks to it over the container's attached stdin/stdout, so a run costs one round trip and a
fork, not a ``docker exec`` plus an interpreter start.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import socket
import struct
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from envalign.errors import ConfigError, SandboxError, SandboxUnavailable
from envalign.sandbox.base import (
    WORK_DIR,
    ExecResult,
    FileMap,
    Limits,
    Sandbox,
    decode_output,
    encode_files,
    get_language,
)

LABEL = "envalign.sandbox"
OWNER_PID_LABEL = "envalign.owner_pid"
OWNER_HOST_LABEL = "envalign.owner_host"
SERVER_OVERHEAD_MB = 48
TMP_MB = 16
SHM_MB = 8
#: Files (inodes) that /tmp and /dev/shm may hold; the work dir's count is a parameter.
SCRATCH_FILES = 1024
#: Kernel memory one tmpfs file may cost (inode, dentry, a 255-byte name), measured at ~1.3 KiB.
#: The container's memory includes it for every file its tmpfs mounts may hold, so files left in
#: the work dir can never take memory the next run needs.
FILE_COST_BYTES = 2048
#: Paths of /proc and /sys hidden inside the container: Docker's defaults plus what tells about
#: the host's kernel, firmware and hardware.
MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/kallsyms",
    "/proc/modules",
    "/proc/slabinfo",
    "/proc/vmallocinfo",
    "/sys/firmware",
    "/sys/kernel",
    "/sys/module",
    "/sys/power",
    "/sys/hypervisor",
    "/sys/devices/virtual/dmi",
    "/sys/devices/virtual/powercap",
)
#: Largest answer accepted from a server (a 64 MiB download in base64 fits).
MAX_MESSAGE_BYTES = 256 << 20
#: Seconds the host waits past an execution's wall time before it gives the server up.
GRACE_S = 15.0
_SERVER_SOURCE = (Path(__file__).parent / "server.py").read_text()
_LIVE: weakref.WeakSet[DockerSandbox] = weakref.WeakSet()
_GC_DONE = False
_GC_LOCK = threading.Lock()


class _ServerGone(Exception):
    """The in-container server stopped answering (killed, container gone)."""


class DockerSandbox(Sandbox):
    """A session in a hardened Docker container with a warm execution server.

    The container has no network, runs as a non-root user with every capability dropped and
    ``no-new-privileges``, a read-only root filesystem, tmpfs for ``/work``, ``/tmp`` and
    ``/dev/shm`` bounded in size and in number of files, limits on pids, memory (swap off) and
    CPU, ``nofile``/``fsize`` ulimits, the host's kernel and hardware details masked in ``/proc``
    and ``/sys``, labels that mark it as envalign's, and none of the host's environment
    variables. The execution server is the container's PID 1 (signals from inside cannot stop it,
    it cannot be ptrace-attached) and cleans what a run leaves outside the work dir: processes,
    ``/tmp``, ``/dev/shm``, POSIX and SysV IPC. If the server stops anyway (the container killed
    from outside, the engine restarted), the run raises :class:`SandboxError` rather than charge
    the code with it, and the next call starts a fresh container.

    Args:
        image: Image tag; defaults to the one ``envalign sandbox build-image`` builds.
        limits: Default limits of each run; the container's memory and pids limits follow them.
        work_dir_mb: Size of the writable work dir.
        work_dir_files: Files and directories the work dir may hold.
        cpus: CPU quota of the container, in CPUs.
        keep_files: Keep files of the work dir between runs (until ``reset()``); when False,
            every run starts with an empty work dir.
        runtime: OCI runtime of the container, e.g. ``"runsc"`` for gVisor (a kernel of its own
            between the code and the host's; slower to start); when None, the
            ``ENVALIGN_SANDBOX_RUNTIME`` environment variable, else the engine's default (runc).
            ``ENVALIGN_SANDBOX_RUNTIME=runsc envalign sandbox doctor`` checks it.
        client: A ``docker.DockerClient``; one from the environment by default.

    Raises:
        SandboxUnavailable: If no engine answers, the image or the runtime is missing.
    """

    def __init__(
        self,
        image: str | None = None,
        limits: Limits | None = None,
        *,
        work_dir_mb: int = 64,
        work_dir_files: int = 32768,
        cpus: float = 1.0,
        keep_files: bool = True,
        runtime: str | None = None,
        client: Any = None,
    ) -> None:
        from envalign.sandbox.image import default_image, docker_client, image_exists

        self.image = image or default_image()
        self.limits = limits or Limits()
        self.work_dir_mb = work_dir_mb
        self.work_dir_files = work_dir_files
        self.runtime = runtime or os.environ.get("ENVALIGN_SANDBOX_RUNTIME") or None
        self.cpus = cpus
        self.keep_files = keep_files
        self._owns_client = client is None
        self._client = client or docker_client()
        self._lock = threading.RLock()
        self._container: Any = None
        self._socket: socket.socket | None = None
        self._broken = False
        self._closed = False
        try:
            if not image_exists(self._client, self.image):
                raise SandboxUnavailable(
                    f"The sandbox image {self.image} is missing. Build it with "
                    "`envalign sandbox build-image`."
                )
            if self.runtime is not None:
                known = self._client.info().get("Runtimes", {})
                if self.runtime not in known:
                    raise SandboxUnavailable(
                        f"The Docker engine has no runtime {self.runtime!r} (it has: "
                        f"{sorted(known)}); see docs/sandbox_isolation.md to add one."
                    )
            collect_leftovers_once(self._client)
            _LIVE.add(self)
            self._start()
        except BaseException:
            _LIVE.discard(self)
            if self._owns_client:
                self._client.close()
            raise

    # ------------------------------------------------------------ public API

    def run(
        self,
        code_or_command: str,
        *,
        language: str = "python",
        files: FileMap | None = None,
        stdin: str | bytes | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run code in the container; see :meth:`Sandbox.run`."""
        spec = get_language(language)
        limits = limits or self.limits
        stdin_bytes = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
        encoded_files = self._b64_files(files)
        request = {
            "op": "run",
            "code": code_or_command,
            "language": {
                "file_name": spec.file_name,
                "command": list(spec.command),
                "fork_python": spec.fork_python,
            },
            "files": encoded_files,
            "stdin": base64.b64encode(stdin_bytes).decode(),
            "limits": limits.to_dict(),
            "keep_files": self.keep_files,
            "probe_mb": self.limits.memory_mb,
        }
        try:
            response = self._call(request, timeout=limits.wall_time_s + GRACE_S)
        except _ServerGone as gone:
            # Code cannot stop the server (it is PID 1), so this is the sandbox failing (the
            # container killed from outside, the engine restarted): no result to charge the code.
            raise SandboxError(
                f"The sandbox stopped during this run ({gone}); the run has no result. The next "
                "call starts a fresh container (with an empty work dir)."
            ) from None
        if not response.get("ok"):
            raise SandboxError(f"The sandbox refused the run: {response.get('error')}")
        stderr = decode_output(base64.b64decode(response["stderr"]))
        if response.get("poisoned"):
            # What this run did outlives it (memory kept full, the server's limits lowered...):
            # the next call starts a fresh container, so no later run is charged for it.
            self._broken = True
            stderr += (
                f"[envalign sandbox] this run left the sandbox unusable ({response['poisoned']}); "
                "the session is replaced by a fresh one with an empty work dir.\n"
            )
        return ExecResult(
            stdout=decode_output(base64.b64decode(response["stdout"])),
            stderr=stderr,
            exit_code=int(response["exit_code"]),
            timed_out=bool(response["timed_out"]),
            oom_killed=bool(response["oom_killed"]),
            duration_s=float(response["duration_s"]),
            truncated=bool(response["truncated"]),
        )

    def upload(self, files: FileMap) -> None:
        """Write files into the work dir."""
        self._call_or_raise({"op": "upload", "files": self._b64_files(files)})

    def download(self, path: str) -> bytes:
        """Return a file of the work dir (path relative to it)."""
        encode_files({path: b""})  # validates the path
        return base64.b64decode(self._call_or_raise({"op": "download", "path": path})["data"])

    def reset(self) -> None:
        """Kill every process and empty the work dir; restart the container if it is broken."""
        with self._lock:
            if self._broken:
                self.restart()
                return
            try:
                self._call_or_raise({"op": "reset"})
            except SandboxError:
                self.restart()

    def restart(self) -> None:
        """Replace the container with a fresh one."""
        with self._lock:
            self._stop_container()
            self._start()

    def close(self) -> None:
        """Remove the container; idempotent."""
        with self._lock:
            self._closed = True
            self._stop_container()
            if self._owns_client:
                with contextlib.suppress(Exception):
                    self._client.close()  # its connection pool holds sockets
        _LIVE.discard(self)

    @property
    def healthy(self) -> bool:
        """False when the server or the container is gone."""
        return not (self._broken or self._closed)

    @property
    def gvisor(self) -> bool:
        """Whether the container runs under gVisor (``runsc``, or a runtime named after it)."""
        return (self.runtime or "").startswith("runsc")

    @property
    def container_id(self) -> str | None:
        """The id of the current container."""
        return self._container.id if self._container is not None else None

    def processes(self) -> list[int]:
        """Return the pids alive in the container besides init and the server (for checks)."""
        return list(self._call_or_raise({"op": "processes"})["pids"])

    def _b64_files(self, files: FileMap | None) -> dict[str, str]:
        """Encode files for the server after checking they fit the work dir and the limits.

        Raises:
            ConfigError: If a path is invalid, or the files are too many or too large.
        """
        encoded = encode_files(files)
        largest = self.limits.file_size_mb << 20
        for path, data in encoded.items():
            if len(data) > largest:
                raise ConfigError(
                    f"File {path!r} has {len(data)} bytes, more than Limits.file_size_mb "
                    f"({self.limits.file_size_mb} MiB) allows."
                )
        total = sum(len(data) for data in encoded.values())
        if total > self.work_dir_mb << 20:
            raise ConfigError(
                f"The files hold {total} bytes, more than the work dir's {self.work_dir_mb} MiB; "
                "pass DockerSandbox(work_dir_mb=...) to make it larger."
            )
        if len(encoded) > self.work_dir_files:
            raise ConfigError(
                f"{len(encoded)} files are more than the work dir holds ({self.work_dir_files}); "
                "pass DockerSandbox(work_dir_files=...) to allow more."
            )
        return {path: base64.b64encode(data).decode() for path, data in encoded.items()}

    # ------------------------------------------------------------ container

    def _start(self) -> None:
        """Create, attach and start a container, then wait for its server."""
        self._broken = False
        self._closed = False
        try:
            self._container = self._create_container()
            raw = self._container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            self._raw = raw
            self._socket = getattr(raw, "_sock", raw)
            self._buffer = bytearray()
            self._diagnostics = bytearray()
            self._container.start()
            self._call({"op": "ping"}, timeout=30)
        except Exception as error:
            self._stop_container()
            self._broken = True  # the next call tries a fresh container again
            raise SandboxUnavailable(
                f"The sandbox container did not start ({error}). Check the engine with "
                "`envalign sandbox doctor`."
            ) from error

    def _create_container(self) -> Any:
        """Create the container (the hardening lives here) and return it."""
        import docker.types

        from envalign.sandbox.image import SANDBOX_UID

        api = self._client.api
        limits = self.limits
        files = self.work_dir_files + 2 * SCRATCH_FILES
        memory_mb = (
            limits.memory_mb
            + self.work_dir_mb
            + TMP_MB
            + SHM_MB
            + SERVER_OVERHEAD_MB
            + (files * FILE_COST_BYTES >> 20)
        )
        file_size = limits.file_size_mb << 20
        uid = SANDBOX_UID
        work_dir = f"size={self.work_dir_mb}m,nr_inodes={self.work_dir_files}"
        host_config = api.create_host_config(
            auto_remove=True,
            init=False,  # the server is PID 1: see server.serve
            network_mode="none",
            read_only=True,
            tmpfs={
                WORK_DIR: f"{work_dir},uid={uid},gid={uid},mode=0700,exec",
                "/tmp": f"size={TMP_MB}m,nr_inodes={SCRATCH_FILES},mode=1777",
                "/dev/shm": f"size={SHM_MB}m,nr_inodes={SCRATCH_FILES},mode=1777",
            },
            runtime=self.runtime,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=limits.processes + 4,
            mem_limit=f"{memory_mb}m",
            memswap_limit=f"{memory_mb}m",
            nano_cpus=int(self.cpus * 1e9),
            ulimits=[
                docker.types.Ulimit(name="nofile", soft=256, hard=256),
                docker.types.Ulimit(name="fsize", soft=file_size, hard=file_size),
                docker.types.Ulimit(name="core", soft=0, hard=0),
            ],
        )
        if not self.gvisor:
            # gVisor's /proc and /sys are its own, not the host's (and masking them crashes
            # runsc 2022's sysfs); under runc they are the host kernel's.
            host_config["MaskedPaths"] = list(MASKED_PATHS)
        created = api.create_container(
            self.image,
            command=["python3", "-I", "-c", _SERVER_SOURCE],
            name=f"envalign-sandbox-{uuid.uuid4().hex[:12]}",
            user=f"{uid}:{uid}",
            environment={"LANG": "C.UTF-8", "HOME": WORK_DIR},
            working_dir=WORK_DIR,
            hostname="sandbox",
            # With detach=False and stdin_open, docker-py sets StdinOnce: stdin closes when the
            # host disconnects, even by crashing; the server then exits and the container
            # removes itself.
            stdin_open=True,
            detach=False,
            use_config_proxy=False,  # no proxy settings of the host leak in
            network_disabled=True,
            labels={
                LABEL: "1",
                OWNER_PID_LABEL: str(os.getpid()),
                OWNER_HOST_LABEL: socket.gethostname(),
            },
            host_config=host_config,
        )
        return self._client.containers.get(created["Id"])

    def _stop_container(self) -> None:
        """Close the connection and remove the container (it may be gone already)."""
        import docker.errors

        if self._socket is not None:
            for closing in (self._socket.close, self._raw.close):
                try:
                    closing()
                except OSError:
                    pass
            self._socket = None
        if self._container is not None:
            try:
                self._container.remove(force=True)
            except docker.errors.APIError:
                pass  # already removed (auto_remove) or being removed
            except Exception:  # the engine is gone: auto_remove or `sandbox gc` removes it
                pass
            self._container = None

    # ------------------------------------------------------------ protocol

    def _call_or_raise(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send a request whose failure is the caller's problem (upload, download...)."""
        try:
            response = self._call(request, timeout=60)
        except _ServerGone as gone:
            raise SandboxError(
                f"The sandbox stopped ({gone}); the next run starts a fresh one."
            ) from None
        if not response.get("ok"):
            raise SandboxError(f"The sandbox refused {request['op']}: {response.get('error')}")
        return response

    def _call(
        self, request: dict[str, Any], timeout: float, retried: bool = False
    ) -> dict[str, Any]:
        """Send one request and return its response; raise _ServerGone when the server is."""
        with self._lock:
            if self._closed:
                raise SandboxError("This sandbox is closed; create a new one.")
            if self._broken:
                self.restart()
            request["id"] = request_id = uuid.uuid4().hex[:8]
            try:
                self._send(request)
                response = self._receive(time.monotonic() + timeout)
            except (OSError, _ServerGone) as error:
                self._broken = True
                raise _ServerGone(str(error) or type(error).__name__) from None
            if response.get("id") != request_id:
                self._broken = True
                raise _ServerGone("the server answered out of order")
            if response.get("poisoned") and not response.get("ok") and not retried:
                # An earlier run broke the server in a way found only after it answered: this
                # request goes to a fresh container instead, as if nothing had happened.
                self.restart()
                return self._call(request, timeout, retried=True)
            return response

    def _send(self, request: dict[str, Any]) -> None:
        if self._socket is None:
            raise OSError("no container is connected")
        data = json.dumps(request).encode()
        self._socket.sendall(struct.pack(">I", len(data)) + data)

    def _receive(self, deadline: float) -> dict[str, Any]:
        """Read Docker's multiplexed frames until one whole message is buffered."""
        while True:
            if len(self._buffer) >= 4:
                size = struct.unpack(">I", self._buffer[:4])[0]
                if size > MAX_MESSAGE_BYTES:
                    raise _ServerGone(f"the server sent a {size}-byte message")
                if len(self._buffer) >= 4 + size:
                    message = json.loads(bytes(self._buffer[4 : 4 + size]))
                    del self._buffer[: 4 + size]
                    return message
            stream, payload = self._read_frame(deadline)
            if stream == 1:
                self._buffer += payload
            else:
                self._diagnostics = (self._diagnostics + payload)[-4000:]

    def _read_frame(self, deadline: float) -> tuple[int, bytes]:
        header = self._read_exact(8, deadline)
        return header[0], self._read_exact(struct.unpack(">I", header[4:])[0], deadline)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        if self._socket is None:
            raise OSError("no container is connected")
        chunks = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _ServerGone("no answer in time")
            self._socket.settimeout(remaining)
            try:
                chunk = self._socket.recv(min(size, 1 << 20))
            except TimeoutError:
                raise _ServerGone("no answer in time") from None
            if not chunk:
                detail = bytes(self._diagnostics).decode(errors="replace").strip()
                raise _ServerGone("connection closed" + (f": {detail}" if detail else ""))
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


def collect_leftovers(client: Any, *, everything: bool = False) -> list[str]:
    """Remove envalign sandbox containers whose owner process is gone (or all, ``everything``).

    Args:
        client: A ``docker.DockerClient``.
        everything: Remove every envalign sandbox container, even those of live processes.

    Returns:
        The names of the removed containers.
    """
    import docker.errors

    removed = []
    host = socket.gethostname()
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
        labels = container.labels
        # Containers of another host (another machine or container sharing this engine) are
        # never judged from here; their own processes or `gc --all` remove them.
        ours = labels.get(OWNER_HOST_LABEL) == host
        owner_dead = ours and not _pid_alive(int(labels.get(OWNER_PID_LABEL, "0") or 0))
        if everything or owner_dead:
            try:
                container.remove(force=True)
                removed.append(container.name)
            except docker.errors.APIError:
                pass
    return removed


def collect_leftovers_once(client: Any) -> None:
    """Run :func:`collect_leftovers` the first time this process starts a sandbox."""
    global _GC_DONE
    with _GC_LOCK:
        if not _GC_DONE:
            _GC_DONE = True
            collect_leftovers(client)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@atexit.register
def _close_all() -> None:
    """Remove the containers of this process at exit."""
    for sandbox in list(_LIVE):
        try:
            sandbox.close()
        except Exception:  # best effort at interpreter exit
            pass
