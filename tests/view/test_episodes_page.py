"""The viewer page's builder: reading records, the compact index, safe embedding, the page."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.envs.errors import UnreadableInput
from envalign.training.view.episodes_page import (
    build_episodes_page,
    episode_success,
    fill_template,
    page_data,
    read_records,
    script_json,
    to_episode,
)


def record(**overrides):
    base = {
        "env_id": "envalign/Toy-v0",
        "seed": 3,
        "task_id": "t",
        "agents": ["agent_0", "agent_1"],
        "policies": {"agent_0": "random", "agent_1": "scripted"},
        "system_prompts": {"agent_0": "Be nice.", "agent_1": "Be nice."},
        "turns": [
            {
                "agent": "agent_0",
                "step": 0,
                "observation": "hello",
                "action": "hi",
                "reward": 0.5,
                "reward_components": {"a": 0.5},
                "feedback": "ok",
                "token_ids": [1, 2, 3],
                "logprobs": [-0.1, -0.2, -0.3],
                "prompt_token_ids": [9, 9],
                "valid_actions": ["hi", "bye"],
            }
        ],
        "returns": {"agent_0": 0.5, "agent_1": -1.0},
        "success": {"agent_0": True, "agent_1": None},
        "steps": 1,
        "terminated": True,
        "schema_version": 1,
    }
    base.update(overrides)
    return base


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_index_row_and_details_drop_token_arrays_and_share_repeats():
    data = page_data([record(), record(seed=4)], frames=0)
    assert data["envs"] == ["envalign/Toy-v0"]
    env, seed, mean, success, steps, task, policies, returns = data["rows"][0]
    assert (env, seed, mean, success, steps, task) == (0, 3, -0.25, 1, 1, "t")
    assert policies == "random, scripted" and returns == "+0.5 / -1"
    detail = json.loads(data["details"][0])
    turn = detail["turns"][0]
    assert "token_ids" not in turn and "logprobs" not in turn and turn["tokens"] == 3
    assert data["shared"][turn["valid_actions"]] == ["hi", "bye"]
    prompts = detail["system_prompts"]
    assert (
        prompts["agent_0"]
        == prompts["agent_1"]
        == json.loads(data["details"][1])["system_prompts"]["agent_0"]
    )
    assert data["shared"][prompts["agent_0"]] == "Be nice."


def test_success_follows_the_summary_rule():
    assert episode_success(record(success={"a": True, "b": None})) is True
    assert episode_success(record(success={"a": True, "b": False})) is False
    assert episode_success(record(success={"a": None})) is None


def test_unknown_keys_such_as_turn_extras_are_kept_and_tolerated():
    extra = record()
    extra["turns"][0]["extras"] = {"interaction": {"rated": "agent_1"}}
    extra["future_field"] = 1
    detail = json.loads(page_data([extra], frames=0)["details"][0])
    assert detail["turns"][0]["extras"] == {"interaction": {"rated": "agent_1"}}
    episode = to_episode(extra)
    assert episode.turns[0].action == "hi" and episode.seed == 3


@given(st.text())
def test_embedded_json_never_closes_the_script_and_round_trips(text):
    embedded = script_json({"t": text})
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert json.loads(embedded) == {"t": text}


def test_nan_and_infinite_numbers_become_null_so_the_browser_can_parse_the_page():
    def browser_parse(text):  # JSON.parse rejects NaN and Infinity
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in page JSON"))

    odd = record(returns={"agent": float("nan")})
    odd["turns"][0]["reward"] = float("inf")
    data = page_data([odd], frames=0)
    assert browser_parse(data["details"][0])["turns"][0]["reward"] is None
    assert browser_parse(script_json(data))["rows"][0][2] is None


def test_template_is_filled_in_one_pass():
    # Agent text that looks like a placeholder must stay text, not pull in another part.
    page = fill_template("{{a}}|{{b}}", {"a": "{{b}}", "b": "B"})
    assert page == "{{b}}|B"


def test_page_is_self_contained_and_escapes_agent_text(tmp_path):
    evil = record(task_id="</script><img src=x onerror=alert(1)>")
    evil["turns"][0]["action"] = "</script><script>alert(1)</script>"
    page = build_episodes_page(write(tmp_path / "e.jsonl", [evil]), frames=0)
    text = page.read_text(encoding="utf-8")
    assert page.name == "e.html"
    assert text.count("</script>") == 2  # the data element's and the program's, nothing else
    assert "<img src=x" not in text
    assert not re.search(r"(src|href)=[\"']?https?:", text), "the page must not load anything"


def test_read_records_skips_a_cut_last_line(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(record()) + "\n" + json.dumps(record())[:40], encoding="utf-8")
    assert len(read_records(path)) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no episodes"),
        ("not json\n", "is not JSON"),
        ('{"env_id": "x"}\n', "missing seed, agents, turns, returns"),
        ("[1, 2]\n", "is not an episode record"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "e.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UnreadableInput, match=message):
        read_records(path)


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(UnreadableInput, match="envalign run ID --out"):
        read_records(tmp_path / "none.jsonl")


def test_real_episodes_get_gifs_only_for_pictured_envs_and_within_the_cap(real_episodes, tmp_path):
    records = read_records(real_episodes)
    data = page_data(records, frames=3)
    pictured = [i for i, r in enumerate(records) if "BabyAI" in r["env_id"]]
    assert sorted(map(int, data["gifs"])) == pictured[:3]
    assert all(uri.startswith("data:image/gif;base64,") for uri in data["gifs"].values())
    assert page_data(records, frames=0)["gifs"] == {}
