"""Hostile code against the real engine: every attack is contained and the session stays usable."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from envalign.errors import SandboxError
from envalign.sandbox import DockerSandbox, Limits, SandboxPool

pytestmark = pytest.mark.docker

SHORT = Limits(wall_time_s=3, cpu_time_s=3)


def assert_clean_and_usable(box) -> None:
    """No process of the attack is left, and the next run works normally."""
    assert box.processes() == []
    result = box.run("print('alive')")
    assert (result.stdout, result.exit_code) == ("alive\n", 0)


@pytest.mark.parametrize(
    "language, code",
    [
        (
            "python",
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        ),
        ("bash", "bomb() { bomb | bomb & }; bomb; sleep 30"),
    ],
)
def test_fork_bomb(fresh, language, code) -> None:
    started = time.monotonic()
    result = fresh.run(code, language=language, limits=SHORT)
    assert result.timed_out or result.exit_code != 0
    assert time.monotonic() - started < 15
    assert_clean_and_usable(fresh)


def test_memory_bomb_hits_the_run_limit(fresh) -> None:
    result = fresh.run(
        "chunks = []\nwhile True:\n    chunks.append(b'x' * (16 << 20))",
        limits=SHORT.replace(memory_mb=128),
    )
    assert result.oom_killed and result.exit_code != 0 and not result.timed_out
    assert "MemoryError" in result.stderr
    assert_clean_and_usable(fresh)


def test_memory_bomb_hits_the_container_limit(sandbox_image) -> None:
    # Per-run address-space limit above the container's memory: the cgroup OOM killer acts.
    with DockerSandbox(sandbox_image, Limits(memory_mb=64)) as box:
        result = box.run(
            "data = b'x' * (600 << 20)\nprint(len(data))",
            limits=Limits(memory_mb=2048, wall_time_s=10),
        )
        assert result.oom_killed and result.exit_code == -9, result
        assert_clean_and_usable(box)


def test_infinite_loop_times_out(fresh) -> None:
    result = fresh.run("while True:\n    pass", limits=Limits(wall_time_s=1.5))
    assert result.timed_out and result.exit_code == -9
    assert 1.4 < result.duration_s < 4
    assert_clean_and_usable(fresh)


def test_cpu_time_limit(fresh) -> None:
    result = fresh.run("while True:\n    pass", limits=Limits(wall_time_s=10, cpu_time_s=1))
    assert result.timed_out and result.duration_s < 6
    assert_clean_and_usable(fresh)


@pytest.mark.parametrize(
    "language, code", [("python", "import time; time.sleep(10**6)"), ("bash", "sleep infinity")]
)
def test_sleep_forever_times_out(fresh, language, code) -> None:
    result = fresh.run(code, language=language, limits=Limits(wall_time_s=1))
    assert result.timed_out
    assert_clean_and_usable(fresh)


@pytest.mark.parametrize(
    "language, code",
    [
        (
            "python",
            "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)",
        ),
        ("bash", "head -c 1G /dev/zero | tr '\\0' x"),
        ("python", "import sys\nfor _ in range(1024):\n    sys.stderr.write('e' * (1 << 20))"),
    ],
)
def test_a_gigabyte_of_output_is_cut_at_the_limit(fresh, language, code) -> None:
    limits = SHORT.replace(output_bytes=100_000, wall_time_s=20)
    started = time.monotonic()
    result = fresh.run(code, language=language, limits=limits)
    assert result.truncated and not result.timed_out
    assert len(result.stdout) + len(result.stderr) == 100_000
    assert time.monotonic() - started < 10
    assert_clean_and_usable(fresh)


def test_filling_the_disk_is_bounded(fresh) -> None:
    code = (
        "import os\nn = 0\ntry:\n    while True:\n"
        "        with open(f'f{n}', 'wb') as f:\n            f.write(b'x' * (1 << 20))\n"
        "        n += 1\nexcept OSError as e:\n    print(n, e.errno)"
    )
    result = fresh.run(code, limits=SHORT.replace(wall_time_s=20))
    written, errno = result.stdout.split()
    assert int(written) <= 64 and int(errno) == 28  # ENOSPC at the work dir's size
    big = fresh.run(
        "open('big', 'wb').write(b'x' * (64 << 20))", limits=SHORT.replace(file_size_mb=4)
    )
    assert big.exit_code != 0
    fresh.reset()
    assert_clean_and_usable(fresh)


@pytest.mark.parametrize(
    "path",
    [
        "/etc/evil",
        "/usr/bin/evil",
        "/evil",
        "/root/evil",
        "/home/evil",
        "/var/evil",
        "/proc/sys/kernel/evil",
    ],
)
def test_writing_outside_the_work_dir_fails(fresh, path) -> None:
    result = fresh.run(f"open({path!r}, 'w').write('x')")
    assert result.exit_code == 1
    assert (
        "Read-only file system" in result.stderr
        or "Permission denied" in result.stderr
        or "No such file" in result.stderr
    )


@pytest.mark.parametrize(
    "code",
    [
        "import socket; socket.create_connection(('1.1.1.1', 80), timeout=2)",
        "import socket; socket.create_connection(('127.0.0.1', 2375), timeout=2)",
        "import socket; socket.getaddrinfo('pypi.org', 443)",
        "import urllib.request; urllib.request.urlopen('http://example.com', timeout=2)",
    ],
)
def test_network_is_unreachable(fresh, code) -> None:
    result = fresh.run(code)
    last_line = result.stderr.strip().splitlines()[-1]
    assert result.exit_code == 1 and not result.timed_out
    assert any(word in last_line for word in ("Error", "error", "unreachable")), last_line


def test_only_loopback_interface(fresh) -> None:
    result = fresh.run("cat /proc/net/dev | tail -n +3 | cut -d: -f1", language="bash")
    assert result.stdout.split() == ["lo"]


def test_host_environment_does_not_leak(sandbox_image, monkeypatch) -> None:
    monkeypatch.setenv("ENVALIGN_CANARY_SECRET", "s3cr3t-canary")
    with DockerSandbox(sandbox_image) as box:
        result = box.run("cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; env", language="bash")
        assert "s3cr3t-canary" not in result.stdout
        assert "ENVALIGN_CANARY" not in result.stdout
        names = {line.split("=", 1)[0] for line in result.stdout.splitlines() if "=" in line}
        assert names <= {
            "PATH",
            "HOME",
            "LANG",
            "HOSTNAME",
            "PWD",
            "SHLVL",
            "_",
            "PYTHONDONTWRITEBYTECODE",
        }


@pytest.mark.parametrize(
    "language, code",
    [
        ("bash", "nohup sleep 1000 >/dev/null 2>&1 &\nsetsid sleep 1000 &\necho started"),
        (
            "python",
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(1000)\n    os._exit(0)\nprint('started')",
        ),
        ("bash", "(sleep 1000 &) ; echo started"),  # holds the output pipe open
    ],
)
def test_background_processes_do_not_outlive_their_run(fresh, language, code) -> None:
    result = fresh.run(code, language=language, limits=SHORT)
    assert result.stdout == "started\n" and not result.timed_out
    assert result.duration_s < 2
    assert_clean_and_usable(fresh)


def test_code_cannot_kill_the_server(fresh) -> None:
    # The server is PID 1 of its container: the kernel drops SIGKILL sent from inside.
    first = fresh.container_id
    result = fresh.run("import os, signal; os.kill(os.getppid(), signal.SIGKILL); print('sent')")
    assert result.stdout == "sent\n" and fresh.healthy
    assert fresh.run("print('same')").stdout == "same\n" and fresh.container_id == first


def test_a_container_killed_from_outside_breaks_only_that_run(sandbox_image) -> None:
    with DockerSandbox(sandbox_image) as box:
        first = box.container_id
        killer = threading.Timer(1.0, lambda: box._container.kill())
        killer.start()
        with pytest.raises(SandboxError, match="sandbox stopped during this run"):
            box.run("import time; time.sleep(30)")
        killer.join()
        assert not box.healthy
        assert box.run("print('fresh')").stdout == "fresh\n"
        assert box.container_id != first and box.healthy


@pytest.mark.parametrize("signal_name", ["KILL", "TERM", "INT", "HUP"])
def test_signalling_pid_1_does_not_escape(fresh, signal_name) -> None:
    result = fresh.run(f"kill -{signal_name} 1; sleep 0.2; echo done", language="bash")
    assert result.stdout in ("done\n", "")  # TERM-like signals reach the server, which ignores them
    assert fresh.run("print('alive')").stdout == "alive\n"


def test_invalid_utf8_comes_back_replaced(fresh) -> None:
    result = fresh.run(
        "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe \\xc3(')\n"
        "sys.stderr.buffer.write(b'\\x80')"
    )
    assert result.stdout == "ok \ufffd\ufffd \ufffd(" and result.stderr == "\ufffd"


def test_a_thousand_runs_from_eight_threads_each_get_their_own_result(sandbox_image) -> None:
    with SandboxPool(size=4, image=sandbox_image) as pool:

        def one(number: int) -> bool:
            with pool.session(timeout=60) as box:
                result = box.run(f"print({number} * {number}, end='')")
                return result.stdout == str(number * number) and result.exit_code == 0

        with ThreadPoolExecutor(max_workers=8) as executor:
            outcomes = list(executor.map(one, range(1000)))
        assert all(outcomes), outcomes.count(False)
        # The host is responsive and the pool still serves correct results.
        started = time.monotonic()
        assert sum(range(10**5)) > 0 and time.monotonic() - started < 1
        with pool.session() as box:
            assert box.run("print('after')").stdout == "after\n"


def test_concurrent_runs_on_one_session_are_serialised(fresh) -> None:
    results: list = [None] * 16

    def one(number: int) -> None:
        results[number] = fresh.run(f"print({number})").stdout

    threads = [threading.Thread(target=one, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [f"{n}\n" for n in range(16)]


def test_host_is_fine_afterwards() -> None:
    assert os.getloadavg()[0] < 100


def test_no_descriptor_leak_across_many_resets(fresh) -> None:
    def server_fds() -> int:
        return fresh._call_or_raise({"op": "processes"})["open_fds"]

    before = server_fds()
    for _ in range(20):
        fresh.run("print(1)")
        fresh.reset()
    assert server_fds() == before


@pytest.mark.parametrize(
    "code",
    [
        "import os; print(os.listdir(f'/proc/{os.getppid()}/fd'))",
        "import os; open(f'/proc/{os.getppid()}/fd/3', 'wb').write(b'forged')",
        "import os; print(open(f'/proc/{os.getppid()}/environ').read())",
    ],
)
def test_code_cannot_reach_the_servers_descriptors(fresh, code) -> None:
    result = fresh.run(code)
    assert result.exit_code == 1 and "PermissionError" in result.stderr
    assert_clean_and_usable(fresh)


def test_code_can_still_inspect_itself(fresh) -> None:
    result = fresh.run("import os; print(len(os.listdir('/proc/self/fd')) > 2)")
    assert result.stdout == "True\n"
