"""Multi-agent games over OpenEnv: tables of seats, some joined by client sessions, some played here.

OpenEnv gives every WebSocket session its own environment. A PettingZoo game needs several agents in
one environment, so a session here *joins a table* instead: the sessions that reset with the same seed
(and the same ``table`` name, if they give one) fill the open seats of one game, in arrival order or
the seat each asks for. Seats given a baseline (``--seat agent_1=scripted``) are played on the server.

Turn order: each session's ``step`` hands in its seat's move and returns when that seat must act
again (or the game is over). The game steps once every acting client seat has moved; the server's
seats move in the same step. A seat's reward is everything it earned since its previous move.

Stalls and disconnects (docs/openenv.md): a table that is not full ``seat_timeout`` seconds after
its first session joined is dissolved and every waiting session gets an error. A client seat that has
not moved ``seat_timeout`` seconds after its turn began, or whose connection closes, is *forfeited*:
the server plays it with the ``fallback`` policy until the game ends, the other seats read
``info["forfeited_seats"]``, and the forfeited session's next ``step`` is an error telling it to reset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from envalign.agents.base import Policy, TurnRequest, valid_actions_of
from envalign.envs.core import ActContext, agent_rng
from envalign.envs.spaces import observation_text
from envalign.training.episode_host import DEFAULT_SYSTEM_PROMPT

#: Longest single wait on a table's condition, so a waiter re-checks deadlines at least this often.
POLL_S = 0.5


class TableError(RuntimeError):
    """A seat cannot go on (table dissolved, seat forfeited, game over); the client must reset."""


@dataclass
class Delivery:
    """What one seat receives when its turn comes (or the game ends)."""

    text: str
    reward: float
    done: bool
    truncated: bool
    info: dict[str, Any]


@dataclass
class _Seat:
    """One agent of a running game."""

    agent: str
    client: bool  # joined by a session (else played on the server)
    rng: Any = None
    conversation: list[dict[str, str]] = field(default_factory=list)
    reward: float = 0.0  # earned since the seat's last delivery
    components: dict[str, float] = field(default_factory=dict)
    forfeited: str = ""  # why the server took the seat over


class Table:
    """One game: its environment, its seats, the moves handed in for the current step.

    Args:
        key: ``(table name, seed)``: the sessions that reset with it share this game.
        open_seats: Agents joined by client sessions, in the order they are handed out.
        policies: ``agent -> Policy`` for the seats played on the server.
        fallback: The policy that takes over a forfeited seat.
        fallback_name: Its name, for feedback.
        make_env: Builds the game.
        seat_timeout: Seconds a seat may take to join or to move.
    """

    def __init__(
        self,
        key: tuple[str, int | None],
        open_seats: list[str],
        policies: Mapping[str, Policy],
        fallback: Policy,
        fallback_name: str,
        make_env: Callable[[], Any],
        seat_timeout: float,
    ) -> None:
        self.key = key
        self.seed = key[1]
        self.open_seats = list(open_seats)
        self.policies = dict(policies)
        self.fallback, self.fallback_name = fallback, fallback_name
        self.make_env = make_env
        self.seat_timeout = seat_timeout
        self.condition = threading.Condition()
        self.members: dict[str, int] = {}  # open seat -> id of the session holding it
        self.flexible: set[int] = set()  # sessions that named no seat
        self.created = time.monotonic()
        self.env: Any = None
        self.seats: dict[str, _Seat] = {}
        self.observations: dict[str, Any] = {}
        self.infos: dict[str, dict[str, Any]] = {}
        self.moves: dict[str, str] = {}  # client moves handed in for the current step
        self.turn_began = 0.0
        self.steps = 0
        self.started = False
        self.over = False
        self.truncated = False
        self.failed = ""

    # -- joining ---------------------------------------------------------------------------------

    def claim(self, member: int, seat: str | None) -> None:
        """Give ``member`` a free open seat, or ``seat`` if named; call under the lobby's lock.

        A session that named no seat yields its seat to one that names it, since it learns its
        seat only when the game starts.

        Raises:
            TableError: If the seat is not an open one or another session named it first.
        """
        if seat is None:
            self.flexible.add(member)
            seat = next(a for a in self.open_seats if a not in self.members)
        elif seat not in self.open_seats:
            raise TableError(
                f"Seat '{seat}' is not open to clients; open seats: {', '.join(self.open_seats)}."
            )
        elif seat in self.members:
            holder = self.members[seat]
            if holder not in self.flexible:
                raise TableError(
                    f"Seat '{seat}' of this table is taken; reset without 'seat' or wait."
                )
            free = next(a for a in self.open_seats if a not in self.members)
            self.members[free] = holder
        self.members[seat] = member

    def seat_of(self, member: int) -> str | None:
        """The seat ``member`` holds (``None`` once it left)."""
        return next((seat for seat, held in self.members.items() if held == member), None)

    @property
    def full(self) -> bool:
        """Whether every open seat has a session."""
        return len(self.members) == len(self.open_seats)

    def start(self) -> None:
        """Build and reset the game, let the server's seats move, wake the joined sessions."""
        try:
            env = self.make_env()
            observations, infos = env.reset(seed=self.seed)
        except Exception as error:
            self.fail(f"The game could not start: {type(error).__name__}: {error}")
            raise
        with self.condition:
            self.env = env
            prompt = str(getattr(env.unwrapped, "system_prompt", "") or DEFAULT_SYSTEM_PROMPT)
            self.seats = {
                agent: _Seat(
                    agent,
                    client=agent in self.open_seats,
                    rng=agent_rng(self.seed, agent),
                    conversation=[{"role": "system", "content": prompt}],
                )
                for agent in env.possible_agents
            }
            self.observations, self.infos = dict(observations), dict(infos)
            self.started = True
            self.turn_began = time.monotonic()
            self._advance()

    def fail(self, reason: str) -> None:
        """End the table for every session waiting on it with ``reason``."""
        with self.condition:
            self.failed = self.failed or reason
            self.condition.notify_all()

    # -- playing ---------------------------------------------------------------------------------

    def wait_start(self, member: int) -> tuple[str, Delivery]:
        """Block until the game has started and ``member``'s seat must act (or the game is over).

        Returns:
            The seat and what it sees first.
        """
        with self.condition:
            while not self.started:
                if self.failed:
                    raise TableError(self.failed)
                waited = time.monotonic() - self.created
                if waited > self.seat_timeout:
                    self.failed = self._not_full_message()
                    self.condition.notify_all()
                    raise TableError(self.failed)
                self.condition.wait(min(POLL_S, self.seat_timeout - waited + 0.01))
            seat = self.seat_of(member)
            if seat is None:
                raise TableError("This session left the table before the game started.")
            return seat, self._wait_turn(seat, first=True)

    def play(self, seat: str, action: str, policy: Policy | None = None) -> Delivery:
        """Hand in ``seat``'s move; block until it must act again or the game is over.

        With ``policy``, the server chooses the move in the seat's place (``info["server_action"]``
        says which).

        Raises:
            TableError: If the seat was forfeited, the game is over or the table failed.
        """
        with self.condition:
            self._check(seat)
            if self.over:
                raise TableError("The episode is over; reset to play another.")
            if not self._is_turn(seat):
                raise TableError(f"It is not {seat}'s turn.")  # unreachable for a client
            self.moves[seat] = action if policy is None else self._server_move(seat, policy)
            played = self.moves[seat]
            self._advance()
            delivery = self._wait_turn(seat, first=False)
            if policy is not None:
                delivery.info["server_action"] = played
            return delivery

    def leave(self, seat: str, why: str) -> bool:
        """The session of ``seat`` is gone: forfeit the seat if the game goes on.

        Returns:
            Whether no session holds a seat of this table any more.
        """
        with self.condition:
            self.members.pop(seat, None)
            if self.started and not self.over and not self.seats[seat].forfeited:
                self._forfeit(seat, why)
                self._advance()
            self.condition.notify_all()
            return not self.members

    def close(self) -> None:
        """Close the game's environment."""
        with self.condition:
            env, self.env = self.env, None
        if env is not None:
            env.close()

    # -- inside the condition --------------------------------------------------------------------

    def _check(self, seat: str) -> None:
        if self.failed:
            raise TableError(self.failed)
        forfeited = self.seats[seat].forfeited if seat in self.seats else ""
        if forfeited:
            raise TableError(
                f"Seat {seat} was forfeited ({forfeited}); the server plays it with "
                f"'{self.fallback_name}' until the game ends. Reset to join a new game."
            )

    def _acting(self) -> list[str]:
        if self.over or self.env is None:
            return []
        return [a for a in self.env.agents if self.infos.get(a, {}).get("acting", True)]

    def _is_turn(self, seat: str) -> bool:
        return seat in self._acting() and seat not in self.moves

    def _client_controlled(self, agent: str) -> bool:
        seat = self.seats[agent]
        return seat.client and not seat.forfeited

    def _wait_turn(self, seat: str, *, first: bool) -> Delivery:
        while True:
            self._check(seat)
            if self.over or self._is_turn(seat):
                return self._deliver(seat, first=first)
            self._forfeit_stalled()
            remaining = self.turn_began + self.seat_timeout - time.monotonic()
            self.condition.wait(max(0.01, min(POLL_S, remaining + 0.01)))

    def _forfeit_stalled(self) -> None:
        """Forfeit every client seat that has not moved within the timeout, then go on."""
        if time.monotonic() - self.turn_began <= self.seat_timeout:
            return
        stalled = [a for a in self._acting() if self._client_controlled(a) and a not in self.moves]
        for agent in stalled:
            self._forfeit(agent, f"no move within {self.seat_timeout:g} s")
        if stalled:
            self._advance()

    def _forfeit(self, agent: str, why: str) -> None:
        self.seats[agent].forfeited = why
        self.moves.pop(agent, None)

    def _advance(self) -> None:
        """Step the game while every acting seat's move is known; wake the waiting sessions."""
        while not self.over:
            acting = self._acting()
            if any(self._client_controlled(a) and a not in self.moves for a in acting):
                break
            moves = dict.fromkeys(self.env.agents, "")
            for agent in acting:
                moves[agent] = (
                    self.moves.pop(agent)
                    if self._client_controlled(agent)
                    else self._server_move(agent)
                )
            observations, rewards, terminations, truncations, infos = self.env.step(moves)
            for agent, reward in rewards.items():
                seat = self.seats[agent]
                seat.reward += float(reward)
                components = infos.get(agent, {}).get("reward_components", {})
                for name, value in components.items():
                    seat.components[name] = seat.components.get(name, 0.0) + float(value)
            self.observations.update(observations)
            self.infos.update(infos)
            self.steps += 1
            self.turn_began = time.monotonic()
            if not self.env.agents:
                self.over = True
                self.truncated = any(truncations.values()) and not any(terminations.values())
        self.condition.notify_all()

    def _server_move(self, agent: str, policy: Policy | None = None) -> str:
        seat = self.seats[agent]
        if policy is None:
            policy = self.fallback if seat.forfeited else self.policies[agent]
        text = observation_text(self.observations[agent])
        seat.conversation.append({"role": "user", "content": text})
        context = ActContext(
            env=self.env.unwrapped,
            agent=agent,
            observation=self.observations[agent],
            info=self.infos.get(agent, {}),
            rng=seat.rng,
        )
        request = TurnRequest(
            list(seat.conversation), context, valid_actions_of(self.infos.get(agent, {}))
        )
        move = policy.act([request])[0].text
        seat.conversation.append({"role": "assistant", "content": move})
        return move

    def _deliver(self, agent: str, *, first: bool) -> Delivery:
        seat = self.seats[agent]
        info = dict(self.infos.get(agent, {}))
        reward = 0.0
        if not first:  # rewards before a seat's first move go with its first step
            reward, seat.reward = seat.reward, 0.0
            info["reward_components"], seat.components = seat.components, {}
        forfeited = sorted(a for a, s in self.seats.items() if s.forfeited)
        if forfeited:
            info["forfeited_seats"] = forfeited
        return Delivery(
            text=observation_text(self.observations[agent]),
            reward=reward,
            done=self.over,
            truncated=self.over and self.truncated,
            info=info,
        )

    def _not_full_message(self) -> str:
        missing = [a for a in self.open_seats if a not in self.members]
        table, seed = self.key
        name = f"table '{table}'" if table else "the table"
        return (
            f"No session joined {', '.join(missing)} of {name} for seed {seed} within "
            f"{self.seat_timeout:g} s; start a client per open seat that resets with the same seed, "
            "or serve those seats with a baseline (--seat AGENT=scripted)."
        )


