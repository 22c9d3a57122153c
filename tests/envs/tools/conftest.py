"""Fixtures of the tool-environment tests: one real Docker sandbox session shared by a module."""

from __future__ import annotations

import random

import pytest

from envalign.envs.core import ActContext


@pytest.fixture(scope="session")
def docker_box():
    """A real Docker sandbox session (the tests using it are marked ``docker``)."""
    from envalign.sandbox.docker import DockerSandbox

    box = DockerSandbox()
    yield box
    box.close()


@pytest.fixture
def play():
    """Return a function that plays one episode with a baseline-style policy."""
    return play_episode


def play_episode(env, policy, *, seed=0, options=None, max_steps=50):
    """Play one episode; return (total reward, steps, last info, last observation)."""
    observation, info = env.reset(seed=seed, options=options)
    total = 0.0
    for steps in range(1, max_steps + 1):
        context = ActContext(
            env=env, agent="agent", observation=observation, info=info, rng=random.Random(seed)
        )
        observation, reward, terminated, truncated, info = env.step(policy(context))
        total += reward
        if terminated or truncated:
            return total, steps, info, observation
    raise AssertionError("episode did not end")
