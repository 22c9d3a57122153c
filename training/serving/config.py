"""What ``envalign serve`` serves and how: a dataclass with help text, checked on construction."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envalign.envs.registry import EnvCard
from envalign.errors import ConfigError

#: The seat value that leaves a seat to a client session.
CLIENT = "client"
LOOPBACK = "127.0.0.1"


@dataclass
class ServeConfig:
    """Configuration of one OpenEnv server of an envalign environment.

    Attributes:
        env_id: The registered environment to serve (built-in or plugin).
        host: Address to bind; the loopback address unless you mean to expose it.
        port: TCP port (0 picks a free one).
        max_sessions: Concurrent WebSocket sessions (OpenEnv's ``max_concurrent_envs``); a tool
            environment's sandbox pool never holds more containers than this.
        env_kwargs: Keyword arguments for the environment.
        seats: For a game, ``agent -> baseline name`` for seats played on the server, or
            ``"client"`` for seats joined by client sessions. Agents not named are client seats;
            with no seats at all, the first agent is the client's and the others play ``scripted``
            (or ``random`` where the game has none).
        seat_timeout: Seconds a table may take to fill and a client seat to move before it is
            forfeited (keep it below the clients' message timeout, 60 s in OpenEnv).
        fallback: The policy that plays a forfeited seat.
        max_message_bytes: Largest WebSocket message accepted; a larger one closes that
            connection with code 1009 (the server keeps serving).
        warm_sandboxes: Sandbox sessions started before the first client (tool environments).
    """

    env_id: str
    host: str = LOOPBACK
    port: int = 8000
    max_sessions: int = 64
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seats: dict[str, str] = field(default_factory=dict)
    seat_timeout: float = 30.0
    fallback: str = "random"
    max_message_bytes: int = 1 << 20
    warm_sandboxes: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be in 0..65535, got {self.port}.")
        if self.max_sessions < 1:
            raise ConfigError(f"max_sessions must be at least 1, got {self.max_sessions}.")
        if not self.seat_timeout > 0:
            raise ConfigError(f"seat_timeout must be positive seconds, got {self.seat_timeout}.")
        if self.max_message_bytes < 1024:
            raise ConfigError(
                f"max_message_bytes must be at least 1024, got {self.max_message_bytes}."
            )
        if self.warm_sandboxes < 1:
            raise ConfigError(f"warm_sandboxes must be at least 1, got {self.warm_sandboxes}.")

    @property
    def loopback_only(self) -> bool:
        """Whether the bound address is reachable from this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def resolve_seats(self, card: EnvCard, agents: list[str]) -> dict[str, str]:
        """Every agent's seat: ``"client"`` or the baseline that plays it on the server.

        Raises:
            ConfigError: If seats are given for a single-agent environment, name an unknown
                agent, or leave no seat to clients.
        """
        if not card.multi_agent:
            if self.seats:
                raise ConfigError(f"{card.id} is single-agent; --seat is for multi-agent games.")
            return {agents[0]: CLIENT}
        unknown = sorted(set(self.seats) - set(agents))
        if unknown:
            raise ConfigError(
                f"{card.id} has no agent {unknown[0]!r}; its agents are {', '.join(agents)}."
            )
        if self.seats:
            seats = {agent: self.seats.get(agent, CLIENT) for agent in agents}
        else:
            default = "scripted" if "scripted" in card.policies else "random"
            seats = {agent: default for agent in agents} | {agents[0]: CLIENT}
        if CLIENT not in seats.values():
            raise ConfigError(
                f"Every seat of {card.id} is played by a baseline; leave at least one to clients "
                f"(--seat {agents[0]}={CLIENT})."
            )
        return seats


def seats_from_pairs(pairs: list[str] | Mapping[str, str]) -> dict[str, str]:
    """Turn ``["agent_1=scripted", "agent_0=client"]`` into a seat mapping.

    Raises:
        ConfigError: For a pair without ``=``.
    """
    if isinstance(pairs, Mapping):
        return dict(pairs)
    seats = {}
    for pair in pairs:
        agent, separator, name = pair.partition("=")
        if not separator or not agent or not name:
            raise ConfigError(f"--seat expects AGENT=BASELINE or AGENT=client, got '{pair}'.")
        seats[agent] = name
    return seats
