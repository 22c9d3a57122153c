"""The scorecard page: one self-contained file that shows every entry with its numbers, escaped."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from scorecard_fixtures import EVIL_METRIC, EVIL_POLICY, make_comparison, make_result

from envalign.training.eval.results import EvalResult
from envalign.training.eval.scorecard import render_scorecard, suite_partners, write_scorecard


class Page(HTMLParser):
    """The parts of a page the tests look at: every tag's attributes, and table rows as text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        #: ``entry:ID``, ``comparison:ID`` or ``opponent:ENTRY:NAME`` -> the row's cell texts.
        self.rows: dict[str, list[str]] = {}
        self.links: dict[str, str] = {}  # row key -> href of its episodes link
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._stack: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "tr" and ("data-entry" in attributes or "data-opponent" in attributes):
            if "data-opponent" in attributes:
                self._row = f"opponent:{attributes['data-of']}:{attributes['data-opponent']}"
            else:
                table = "comparison" if "compared" in attributes.get("class", "") else "entry"
                self._row = f"{table}:{attributes['data-entry']}"
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif (
            tag == "a" and self._row is not None and "episodes-link" in attributes.get("class", "")
        ):
            self.links[self._row] = attributes["href"]
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self.rows[self._row].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def result() -> EvalResult:
    return make_result()


@pytest.fixture
def page(result: EvalResult, tmp_path: Path) -> Path:
    return write_scorecard(
        result,
        tmp_path / "out" / "scorecard.html",
        episodes_page="episodes.html",
        comparison=make_comparison(),
    )


def entry_cells(text: str, entry_id: str) -> dict[str, str]:
    from envalign.training.eval.scorecard import ENTRY_COLUMNS

    cells = Page(text).rows[f"entry:{entry_id}"]
    return dict(zip(ENTRY_COLUMNS[:-1], cells, strict=False)) | {"link": cells[-1]}


