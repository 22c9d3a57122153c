"""The adversarial suite's second round, against the real engine.

Categories that the careful sandbox suites (sunwalker-box, Piston, DMOJ, epicbox) test: what
/proc, /sys and /dev expose; state that survives from one pooled session to the next; signalling
and ptrace-attaching the execution server or PID 1; terminals; paths that cross the host
boundary; many sessions at once. After every attack the session answers ``print(6*7)`` with 42.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from envalign.errors import ConfigError, SandboxError
from envalign.sandbox import DockerSandbox, Limits, SandboxPool

pytestmark = pytest.mark.docker

SHORT = Limits(wall_time_s=5, cpu_time_s=5)


def answers_42(box) -> None:
    """The session is clean (no process left) and a harmless run gets its right answer."""
    assert box.processes() == []
    result = box.run("print(6*7)")
    assert (result.stdout, result.exit_code, result.oom_killed) == ("42\n", 0, False), result


@pytest.fixture(scope="module")
def pool(sandbox_image):
    """One container handed out again and again: what one session leaves, the next one sees."""
    with SandboxPool(size=1, image=sandbox_image, limits=SHORT) as shared:
        yield shared


def container_of(pool) -> str:
    with pool.session() as box:
        return box.container_id


# ------------------------------------------------------------------ memory left behind


def test_a_run_that_fills_memory_with_files_is_charged_alone(fresh) -> None:
    # Empty files cost kernel memory, not tmpfs blocks: this used to OOM every later run.
    code = (
        "n = 0\ntry:\n    while True:\n        open('f%07d' % n + 'x' * 200, 'w').close()\n"
        "        n += 1\nexcept OSError as error:\n    print(n, error.errno)"
    )
    result = fresh.run(code, limits=SHORT.replace(wall_time_s=60, cpu_time_s=60))
    created, errno = result.stdout.split()
    assert int(errno) == 28 and int(created) == 32767  # ENOSPC at the work dir's file count
    for _ in range(3):
        answers_42(fresh)


def test_a_session_whose_memory_stays_full_is_replaced(sandbox_image, monkeypatch) -> None:
    # Take away the memory set aside for files, so leftovers do fill the container: the probe
    # after the OOM-killed run notices, and the next run gets a fresh container.
    monkeypatch.setattr("envalign.sandbox.docker.FILE_COST_BYTES", 0)
    limits = Limits(wall_time_s=60, cpu_time_s=60, memory_mb=64)
    with DockerSandbox(sandbox_image, limits, work_dir_files=1_000_000) as box:
        first = box.container_id
        code = "n = 0\nwhile True:\n    open('f%08d' % n + 'x' * 200, 'w').close()\n    n += 1"
        result = box.run(code)
        assert result.oom_killed and "replaced by a fresh one" in result.stderr, result
        assert not box.healthy
        assert box.run("print(6*7)").stdout == "42\n"
        assert box.container_id != first
        assert box.run("import os; print(os.listdir('.'))").stdout == "[]\n"


# ------------------------------------------------------------------ /proc, /sys, /dev


@pytest.mark.parametrize(
    "path",
    [
        "/proc/kcore",
        "/proc/kallsyms",
        "/proc/keys",
        "/proc/1/environ",
        "/proc/1/mem",
        "/proc/1/fd/0",
        "/proc/1/maps",
        "/sys/kernel/notes",
        "/sys/kernel/vmcoreinfo",
        "/sys/firmware/dmi/tables/DMI",
        "/sys/devices/virtual/dmi/id/product_uuid",
        "/sys/module/kernel/parameters/panic",
    ],
)
def test_host_and_server_details_are_unreadable(fresh, path) -> None:
    result = fresh.run(
        f"try:\n    data = open({path!r}, 'rb').read(64)\nexcept OSError as e:\n"
        f"    print('denied', type(e).__name__)\nelse:\n    print('read', len(data))"
    )
    assert result.stdout.startswith("denied") or result.stdout == "read 0\n", result
    answers_42(fresh)


@pytest.mark.parametrize(
    "path",
    [
        "/proc/sysrq-trigger",
        "/proc/sys/kernel/hostname",
        "/proc/sys/vm/drop_caches",
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/proc/1/oom_score_adj",
        "/proc/1/comm",
        "/dev/null/x",
        "/dev/evil",
    ],
)
def test_proc_sys_and_dev_are_not_writable(fresh, path) -> None:
    result = fresh.run(
        f"try:\n    open({path!r}, 'w').write('1')\nexcept OSError as e:\n"
        f"    print('denied', type(e).__name__)\nelse:\n    print('written')"
    )
    assert result.stdout.startswith("denied"), result
    answers_42(fresh)


def test_only_the_minimal_devices_exist(fresh) -> None:
    result = fresh.run(
        "import os, stat\nfor name in sorted(os.listdir('/dev')):\n"
        "    mode = os.lstat('/dev/' + name).st_mode\n"
        "    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):\n        print(name)"
    )
    assert set(result.stdout.split()) <= {"full", "null", "random", "tty", "urandom", "zero"}
    masked = fresh.run(
        "import os; print(sum(len(os.listdir(d)) for d in ('/sys/kernel', '/sys/module', "
        "'/sys/firmware', '/sys/devices/virtual/dmi') if os.path.isdir(d)))"
    )
    assert masked.stdout == "0\n"  # an empty, read-only tmpfs over each


def test_other_processes_are_only_the_server(fresh) -> None:
    result = fresh.run(
        "import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    )
    pids = eval(result.stdout)  # a list of ints printed by the run
    assert 1 in pids and len(pids) <= 3  # the server (PID 1), this run, nothing of the host


# ------------------------------------------------------------------ state across pooled sessions

LEAVE_STATE = r"""
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
shm = libc.shmget(0x1234, 4096, 0o1666)
libc.shmat.restype = ctypes.c_void_p
ctypes.memmove(libc.shmat(shm, None, 0), b"episode-1-secret", 16)
libc.semget(0x1235, 1, 0o1666)
libc.msgget(0x1236, 0o1666)
rt = ctypes.CDLL("librt.so.1", use_errno=True)
mq = rt.mq_open(b"/envalign-leak", os.O_CREAT | os.O_RDWR, 0o666, None)
open("/dev/shm/leak", "w").write("secret")
open("/tmp/leak", "w").write("secret")
os.environ["LEAKED"] = "1"
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
subprocess.Popen(["sleep", "1000"], start_new_session=True)
print(shm >= 0, mq >= 0)
"""

FIND_STATE = r"""
import ctypes, os, resource
libc = ctypes.CDLL(None, use_errno=True)
seen = []
for key, get in ((0x1234, lambda k: libc.shmget(k, 0, 0)), (0x1235, lambda k: libc.semget(k, 0, 0)),
                 (0x1236, lambda k: libc.msgget(k, 0))):
    if get(key) >= 0:
        seen.append(hex(key))
