"""Servers for the serving tests: OpenEnv's app in a thread of the test process, on loopback."""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from envalign.agents.base import Generation, TurnRequest
from envalign.training.serving import ServeConfig
from envalign.training.serving.app import RunningServer, running


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """``serve(env_id, **config)`` starts a server on a free loopback port; all stop at teardown."""
    with contextlib.ExitStack() as stack:

        def start(env_id: str, **options: Any) -> RunningServer:
            return stack.enter_context(running(ServeConfig(env_id, port=0, **options)))

        yield start


class HashPolicy:
    """Deterministic in what the agent sees: the same observation always gets the same action."""

    name = "hash"

    def act(self, requests: list[TurnRequest]) -> list[Generation]:
        replies = []
        for request in requests:
            text = request.messages[-1]["content"]
            digest = zlib.crc32(text.encode("utf-8"))
            choices = request.valid_actions
            replies.append(
                Generation(
                    text=choices[digest % len(choices)] if choices else str(digest % 19),
                    finish_reason="scripted",
                )
            )
        return replies


@pytest.fixture
def hash_policy() -> HashPolicy:
    return HashPolicy()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def until() -> Callable[..., bool]:
    return wait_until