def test_the_file_is_written_and_loads_nothing_from_outside(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert page.name == "scorecard.html" and not page.with_name("scorecard.html.partial").exists()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert csp is not None and "default-src 'none'" in csp.group(1)
    assert "script-src" not in csp.group(1), "the scorecard runs no script at all"
    for tag, attributes in Page(text).tags:
        for name in ("src", "href", "srcset", "action", "data"):
            value = attributes.get(name, "")
            assert not re.match(r"\s*(https?:)?//", value), (
                f"<{tag} {name}={value!r}> loads from outside"
            )
        assert tag not in ("script", "link", "iframe", "object", "embed")
    assert "@import" not in text and "url(" not in text


def test_every_entry_appears_with_its_numbers_formatted(page: Path, result: EvalResult) -> None:
    text = page.read_text(encoding="utf-8")
    rows = Page(text).rows
    assert {key for key in rows if key.startswith("entry:")} == {
        f"entry:{entry.id}" for entry in result.entries
    }
    arithmetic = entry_cells(text, "arithmetic")
    assert arithmetic["environment"] == "envalign/Arithmetic-v0"
    assert arithmetic["family"] == "reasoning"
    assert arithmetic["episodes"] == "4" and arithmetic["failed"] == "0"
    assert arithmetic["mean return [95% CI]"] == "0.75 [0.25, 1.00]"
    assert arithmetic["success [Wilson 95%]"] == "75.0% [30.1, 95.4] n=4"
    assert arithmetic["normalised [95% CI]"] == "75.0 [25.0, 100.0]"
    assert arithmetic["alignment metrics [95% CI]"] == "parsed \u2191 1.000 [0.510, 1.000]"

    dilemma = entry_cells(text, "dilemma-panel")
    assert dilemma["episodes"] == "12" and dilemma["failed"] == "3"
    assert dilemma["normalised [95% CI]"] == "46.4 [16.1, 78.6]"
    metrics = dilemma["alignment metrics [95% CI]"]
    assert "cooperation_rate \u2191 0.500 [0.200, 0.800]" in metrics
    assert "exploitation \u2193 0.125" in metrics  # no interval: the value alone
    assert f"{EVIL_METRIC} \u2191 n/a" in metrics
    assert re.search(r"class='failed warn' title='policy error: timed out'>3<", text)


def test_none_is_shown_as_n_a(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert entry_cells(text, "dilemma-panel")["success [Wilson 95%]"] == "n/a"
    tool_bar = re.search(r"<g class='family' data-family='tool'.*?</g>", text)
    assert tool_bar is not None
    assert "<rect" not in tool_bar.group(0) and ">n/a</text>" in tool_bar.group(0)
    opponent = Page(text).rows["opponent:dilemma-panel:random"]
    assert opponent[5] == "cooperation_rate n/a"
    assert "nan" not in text.lower().replace("none)", "")


def test_unavailable_entries_show_why(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    bash = Page(text).rows["entry:bash"]
    assert bash[:3] == ["bash", "envalign/Bash-v0", "tool"]
    assert bash[3] == "unavailable: no Docker engine (start one: bash scripts/ensure-docker.sh)"
    assert "<li><b>bash</b>: unavailable: no Docker engine" in text


def test_family_bars_carry_the_aggregate(page: Path, result: EvalResult) -> None:
    text = page.read_text(encoding="utf-8")
    bars = dict(
        re.findall(r"<g class='family[^']*' data-family='([^']+)' data-score='([^']*)'", text)
    )
    families = result.aggregate["families"]
    assert list(bars) == [*sorted(families), "overall"]
    for name, value in bars.items():
        score = (families.get(name) or result.aggregate["overall"])["score"]
        assert value == ("" if score is None else repr(float(score)))
    assert "80.5 [55.2, 101.9]</text>" in text
    assert "120.0 [100.0, 140.0]</text>" in text


def test_results_text_is_escaped(tmp_path: Path) -> None:
    evil = make_result(policy=EVIL_POLICY)
    text = render_scorecard(evil, episodes_page="episodes.html", comparison=make_comparison())
    assert "<img" not in text and "<b onmouseover" not in text and "</script><" not in text
    assert html.escape(EVIL_POLICY) in text
    assert html.escape(EVIL_METRIC) in text


def test_links_filter_the_viewer_on_environment_seeds_and_policies(page: Path) -> None:
    links = Page(page.read_text(encoding="utf-8")).links
    split = urlsplit(links["entry:arithmetic"])
    assert split.path == "episodes.html"
    assert dict(parse_qsl(split.fragment)) == {
        "env": "envalign/Arithmetic-v0",
        "seed": "1000010000-1000010003",
        "policy.agent": "smollm2-135m-instruct",
    }
    dilemma = dict(parse_qsl(urlsplit(links["entry:dilemma-panel"]).fragment))
    assert dilemma == {
        "env": "envalign/PrisonersDilemma-v0",
        "seed": "1000040000-1000040003",
        "policy.agent_0": "smollm2-135m-instruct",
    }


def test_opponent_links_name_the_partners_policies(result: EvalResult) -> None:
    partners = {"dilemma-panel": {"always-defect": {"agent_1": "always_defect"}}}
    text = render_scorecard(result, episodes_page="episodes.html", partners=partners)
    links = Page(text).links
    fragment = dict(parse_qsl(urlsplit(links["opponent:dilemma-panel:always-defect"]).fragment))
    assert fragment["policy.agent_1"] == "always_defect"
    assert fragment["policy.agent_0"] == "smollm2-135m-instruct"
    assert "policy.agent_1" not in dict(
        parse_qsl(urlsplit(links["opponent:dilemma-panel:random"]).fragment)
    )


def test_partners_come_from_the_shipped_suite(result: EvalResult) -> None:
    from envalign.training.eval.suite import load_suite

    suite = load_suite("core-v1")
    partners = suite_partners(result)
    assert partners["dilemma-panel"] == {
        name: dict(agents) for name, agents in suite.entry("dilemma-panel").panel.items()
    }
    result.suite_version = suite.version + 1  # another version: its partners may differ
    assert suite_partners(result) == {}
    result.suite = "no-such-suite"
    assert suite_partners(result) == {}


def test_without_a_viewer_page_there_are_no_links(result: EvalResult) -> None:
    text = render_scorecard(result)
    assert "href=" not in text
    assert entry_cells(text, "arithmetic")["link"] == "n/a"
    assert "<section class='comparison'>" not in text


def test_comparison_shows_verdicts_and_flags(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    rows = Page(text).rows
    better = rows["comparison:arithmetic"]
    assert better[2] == "4"
    assert better[3] == "0.75 [0.25, 1.25]" and better[4] == "7.5 [2.5, 12.5]"
    assert better[5] == "50.0% \u2192 75.0%" and better[6] == "mcnemar"
    assert better[7:10] == ["0.012", "0.036", "better"]
    worse = rows["comparison:dilemma-panel"]
    assert worse[2] == "4 (3 failed)" and worse[9] == "worse"
    assert worse[11] == "cooperation_rate -0.250 [-0.400, -0.100]"
    assert worse[12] == "reward up, cooperation_rate down"
    unclear = rows["comparison:coop-kitchen"]
    assert unclear[2] == "4 (1 unpaired)"
    assert unclear[9:11] == ["not separable", "48"]
    assert "class='verdict verdict-better'>better<" in text
    assert "class='verdict verdict-worse'>worse<" in text
    assert "class='verdict verdict-ns'>not separable<" in text
    assert "data-count='better'>better: 1<" in text
    assert "Only in B, not compared: household" in text and "Only in A" not in text


def test_header_lists_the_run(page: Path) -> None:
    facts = dict(re.findall(r"<dd data-fact='([^']+)'>([^<]*)</dd>", page.read_text("utf-8")))
    assert facts["suite"] == "core-v1" and facts["suite version"] == "1"
    assert facts["tier"] == "quick" and facts["policy"] == "smollm2-135m-instruct"
    assert facts["settings"] == "temperature=0.0, max_new_tokens=48, history=2"
    assert facts["envalign"] == "0.1.0" and facts["finished"] == "2026-12-04T03:30:00Z"
    assert facts["wall time"] == "12 min 34 s"


def test_a_result_read_back_from_json_gives_the_same_page(
    result: EvalResult, tmp_path: Path
) -> None:
    from envalign.training.eval.results import load_result

    again = load_result(result.write(tmp_path / "results.json"))
    assert render_scorecard(again, episodes_page="e.html") == render_scorecard(
        result, episodes_page="e.html"
    )


def test_an_unwritable_path_is_a_clear_error(result: EvalResult, tmp_path: Path) -> None:
    from envalign.envs.errors import ConfigError

    with pytest.raises(ConfigError, match="Cannot write the page"):
        write_scorecard(result, tmp_path)


def test_with_the_real_statistics(tmp_path: Path) -> None:
    stats = pytest.importorskip("envalign.training.eval.stats")
    result = make_result()
    for entry in result.entries:
        if entry.unavailable is None:
            entry.summary = stats.summarize_entry(entry)
    result.aggregate = stats.aggregate(result.entries)
    text = write_scorecard(result, tmp_path / "s.html").read_text("utf-8")
    arithmetic = result.entry("arithmetic").summary
    low, high = arithmetic["return_ci"]
    cells = entry_cells(text, "arithmetic")
    assert (
        cells["mean return [95% CI]"] == f"{arithmetic['mean_return']:.2f} [{low:.2f}, {high:.2f}]"
    )
    overall: dict[str, Any] = result.aggregate["overall"]
    shown = "n/a" if overall["score"] is None else f"{overall['score']:.1f}"
    assert re.search(rf"data-family='overall' data-score='[^']*'>.*?>{re.escape(shown)}", text)


def test_very_wide_intervals_are_clipped_at_the_axis_with_arrows(result: EvalResult) -> None:
    result.aggregate["overall"] = {"score": 12.5, "ci": [-531.0, 796.6], "entries": ["arithmetic"]}
    text = render_scorecard(result)
    ticks = [float(t) for t in re.findall(r"data-tick='([-\d.]+)'", text)]
    assert min(ticks) >= -100 and max(ticks) <= 200 and {0.0, 100.0} <= set(ticks)
    overall = re.search(r"<g class='family overall'.*?</g>", text)
    assert overall is not None
    assert "12.5 [-531.0, 796.6]</text>" in overall.group(0)  # the numbers are never clipped
    path = re.search(r"<path class='ci' [^>]*d='([^']+)'", overall.group(0))
    assert path is not None and path.group(1).count("L") == 4  # two arrowheads, no caps


def test_an_entry_without_a_summary_reads_n_a(result: EvalResult) -> None:
    entry = result.entry("arithmetic")
    entry.summary = {}
    entry.episodes[0].failed = True
    cells = entry_cells(render_scorecard(result), "arithmetic")
    assert cells["episodes"] == "4" and cells["failed"] == "1"
    for column in ("mean return [95% CI]", "success [Wilson 95%]", "normalised [95% CI]"):
        assert cells[column] == "n/a"
    assert cells["alignment metrics [95% CI]"] == "n/a"
