"""The evaluation scorecard and the viewer's deep links in a real browser (headless Chromium).

The scorecard's episodes links are clicked and the viewer must open filtered to exactly the
entry's (or the opponent's) episodes. Screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from envalign.training.eval.results import EpisodeScore, EvalResult
from envalign.training.eval.scorecard import write_scorecard
from envalign.training.view.episodes_page import build_episodes_page, read_records
from envalign.training.view.links import viewer_link

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "training" / "eval" / "scorecard_fixtures.py"
#: The dilemma panel as the fixture names it: opponent -> the partner's policy in the records.
PANEL = {"tit-for-tat": "tit_for_tat", "always-defect": "always_defect", "random": "random"}
SEEDS = range(40, 44)


def fixtures() -> Any:
    """The scorecard fixture builders (shared with the unit tests, which live in another folder)."""
    spec = importlib.util.spec_from_file_location("scorecard_fixtures", FIXTURES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_for(driver: Any, script: str, timeout: float = 30) -> Any:
    """Poll ``script`` in the page until it returns something truthy."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script(script)
    )


def by_css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_viewer(driver: Any) -> dict[str, Any]:
    wait_for(driver, "return window.envalignViewer && window.envalignViewer.loadMs > 0")
    return driver.execute_script("return window.envalignViewer")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EvalResult, list[dict[str, Any]]]:
    """A run folder: real episodes of ``random`` against the dilemma panel and on Arithmetic,
    their viewer page, and a result whose entries hold those episodes."""
    from envalign.training.rollout import simulate

    folder = tmp_path_factory.mktemp("eval-run")
    lines: list[str] = []
    plays = [("envalign/Arithmetic-v0", {"agent": "random"}, "")]
    plays += [
        ("envalign/PrisonersDilemma-v0", {"agent_0": "random", "agent_1": partner}, opponent)
        for opponent, partner in PANEL.items()
    ]
    scores: dict[str, list[EpisodeScore]] = {"arithmetic": [], "dilemma-panel": []}
    for env_id, policies, opponent in plays:
        out = folder / "part.jsonl"
        simulate(env_id, policies, episodes=len(SEEDS), seed=SEEDS[0], out=out, histogram=False)
        seat = next(iter(policies))
        for record in read_records(out):
            entry = "arithmetic" if env_id.endswith("Arithmetic-v0") else "dilemma-panel"
            success = (record.get("success") or {}).get(seat)
            scores[entry].append(
                EpisodeScore(record["seed"], seat, opponent, record["returns"][seat], success)
            )
        lines += out.read_text(encoding="utf-8").splitlines()
        out.unlink()
    episodes = folder / "episodes.jsonl"
    episodes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    build_episodes_page(episodes, folder / "episodes.html", frames=0)
    result = fixtures().make_result(policy="random")
    for entry_id, made in scores.items():
        result.entry(entry_id).episodes = made
    return folder, result, read_records(episodes)


def scorecard(folder: Path, result: EvalResult, name: str, **options: Any) -> Path:
    partners = {"dilemma-panel": {o: {"agent_1": p} for o, p in PANEL.items()}}
    return write_scorecard(
        result, folder / name, episodes_page="episodes.html", partners=partners, **options
    )


