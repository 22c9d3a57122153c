"""Bad messages get OpenEnv's protocol errors; the server keeps serving every other session."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def _connect(url: str) -> Any:
    return connect(f"{url}/ws", open_timeout=10, close_timeout=5, max_size=None)


def _ask(ws: Any, message: str | bytes) -> dict[str, Any]:
    ws.send(message)
    return json.loads(ws.recv(timeout=20))


def _plays_an_episode(url: str) -> bool:
    from openenv.core import GenericEnvClient

    with GenericEnvClient(base_url=url).sync() as client:
        first = client.reset(seed=1)
        result = client.step({"text": "3"})
    return first.observation["text"].startswith("What is") and result.done


@pytest.fixture
def server(serve):
    return serve("envalign/Arithmetic-v0", max_message_bytes=64 * 1024)


def test_malformed_messages_are_errors_and_the_session_goes_on(server) -> None:
    with _connect(server.url) as ws:
        cases = {
            "not json {": "INVALID_JSON",
            json.dumps({"type": "teleport"}): "UNKNOWN_TYPE",
            json.dumps({"no": "type"}): "UNKNOWN_TYPE",
            json.dumps({"type": "step", "data": {"text": "1"}}): "EXECUTION_ERROR",
            json.dumps({"type": "reset", "data": {"seed": "abc"}}): "EXECUTION_ERROR",
            json.dumps({"type": "reset", "data": {"seed": -1}}): "EXECUTION_ERROR",
            json.dumps({"type": "reset", "data": {"seed": 0, "colour": "red"}}): "EXECUTION_ERROR",
            json.dumps({"type": "reset", "extra": 1}): "VALIDATION_ERROR",
        }
        for message, code in cases.items():
            answer = _ask(ws, message)
            assert answer["type"] == "error" and answer["data"]["code"] == code, message
        before_reset = _ask(ws, json.dumps({"type": "step", "data": {"text": "1"}}))
        assert "reset" in before_reset["data"]["message"]
        first = _ask(ws, json.dumps({"type": "reset", "data": {"seed": 2}}))
        assert first["type"] == "observation" and first["data"]["done"] is False
        for bad_action in ({"text": 5}, {"txt": "5"}, {}, {"text": None}):
            answer = _ask(ws, json.dumps({"type": "step", "data": bad_action}))
            assert answer["data"]["code"] == "VALIDATION_ERROR", bad_action
        answer = _ask(ws, json.dumps({"type": "step", "data": {"text": "7"}}))
        assert answer["type"] == "observation" and answer["data"]["done"] is True
        over = _ask(ws, json.dumps({"type": "step", "data": {"text": "7"}}))
        assert "episode is over" in over["data"]["message"]
        state = _ask(ws, json.dumps({"type": "state"}))
        assert state["data"]["seed"] == 2 and state["data"]["step_count"] == 1
    assert _plays_an_episode(server.url)


def test_an_over_long_action_is_feedback_and_a_defined_reward(server) -> None:
    limit = server.hub.max_action_length
    with _connect(server.url) as ws:
        _ask(ws, json.dumps({"type": "reset", "data": {"seed": 0}}))
        answer = _ask(ws, json.dumps({"type": "step", "data": {"text": "9" * (limit + 1)}}))
    observation = answer["data"]["observation"]
    assert answer["type"] == "observation" and answer["data"]["reward"] == 0.0
    assert "limit" in observation["info"]["feedback"]


def test_oversized_and_non_utf8_messages_close_only_their_connection(server, until) -> None:
    with _connect(server.url) as ws:
        ws.send(json.dumps({"type": "step", "data": {"text": "x" * 100_000}}))  # over 64 KiB
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
    with _connect(server.url) as ws:
        ws.send(b'{"type": "reset", "data": {"seed": 0}}\xff\xfe', text=True)  # invalid UTF-8
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007  # invalid data
    with _connect(server.url) as ws:
        answer = _ask(ws, b"\x00\x01 binary frame")
        assert answer["type"] == "error"  # a binary frame ends the session with an error frame
    with _connect(server.url) as ws:
        reset = '{"type": "reset", "data": {"seed": 0}}'
        assert _ask(ws, reset)["type"] == "observation"
        answer = _ask(ws, '{"type": "step", "data": {"text": "\\ud800 4"}}')
        assert answer["type"] == "observation"  # a lone surrogate is replaced, not a crash
    assert until(lambda: server.hub.status()["sessions"] == 0)
    assert _plays_an_episode(server.url)


def test_the_server_binds_loopback_and_capacity_is_an_error(serve) -> None:
    server = serve("envalign/Arithmetic-v0", max_sessions=2)
    assert server.url.startswith("ws://127.0.0.1:")
    with _connect(server.url) as first, _connect(server.url) as second:
        assert _ask(first, json.dumps({"type": "reset", "data": {"seed": 0}}))["type"]
        assert _ask(second, json.dumps({"type": "reset", "data": {"seed": 0}}))["type"]
        with _connect(server.url) as third:
            refused = json.loads(third.recv(timeout=20))
        assert refused["data"]["code"] == "CAPACITY_REACHED"
    assert _plays_an_episode(server.url)


def test_any_action_text_gets_an_observation_and_a_finite_reward(serve) -> None:
    import math

    from hypothesis import given, settings
    from hypothesis import strategies as st
    from openenv.core import GenericEnvClient

    server = serve("envalign/Negotiation-v0")
    client = GenericEnvClient(base_url=server.url).sync()
    client.connect()

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.text(max_size=400), min_size=1, max_size=5), st.integers(0, 2**31))
    def play(actions: list[str], seed: int) -> None:
        result = client.reset(seed=seed)
        for action in actions:
            if result.done:
                break
            result = client.step({"text": action})
            assert isinstance(result.observation["text"], str)
            assert math.isfinite(result.reward)
            assert isinstance(result.observation["info"]["feedback"], str)

    try:
        play()
    finally:
        client.close()
