"""``envalign serve``: serve an environment over OpenEnv's protocol (see docs/openenv.md)."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from envalign.cli.run import positive_int
from envalign.errors import DependencyNotInstalled

#: What installs the server's dependencies: OpenEnv itself without its own (it would pull in
#: gradio, openai and more that serving does not use), then the ``serve`` extra.
INSTALL_COMMAND = 'pip install "envalign[serve]" && pip install --no-deps openenv==0.10.0'
REQUIRED_MODULES = ("openenv", "fastapi", "uvicorn", "websockets", "requests")


class ServingNotInstalled(DependencyNotInstalled):
    """OpenEnv or one of the server's dependencies is missing; the message has the command."""

    def __init__(self, package: str) -> None:
        ImportError.__init__(
            self,
            f"{package} is needed to serve environments over OpenEnv but is not installed. "
            f"Install it with: {INSTALL_COMMAND}",
        )
        self.package, self.extra = package, "serve"


def require_serving() -> None:
    """Raise :class:`ServingNotInstalled` unless OpenEnv's server can be imported."""
    for module in REQUIRED_MODULES:
        if importlib.util.find_spec(module) is None:
            raise ServingNotInstalled(module)


def add_commands(subparsers: Any) -> None:
    """Add ``serve``."""
    serve = subparsers.add_parser(
        "serve",
        help="serve an environment over OpenEnv's protocol (WebSocket, one session per client)",
        description="Serve any registered environment with OpenEnv's server. Clients: OpenEnv's "
        "GenericEnvClient, TRL, or envalign.make('openenv:ws://HOST:PORT').",
    )
    serve.add_argument("env_id", metavar="ID", help="environment id, e.g. envalign/Negotiation-v0")
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000; 0: any)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)",
    )
    serve.add_argument(
        "--max-sessions",
        type=positive_int,
        default=64,
        metavar="N",
        help="concurrent sessions (default 64); also caps a tool environment's sandboxes",
    )
    serve.add_argument(
        "--env-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment keyword argument (VALUE parsed as JSON when it can be)",
    )
    serve.add_argument(
        "--seat",
        action="append",
        default=[],
        metavar="AGENT=BASELINE",
        help="in a game, AGENT played on the server by BASELINE (scripted, random, ...) or "
        "AGENT=client for a seat joined by a client session (repeatable; agents not named are "
        "client seats; default: the first agent is the client's, the others play scripted)",
    )
    serve.add_argument(
        "--seat-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds a table may take to fill and a client seat to move before the server "
        "plays it with --fallback (default 30)",
    )
    serve.add_argument(
        "--fallback",
        default="random",
        metavar="BASELINE",
        help="policy that plays a stalled or disconnected seat (default random)",
    )
    serve.add_argument(
        "--max-message-bytes",
        type=positive_int,
        default=1 << 20,
        metavar="N",
        help="largest WebSocket message accepted; a larger one closes its connection with code "
        "1009 (default 1048576)",
    )
    serve.add_argument(
        "--warm-sandboxes",
        type=positive_int,
        default=2,
        metavar="N",
        help="tool environments: sandboxes started before the first client (default 2)",
    )
    serve.set_defaults(handler=serve_command)


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be in 0..65535, got {value}")
    return value


def serve_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    from envalign.cli.run import parse_env_args
    from envalign.envs.registry import spec

    spec(args.env_id)  # an unknown id fails before the dependency check
    require_serving()
    from envalign.training.serving import ServeConfig, seats_from_pairs
    from envalign.training.serving.app import serve

    config = ServeConfig(
        env_id=args.env_id,
        host=args.host,
        port=args.port,
        max_sessions=args.max_sessions,
        env_kwargs=parse_env_args(args.env_arg),
        seats=seats_from_pairs(args.seat),
        seat_timeout=args.seat_timeout,
        fallback=args.fallback,
        max_message_bytes=args.max_message_bytes,
        warm_sandboxes=args.warm_sandboxes,
    )
    serve(config)
    return 0
