"""``envalign list``, ``info`` and the one-line errors (``run`` has its own file)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envalign.cli import main

ENVALIGN = str(Path(sys.executable).with_name("envalign"))


def test_list_json_is_the_catalog(capsys):
    assert main(["list", "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)
    ids = {card["id"] for card in cards}
    assert {"envalign/Arithmetic-v0", "envalign/Ultimatum-v0"} <= ids
    assert all(
        {"family", "num_agents", "signals", "needs_docker", "description"} <= set(c) for c in cards
    )


def test_list_table_and_family_filter(capsys):
    assert main(["list", "--family", "social"]) == 0
    out = capsys.readouterr().out
    assert "Ultimatum" in out and "Arithmetic" not in out


def test_info_shows_the_documentation(capsys):
    assert main(["info", "envalign/Arithmetic-v0"]) == 0
    out = capsys.readouterr().out
    assert "family: reasoning" in out and "## Reward" in out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["info", "envalign/Arithmetc-v0"], "Did you mean 'envalign/Arithmetic-v0'?"),
        (["run", "envalign/Ultimatum-v1"], "Did you mean 'envalign/Ultimatum-v0'?"),
        (["run", "envalign/Ultimatum-v0", "--policy", "proposr=fair"], "Did you mean 'proposer'?"),
        (["run", "envalign/Ultimatum-v0", "--policy", "telepathic"], "built-in policies are"),
        (
            ["run", "envalign/Arithmetic-v0", "--env-arg", "low=9", "--env-arg", "high=1"],
            "must not exceed",
        ),
        (["run", "envalign/Arithmetic-v0", "--episodes", "0"], "of at least 1, got 0"),
        (["run", "envalign/Arithmetic-v0", "--env-arg", "nonsense"], "KEY=VALUE"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_errors_are_one_line_without_traceback(argv, expected):
    result = subprocess.run([ENVALIGN, *argv], capture_output=True, text=True)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_everywhere():
    for argv in (
        ["--help"],
        ["list", "--help"],
        ["info", "--help"],
        ["run", "--help"],
        ["sandbox", "--help"],
    ):
        result = subprocess.run([ENVALIGN, *argv], capture_output=True, text=True)
        assert result.returncode == 0 and "usage: envalign" in result.stdout


def test_run_can_record_the_first_episode_as_an_animation(tmp_path):
    from PIL import Image

    gif = tmp_path / "kitchen.gif"
    result = subprocess.run(
        [
            ENVALIGN,
            "run",
            "envalign/CoopKitchen-v0",
            "--policy",
            "scripted",
            "--episodes",
            "1",
            "--quiet",
            "--record-video",
            str(gif),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"animation written to {gif}" in result.stdout
    with Image.open(gif) as image:
        assert image.n_frames > 10
