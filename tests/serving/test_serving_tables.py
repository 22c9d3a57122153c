"""Multi-agent games over OpenEnv: a seat per connection, turn order, stalls and disconnects."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from openenv.core import GenericEnvClient

from envalign.envs.remote.env import RemoteEnv, RemoteEnvError
from envalign.training.rollout import simulate

BOTH_CLIENTS = {"agent_0": "client", "agent_1": "client"}


def _play(
    url: str, seed: int, moves: list[str], log: dict[str, Any], reset: dict[str, Any] | None = None
) -> None:
    """One client: reset, then play ``moves`` (cycled) until the episode ends."""
    seen: list[tuple[str, str]] = []
    total = 0.0
    with GenericEnvClient(base_url=url, message_timeout_s=60).sync() as client:
        result = client.reset(seed=seed, **(reset or {}))
        agent = result.observation["agent"]
        while not result.done:
            seen.append((result.observation["text"], moves[len(seen) % len(moves)]))
            result = client.step({"text": seen[-1][1]})
            total += result.reward
        log[agent] = {"seen": seen, "return": total, "info": result.observation["info"]}


def _together(*players: tuple[Any, ...]) -> None:
    threads = [threading.Thread(target=_play, args=args) for args in players]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)


def test_two_clients_play_one_game_in_turn_order(serve, hash_policy) -> None:
    server = serve("envalign/Negotiation-v0", seats=BOTH_CLIENTS)
    log: dict[str, Any] = {}
    first = ["SAY hi", "PROPOSE books=1 hats=1 balls=1", "SAY ok?"]
    second = ["SAY hello", "PROPOSE books=3 hats=0 balls=0", "ACCEPT"]
    _together((server.url, 11, first, log, {"seat": "agent_0"}), (server.url, 11, second, log))
    assert set(log) == {"agent_0", "agent_1"}
    # Each seat saw only its own turns, in order: every observation asked it to move.
    for agent in log:
        assert all("Your turn" in text for text, _ in log[agent]["seen"])
    # The same moves in-process give the same game.
    scripted = {"agent_0": first, "agent_1": second}
    local = _replay("envalign/Negotiation-v0", 11, scripted)
    assert [text for text, _ in log["agent_0"]["seen"]] == local["agent_0"]["seen"]
    assert [text for text, _ in log["agent_1"]["seen"]] == local["agent_1"]["seen"]
    for agent in log:
        assert log[agent]["return"] == pytest.approx(local[agent]["return"])
    assert server.hub.status()["tables_forming"] == 0


def _replay(env_id: str, seed: int, moves: dict[str, list[str]]) -> dict[str, Any]:
    import envalign

    env = envalign.make(env_id)
    observations, infos = env.reset(seed=seed)
    out = {agent: {"seen": [], "return": 0.0} for agent in env.possible_agents}
    while env.agents:
        actions = {}
        for agent in env.agents:
            if infos[agent].get("acting", True):
                out[agent]["seen"].append(observations[agent]["text"])
                actions[agent] = moves[agent][(len(out[agent]["seen"]) - 1) % len(moves[agent])]
        observations, rewards, _, _, infos = env.step({a: actions.get(a, "") for a in env.agents})
        for agent, reward in rewards.items():
            out[agent]["return"] += reward
    return out


def test_simultaneous_moves_wait_for_both_seats(serve) -> None:
    server = serve("envalign/PrisonersDilemma-v0", seats=BOTH_CLIENTS)
    log: dict[str, Any] = {}
    _together((server.url, 3, ["COOPERATE"], log), (server.url, 3, ["DEFECT"], log))
    assert len(log) == 2
    rounds = {len(log[a]["seen"]) for a in log}
    assert len(rounds) == 1  # both seats moved every round
    assert max(log[a]["return"] for a in log) > min(log[a]["return"] for a in log)


def test_a_stalled_seat_is_played_by_the_fallback(serve) -> None:
    server = serve("envalign/Negotiation-v0", seats=BOTH_CLIENTS, seat_timeout=1.0)
    stalled = GenericEnvClient(base_url=server.url, message_timeout_s=60).sync()
    log: dict[str, Any] = {}
    worker = threading.Thread(target=_play, args=(server.url, 5, ["SAY hi"], log))
    stalled.connect()
    worker.start()  # it names no seat, so it yields agent_0 to the stalling client if need be
    started = time.monotonic()
    first = stalled.reset(seed=5, seat="agent_0")  # agent_0 moves first ... and never does
    worker.join(timeout=120)
    assert first.observation["agent"] == "agent_0" and "agent_1" in log
    assert log["agent_1"]["info"]["forfeited_seats"] == ["agent_0"]
    assert time.monotonic() - started >= 1.0
    with pytest.raises(RuntimeError, match="forfeited"):
        stalled.step({"text": "ACCEPT"})
    stalled.close()


def test_a_disconnected_seat_is_forfeited_and_the_game_goes_on(serve, until) -> None:
    server = serve("envalign/Negotiation-v0", seats=BOTH_CLIENTS, seat_timeout=20.0)
    leaving = RemoteEnv(server.url, seat="agent_0")
    log: dict[str, Any] = {}
    worker = threading.Thread(target=_play, args=(server.url, 8, ["SAY hi", "ACCEPT"], log))
    worker.start()
    leaving.reset(seed=8)
    leaving.step("SAY see you")  # returns when agent_0 must move again
    started = time.monotonic()
    leaving.close()  # mid-game: the seat is forfeited at once, not after the 20 s timeout
    worker.join(timeout=60)
    assert log["agent_1"]["info"]["forfeited_seats"] == ["agent_0"]
    assert time.monotonic() - started < 15
    assert until(lambda: server.hub.status()["sessions"] == 0)


def test_a_table_that_does_not_fill_is_an_error(serve) -> None:
    server = serve("envalign/Negotiation-v0", seats=BOTH_CLIENTS, seat_timeout=0.5)
    env = RemoteEnv(server.url)
    with pytest.raises(RemoteEnvError, match="No session joined agent_1"):
        env.reset(seed=0)
    env.close()
    assert server.hub.status()["tables_forming"] == 0


def test_seats_are_asked_for_by_name_and_checked(serve) -> None:
    server = serve("envalign/Ultimatum-v0", seats={"proposer": "scripted"})
    env = RemoteEnv(server.url, seat="responder")
    text, info = env.reset(seed=1)
    assert env.agent == "responder" and "offers you" in text  # the server's proposer moved
    env.close()
    wrong = RemoteEnv(server.url, seat="proposer")
    with pytest.raises(RemoteEnvError, match="not open to clients"):
        wrong.reset(seed=1)
    wrong.close()


def test_all_seats_served_is_refused_before_serving(serve) -> None:
    from envalign.errors import ConfigError

    with pytest.raises(ConfigError, match="leave at least one"):
        serve("envalign/Ultimatum-v0", seats={"proposer": "scripted", "responder": "random"})
    with pytest.raises(ConfigError, match="no agent 'nobody'"):
        serve("envalign/Ultimatum-v0", seats={"nobody": "scripted"})
    with pytest.raises(ConfigError, match="no policy named"):
        serve("envalign/Ultimatum-v0", seats={"proposer": "telepathic"})


def test_runner_plays_a_game_whose_other_seat_is_a_remote_client(serve, hash_policy) -> None:
    """envalign run on one seat while another client holds the other seat of each game."""
    server = serve("envalign/PrisonersDilemma-v0", seats=BOTH_CLIENTS)
    log: dict[str, Any] = {}
    worker = threading.Thread(target=_play, args=(server.url, 0, ["COOPERATE"], log))
    worker.start()
    result = simulate(f"openenv:{server.url}", hash_policy, episodes=1, seed=0, concurrency=1)
    worker.join(timeout=60)
    assert result.episodes[0].steps == len(next(iter(log.values()))["seen"])