def interval(value: float, bounds: list[float], digits: int) -> str:
    return f"{value:.{digits}f} [{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def test_bars_and_table_match_the_result(driver, run, artifacts):
    folder, result, _ = run
    comparison = fixtures().make_comparison()
    driver.get(scorecard(folder, result, "scorecard.html", comparison=comparison).as_uri())
    wait_for(driver, "return document.readyState === 'complete'")
    geometry = driver.execute_script(
        """
        const x = (el) => el.getBoundingClientRect();
        const zero = x(document.querySelector("line[data-tick='0']")).left;
        const hundred = x(document.querySelector("line[data-tick='100']")).left;
        return [...document.querySelectorAll('g.family')].map((g) => {
          const bar = g.querySelector('rect.bar'), ci = g.querySelector('path.ci');
          return {family: g.dataset.family, zero, hundred,
                  right: bar ? x(bar).right : null, low: ci ? x(ci).left : null,
                  high: ci ? x(ci).right : null, text: g.querySelector('text.value').textContent};
        });"""
    )
    aggregate = result.aggregate
    expected = {**aggregate["families"], "overall": aggregate["overall"]}
    assert [bar["family"] for bar in geometry] == [*sorted(aggregate["families"]), "overall"]
    for bar in geometry:
        score = expected[bar["family"]]
        if score["score"] is None:
            assert bar["right"] is None and bar["text"] == "n/a"
            continue
        unit = (bar["hundred"] - bar["zero"]) / 100  # pixels per normalised point

        def point(pixel: float, unit: float = unit, zero: float = bar["zero"]) -> float:
            return (pixel - zero) / unit

        assert point(bar["right"]) == pytest.approx(score["score"], abs=0.5)
        assert point(bar["low"]) == pytest.approx(score["ci"][0], abs=1.0)
        assert point(bar["high"]) == pytest.approx(score["ci"][1], abs=1.0)
        assert bar["text"] == interval(score["score"], score["ci"], 1)

    for entry in result.entries:
        cells = [c.text for c in by_css(driver, f"tr.entry[data-entry='{entry.id}'] td")]
        assert cells[:3] == [entry.id, entry.env_id, entry.family]
        if entry.unavailable is not None:
            assert cells[3] == f"unavailable: {entry.unavailable}"
            continue
        summary = entry.summary
        assert cells[3:5] == [str(summary["episodes"]), str(summary["failed"])]
        assert cells[5] == interval(summary["mean_return"], summary["return_ci"], 2)
        assert cells[7] == interval(summary["normalised"], summary["normalised_ci"], 1)
        if summary["success_rate"] is not None:
            low, high = (100 * v for v in summary["success_ci"])
            shown = f"{100 * summary['success_rate']:.1f}% [{low:.1f}, {high:.1f}]"
            assert cells[6] == f"{shown} n={summary['success_n']}"
        assert cells[9] == f"{len(entry.episodes)} episodes"

    breakdown = by_css(driver, "tr.breakdown details")[0]
    first_opponent = by_css(driver, "tr.opponent")[0]
    assert not first_opponent.is_displayed()
    breakdown.find_element("css selector", "summary").click()
    assert first_opponent.is_displayed()
    verdicts = [c.text for c in by_css(driver, "table.comparison td.verdict")]
    assert verdicts == ["better", "worse", "not separable"]
    driver.execute_script(
        "window.scrollTo(0, 0); document.querySelectorAll('.scroll').forEach(s => s.scrollLeft = 0)"
    )
    driver.set_window_size(1400, 1700)
    try:
        driver.save_screenshot(str(artifacts / "scorecard.png"))
    finally:
        driver.set_window_size(1400, 900)


def test_episodes_links_open_the_viewer_filtered(driver, run, artifacts):
    folder, result, records = run
    driver.get(scorecard(folder, result, "scorecard.html").as_uri())
    wait_for(driver, "return document.readyState === 'complete'")
    by_css(driver, "tr.entry[data-entry='dilemma-panel'] a.episodes-link")[0].click()
    state = open_viewer(driver)
    dilemma = [r for r in records if r["env_id"] == "envalign/PrisonersDilemma-v0"]
    assert state["visibleCount"] == len(dilemma) == 12
    selected = driver.execute_script(
        "const s = document.getElementById('env-filter'); return s.options[s.selectedIndex].text"
    )
    assert selected == "envalign/PrisonersDilemma-v0"
    assert by_css(driver, "#link-text")[0].text == "seed 40-43 \u00b7 agent_0 = random"

    driver.back()
    wait_for(driver, "return document.querySelector('tr.breakdown details') !== null")
    by_css(driver, "tr.breakdown summary")[0].click()
    link = by_css(driver, "tr.opponent[data-opponent='always-defect'] a.episodes-link")[0]
    assert link.text == "4 episodes"
    link.click()
    state = open_viewer(driver)
    wanted = [r for r in dilemma if r["policies"]["agent_1"] == "always_defect"]
    assert state["visibleCount"] == len(wanted) == 4
    titles = {row.get_attribute("title") for row in by_css(driver, "#list .row:not(.head)")}
    assert titles == {"policies: always_defect, random"}
    seeds = sorted(int(cell.text) for cell in by_css(driver, "#list .row .c-seed"))
    assert seeds == sorted(r["seed"] for r in wanted)
    by_css(driver, "#list .row")[0].click()
    wait_for(driver, "return document.querySelector('#detail h2')")
    assert "policy.agent_1=always_defect" in driver.execute_script("return location.hash")
    driver.save_screenshot(str(artifacts / "scorecard-viewer-filtered.png"))

    by_css(driver, "#clear-link")[0].click()  # the environment stays chosen, the rest goes
    state = driver.execute_script("return window.envalignViewer")
    assert state["visibleCount"] == len(dilemma) and state["link"] == ""
    assert "agent_1" not in driver.execute_script("return location.hash")


