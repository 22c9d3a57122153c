import os
import shutil
import warnings

import pytest

from envalign.sandbox import Limits, LocalSandbox
from envalign.sandbox import local as local_module


@pytest.fixture
def box():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sandbox = LocalSandbox(Limits(wall_time_s=3, cpu_time_s=3), bubblewrap=False)
    yield sandbox
    sandbox.close()


def test_warns_loudly_once(monkeypatch, capsys) -> None:
    monkeypatch.setattr(local_module, "_WARNED", False)
    with pytest.warns(RuntimeWarning, match="LOCAL sandbox"):
        LocalSandbox(bubblewrap=False).close()
    assert "WARNING" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LocalSandbox(bubblewrap=False).close()


def test_languages_stdin_and_files(box) -> None:
    assert box.run("print(6 * 7)").stdout == "42\n"
    result = box.run("read x; echo $x >&2; exit 3", language="bash", stdin="hi\n")
    assert (result.stderr, result.exit_code) == ("hi\n", 3)
    if shutil.which("sqlite3"):
        box.run("CREATE TABLE t(x); INSERT INTO t VALUES (5);", language="sql")
        assert box.run("SELECT x FROM t;", language="sql").stdout == "5\n"
    box.upload({"a/b.txt": "data"})
    assert box.run("print(open('a/b.txt').read())").stdout == "data\n"
    assert box.download("a/b.txt") == b"data"
    box.reset()
    assert box.run("import os; print(os.listdir('.'))").stdout == "[]\n"


def test_host_environment_is_not_passed(box, monkeypatch) -> None:
    monkeypatch.setenv("ENVALIGN_CANARY_SECRET", "x")
    assert "ENVALIGN_CANARY_SECRET" not in box.run("import os; print(dict(os.environ))").stdout


def test_timeout_kills_detached_processes(box) -> None:
    code = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\n"
        "time.sleep(1000)  # envalign-local-detached-probe"
    )
    result = box.run(code, limits=Limits(wall_time_s=1))
    assert result.timed_out
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and _runs_probe(pid)]


def _runs_probe(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
    except OSError:
        return False
    return b"envalign-run-" in cmdline and os.getpid() != int(pid) and b"main.py" in cmdline


def test_output_and_memory_limits(box) -> None:
    result = box.run(
        "import sys\nwhile True: sys.stdout.write('x' * 65536)", limits=Limits(output_bytes=10_000)
    )
    assert result.truncated and len(result.stdout) == 10_000
    memory = box.run("x = b'x' * (1 << 30)", limits=Limits(memory_mb=128))
    assert memory.oom_killed and memory.exit_code != 0


def test_invalid_utf8(box) -> None:
    assert box.run("import sys; sys.stdout.buffer.write(b'\\xff')").stdout == "\ufffd"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_bubblewrap_cuts_network_and_host_writes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = LocalSandbox(Limits(wall_time_s=5), bubblewrap=True)
    try:
        assert box.run("print(6 * 7)").stdout == "42\n"
        network = box.run("import socket; socket.create_connection(('1.1.1.1', 80), 2)")
        assert network.exit_code == 1 and "unreachable" in network.stderr
        outside = box.run("open('/etc/envalign-probe', 'w')")
        assert "Read-only file system" in outside.stderr
        assert box.run("echo ok > f.txt; cat f.txt", language="bash").stdout == "ok\n"
    finally:
        box.close()


def test_local_downloads_and_uploads_never_block_or_leave_the_work_dir(box, tmp_path) -> None:
    import time

    from envalign.errors import SandboxError

    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    box.run(f"mkfifo fifo; mkdir dir; ln -s {outside} link", language="bash")
    started = time.monotonic()
    for path in ("fifo", "dir"):
        with pytest.raises(SandboxError):
            box.download(path)
    with pytest.raises(SandboxError, match="not a regular file"):
        box.upload({"fifo": "x"})
    with pytest.raises(SandboxError, match="leaves the work dir"):
        box.download("link")
    with pytest.raises(SandboxError, match="leaves the work dir"):
        box.upload({"link": "overwritten"})
    assert time.monotonic() - started < 5
    assert outside.read_text() == "host file"
    box.upload({"fine.txt": "ok"})
    assert box.download("fine.txt") == b"ok"