for kind in ("shm", "sem", "msg"):
    rows = open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]
    seen += [kind] * len(rows)
rt = ctypes.CDLL("librt.so.1", use_errno=True)
if rt.mq_open(b"/envalign-leak", os.O_RDWR) >= 0:
    seen.append("mq")
seen += os.listdir("/dev/mqueue") + os.listdir("/dev/shm")
seen += [name for name in os.listdir("/tmp") if name != ".envalign-run"]
if "LEAKED" in os.environ:
    seen.append("env")
if resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 16:
    seen.append("ulimit")
seen += [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]
print(seen)
"""


def test_nothing_survives_from_one_pooled_session_to_the_next(pool) -> None:
    before = container_of(pool)
    with pool.session() as box:
        left = box.run(LEAVE_STATE)
        assert left.stdout == "True True\n", left
    with pool.session() as box:
        assert box.container_id == before  # the very same container, reset in between
        found = box.run(FIND_STATE)
        assert found.stdout == "[]\n", found
        answers_42(box)


def test_nothing_survives_from_one_run_to_the_next(fresh) -> None:
    assert fresh.run(LEAVE_STATE).stdout == "True True\n"
    assert fresh.run(FIND_STATE).stdout == "[]\n"


# ------------------------------------------------------------------ signals and ptrace

PTRACE = (
    "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "result = libc.ptrace(16, {pid}, 0, 0)\nprint(result, ctypes.get_errno())"
)


@pytest.mark.parametrize("target", ["1", "os.getppid()"])
def test_the_server_and_pid_1_cannot_be_ptrace_attached(fresh, target) -> None:
    result = fresh.run(PTRACE.replace("{pid}", target))
    assert result.stdout == "-1 1\n", result  # EPERM
    answers_42(fresh)


@pytest.mark.parametrize(
    "signal_name", ["KILL", "STOP", "TERM", "INT", "HUP", "USR1", "USR2", "SEGV", "ABRT", "ALRM"]
)
def test_signalling_the_server_does_nothing(fresh, signal_name) -> None:
    result = fresh.run(
        f"kill -{signal_name} 1 $PPID; kill -{signal_name} -1; sleep 0.2; echo done",
        language="bash",
    )
    assert result.exit_code in (0, 1, -9)  # `kill -1` may hit the run's own shell
    assert fresh.healthy
    answers_42(fresh)


def test_ptrace_of_its_own_child_still_works(fresh) -> None:
    # Debuggers inside the sandbox are fine: only the server and init are out of reach.
    code = (
        "import ctypes, os, signal\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "pid = os.fork()\nif pid == 0:\n    signal.pause()\n"
        "print(libc.ptrace(16, pid, 0, 0))\nos.kill(pid, 9)"
    )
    assert fresh.run(code).stdout == "0\n"


# ------------------------------------------------------------------ terminals


def test_pseudo_terminals_and_ioctls_on_the_standard_streams(fresh) -> None:
    code = r"""
