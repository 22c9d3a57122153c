"""The generated pages in a real browser: headless Chromium clicks filters and episodes.

Screenshots of each page are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import time

import pytest

from envalign.training.view.episodes_page import (
    build_episodes_page,
    episode_success,
    read_records,
)
from envalign.training.view.report import build_report

pytestmark = pytest.mark.browser

EVIL_ACTION = '</script><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
LONG_FEEDBACK = "\n".join(f"test_{n} ... FAILED: AssertionError" for n in range(30))


def wait_for(driver, script, timeout=30):
    """Poll ``script`` in the page until it returns something truthy."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script(script)
    )


def viewer_state(driver):
    return driver.execute_script("return window.envalignViewer")


def by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def choose(driver, element_id, text):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, element_id)).select_by_visible_text(text)


def open_page(driver, path):
    driver.get(path.as_uri())
    return wait_for(driver, "return window.envalignViewer && window.envalignViewer.loadMs > 0")


def test_filter_and_open_an_episode(driver, real_episodes, tmp_path, artifacts):
    records = read_records(real_episodes)
    page = build_episodes_page(real_episodes, tmp_path / "viewer.html", frames=3)
    open_page(driver, page)
    assert viewer_state(driver)["visibleCount"] == len(records)

    choose(driver, "env-filter", "envalign/BabyAIText-GoToLocal-v0")
    babyai = [r for r in records if r["env_id"] == "envalign/BabyAIText-GoToLocal-v0"]
    assert viewer_state(driver)["visibleCount"] == len(babyai)
    shown = [row.text for row in by_css(driver, "#list .row .c-env")]
    assert shown == ["BabyAIText-GoToLocal-v0"] * len(babyai)

    by_css(driver, "#list .row")[1].click()
    wait_for(driver, "return document.querySelector('#detail h2')")
    second = babyai[1]
    assert by_css(driver, "#detail h2")[0].text == f"{second['env_id']} · seed {second['seed']}"
    actions = [card.text for card in by_css(driver, "#detail .turn .action")]
    assert actions == [turn["action"] for turn in second["turns"]]
    picture = by_css(driver, "#detail .frames img")[0]
    assert picture.get_attribute("src").startswith("data:image/gif;base64,")
    assert driver.execute_script("return arguments[0].naturalWidth", picture) > 0
    driver.save_screenshot(str(artifacts / "viewer-babyai.png"))

    choose(driver, "env-filter", "envalign/Negotiation-v0")
    choose(driver, "success-filter", "success")
    wanted = [
        r
        for r in records
        if r["env_id"] == "envalign/Negotiation-v0" and episode_success(r) is True
    ]
    assert viewer_state(driver)["visibleCount"] == len(wanted)
    by_css(driver, "#list .row")[0].click()
    wait_for(driver, "return document.querySelectorAll('#detail .lane-head').length === 3")
    lanes = [head.text for head in by_css(driver, "#detail .lane-head")]
    assert lanes == ["step", "agent_0 (random)", "agent_1 (random)"]
    rewards = [r.text for r in by_css(driver, "#detail .turn .reward")]
    assert len(rewards) == len(wanted[0]["turns"]) and all(r.startswith("reward ") for r in rewards)
    driver.save_screenshot(str(artifacts / "viewer-negotiation.png"))

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    assert len(wanted) > 1
    ActionChains(driver).send_keys(Keys.ARROW_DOWN).perform()
    title = f"{wanted[1]['env_id']} · seed {wanted[1]['seed']}"
    wait_for(driver, f"return document.querySelector('#detail h2').textContent === {title!r}")


def hostile_record(real_episodes):
    record = read_records(real_episodes)[0]
    record["task_id"] = '<img src=x onerror="window.__pwned=3">'
    record["turns"][0]["action"] = EVIL_ACTION
    record["turns"][0]["feedback"] = LONG_FEEDBACK
    record["turns"][0]["extras"] = {"interaction": {"rated_by": "agent_1", "score": 6}}
    return record


