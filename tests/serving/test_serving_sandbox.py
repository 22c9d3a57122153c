"""A served tool environment keeps its Docker sandbox on the server; a lost client frees it."""

from __future__ import annotations

import json
import os
import socket

import pytest
from websockets.sync.client import connect

import envalign
from envalign.envs.remote.env import RemoteEnv
from envalign.envs.tools.sessions import close_shared_pool

pytestmark = pytest.mark.docker


def _containers() -> int:
    import docker

    from envalign.sandbox.docker import LABEL, OWNER_PID_LABEL

    client = docker.from_env(timeout=30)
    try:
        mine = client.containers.list(filters={"label": f"{LABEL}=1"})
        return sum(c.labels.get(OWNER_PID_LABEL) == str(os.getpid()) for c in mine)
    finally:
        client.close()


def test_sql_episodes_run_in_the_servers_sandbox_and_a_dropped_client_frees_it(
    serve, until
) -> None:
    before = _containers()
    server = serve("envalign/SQL-v0", max_sessions=2, warm_sandboxes=1)
    assert server.hub.pool is not None and server.hub.pool.max_idle_overflow == 1
    remote = RemoteEnv(server.url)
    local = envalign.make("envalign/SQL-v0")
    assert remote.reset(seed=4) == local.reset(seed=4)
    query = "SELECT name FROM students ORDER BY id LIMIT 2"
    assert remote.step(query) == local.step(query)
    local.close()
    close_shared_pool()  # the in-process env's containers; only the server's remain
    assert server.hub.status()["sandboxes_held"] == 1
    remote.close()
    assert until(lambda: server.hub.status()["sandboxes_held"] == 0)

    # A client that vanishes mid-episode (no close frame, the TCP connection just drops).
    ws = connect(f"{server.url}/ws", open_timeout=10)
    ws.send(json.dumps({"type": "reset", "data": {"seed": 1}}))
    assert json.loads(ws.recv(timeout=30))["type"] == "observation"
    ws.send(json.dumps({"type": "step", "data": {"text": "SELECT 1"}}))
    assert json.loads(ws.recv(timeout=60))["type"] == "observation"
    assert server.hub.status()["sandboxes_held"] == 1
    ws.socket.shutdown(socket.SHUT_RDWR)
    ws.socket.close()
    assert until(lambda: server.hub.status()["sessions"] == 0, timeout=30)
    assert server.hub.status()["sandboxes_held"] == 0
    # The pool never holds more containers than sessions, and the freed one serves again.
    assert until(lambda: _containers() - before <= 2, timeout=30)
    again = RemoteEnv(server.url)
    again.reset(seed=1)
    assert again.step("SELECT 1")[4]["feedback"]
    again.close()
