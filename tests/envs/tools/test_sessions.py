import gc
import os
import subprocess

import pytest

from envalign.envs.tools import sessions
from envalign.envs.tools.python_tests import PythonTestsEnv, scripted_policy
from envalign.envs.tools.sessions import SANDBOX_CLOCK, LeaseHolder, SharedSessions


class FakeBox:
    """Stands in for a sandbox session: counts resets and closes (no code is run)."""

    healthy = True

    def __init__(self):
        self.resets = 0
        self.closed = False

    def run(self, code, **kwargs):
        return "ran"

    def reset(self):
        self.resets += 1

    def close(self):
        self.closed = True


class FakePool:
    def __init__(self):
        self.out = 0
        self.released = []

    def acquire(self, timeout=None):
        self.out += 1
        return FakeBox()

    def release(self, box):
        self.out -= 1
        self.released.append(box)


class Owner:
    pass


def test_lease_is_acquired_on_first_use_and_released_once():
    pool, owner = FakePool(), Owner()
    holder = LeaseHolder(owner, pool)
    assert not holder.held and pool.out == 0
    assert holder.lease.run("x") == "ran"
    assert holder.lease is holder.lease and pool.out == 1
    holder.release()
    holder.release()
    assert pool.out == 0 and len(pool.released) == 1


def test_lease_is_released_when_the_owner_is_garbage_collected():
    pool, owner = FakePool(), Owner()
    LeaseHolder(owner, pool).lease.run("x")
    assert pool.out == 1
    del owner
    gc.collect()
    assert pool.out == 0


def test_clean_resets_only_a_used_session():
    pool, owner = FakePool(), Owner()
    holder = LeaseHolder(owner, pool)
    holder.clean()
    box = holder.lease.sandbox
    holder.clean()
    assert box.resets == 0
    holder.lease.run("x")
    holder.clean()
    assert box.resets == 1


def test_runs_are_timed_by_the_sandbox_clock():
    before = SANDBOX_CLOCK.calls
    LeaseHolder(Owner(), FakePool()).lease.run("x")
    assert SANDBOX_CLOCK.calls == before + 1


def test_shared_sessions_grow_past_the_warm_pool_and_keep_a_bounded_overflow():
    made = []

    def factory():
        made.append(FakeBox())
        return made[-1]

    shared = SharedSessions(size=2, max_idle_overflow=1, factory=factory)
    boxes = [shared.acquire() for _ in range(5)]  # two warm, three started on demand
    assert len(made) == 5 and len({id(b) for b in boxes}) == 5
    for box in boxes:
        shared.release(box)
    assert sum(b.closed for b in made) == 2  # one overflow session kept idle, two closed
    again = [shared.acquire() for _ in range(3)]
    assert len(made) == 5 and all(not b.closed for b in again)
    shared.close()
    assert all(b.closed for b in made)


def envalign_containers():
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "-q",
            "--filter",
            "label=envalign.sandbox=1",
            "--filter",
            f"label=envalign.owner_pid={os.getpid()}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.docker
@pytest.mark.slow
def test_a_thousand_oracle_episodes_leave_no_container_or_process_behind():
    from envalign.training.rollout import Runner

    sessions.close_shared_pool()
    before = set(envalign_containers())  # e.g. the docker_box fixture of other tests
    runner = Runner("envalign/PythonTests-v0", "scripted", concurrency=8)
    episodes = runner.run(range(1000))
    assert len(episodes) == 1000
    assert all(e.returns["agent"] == 1.0 for e in episodes)
    shared = sessions.shared_pool()
    boxes = [*shared.pool._all, *shared._overflow_all]
    assert boxes and all(box.processes() == [] for box in boxes)
    assert shared.pool._idle.qsize() == shared.pool.size  # every warm session was given back
    sessions.close_shared_pool()
    assert set(envalign_containers()) == before


@pytest.mark.docker
def test_an_abandoned_environment_gives_its_session_back(docker_box):
    pool = FakePool()
    env = PythonTestsEnv(sandbox=pool)
    env.reset(seed=0)
    assert pool.out == 0  # nothing is held until code runs
    del env
    gc.collect()
    real = PythonTestsEnv()
    real.reset(seed=0, options={"task_id": "HumanEval/1"})
    real.step(scripted_policy(type("C", (), {"env": real})()))
    shared = sessions.shared_pool()
    idle_before = shared.pool._idle.qsize() + len(shared._overflow_idle)
    del real
    gc.collect()
    assert shared.pool._idle.qsize() + len(shared._overflow_idle) == idle_before + 1
