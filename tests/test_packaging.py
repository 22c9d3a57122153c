"""The wheel holds every module of every room, and importing envalign stays light."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = {
    "envalign": "envalign",
    "envs": "envalign/envs",
    "agents": "envalign/agents",
    "training": "envalign/training",
    "sandbox": "envalign/sandbox",
}


def source_modules() -> set[str]:
    modules = set()
    for folder, package in ROOMS.items():
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.relative_to(ROOT / folder)
            modules.add(f"{package}/{relative.as_posix()}")
    return modules


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("envalign-*.whl")
    return path


# Task data and the viewer's page assets: a wheel without them installs but fails at run time.
DATA_SUFFIXES = (".json", ".jsonl", ".sql", ".html", ".js", ".css")


def test_wheel_contains_every_module_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = source_modules() - names
    assert not missing, f"modules missing from the wheel: {sorted(missing)}"
    data = {p for p in names if p.endswith(DATA_SUFFIXES)}
    shipped = {
        f"{ROOMS[folder]}/{p.relative_to(ROOT / folder).as_posix()}"
        for folder in ROOMS
        for p in (ROOT / folder).rglob("*")
        if p.suffix in DATA_SUFFIXES and "__pycache__" not in p.parts
    }
    assert shipped <= data


def test_every_module_imports_from_the_wheel(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    modules = sorted(
        name[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        for name in source_modules()
        if not name.endswith("__main__.py")
    )
    script = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(tmp_path)!r}), (name, module.__file__)\n"
        "print('imported', len(sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_import_and_list_do_not_import_torch():
    script = (
        "import sys, envalign\n"
        "envalign.list_envs()\n"
        "from envalign.cli import build_parser; build_parser()\n"
        "heavy = [m for m in ('torch', 'transformers', 'docker', 'langchain_core', 'ray') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]"