import fcntl, os, pty, termios
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"x")
    print("injected")
except OSError as error:
    print("TIOCSTI", error.errno)
try:
    os.open("/dev/tty", os.O_RDWR)
    print("tty")
except OSError as error:
    print("tty", error.errno)
master, slave = pty.openpty()
os.write(master, b"ls\n")
print("pty", len(os.read(slave, 10)))
"""
    result = fresh.run(code)
    lines = result.stdout.splitlines()
    assert lines[0] in ("TIOCSTI 25", "TIOCSTI 1", "TIOCSTI 5"), result  # not a terminal
    assert lines[1] == "tty 6"  # ENXIO: no controlling terminal to reach
    assert lines[2] == "pty 3"  # a pty of its own works and dies with the run
    answers_42(fresh)


# ------------------------------------------------------------------ paths across the boundary


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "", "a\x00b", "/dev/null"])
def test_bad_paths_are_refused_before_they_cross(fresh, path) -> None:
    with pytest.raises(ConfigError):
        fresh.upload({path: "x"})
    with pytest.raises(ConfigError):
        fresh.run("print(1)", files={path: "x"})
    with pytest.raises(ConfigError):
        fresh.download(path)
    answers_42(fresh)


def test_symlinks_planted_by_code_do_not_lead_out(fresh) -> None:
    fresh.run("ln -s /etc etc; ln -s /proc/1/environ env; ln -s /tmp tmp", language="bash")
    for path in ("etc/passwd", "env", "tmp/x"):
        with pytest.raises(SandboxError, match="leaves the work dir"):
            fresh.download(path)
    with pytest.raises(SandboxError, match="leaves the work dir"):
        fresh.upload({"etc/evil": "x"})
    with pytest.raises(SandboxError, match="leaves the work dir"):
        fresh.run("print(1)", files={"tmp/evil": "x"})
    answers_42(fresh)


def test_downloads_of_non_files_return_at_once(fresh) -> None:
    fresh.run(
        "mkfifo fifo; mkdir dir; ln -s dir linkdir; python3 -c "
        "\"import socket; socket.socket(socket.AF_UNIX).bind('sock')\"",
        language="bash",
    )
    for path, why in (("fifo", "not a regular file"), ("dir", "directory"), ("sock", "sock")):
        started = time.monotonic()
        with pytest.raises(SandboxError, match=why):
            fresh.download(path)
        assert time.monotonic() - started < 5
    with pytest.raises(SandboxError):
        fresh.download("linkdir")
    with pytest.raises(SandboxError, match="not a regular file"):
        fresh.upload({"fifo": "x"})  # writing into a FIFO would block the server too
    answers_42(fresh)


def test_a_file_cannot_change_while_it_is_downloaded(fresh) -> None:
    # Nothing of a run outlives it, so a background writer is dead before the download starts.
    fresh.run("(while true; do echo x >> grows; done) & sleep 0.5; echo started", language="bash")
    first = fresh.download("grows")
    time.sleep(0.5)
    assert fresh.download("grows") == first and len(first) > 0
    answers_42(fresh)


def test_non_utf8_names_and_device_like_names(fresh) -> None:
    odd = os.fsdecode(b"caf\xe9-\xff.txt")
    fresh.upload({odd: b"latin-1", "con": "c", "nul": "n", "dev/null": "d"})
    listing = fresh.run("import os; print(sorted(os.listdir(b'.')))")
    assert "caf\\xe9-\\xff.txt" in listing.stdout and "b'con'" in listing.stdout
    assert fresh.download(odd) == b"latin-1"
    assert fresh.download("dev/null") == b"d"
    answers_42(fresh)


def test_a_hundred_thousand_files_are_refused_in_one_line(fresh) -> None:
    files = {f"f{n}": "" for n in range(100_000)}
    with pytest.raises(ConfigError, match="work_dir_files"):
        fresh.upload(files)
    fresh.upload({f"f{n}": "" for n in range(20_000)})  # within the limit: fine
    assert fresh.run("import os; print(len(os.listdir('.')))").stdout == "20000\n"
    fresh.reset()
    answers_42(fresh)


def test_a_gigabyte_file_is_refused_without_being_sent(fresh) -> None:
    big = b"\0" * (1 << 30)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="file_size_mb"):
        fresh.upload({"big": big})
    with pytest.raises(ConfigError, match="work dir"):
        fresh.run("print(1)", files={f"part{n}": big[: 12 << 20] for n in range(6)})
    assert time.monotonic() - started < 10
    answers_42(fresh)


def test_a_file_past_the_size_limit_written_by_code_fails_only_that_run(fresh) -> None:
    result = fresh.run("open('big', 'wb').write(b'x' * (32 << 20))")
    assert result.exit_code != 0 and "File too large" in result.stderr
    answers_42(fresh)


# ------------------------------------------------------------------ many sessions


def host_state(client) -> tuple[int, int, int, int]:
    """This process's containers, the engine's networks and volumes, this process's open fds."""
    labels = ["envalign.sandbox=1", f"envalign.owner_pid={os.getpid()}"]
    return (
        len(client.containers.list(all=True, filters={"label": labels})),
        len(client.networks.list()),
        len(client.volumes.list()),
        len(os.listdir("/proc/self/fd")),
    )