class Lobby:
    """Tables being filled, keyed by ``(table name, seed)``; full tables start and leave the lobby.

    Args:
        open_seats: Agents joined by sessions.
        policies: ``agent -> Policy`` for the server's seats.
        fallback: Policy for forfeited seats, and its name.
        make_env: Builds one game.
        seat_timeout: Seconds to fill a table and to wait for a move.
    """

    def __init__(
        self,
        open_seats: list[str],
        policies: Mapping[str, Policy],
        fallback: tuple[str, Policy],
        make_env: Callable[[], Any],
        seat_timeout: float,
    ) -> None:
        self.open_seats = open_seats
        self.policies = policies
        self.fallback_name, self.fallback = fallback
        self.make_env = make_env
        self.seat_timeout = seat_timeout
        self._forming: dict[tuple[str, int | None], Table] = {}
        self._lock = threading.Lock()

    def join(self, member: int, seed: int | None, table: str, seat: str | None) -> Table:
        """Seat ``member`` at the forming table of ``(table, seed)``; start it once it is full.

        Raises:
            TableError: If the seat asked for is not open or is taken.
        """
        key = (table, seed)
        with self._lock:
            forming = self._forming.get(key)
            if forming is None or forming.failed:
                forming = Table(
                    key,
                    self.open_seats,
                    self.policies,
                    self.fallback,
                    self.fallback_name,
                    self.make_env,
                    self.seat_timeout,
                )
                self._forming[key] = forming
            forming.claim(member, seat)
            full = forming.full
            if full:
                del self._forming[key]
        if full:
            forming.start()
        return forming

    def abandon(self, table: Table, member: int, why: str) -> None:
        """Session ``member`` leaves ``table``: free its seat while forming, forfeit it in play."""
        with self._lock:
            seat = table.seat_of(member)
            if self._forming.get(table.key) is table and not table.started:
                if seat is not None:
                    del table.members[seat]
                if not table.members:
                    del self._forming[table.key]
                return
        if seat is None:
            return
        if table.leave(seat, why):
            table.close()

    @property
    def forming(self) -> int:
        """Tables waiting for sessions."""
        with self._lock:
            return len(self._forming)
