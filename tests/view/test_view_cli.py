"""``envalign view`` and ``envalign report`` on the command line, including ``--serve``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from envalign.cli import main


def test_view_writes_the_page(real_episodes, tmp_path, capsys):
    out = tmp_path / "viewer.html"
    assert main(["view", str(real_episodes), "--out", str(out), "--frames", "2"]) == 0
    assert f"written to {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert text.count("data:image/gif;base64,") == 2


def test_report_writes_into_the_run_folder(tmp_path, capsys):
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "train/reward": 0.5}) + "\n")
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").is_file()


@pytest.mark.parametrize(
    ("command", "content", "message"),
    [
        ("view", None, "No episode file at"),
        ("view", "", "holds no episodes"),
        ("view", '{"env_id": 1}\n', "is not an episode record"),
        ("view", "}{\n", "is not JSON"),
        (
            "view",
            '{"env_id": "e", "seed": 0, "agents": ["a"], "turns": null, "returns": {}}\n',
            "turns must be a list of objects",
        ),
        (
            "view",
            '{"env_id": "e", "seed": 0, "agents": ["a"], "turns": ["x"], "returns": {}}\n',
            "turns must be a list of objects",
        ),
        ("report", None, "No run folder at"),
        ("report", "", "has no metrics.jsonl"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path, capsys, command, content, message):
    target = tmp_path / "input"
    if content is not None and command == "view":
        target.write_text(content)
    elif content is not None:
        target.mkdir()
    assert main([command, str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("envalign: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("command", ["view", "report"])
def test_a_binary_file_is_one_error_line(tmp_path, capsys, command):
    binary = b"\x89PNG\r\n\x1a\n\xff\xfe\x00\n"
    if command == "view":
        target = tmp_path / "e.jsonl"
        target.write_bytes(binary)
    else:
        target = tmp_path
        (tmp_path / "metrics.jsonl").write_bytes(binary)
    assert main([command, str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("envalign: error: ") and "is not JSON" in err and err.count("\n") == 1


@pytest.mark.parametrize("command", ["view", "report"])
def test_an_out_that_cannot_be_written_is_one_error_line(real_episodes, tmp_path, capsys, command):
    if command == "view":
        source = str(real_episodes)
    else:
        (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "reward": 0.5}) + "\n")
        source = str(tmp_path)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert (
        main(
            [
                command,
                source,
                "--out",
                str(folder),
                "--frames" if command == "view" else "--port",
                "0",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("envalign: error: Cannot write the page to") and err.count("\n") == 1
    assert list(folder.iterdir()) == [] and not (tmp_path / "a-folder.partial").exists()


def test_serve_prints_the_url_and_answers_until_interrupted(real_episodes, tmp_path):
    out = tmp_path / "served.html"
    envalign = Path(sys.executable).with_name("envalign")
    process = subprocess.Popen(
        [str(envalign), "view", str(real_episodes), "--out", str(out), "--frames", "0"]
        + ["--serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            match = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
            url = match.group(1) if match else None
            assert line or process.poll() is None, "the server exited before printing its URL"
        assert url is not None
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.read() == out.read_bytes()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
