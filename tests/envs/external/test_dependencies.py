"""Without its library, a family is still listed (marked) and creating one says what to install."""

import json
import subprocess
import sys

import pytest

from envalign.envs import DependencyNotInstalled
from envalign.envs.external.dependencies import availability, installed

HIDE = "import sys; sys.modules[{module!r}] = None\nfrom envalign.cli import main\nsys.exit(main({argv!r}))"
FAMILIES = [
    ("pyspiel", "openspiel", "open-spiel", "openspiel/Bargaining-v0"),
    ("scienceworld", "scienceworld", "scienceworld", "scienceworld/Melt-v0"),
    ("textworld", "textworld", "textworld", "textworld/Cooking-v0"),
    ("textarena", "textarena", "textarena", "textarena/LiarsDice-v0"),
]


def cli_without(module, argv):
    script = HIDE.format(module=module, argv=argv)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("module, extra, package, env_id", FAMILIES, ids=[f[1] for f in FAMILIES])
def test_listed_with_the_extra_and_one_line_error_on_use(module, extra, package, env_id):
    listing = cli_without(module, ["list", "--json"])
    assert listing.returncode == 0, listing.stderr
    cards = {card["id"]: card for card in json.loads(listing.stdout)}
    assert cards[env_id]["description"].endswith(f'[needs pip install "envalign[{extra}]"]')
    info = cli_without(module, ["info", env_id])
    assert info.returncode == 0 and "## Reward" in info.stdout  # the docs need no library
    run = cli_without(module, ["run", env_id, "--episodes", "1"])
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"envalign: error: {package} is needed")
    assert line.endswith(f'Install it with: pip install "envalign[{extra}]"')


def test_installed_libraries_add_no_note():
    assert issubclass(DependencyNotInstalled, ImportError)
    assert installed("json") and availability("json", "x") == ""
    assert not installed("no_such_module_here") and "envalign[x]" in availability(
        "no_such_module_here", "x"
    )