def test_64_sessions_started_and_closed_repeatedly_leave_nothing(sandbox_image) -> None:
    import docker

    client = docker.from_env()
    before = host_state(client)
    errors: list[BaseException] = []
    boxes: list[DockerSandbox] = []
    lock = threading.Lock()

    def start() -> None:
        try:
            box = DockerSandbox(sandbox_image, Limits(memory_mb=32))
            with lock:
                boxes.append(box)
        except BaseException as error:  # collected and reported below
            errors.append(error)

    for _ in range(2):
        boxes.clear()
        threads = [threading.Thread(target=start) for _ in range(64)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors[:3]
        assert len(boxes) == 64
        assert all(box.run("print(6*7)").stdout == "42\n" for box in boxes[:8])
        for box in boxes:
            box.close()
    deadline = time.monotonic() + 30
    while host_state(client) != before and time.monotonic() < deadline:
        time.sleep(0.2)
    after = host_state(client)  # the same client, so its own connection counts in both
    client.close()
    assert after == before


# ------------------------------------------------------------------ attacks on what outlives a run


@pytest.mark.parametrize(
    "attack",
    [
        "prlimit --pid 1 --nofile=5:5",  # the server's hard limits: only root raises them again
        "prlimit --pid 1 --nproc=1:1 --as=10000000:10000000",
        "prlimit --pid 1 --nofile=8",  # soft only: put back
        "renice -n 19 -p 1",
        "chrt --idle -p 0 1",  # SCHED_IDLE: the server would barely run during the next run
        "chmod 000 /work",
        "mkdir -p /tmp/.envalign-run/a/b && chmod 000 /tmp/.envalign-run/a /tmp/.envalign-run",
        "mkdir -p d/e/f && touch d/e/f/x && chmod 000 d/e d",
        "mkdir -p /dev/shm/d && touch /dev/shm/d/x && chmod 000 /dev/shm/d",
        "p=$(printf 'd/%.0s' $(seq 1 1500)); mkdir -p \"$p\"",  # deeper than the scratch dirs
    ],
)
def test_attacks_that_outlive_their_run_never_reach_the_next(fresh, attack) -> None:
    fresh.run(attack, language="bash")
    answers_42(fresh)
    fresh.reset()
    assert fresh.run("import os; print(os.listdir('.'))").stdout == "[]\n"
    answers_42(fresh)
