"""The Docker engine restarted in the middle of a run.

A private engine (its own socket, data root and exec root) is started for this module, so that
restarting it touches nothing else on the machine (other runs, other tests). A real
``envalign run`` of PythonTests episodes uses it through ``DOCKER_HOST``; the engine is stopped
and started again while episodes are in flight. The run must stop with one line (no traceback),
and once the engine is back no sandbox container of it is left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ENVALIGN = str(Path(sys.executable).with_name("envalign"))


class PrivateEngine:
    """A dockerd of this test's own, which it may stop and start at will."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = f"unix://{root}/docker.sock"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.root / "dockerd.log").open("ab")
        self.process = subprocess.Popen(
            [
                "dockerd",
                f"--host={self.socket}",
                f"--data-root={self.root}/data",
                f"--exec-root={self.root}/exec",
                f"--pidfile={self.root}/docker.pid",
                "--bridge=none",
                "--iptables=false",
                "--ip-masq=false",
                "--ip-forward=false",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self.answers():
            assert time.monotonic() < deadline, (self.root / "dockerd.log").read_text()[-2000:]
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)
            self.process = None

    def answers(self) -> bool:
        return self.docker("info").returncode == 0

    def docker(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", "-H", self.socket, *args], capture_output=True, timeout=120, **kwargs
        )


@pytest.fixture(scope="module")
def engine(sandbox_image: str) -> Iterator[PrivateEngine]:
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        why = "a private Docker engine needs root and dockerd (scripts/ensure-docker.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)  # CI has both: a skip there would hide a missing install step
        pytest.skip(why)
    root = Path(f"/tmp/envalign-engine-{os.getpid()}")
    root.mkdir(exist_ok=True)
    private = PrivateEngine(root)
    private.start()
    saved = subprocess.run(["docker", "save", sandbox_image], capture_output=True, check=True)
    private.docker("load", "-q", input=saved.stdout, check=True)
    yield private
    private.stop()
    shutil.rmtree(root, ignore_errors=True)


def sandbox_containers(engine: PrivateEngine) -> list[str]:
    listing = engine.docker("ps", "-aq", "--filter", "label=envalign.sandbox=1", text=True)
    return listing.stdout.split()


def test_a_run_whose_engine_restarts_stops_in_one_line_and_leaves_nothing(engine) -> None:
    environment = {**os.environ, "DOCKER_HOST": engine.socket}
    command = [ENVALIGN, "run", "envalign/PythonTests-v0", "--policy", "scripted"]
    run = subprocess.Popen(
        [*command, "--episodes", "100000", "--quiet"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not sandbox_containers(engine):  # episodes are in flight once containers exist
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.5)
    time.sleep(2)
    engine.stop()
    engine.start()
    _, stderr = run.communicate(timeout=180)
    assert run.returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("envalign: error:")]
    assert len(lines) == 1 and "sandbox" in lines[0].lower(), stderr
    deadline = time.monotonic() + 60
    while sandbox_containers(engine) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sandbox_containers(engine) == []
    # The engine is back: a new run works.
    again = subprocess.run(
        [*command, "--episodes", "3", "--quiet"], env=environment, capture_output=True, text=True
    )
    assert again.returncode == 0 and "100.0%" in again.stdout, again.stderr
