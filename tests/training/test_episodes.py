"""Episode records: JSON Lines round trip, atomic writes, truncated lines, schema versions."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envalign.training.episodes import (
    SCHEMA_VERSION,
    Episode,
    EpisodeWriter,
    TurnRecord,
    read_episodes,
)


def episode(seed: int = 0, action: str = "OFFER 50") -> Episode:
    turn = TurnRecord(
        agent="proposer",
        step=0,
        observation="Split 100 coins.",
        action=action,
        reward=0.5,
        reward_components={"payoff": 0.5},
        feedback="Deal.",
        token_ids=[5, 6, 7],
        logprobs=[-0.1, -0.2, -0.3],
        prompt_token_ids=[1, 2],
        finish_reason="stop",
    )
    return Episode(
        env_id="envalign/Ultimatum-v0",
        seed=seed,
        task_id="pot100",
        agents=["proposer"],
        policies={"proposer": "tiny-random"},
        system_prompts={"proposer": "You play."},
        turns=[turn],
        returns={"proposer": 0.5},
        success={"proposer": True},
        steps=1,
        terminated=True,
    )


def test_the_file_appears_only_on_close(tmp_path):
    path = tmp_path / "deep" / "episodes.jsonl"
    writer = EpisodeWriter(path)
    writer.write(episode(0))
    assert not path.exists()
    partial = path.with_name(path.name + ".partial")
    assert [e.seed for e in read_episodes(partial)] == [0]
    writer.write(episode(1))
    writer.close()
    writer.close()  # idempotent
    assert not partial.exists()
    assert [e.seed for e in read_episodes(path)] == [0, 1]
    assert writer.count == 2


def test_a_truncated_last_line_is_skipped(tmp_path):
    path = tmp_path / "cut.jsonl"
    full = episode(3).to_json()
    path.write_text(full + "\n" + full[: len(full) // 2], encoding="utf-8")
    assert [e.seed for e in read_episodes(path)] == [3]


def test_newer_schema_versions_are_refused_with_advice():
    data = json.loads(episode().to_json())
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="upgrade envalign"):
        Episode.from_dict(data)


def test_records_without_finish_reason_still_load():
    data = json.loads(episode().to_json())
    del data["turns"][0]["finish_reason"]
    assert Episode.from_dict(data).turns[0].finish_reason == ""


def test_conversation_rebuilds_the_agents_chat():
    assert episode().conversation("proposer") == [
        {"role": "system", "content": "You play."},
        {"role": "user", "content": "Split 100 coins."},
        {"role": "assistant", "content": "OFFER 50"},
    ]


@given(st.text(max_size=200))
def test_any_action_text_round_trips(action):
    record = episode(action=action)
    line = record.to_json()
    assert "\n" not in line
    assert Episode.from_dict(json.loads(line)) == record


def test_records_without_extras_still_load_and_extras_round_trip():
    data = json.loads(episode().to_json())
    del data["turns"][0]["extras"]
    assert Episode.from_dict(data).turns[0].extras == {}
    record = episode()
    record.turns[0].extras = {"interaction": {"round": 0, "draft_ratings": {"rule": 4.0}}}
    assert Episode.from_dict(json.loads(record.to_json())) == record
