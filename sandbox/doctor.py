"""``envalign sandbox doctor``: report the engine, the image and a live check of each isolation."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

from envalign.sandbox.base import Limits


@dataclasses.dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def diagnose(image: str | None = None) -> list[Check]:
    """Check the engine, the image and, in a live container, every isolation property.

    Args:
        image: Image to check; the default image when None.

    Returns:
        The checks, in order; the live ones are missing when the engine or image is.
    """
    from envalign.sandbox.image import default_image, docker_client, image_exists

    image = image or default_image()
    try:
        client = docker_client(timeout=30)
    except Exception as error:
        return [Check("engine", False, str(error))]
    info = client.info()
    engine = (
        f"Docker {info.get('ServerVersion')}, cgroup v{info.get('CgroupVersion', '?')}, "
        f"{info.get('Driver')}, {info.get('NCPU')} CPUs"
    )
    checks = [Check("engine", True, engine)]
    if not image_exists(client, image):
        checks.append(Check("image", False, f"{image} missing: run `envalign sandbox build-image`"))
        return checks
    size_mb = client.images.get(image).attrs.get("Size", 0) / 1e6
    checks.append(Check("image", True, f"{image} ({size_mb:.0f} MB)"))
    return checks + live_checks(client, image)


def live_checks(client: Any, image: str) -> list[Check]:
    """Start a sandbox and probe each isolation property from inside and from the engine."""
    from envalign.sandbox.docker import DockerSandbox

    limits = Limits(wall_time_s=3, output_bytes=4096)
    with DockerSandbox(image, limits, client=client) as box:
        config = client.api.inspect_container(box.container_id)
        probes: list[tuple[str, Callable[[], tuple[bool, str]]]] = [
            ("runtime", lambda: _runtime(box, config)),
            ("non-root user", lambda: _probe(box, "id -u", lambda out: out.strip() != "0")),
            ("no network (TCP)", lambda: _no_tcp(box)),
            ("no network (DNS)", lambda: _no_dns(box)),
            ("read-only root", lambda: _fails(box, "touch /etc/envalign-probe")),
            ("capabilities dropped", lambda: _status_field(box, "CapEff", "0000000000000000")),
            ("no-new-privileges", lambda: _status_field(box, "NoNewPrivs", "1")),
            ("server is PID 1 and reaps orphans", lambda: _server_is_init(box)),
            ("server out of the code's reach", lambda: _server_protected(box)),
            ("SysV IPC and /dev/shm cleared after a run", lambda: _ipc_cleared(box)),
            ("host kernel details masked", lambda: _masked(box)),
            ("host environment hidden", lambda: _no_host_env(box)),
            ("limits set by the engine", lambda: _engine_limits(config)),
            (
                "nofile/fsize ulimits",
                lambda: _probe(box, "ulimit -n", lambda o: o.strip() == "256"),
            ),
            ("memory limit", lambda: _memory_limit(box)),
            ("pids limit", lambda: _pids_limit(box, config["HostConfig"].get("PidsLimit") or 0)),
            ("work dir size-bounded", lambda: _disk_bounded(box)),
            ("wall timeout kills detached processes", lambda: _detached_killed(box)),
            ("output limit", lambda: _output_limit(box)),
            ("fast path latency", lambda: _latency(box)),
        ]
        return [_safe(name, probe) for name, probe in probes]


def _safe(name: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    try:
        ok, detail = probe()
    except Exception as error:  # a probe that crashes is a failed check, reported as such
        ok, detail = False, f"{type(error).__name__}: {error}"
    return Check(name, ok, detail)


def _probe(box: Any, command: str, accept: Callable[[str], bool]) -> tuple[bool, str]:
    result = box.run(command, language="bash")
    return accept(result.stdout), (result.stdout + result.stderr).strip()[:120]


def _fails(box: Any, command: str) -> tuple[bool, str]:
    result = box.run(command, language="bash")
    return result.exit_code != 0, result.stderr.strip()[:120]


ORPHAN_ZOMBIES = (
    "import os, time\nif os.fork() == 0:\n    if os.fork() == 0:\n        os._exit(0)\n"
    "    os._exit(0)\nos.wait()\ntime.sleep(0.3)\n"
    "states = [open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0]\n"
    "          for p in os.listdir('/proc') if p.isdigit()]\n"
    "print(open('/proc/1/comm').read().strip(), states.count('Z'))"
)


def _runtime(box: Any, config: dict[str, Any]) -> tuple[bool, str]:
    runtime = config["HostConfig"].get("Runtime") or "runc"
    if not box.gvisor:
        return True, f"{runtime} (set ENVALIGN_SANDBOX_RUNTIME=runsc for gVisor)"
    kernel = box.run("dmesg | head -n 1", language="bash").stdout.strip()
    return "gVisor" in kernel, f"{runtime}: {kernel or 'no gVisor kernel seen'}"


def _server_is_init(box: Any) -> tuple[bool, str]:
    comm, _, zombies = box.run(ORPHAN_ZOMBIES).stdout.strip().partition(" ")
    return comm == "python3" and zombies == "0", f"PID 1 is {comm}, orphan zombies left: {zombies}"


def _ipc_cleared(box: Any) -> tuple[bool, str]:
    box.run(
        "import ctypes; ctypes.CDLL(None).shmget(0x5EED, 4096, 0o1600); "
        "open('/dev/shm/probe', 'w').write('x')"
    )
    left = box.run(
        "cat /proc/sysvipc/shm | tail -n +2 | wc -l; ls /dev/shm | wc -l", language="bash"
    )
    counts = left.stdout.split()
    return counts == ["0", "0"], f"segments, files left: {counts}"


def _masked(box: Any) -> tuple[bool, str]:
    if box.gvisor:
        return True, "gVisor: /proc and /sys are gVisor's own, not the host kernel's"
    result = box.run(
        "import os\nprint(len(os.listdir('/sys/kernel')) + len(os.listdir('/sys/firmware')),"
        " os.path.exists('/proc/kcore') and len(open('/proc/kcore', 'rb').read(1)))"
    )
    ok = result.stdout in ("0 0\n", "0 False\n")
    return ok, "/sys/kernel, /sys/firmware and /proc/kcore are empty" if ok else result.stdout


def _no_tcp(box: Any) -> tuple[bool, str]:
    code = "import socket\ntry:\n socket.create_connection(('1.1.1.1', 53), 2)\nexcept OSError as e:\n print('blocked', e)"
    result = box.run(code)
    return result.stdout.startswith("blocked"), result.stdout.strip()[:120]


def _no_dns(box: Any) -> tuple[bool, str]:
    code = "import socket\ntry:\n socket.gethostbyname('example.com')\nexcept OSError as e:\n print('blocked', e)"
    result = box.run(code)
    return result.stdout.startswith("blocked"), result.stdout.strip()[:120]


def _status_field(box: Any, field: str, expected: str) -> tuple[bool, str]:
    result = box.run(f"grep '^{field}:' /proc/self/status", language="bash")
    value = result.stdout.split(":", 1)[-1].strip()
    return value == expected, f"{field}={value}"


def _no_host_env(box: Any) -> tuple[bool, str]:
    result = box.run("import os; print('\\n'.join(os.environ))")
    allowed = {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE"}
    leaked = sorted(set(result.stdout.split()) - allowed & set(os.environ))
    return not leaked, f"leaked: {leaked}" if leaked else "only PATH, HOME, LANG"


def _engine_limits(config: dict[str, Any]) -> tuple[bool, str]:
    host = config["HostConfig"]
    checks = {
        "network none": host.get("NetworkMode") == "none",
        "read-only": bool(host.get("ReadonlyRootfs")),
        "cap_drop ALL": "ALL" in (host.get("CapDrop") or []),
        "pids": bool(host.get("PidsLimit")),
        "memory=swap": host.get("Memory") and host.get("Memory") == host.get("MemorySwap"),
        "cpu quota": bool(host.get("NanoCpus")),
        "masked /sys/kernel": "/sys/kernel" in (host.get("MaskedPaths") or []),
        "label": config["Config"]["Labels"].get("envalign.sandbox") == "1",
    }
    missing = [name for name, ok in checks.items() if not ok]
    detail = (
        f"pids {host.get('PidsLimit')}, memory {host.get('Memory', 0) >> 20} MiB, "
        f"{host.get('NanoCpus', 0) / 1e9:g} CPU"
    )
    return not missing, detail if not missing else f"missing: {missing}"


def _detached_killed(box: Any) -> tuple[bool, str]:
    code = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\ntime.sleep(60)"
    )
    result = box.run(code)
    left = box.processes()
    ok = result.timed_out and not left
    return ok, f"timed out after {result.duration_s:.1f} s, processes left: {len(left)}"


def _output_limit(box: Any) -> tuple[bool, str]:
    result = box.run("import sys\nwhile True: sys.stdout.write('x' * 65536)")
    return result.truncated and len(result.stdout) <= 4096, f"kept {len(result.stdout)} bytes"


def _latency(box: Any) -> tuple[bool, str]:
    times = []
    for number in range(30):
        start = time.perf_counter()
        result = box.run(f"print({number} * 2)")
        times.append(time.perf_counter() - start)
        if result.stdout != f"{number * 2}\n":
            return False, f"wrong output {result.stdout!r}"
    times.sort()
    return True, f"p50 {times[15] * 1000:.1f} ms over 30 runs"


def _memory_limit(box: Any) -> tuple[bool, str]:
    result = box.run("data = b'x' * (2 << 30)")
    return result.oom_killed, f"2 GiB allocation: exit {result.exit_code}, oom_killed"


def _pids_limit(box: Any, limit: int) -> tuple[bool, str]:
    code = (
        "import os, time\nn = 0\ntry:\n    while n < 1000:\n"
        "        if os.fork() == 0:\n            time.sleep(30)\n        n += 1\n"
        "except OSError:\n    pass\nprint(n)"
    )
    result = box.run(code)
    started = int(result.stdout.strip() or 0)
    return 0 < started < limit, f"{started} processes started before the limit of {limit}"


def _disk_bounded(box: Any) -> tuple[bool, str]:
    code = (
        "n = 0\ntry:\n    while n < 1000:\n        open(f'fill{n}', 'wb').write(b'x' * (1 << 20))\n"
        "        n += 1\nexcept OSError as error:\n    print(n, error.strerror)"
    )
    result = box.run(code)
    box.reset()
    written, _, reason = result.stdout.strip().partition(" ")
    return "No space left" in reason, f"stopped after {written} MiB: {reason}"


def _server_protected(box: Any) -> tuple[bool, str]:
    fds = box.run("import os; os.listdir(f'/proc/{os.getppid()}/fd')")
    ptrace = box.run(
        "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
        "print(libc.ptrace(16, 1, 0, 0), ctypes.get_errno())"
    )
    killed = box.run("import os; os.kill(1, 9); os.kill(1, 15); print('sent')")
    ok = "PermissionError" in fds.stderr and ptrace.stdout == "-1 1\n" and box.healthy
    detail = "its /proc/1/fd closed, ptrace refused (EPERM), SIGKILL/SIGTERM from code dropped"
    return ok and killed.stdout == "sent\n", detail
