"""Browser tests: headless Debian Chromium driven by Selenium through /usr/bin/chromedriver.

Tests marked ``browser`` need Chromium and chromedriver (``bash scripts/ensure-browser.sh``
installs them as root on Debian). With ``CI=true`` a missing browser fails them; elsewhere they are
skipped with the reason. Screenshots are kept in ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@functools.cache
def browser_paths() -> tuple[str, str] | None:
    """``(chromium, chromedriver)`` executables, or None when either is missing."""
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@functools.cache
def browser_problem() -> str | None:
    """Why no browser test can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    if browser_paths() is None:
        return "no chromium + chromedriver on PATH (run: bash scripts/ensure-browser.sh)"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs headless Chromium + chromedriver")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is None:
        return
    problem = browser_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI requires a headless browser: {problem}", pytrace=False)
        pytest.skip(problem)


def new_driver(profile: str, width: int = 1400, height: int = 900) -> Any:
    """A headless Chromium with a fresh profile and no background network."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = browser_paths()
    assert paths is not None
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=paths[1]), options=options)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One browser per test module (starting Chromium takes a second or two)."""
    profile = tempfile.mkdtemp(prefix="envalign-chromium-")
    browser = new_driver(profile)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def artifacts() -> Path:
    """The folder where screenshots are kept after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def real_episodes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Episodes of real runs: a two-agent negotiation, BabyAI (pictured), a three-agent sandbox."""
    from envalign.training.rollout import simulate

    folder = tmp_path_factory.mktemp("episodes")
    lines: list[str] = []
    for env_id, policy, count in (
        ("envalign/Negotiation-v0", "random", 12),
        ("envalign/BabyAIText-GoToLocal-v0", "scripted", 6),
        ("envalign/SocialSandboxRuleJudge-v0", "random", 6),
    ):
        out = folder / (env_id.split("/")[1] + ".jsonl")
        simulate(env_id, policy, episodes=count, out=out, histogram=False)
        lines += out.read_text(encoding="utf-8").splitlines()
    path = folder / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def synthesise(records: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` records made from real ones: seeds, returns and outcomes varied per copy."""
    import copy
    import random

    rng = random.Random(0)
    made = []
    for number in range(count):
        record = copy.deepcopy(records[number % len(records)])
        record["seed"] = number
        record["returns"] = {
            a: round(v + rng.uniform(-1, 1), 3) for a, v in record["returns"].items()
        }
        record["success"] = {a: rng.random() < 0.4 for a in record["success"]}
        record["task_id"] = f"{record['task_id']}#{number}"
        made.append(record)
    return made


@pytest.fixture(scope="session")
def ten_thousand(real_episodes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10,000-episode file synthesised from the real runs."""
    import json

    from envalign.training.view.episodes_page import read_records

    records = synthesise(read_records(real_episodes), 10_000)
    path = tmp_path_factory.mktemp("big") / "ten_thousand.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
    return path
