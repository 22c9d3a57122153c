"""The OpenEnv server of an envalign environment: OpenEnv's ``create_app``, run by uvicorn.

Only OpenEnv's protocol code is used: ``create_app`` builds the FastAPI app with its WebSocket
``/ws`` (one :class:`~envalign.training.serving.session.EnvalignSession` per connection, capped at
``max_sessions``), ``/health``, ``/schema`` and ``/metadata``. It runs in OpenEnv's *production*
mode, so the stateless ``POST /reset``/``/step`` (a new environment per request, which cannot play
an episode, would start a sandbox per request and would join tables) are not offered; ``GET
/envalign`` adds what OpenEnv's metadata has no field for (card, seats, live sessions).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from envalign.training.serving.config import ServeConfig
from envalign.training.serving.session import EnvalignSession, Hub

STARTUP_TIMEOUT_S = 30.0


def build_app(config: ServeConfig) -> tuple[Any, Hub]:
    """Return OpenEnv's FastAPI app for ``config`` and the state its sessions share."""
    from openenv.core.env_server import create_app

    from envalign.envs.remote.models import EpisodeState, TextAction, TextObservation

    hub = Hub(config)
    app = create_app(
        functools.partial(EnvalignSession, hub),
        TextAction,
        TextObservation,
        env_name=config.env_id.replace("/", "_"),
        max_concurrent_envs=config.max_sessions,
        state_cls=EpisodeState,
        mode="production",
    )

    @app.get("/envalign", tags=["Environment Info"], summary="The envalign card and seats")
    def envalign_card() -> dict[str, Any]:
        return hub.describe()

    return app, hub


@dataclass
class RunningServer:
    """A server started by :func:`running`: where it listens and what it shares."""

    url: str
    hub: Hub
    server: Any


def _bind(config: ServeConfig) -> socket.socket:
    from envalign.errors import ConfigError

    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as error:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {config.host}:{config.port} ({error.strerror}); "
            "choose another --port (0 picks a free one)."
        ) from None
    sock.listen(2048)
    return sock


def _uvicorn_server(app: Any, config: ServeConfig) -> Any:
    import uvicorn

    settings = uvicorn.Config(
        app,
        log_level="warning",
        ws_max_size=config.max_message_bytes,
        backlog=2048,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(settings)


def url_of(sock: socket.socket) -> str:
    """``ws://HOST:PORT`` of a listening socket."""
    host, port = sock.getsockname()[:2]
    return f"ws://[{host}]:{port}" if ":" in host else f"ws://{host}:{port}"


@contextlib.contextmanager
def running(config: ServeConfig) -> Iterator[RunningServer]:
    """Serve ``config`` in a background thread of this process (tests, benchmarks, notebooks).

    Yields:
        The server's ``ws://`` URL, shared state and uvicorn server; it stops on exit.
    """
    app, hub = build_app(config)
    sock = _bind(config)
    server = _uvicorn_server(app, config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="envalign-serve", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        if not server.started:
            raise RuntimeError("The OpenEnv server did not start (see the log above).")
        yield RunningServer(url_of(sock), hub, server)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        hub.close()


def serve(config: ServeConfig) -> None:
    """Serve ``config`` until Ctrl-C, printing where and what."""
    app, hub = build_app(config)
    sock = _bind(config)
    url = url_of(sock)
    where = (
        "loopback only; --host 0.0.0.0 exposes it to the network"
        if config.loopback_only
        else "REACHABLE FROM THE NETWORK: anyone who can connect can run episodes"
    )
    print(f"envalign: serving {config.env_id} over OpenEnv at {url} ({where})", flush=True)
    if hub.card.multi_agent:
        seats = ", ".join(f"{agent}={name}" for agent, name in hub.seats.items())
        print(
            f"envalign: seats {seats}; a stalled or closed client seat is played by "
            f"'{config.fallback}' after {config.seat_timeout:g} s",
            flush=True,
        )
    print(
        f"envalign: up to {config.max_sessions} sessions; connect with "
        f"GenericEnvClient(base_url='{url}') or envalign.make('openenv:{url}')",
        flush=True,
    )
    try:
        _uvicorn_server(app, config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        pass
    finally:
        sock.close()
        hub.close()
        print("envalign: server stopped", file=sys.stderr, flush=True)