def test_agent_text_is_shown_as_text_and_long_outputs_are_folded(
    driver, real_episodes, tmp_path, artifacts
):
    source = tmp_path / "hostile.jsonl"
    source.write_text(json.dumps(hostile_record(real_episodes)) + "\n", encoding="utf-8")
    open_page(driver, build_episodes_page(source, frames=0))
    assert by_css(driver, "#list .row .c-task")[0].text == '<img src=x onerror="window.__pwned=3">'
    by_css(driver, "#list .row")[0].click()
    wait_for(driver, "return document.querySelector('#detail .action')")
    assert by_css(driver, "#detail .action")[0].text == EVIL_ACTION
    assert driver.execute_script("return window.__pwned === undefined")
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0

    feedback = by_css(driver, "#detail details.feedback")[0]
    assert feedback.get_attribute("open") is None
    feedback.find_element("css selector", "summary").click()
    assert feedback.get_attribute("open") is not None
    assert feedback.find_element("css selector", "pre").text == LONG_FEEDBACK
    extras = by_css(driver, "#detail details.extras summary")[0]
    assert extras.text == "extras: interaction"
    driver.save_screenshot(str(artifacts / "viewer-hostile.png"))


@pytest.mark.slow
def test_ten_thousand_episodes_load_and_filter_without_freezing(
    driver, ten_thousand, tmp_path, artifacts
):
    page = build_episodes_page(ten_thousand, tmp_path / "big.html", frames=2)
    started = time.monotonic()
    open_page(driver, page)
    opened_s = time.monotonic() - started
    state = viewer_state(driver)
    # Freeze guards with generous bounds, not benchmarks.
    assert opened_s < 30 and state["loadMs"] < 5000
    assert state["visibleCount"] == 10_000
    assert len(by_css(driver, "#list .row")) < 100, "the list must be virtualised"

    choose(driver, "success-filter", "failure")
    state = viewer_state(driver)
    assert state["filterMs"] < 500
    failures = state["visibleCount"]
    assert failures == sum(episode_success(r) is False for r in read_records(ten_thousand))

    search = by_css(driver, "#search")[0]
    search.send_keys("#9999")
    wait_for(driver, "return window.envalignViewer.visibleCount <= 1")
    assert viewer_state(driver)["filterMs"] < 500
    search.clear()
    search.send_keys("x")  # then delete: back to every failure
    search.clear()
    by_css(driver, "#search-text")[0].click()
    wait_for(driver, f"return window.envalignViewer.visibleCount === {failures}")

    driver.execute_script(
        "const l = document.getElementById('list'); l.scrollTop = l.scrollHeight;"
    )
    wait_for(driver, "return document.querySelector('#list .row:last-child').dataset.index > 9000")
    by_css(driver, "#list .row")[-1].click()
    wait_for(driver, "return document.querySelector('#detail h2')")
    assert viewer_state(driver)["opened"] > 9000
    driver.save_screenshot(str(artifacts / "viewer-10k.png"))


def test_report_shows_every_plot(driver, tmp_path, artifacts):
    rows = [
        {
            "step": step,
            "train/reward": step / 10,
            "train/reward_std": 0.3,
            "train/success": min(1.0, step / 8),
            "train/episodes": 32,
            "train/kl": 0.002 * step,
            "train/entropy": 1.5 - 0.05 * step,
            "train/loss": 0.1 / step,
            "time/completions_per_s": 250.0,
            **({"eval/reward": step / 9, "eval/episodes": 16} if step % 3 == 0 else {}),
        }
        for step in range(1, 10)
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = build_report(tmp_path)
    driver.get(page.as_uri())
    wait_for(driver, "return document.readyState === 'complete'")
    widths = driver.execute_script(
        "return [...document.querySelectorAll('figure img')].map(i => i.naturalWidth)"
    )
    assert len(widths) == 6 and all(width > 100 for width in widths)
    cells = [cell.text for cell in by_css(driver, "table tr:nth-child(2) td")]
    assert cells[0] == "3"
    driver.save_screenshot(str(artifacts / "report.png"))
