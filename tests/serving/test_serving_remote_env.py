"""envalign.make("openenv:URL"): a served environment is the same environment as in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import envalign
from envalign.envs.remote.env import RemoteEnv, RemoteEnvError
from envalign.training.rollout import simulate


def _turns(episode: Any, agent: str) -> list[tuple[Any, ...]]:
    """What the agent saw and did (a remote turn's reward and metrics span the others' moves)."""
    return [(t.observation, t.action, t.valid_actions) for t in episode.turns if t.agent == agent]


def test_reset_with_a_seed_is_the_local_episode(serve) -> None:
    server = serve("envalign/Arithmetic-v0", env_kwargs={"low": 0, "high": 99})
    remote = envalign.make(f"openenv:{server.url}")
    local = envalign.make("envalign/Arithmetic-v0", low=0, high=99)
    assert isinstance(remote, RemoteEnv)
    for seed in range(5):
        assert remote.reset(seed=seed) == local.reset(seed=seed)
        remote_step, local_step = remote.step("42"), local.step("42")
        assert remote_step == local_step  # text, reward, terminated, truncated, info
        assert set(remote_step[4]) >= {"reward_components", "feedback", "task_id", "metrics"}
    remote.close()


def test_runner_round_trip_single_agent(serve, hash_policy) -> None:
    server = serve("envalign/Arithmetic-v0")
    local = simulate("envalign/Arithmetic-v0", hash_policy, episodes=12, seed=3, histogram=False)
    remote = simulate(f"openenv:{server.url}", hash_policy, episodes=12, seed=3, histogram=False)
    assert [e.seed for e in remote.episodes] == list(range(3, 15))
    for mine, theirs in zip(local.episodes, remote.episodes, strict=True):
        assert _turns(mine, "agent") == _turns(theirs, "agent")
        assert [(t.reward, t.reward_components, t.feedback) for t in mine.turns] == [
            (t.reward, t.reward_components, t.feedback) for t in theirs.turns
        ]
        assert [t.metrics for t in mine.turns] == [t.metrics for t in theirs.turns]
        assert mine.returns == theirs.returns and mine.task_id == theirs.task_id
    assert remote.summary.agents["agent"].mean_return == local.summary.agents["agent"].mean_return


def test_runner_round_trip_multi_agent_against_a_server_baseline(serve, hash_policy) -> None:
    server = serve("envalign/Negotiation-v0", seats={"agent_1": "scripted"})
    local = simulate(
        "envalign/Negotiation-v0",
        {"agent_0": hash_policy, "agent_1": "scripted"},
        episodes=10,
        seed=0,
        histogram=False,
    )
    remote = simulate(f"openenv:{server.url}", hash_policy, episodes=10, seed=0, histogram=False)
    for mine, theirs in zip(local.episodes, remote.episodes, strict=True):
        assert _turns(mine, "agent_0") == _turns(theirs, "agent")
        assert theirs.returns["agent"] == pytest.approx(mine.returns["agent_0"])
        assert theirs.success["agent"] == mine.success["agent_0"]
        assert theirs.metrics["agent"] == mine.metrics["agent_0"]  # the game's final metrics
    assert any(e.returns["agent"] > 0 for e in remote.episodes)  # deals happen: rewards arrive


def test_envalign_run_plays_a_served_environment(serve, tmp_path: Path, capsys) -> None:
    from envalign.cli import main

    server = serve("envalign/Ultimatum-v0", seats={"responder": "scripted"})
    out = tmp_path / "remote.jsonl"
    status = main(["run", f"openenv:{server.url}", "--episodes", "4", "--out", str(out), "--quiet"])
    assert status == 0
    assert len(out.read_text().splitlines()) == 4
    assert "Ultimatum" not in capsys.readouterr().err


def test_trl_environment_factory_takes_a_served_id(serve) -> None:
    from envalign.training.trl_environment import environment_factory

    server = serve("envalign/Arithmetic-v0", env_kwargs={"low": 2, "high": 2})
    env = environment_factory(f"openenv:{server.url}")()
    assert env.reset(seed=0) == "What is 2 + 2?"
    env.act("4")
    assert env.done and env.get_reward() == 1.0


def test_an_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(RemoteEnvError, match="No OpenEnv server answers at ws://127.0.0.1:9"):
        envalign.make("openenv:ws://127.0.0.1:9")
    with pytest.raises(RemoteEnvError, match="openenv:ws://HOST:PORT"):
        envalign.spec("openenv:127.0.0.1:8000")


def test_any_openenv_environment_is_usable(hash_policy) -> None:
    """A plain OpenEnv server (not envalign's) behind the same id form, through the runner."""
    import threading

    import uvicorn
    from openenv.core.env_server import create_app
    from openenv.core.env_server.interfaces import Environment
    from openenv.core.env_server.types import Action, Observation, State

    class ShoutAction(Action):
        message: str

    class ShoutObservation(Observation):
        echoed: str = ""

    class ShoutEnv(Environment):
        SUPPORTS_CONCURRENT_SESSIONS = True

        def __init__(self) -> None:
            super().__init__()
            self._state = State()

        def reset(self, seed=None, episode_id=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
            self._state = State(episode_id=str(seed))
            return ShoutObservation(echoed=f"seed {seed}: say something")

        def step(self, action, timeout_s=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
            self._state.step_count += 1
            done = self._state.step_count >= 2
            return ShoutObservation(echoed=action.message.upper(), reward=1.0, done=done)

        @property
        def state(self) -> State:
            return self._state

    app = create_app(ShoutEnv, ShoutAction, ShoutObservation, max_concurrent_envs=4)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert _wait(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        env = envalign.make(f"openenv:ws://127.0.0.1:{port}")
        text, info = env.reset(seed=4)
        assert "seed 4" in text and info["reward_components"] == {"reward": 0.0}
        text, reward, terminated, truncated, info = env.step("hello")
        assert '"HELLO"' in text and reward == 1.0 and not terminated
        env.close()
        result = simulate(f"openenv:ws://127.0.0.1:{port}", hash_policy, episodes=3, seed=0)
        assert [e.returns["agent"] for e in result.episodes] == [2.0, 2.0, 2.0]
        assert [e.steps for e in result.episodes] == [2, 2, 2]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait(condition: Any, timeout: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


@pytest.mark.parametrize("baseline", ["scripted", "random"])
def test_baselines_of_a_served_env_play_on_the_server_as_they_do_locally(serve, baseline) -> None:
    """Scripted baselines read hidden state: the server plays them in the client's place."""
    kwargs = {"low": 0, "high": 99}
    server = serve("envalign/Arithmetic-v0", env_kwargs=kwargs)
    local = simulate("envalign/Arithmetic-v0", baseline, episodes=8, env_kwargs=kwargs)
    remote = simulate(f"openenv:{server.url}", baseline, episodes=8)
    assert [t.extras["server_action"] for e in remote.episodes for t in e.turns] == [
        t.action for e in local.episodes for t in e.turns
    ]
    assert [e.returns["agent"] for e in remote.episodes] == [
        e.returns["agent"] for e in local.episodes
    ]


def test_a_served_seat_played_by_a_server_baseline_is_the_local_game(serve) -> None:
    server = serve("envalign/Negotiation-v0")  # agent_0 is the client's, agent_1 scripted
    local = simulate("envalign/Negotiation-v0", {"*": "scripted"}, episodes=6, histogram=False)
    remote = simulate(f"openenv:{server.url}", "scripted", episodes=6, histogram=False)
    for mine, theirs in zip(local.episodes, remote.episodes, strict=True):
        moves = [t.action for t in mine.turns if t.agent == "agent_0"]
        assert [t.extras["server_action"] for t in theirs.turns] == moves
        assert theirs.returns["agent"] == pytest.approx(mine.returns["agent_0"])
    with pytest.raises(RemoteEnvError, match="no policy named 'oracle'"):
        env = RemoteEnv(server.url)
        env.reset(seed=0)
        env.play_on_server("oracle")
        env.step("")
