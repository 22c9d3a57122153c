import asyncio
import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envalign.errors import SandboxError, SandboxUnavailable
from envalign.sandbox import DockerSandbox, register_language

pytestmark = pytest.mark.docker


def test_python_runs_and_reports(fresh) -> None:
    result = fresh.run("print(6 * 7)", language="python")
    assert (result.stdout, result.stderr, result.exit_code) == ("42\n", "", 0)
    assert result.ok and 0 < result.duration_s < 5


def test_python_errors_and_exit_codes(fresh) -> None:
    failed = fresh.run("def f():\n    raise ValueError('boom')\nf()")
    assert failed.exit_code == 1
    assert "ValueError: boom" in failed.stderr and "line 2, in f" in failed.stderr
    assert fresh.run("import sys; sys.exit(3)").exit_code == 3
    assert fresh.run("raise SystemExit('bye')").stderr == "bye\n"
    assert fresh.run("print(", language="python").exit_code == 1


def test_python_main_guard_argv_and_atexit(fresh) -> None:
    code = (
        "import atexit, sys\natexit.register(lambda: print('atexit'))\n"
        "if __name__ == '__main__':\n    print(sys.argv[0].endswith('main.py'))"
    )
    assert fresh.run(code).stdout == "True\natexit\n"


def test_bash_and_stdin(fresh) -> None:
    result = fresh.run(
        'read line; echo "got $line"; echo err >&2; exit 4', language="bash", stdin="hello\n"
    )
    assert (result.stdout, result.stderr, result.exit_code) == ("got hello\n", "err\n", 4)
    assert (
        fresh.run("import sys; print(len(sys.stdin.read()))", stdin=b"x" * 200_000).stdout
        == "200000\n"
    )


def test_sql_keeps_its_database_between_runs(fresh) -> None:
    created = fresh.run("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2);", language="sql")
    assert created.exit_code == 0, created.stderr
    assert fresh.run("SELECT sum(x) FROM t;", language="sql").stdout == "3\n"
    bad = fresh.run("SELECT * FROM missing;", language="sql")
    assert bad.exit_code != 0 and "no such table" in bad.stderr


def test_files_upload_download_and_reset(fresh) -> None:
    fresh.upload({"data/in.txt": "abc"})
    result = fresh.run(
        "open('out.bin', 'wb').write(open('data/in.txt').read().upper().encode())",
        files={"extra.txt": b"\x00\x01"},
    )
    assert result.exit_code == 0
    assert fresh.download("out.bin") == b"ABC"
    assert fresh.download("extra.txt") == b"\x00\x01"
    with pytest.raises(SandboxError):
        fresh.download("missing.txt")
    fresh.reset()
    assert fresh.run("import os; print(os.listdir('.'))").stdout == "[]\n"


def test_tmp_is_wiped_after_each_run(fresh) -> None:
    fresh.run("open('/tmp/x', 'w').write('1')")
    assert fresh.run("import os; print(os.path.exists('/tmp/x'))").stdout == "False\n"


def test_keep_files_false_starts_each_run_empty(sandbox_image) -> None:
    with DockerSandbox(sandbox_image, keep_files=False) as box:
        box.run("open('a', 'w').write('1')")
        assert box.run("import os; print(os.listdir('.'))").stdout == "[]\n"


def test_registered_language_runs(fresh) -> None:
    register_language("sh-posix", "main.sh", ["sh", "{file}"])
    assert fresh.run("echo $((2 + 3))", language="sh-posix").stdout == "5\n"


def test_async_api(fresh) -> None:
    async def main():
        return await asyncio.gather(*(fresh.arun(f"print({i})") for i in range(4)))

    results = asyncio.run(main())
    assert sorted(r.stdout for r in results) == ["0\n", "1\n", "2\n", "3\n"]


def test_container_is_hardened(box) -> None:
    config = box._client.api.inspect_container(box.container_id)
    host = config["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] and not host["Init"]  # the server is PID 1 itself
    assert "/sys/kernel" in host["MaskedPaths"] and "/proc/kcore" in host["MaskedPaths"]
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["PidsLimit"] > 0 and host["NanoCpus"] > 0
    assert host["Memory"] > 0 and host["Memory"] == host["MemorySwap"]
    assert {u["Name"] for u in host["Ulimits"]} >= {"nofile", "fsize"}
    assert config["Config"]["User"] == "1000:1000"
    assert config["Config"]["Labels"]["envalign.sandbox"] == "1"
    assert config["Config"]["Labels"]["envalign.owner_pid"] == str(os.getpid())
    assert "/work" in host["Tmpfs"] and "nr_inodes" in host["Tmpfs"]["/work"]
    assert "nr_inodes" in host["Tmpfs"]["/dev/shm"] and "nr_inodes" in host["Tmpfs"]["/tmp"]


def test_missing_image_says_how_to_fix() -> None:
    with pytest.raises(SandboxUnavailable, match="build-image"):
        DockerSandbox("envalign-sandbox:does-not-exist")


def test_closed_sandbox_refuses_to_run(sandbox_image) -> None:
    box = DockerSandbox(sandbox_image)
    container_id = box.container_id
    box.close()
    box.close()
    with pytest.raises(SandboxError, match="closed"):
        box.run("print(1)")
    import docker

    assert not docker.from_env().containers.list(all=True, filters={"id": container_id})


def test_gc_removes_containers_of_dead_processes(sandbox_image) -> None:
    import docker

    from envalign.sandbox.docker import collect_leftovers

    client = docker.from_env()
    labels = {
        "envalign.sandbox": "1",
        "envalign.owner_pid": "999999999",
        "envalign.owner_host": socket.gethostname(),
    }
    orphan = client.containers.create(sandbox_image, ["sleep", "60"], labels=labels)
    with DockerSandbox(sandbox_image) as alive:
        collect_leftovers(client)
        # Gone, whoever removed it (another process's start-up collects leftovers too).
        assert not client.containers.list(all=True, filters={"id": orphan.id})
        assert alive.run("print('still here')").stdout == "still here\n"


def test_container_of_a_crashed_process_goes_away(sandbox_image) -> None:
    import subprocess
    import sys
    import time

    import docker

    code = (
        "import os\nfrom envalign.sandbox import DockerSandbox\n"
        f"box = DockerSandbox({sandbox_image!r})\nprint(box.container_id, flush=True)\n"
        "os.kill(os.getpid(), 9)"
    )
    crashed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert crashed.returncode == -9
    container_id = crashed.stdout.strip()
    client = docker.from_env()
    deadline = time.monotonic() + 30
    while client.containers.list(all=True, filters={"id": container_id}):
        assert time.monotonic() < deadline, "the crashed process's container is still there"
        time.sleep(0.1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_any_text_round_trips_through_stdout(box, text) -> None:
    result = box.run(f"import sys; sys.stdout.write({text!r})")
    assert result.stdout == text and result.exit_code == 0
