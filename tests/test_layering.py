"""Rooms import downward only: ``training -> agents -> envs -> sandbox`` (DESIGN.md).

Each room is imported alone in a fresh interpreter, with every module of it, and what that pulled
into ``sys.modules`` is compared with the rooms it may use. The shared errors live at the root
(``envalign.errors``) so that the lowest room needs nothing above it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The rooms each room must never import.
ABOVE = {
    "sandbox": ("envs", "agents", "training"),
    "envs": ("agents", "training"),
    "agents": ("training",),
}
#: Modules of a room allowed to join a room above it at import (none today).
BRIDGES: dict[str, tuple[str, ...]] = {}

IMPORT_ROOM = """
import importlib, json, pkgutil, sys
room = sys.argv[1]
skip = set(json.loads(sys.argv[2]))
package = importlib.import_module(f"envalign.{room}")
failed = {}
for module in pkgutil.walk_packages(package.__path__, f"envalign.{room}."):
    if module.name in skip or any(module.name.startswith(s + ".") for s in skip):
        continue
    try:
        importlib.import_module(module.name)
    except ImportError as error:  # an optional extra that is not installed here
        failed[module.name] = str(error)
print(json.dumps({"modules": sorted(sys.modules), "failed": failed}))
"""


def imported_by(room: str, skip: tuple[str, ...] = ()) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ROOM, room, json.dumps(list(skip))],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])["modules"]


@pytest.mark.parametrize("room", sorted(ABOVE))
def test_a_room_imports_no_room_above_it(room: str) -> None:
    modules = imported_by(room, BRIDGES.get(room, ()))
    reached = sorted(
        name
        for name in modules
        for above in ABOVE[room]
        if name == f"envalign.{above}" or name.startswith(f"envalign.{above}.")
    )
    assert not reached, f"envalign.{room} imports upward: {reached[:10]}"


def test_importing_the_sandbox_alone_is_light() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, envalign.sandbox; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('envalign', 'gymnasium', 'pettingzoo', 'docker', 'torch')))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == str(
        ["envalign", "envalign.errors", "envalign.sandbox", "envalign.sandbox.base"]
    ), result.stderr
