"""A third-party package adds environments through the ``envalign.envs`` entry points."""

import json
import subprocess
import sys
import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from envalign.envs import TextParallelEnv, plugins

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


def fresh_python(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


def test_upstream_registries_know_plugins_right_after_import_envalign(installed_plugin):
    gym = fresh_python(
        "import envalign, gymnasium\n"
        "env = gymnasium.make('example/GuessNumber-v0')\n"
        "print(type(env.unwrapped).__name__)"
    )
    assert gym.stdout.split() == ["GuessNumberEnv"], gym.stderr
    zoo = fresh_python(
        "import envalign, pettingzoo\n"
        "env = pettingzoo.make('parallel', 'example/MeetingPoint-v0')\n"
        "env.reset(seed=0)\n"
        "aec = pettingzoo.make('aec', 'example/MeetingPoint-v0')\n"
        "print(type(env).__name__, env.possible_agents, type(aec).__name__)"
    )
    assert zoo.stdout.split()[:3] == ["MeetingPointEnv", "['alice',", "'bob']"], zoo.stderr
    # Imported the other way round, and without envalign's front door at all.
    before = fresh_python(
        "import gymnasium, envalign; print('example/GuessNumber-v0' in gymnasium.registry)"
    )
    assert before.stdout == "True\n", before.stderr


def test_the_multi_agent_plugin_game_lists_runs_and_passes_the_checker(installed_plugin):
    from envalign.envs import check, spec

    card = spec("example/MeetingPoint-v0")
    assert card.num_agents == 2 and card.multi_agent  # read from the class: not passed
    check("example/MeetingPoint-v0")
    result = subprocess.run(
        [ENVALIGN, "run", "example/MeetingPoint-v0", "--policy", "scripted", "--episodes", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "success rate 100.0%" in result.stdout


class NotAnEnv:
    """Neither a gymnasium.Env nor a ParallelEnv."""


class Broken(TextParallelEnv):
    """A game whose constructor raises."""

    def __init__(self) -> None:
        raise RuntimeError("forgot to set up the board")


class TwoAgents(TextParallelEnv):
    """A game registered as if it had one agent."""

    def __init__(self) -> None:
        super().__init__(["a", "b"])


@pytest.mark.parametrize(
    "entry_point, message",
    [
        (f"{__name__}:NotAnEnv", "subclass envalign.envs.TextEnv"),
        ("no_such_package.envs:Game", "does not import (ModuleNotFoundError"),
        (f"{__name__}:Missing", "does not import (AttributeError"),
        (f"{__name__}:Broken", "raised RuntimeError: forgot to set up the board"),
    ],
)
def test_plugin_mistakes_in_register_are_one_line_errors(entry_point, message):
    from envalign.envs import register
    from envalign.envs.registry import registered_by
    from envalign.errors import RegistrationError

    with registered_by("my-plugin"), pytest.raises(RegistrationError) as caught:
        register(
            f"mine/Bad{abs(hash(entry_point))}-v0", entry_point, family="social", description="bad"
        )
    text = str(caught.value)
    assert message in text and "(plugin my-plugin)" in text and "\n" not in text


def test_a_game_registered_with_one_agent_fails_in_one_line_on_the_cli(tmp_path):
    script = (
        "import sys\nfrom envalign.envs import register\n"
        "from envalign.envs.registry import registered_by\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "with registered_by('my-plugin'):\n"
        "    register('mine/TwoAgents-v0', 'test_plugins:TwoAgents', family='social',\n"
        "             description='two agents', num_agents=1)\n"
        "from envalign.cli import main\n"
        "sys.exit(main(['run', 'mine/TwoAgents-v0', '--episodes', '1']))\n"
    )
    result = fresh_python(script)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "num_agents=1" in lines[0] and "my-plugin" in lines[0], lines