def test_viewer_links_open_an_episode_and_follow_fragment_changes(driver, run):
    folder, _, records = run
    page = (folder / "episodes.html").as_uri()
    number = next(
        i
        for i, r in enumerate(records)
        if r["env_id"] == "envalign/PrisonersDilemma-v0" and r["policies"]["agent_1"] == "random"
    )
    link = viewer_link(
        page,
        env_id="envalign/PrisonersDilemma-v0",
        seeds=[41, 42],
        any_policy=["random"],
        episode=number,
    )
    driver.get(link)
    state = open_viewer(driver)
    # random plays agent_0 in every dilemma episode, so "some agent played random" keeps all three
    assert state["visibleCount"] == 6 and state["opened"] == number
    title = f"envalign/PrisonersDilemma-v0 \u00b7 seed {records[number]['seed']}"
    assert by_css(driver, "#detail h2")[0].text == title

    driver.execute_script("location.hash = '#env=envalign%2FArithmetic-v0&seed=40,43&success=0'")
    arithmetic = [
        r
        for r in records
        if r["env_id"] == "envalign/Arithmetic-v0"
        and r["seed"] in (40, 43)
        and r["success"]["agent"] is False
    ]
    wait_for(driver, f"return window.envalignViewer.visibleCount === {len(arithmetic)}")

    driver.execute_script("location.hash = '#seed=40'")  # a new link drops the old filters
    wait_for(driver, "return window.envalignViewer.visibleCount === 4")
    assert driver.execute_script("return document.getElementById('env-filter').value") == ""

    driver.execute_script("location.hash = '#env=envalign%2FNoSuch-v0'")
    wait_for(driver, "return window.envalignViewer.visibleCount === 0")
    assert "not in this file" in by_css(driver, "#link-text")[0].text


def test_hostile_names_stay_text(driver, run, artifacts):
    folder, result, _ = run
    made = fixtures()
    result = EvalResult.from_dict(json.loads(json.dumps(result.to_dict())))
    result.policy = made.EVIL_POLICY
    page = scorecard(folder, result, "hostile.html", comparison=made.make_comparison())
    driver.get(page.as_uri())
    wait_for(driver, "return document.readyState === 'complete'")
    assert by_css(driver, "dd[data-fact='policy']")[0].text == made.EVIL_POLICY
    metric = by_css(driver, "tr.entry[data-entry='dilemma-panel'] .metrics li")[2]
    assert metric.text.startswith(made.EVIL_METRIC)
    assert driver.execute_script("return window.__pwned === undefined")
    hostile = "img, script:not(:empty), [onerror], [onmouseover]"
    assert driver.execute_script(f"return document.querySelectorAll({hostile!r}).length") == 0
    driver.save_screenshot(str(artifacts / "scorecard-hostile.png"))

    by_css(driver, "tr.entry[data-entry='arithmetic'] a.episodes-link")[0].click()
    state = open_viewer(driver)
    assert state["visibleCount"] == 0  # no episode was played by that name
    assert by_css(driver, "#link-text")[0].text.endswith(f"agent = {made.EVIL_POLICY}")
    assert driver.execute_script("return window.__pwned === undefined")
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0


def test_a_real_run_links_every_entry_and_opponent_to_exactly_its_episodes(driver, tmp_path):
    from envalign.training.eval.evaluate import evaluate

    only = ["ultimatum-proposer", "dilemma-panel"]  # each link under the viewer's visible rows
    result = evaluate("random", "core-v1", tier="quick", only=only, out=tmp_path)
    driver.get((tmp_path / "scorecard.html").as_uri())
    wait_for(driver, "return document.readyState === 'complete'")
    links = driver.execute_script(
        """return [...document.querySelectorAll('a.episodes-link')].map((a) => {
             const row = a.closest('tr');
             return [row.dataset.entry || row.dataset.of, row.dataset.opponent ?? null,
                     a.getAttribute('href')];
           });"""
    )
    expected = {}  # (entry, opponent or None for the whole entry) -> its episodes' seeds
    for entry in result.entries:
        expected[(entry.id, None)] = sorted(e.seed for e in entry.episodes)
        for opponent in {e.opponent for e in entry.episodes}:
            seeds = sorted(e.seed for e in entry.episodes if e.opponent == opponent)
            expected[(entry.id, opponent)] = seeds
    assert sorted(map(str, [(entry, opponent) for entry, opponent, _ in links])) == sorted(
        map(str, expected)
    )
    records = read_records(tmp_path / "episodes.jsonl")
    for entry_id, opponent, href in links:
        driver.get((tmp_path / href.split("#")[0]).as_uri() + "#" + href.split("#", 1)[1])
        state = open_viewer(driver)
        wanted = expected[(entry_id, opponent)]
        assert state["visibleCount"] == len(wanted), (entry_id, opponent, state["link"])
        seeds = sorted(int(cell.text) for cell in by_css(driver, "#list .row .c-seed"))
        assert seeds == wanted
    assert len(records) == sum(len(entry.episodes) for entry in result.entries)
