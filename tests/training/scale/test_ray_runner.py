"""RayRunner on a local 2-CPU Ray cluster: same episodes as the local runner, killed workers."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

import pytest

from envalign.agents.base import Generation, SamplingParams, TurnRequest
from envalign.envs.errors import DependencyNotInstalled, RolloutWorkerLost
from envalign.training.episodes import Episode
from envalign.training.rollout import Runner, simulate

NEGOTIATION = "envalign/Negotiation-v0"
ULTIMATUM = "envalign/Ultimatum-v0"


def comparable(episode: Episode) -> dict:
    """The record without its wall time (the only field that may differ between runs)."""
    record = dataclasses.asdict(episode)
    record.pop("wall_time_s")
    return record


class RngResponder:
    """A driver-side policy (not a baseline) that draws from ``context.rng`` and holds a lock."""

    def __init__(self) -> None:
        self.name = "rng-responder"
        self.lock = threading.Lock()  # unpicklable: this policy must never leave the driver
        self.envs: list[object] = []

    def act(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        with self.lock:
            self.envs += [request.context.env for request in requests]
            return [
                Generation(request.context.rng.choice(["accept", "reject"]), token_ids=[7])
                for request in requests
            ]


def test_an_unreachable_address_is_a_config_error():
    pytest.importorskip("ray")
    # A fresh interpreter: this one may already have joined the tests' cluster, and then an
    # address is not used at all.
    code = (
        "from envalign.envs.errors import ConfigError\n"
        "from envalign.training.scale import RayRunner\n"
        "try:\n"
        "    RayRunner('envalign/Ultimatum-v0', 'random', address='not an address').run(range(1))\n"
        "except ConfigError as error:\n"
        "    print('CONFIG ERROR:', error)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "CONFIG ERROR: Cannot reach Ray at 'not an address'" in done.stdout


def test_same_seeds_same_episodes_as_local(ray_address):
    from envalign.training.scale import RayRunner, RemoteEnvironment

    local = Runner(NEGOTIATION, "random", concurrency=4).run(range(8))
    groups = Runner(NEGOTIATION, "random", concurrency=4).run([3, 3, 3, 5])
    with RayRunner(NEGOTIATION, "random", concurrency=4, workers=2) as runner:
        pids = runner.worker_pids()
        remote = runner.run(range(8))
        remote_groups = runner.run([3, 3, 3, 5])  # trainers repeat a seed per group
        assert runner.worker_pids() == pids  # the actors live across runs
        mixed_policies = {"proposer": "scripted", "responder": RngResponder()}
        mixed_local = Runner(ULTIMATUM, mixed_policies, concurrency=3).run(range(6))
    with RayRunner(ULTIMATUM, mixed_policies, concurrency=3, workers=2) as mixed:
        mixed_remote = mixed.run(range(6))
    assert [comparable(e) for e in remote] == [comparable(e) for e in local]
    assert [comparable(e) for e in remote_groups] == [comparable(e) for e in groups]
    assert len({e.returns["agent_0"] for e in remote}) > 1  # random play, not one episode 8 times
    assert [comparable(e) for e in mixed_remote] == [comparable(e) for e in mixed_local]
    responder = mixed_policies["responder"]
    assert all(isinstance(env, RemoteEnvironment) for env in responder.envs[len(mixed_local) :])
    with pytest.raises(AttributeError, match="runs in a Ray env worker"):
        _ = responder.envs[-1].offer


@pytest.mark.slow
def test_a_model_on_the_driver_matches_local_greedy_and_sampled(ray_address):
    from envalign.agents.registry import resolve_policy
    from envalign.training.scale import RayRunner

    policy = resolve_policy("tiny-random", "envalign/Arithmetic-v0")
    policy.sampling = SamplingParams(temperature=0.0, max_new_tokens=6)
    local = Runner("envalign/Arithmetic-v0", policy, concurrency=4).run(range(8))
    with RayRunner("envalign/Arithmetic-v0", policy, concurrency=4, workers=2) as runner:
        remote = runner.run(range(8))
    assert [comparable(e) for e in remote] == [comparable(e) for e in local]
    assert all(turn.token_ids for episode in remote for turn in episode.turns)
    policy.sampling = SamplingParams(temperature=1.0, max_new_tokens=6)
    mixed = {"proposer": policy, "responder": "scripted"}
    policy.reseed(7)
    sampled_local = Runner(ULTIMATUM, mixed, concurrency=4).run(range(8))
    with RayRunner(ULTIMATUM, mixed, concurrency=4, workers=2) as runner:
        policy.reseed(7)  # batches keep the local order, so even sampling draws the same tokens
        sampled_remote = runner.run(range(8))
    assert [comparable(e) for e in sampled_remote] == [comparable(e) for e in sampled_local]


@pytest.mark.parametrize("how", ["ray.kill", "SIGKILL"])
def test_a_killed_worker_costs_only_its_episodes(ray_address, how):
    import ray

    from envalign.training.scale import RayRunner

    local = Runner(NEGOTIATION, "random", concurrency=4).run(range(12))
    with RayRunner(NEGOTIATION, "random", concurrency=4, workers=2) as runner:
        pid = runner.worker_pids()[0]
        victim = runner.actors[0]
        delivered: list[int] = []

        def kill_once(episode: Episode) -> None:
            if not delivered:
                if how == "ray.kill":
                    ray.kill(victim)
                else:
                    os.kill(pid, signal.SIGKILL)
            delivered.append(episode.seed)

        remote = runner.run(range(12), on_episode=kill_once)
        assert sorted(delivered) == list(range(12))  # every seed exactly once
        assert [comparable(e) for e in remote] == [comparable(e) for e in local]
        assert runner.retries and all(r.worker == 0 for r in runner.retries)
        assert pid not in runner.worker_pids()  # replaced, and the runner still works
        assert [e.seed for e in runner.run(range(3))] == [0, 1, 2] and not runner.retries


def test_an_episode_that_keeps_losing_its_worker_is_reported(ray_address):
    from envalign.training.scale import RayRunner

    with RayRunner(NEGOTIATION, "random", concurrency=4, workers=2, max_retries=0) as runner:
        pid = runner.worker_pids()[0]
        delivered: list[int] = []

        def kill_once(episode: Episode) -> None:
            if not delivered:
                os.kill(pid, signal.SIGKILL)
            delivered.append(episode.seed)

        with pytest.raises(RolloutWorkerLost, match="lost their Ray env worker more than 0"):
            runner.run(range(10), on_episode=kill_once)
        lost = {retry.seed for retry in runner.retries}
        assert lost and sorted(delivered + sorted(lost)) == list(range(10))


def test_simulate_on_ray_writes_the_same_episodes(ray_address, tmp_path):
    result = simulate(ULTIMATUM, "scripted", episodes=5, ray="auto", workers=2, histogram=False)
    local = simulate(ULTIMATUM, "scripted", episodes=5, histogram=False)
    assert [comparable(e) for e in result.episodes] == [comparable(e) for e in local.episodes]
    assert result.retries == 0


def test_an_env_kwarg_ray_cannot_pickle_is_a_config_error(ray_address):
    from envalign.envs.errors import ConfigError

    with pytest.raises(ConfigError, match="Pass picklable env_kwargs"):
        simulate(
            "envalign/Arithmetic-v0",
            "random",
            episodes=1,
            ray="auto",
            workers=1,
            env_kwargs={"unpicklable": threading.Lock()},
            histogram=False,
        )


def test_workers_beyond_the_episodes_in_flight_are_not_started():
    from envalign.training.scale import RayRunner

    assert RayRunner(ULTIMATUM, "random", concurrency=3, workers=10_000).workers == 3
    assert RayRunner(ULTIMATUM, "random", concurrency=8, workers=2).workers == 2


def test_without_ray_the_error_names_the_extra(monkeypatch):
    from envalign.training.scale import RayRunner

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(DependencyNotInstalled, match=r'pip install "envalign\[ray\]"'):
        RayRunner(ULTIMATUM, "random").run(range(1))


@pytest.mark.docker
def test_python_tests_with_the_docker_sandbox_on_two_workers(ray_address):
    import docker

    from envalign.sandbox.docker import LABEL, OWNER_PID_LABEL
    from envalign.training.scale import RayRunner

    with RayRunner("envalign/PythonTests-v0", "scripted", concurrency=4, workers=2) as runner:
        pids = {str(pid) for pid in runner.worker_pids()}
        episodes = runner.run(range(8))
    assert [e.seed for e in episodes] == list(range(8))
    assert all(e.success["agent"] for e in episodes)
    client = docker.from_env(timeout=30)
    deadline = time.monotonic() + 30
    while True:
        left = [
            c.name
            for c in client.containers.list(all=True, filters={"label": f"{LABEL}=1"})
            if c.labels.get(OWNER_PID_LABEL) in pids
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # container removal is asynchronous: poll until the deadline
    assert left == []
