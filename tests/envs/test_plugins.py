"""A third-party package adds environments through the ``envalign.envs`` entry points."""

import json
import subprocess
import sys
import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from envalign.envs import plugins

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin_env"
ENVALIGN = str(Path(sys.executable).with_name("envalign"))


@pytest.fixture(scope="module")
def installed_plugin():
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", str(PLUGIN)],
        check=True,
        capture_output=True,
    )


def test_envalign_list_shows_the_plugin_without_any_import(installed_plugin):
    listing = subprocess.run(
        [ENVALIGN, "list", "--json"], check=True, capture_output=True, text=True
    )
    cards = {card["id"]: card for card in json.loads(listing.stdout)}
    assert cards["example/GuessNumber-v0"]["source"] == "envalign-example-plugin"
    assert "envalign/Arithmetic-v0" in cards


def test_envalign_make_finds_the_plugin_environment(installed_plugin):
    script = (
        "import sys, envalign\n"
        "env = envalign.make('example/GuessNumber-v0', high=8)\n"
        "obs, info = env.reset(seed=1)\n"
        "print(type(env.unwrapped).__module__, 'from 1 to 8' in obs)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    assert result.stdout.split() == ["envalign_example_plugin.guess_number", "True"]


def test_plugin_environment_runs_through_the_cli(installed_plugin):
    result = subprocess.run(
        [
            ENVALIGN,
            "run",
            "example/GuessNumber-v0",
            "--policy",
            "scripted",
            "--episodes",
            "5",
            "--quiet",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "100.0%" in result.stdout


def test_a_broken_plugin_warns_and_is_skipped():
    entry = EntryPoint(name="broken", value="envalign_no_such_module:register", group=plugins.GROUP)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plugins._load_one(entry)
    assert "broken" in plugins.failures
    assert any("was skipped" in str(w.message) for w in caught)
