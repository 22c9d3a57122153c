"""``envalign serve`` from the command line, played by a client that never imports envalign."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ENVALIGN = str(Path(sys.executable).with_name("envalign"))

PLAIN_CLIENT = r"""
import sys
from openenv.core import GenericEnvClient

with GenericEnvClient(base_url=sys.argv[1]).sync() as env:
    result = env.reset(seed=7)
    steps = 0
    while not result.done and steps < 20:
        info = result.observation["info"]
        move = info["valid_actions"][0] if steps else "PROPOSE books=0 hats=0 balls=0"
        result = env.step({"text": move})
        steps += 1
assert "envalign" not in sys.modules, "the client imported envalign"
print("done", result.done, "steps", steps, "reward", result.reward)
print("keys", sorted(result.observation["info"]))
"""


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [ENVALIGN, "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    lines = []
    assert server.stdout is not None
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        lines.append(line)
        found = re.search(r"at (ws://127\.0\.0\.1:\d+) \(loopback only", line)
        if found:
            return server, found.group(1)
        if not line and server.poll() is not None:
            break
    server.kill()
    raise AssertionError(f"envalign serve did not start: {''.join(lines)}")


@pytest.fixture
def negotiation() -> Iterator[str]:
    server, url = _start("envalign/Negotiation-v0")
    yield url
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=30) == 0  # Ctrl-C stops it cleanly


def test_a_plain_openenv_client_plays_a_full_episode(negotiation: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_CLIENT, negotiation],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "done True" in result.stdout
    assert "'feedback'" in result.stdout and "'reward_components'" in result.stdout


def test_envalign_run_against_the_served_game(negotiation: str, tmp_path: Path) -> None:
    out = tmp_path / "remote.jsonl"
    result = subprocess.run(
        [ENVALIGN, "run", f"openenv:{negotiation}", "--episodes", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(out.read_text().splitlines()) == 3


def test_serve_without_openenv_is_one_line_with_the_command(monkeypatch, capsys) -> None:
    import importlib.util

    from envalign.cli import main, serve

    real = importlib.util.find_spec
    monkeypatch.setattr(
        serve.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "openenv" else real(name, *a),
    )
    assert main(["serve", "envalign/Arithmetic-v0"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert 'pip install "envalign[serve]" && pip install --no-deps openenv==0.10.0' in error


def test_bad_arguments_are_one_line_errors(capsys) -> None:
    from envalign.cli import main

    assert main(["serve", "envalign/Negotation-v0"]) == 2
    assert "Did you mean 'envalign/Negotiation-v0'" in capsys.readouterr().err
    assert main(["serve", "envalign/Arithmetic-v0", "--seat", "agent=scripted"]) == 2
    assert "single-agent" in capsys.readouterr().err
    assert main(["serve", "envalign/Ultimatum-v0", "--seat", "proposer"]) == 2
    assert "AGENT=BASELINE" in capsys.readouterr().err


def test_a_taken_port_is_a_one_line_error() -> None:
    server, url = _start("envalign/Arithmetic-v0")
    try:
        port = url.rsplit(":", 1)[1]
        result = subprocess.run(
            [ENVALIGN, "serve", "envalign/Arithmetic-v0", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ},
        )
        assert result.returncode == 2
        assert "choose another --port" in result.stderr and "Traceback" not in result.stderr
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
