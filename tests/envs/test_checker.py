"""The shipped checker must catch what it claims to catch."""

import pytest

from envalign.envs import ConformanceError, register
from envalign.envs.checker import check_env
from envalign.envs.reasoning.arithmetic import ArithmeticEnv


class CrashesOnGarbage(ArithmeticEnv):
    def step(self, action):
        return super().step(action.upper())  # AttributeError on non-text actions


class WrongComponents(ArithmeticEnv):
    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        info["reward_components"] = {"correct": reward + 1.0}
        return observation, reward, terminated, truncated, info


class IgnoresSeed(ArithmeticEnv):
    calls = 0

    def reset(self, *, seed=None, options=None):
        IgnoresSeed.calls += 1
        return super().reset(seed=IgnoresSeed.calls)


class NoFeedback(ArithmeticEnv):
    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        info["feedback"] = ""
        return observation, reward, terminated, truncated, info


def test_a_correct_environment_passes():
    check_env("envalign/Arithmetic-v0")


@pytest.mark.parametrize(
    "name, cls, message",
    [
        ("Crashes", CrashesOnGarbage, "AttributeError"),
        ("WrongComponents", WrongComponents, "sum to"),
        ("IgnoresSeed", IgnoresSeed, "same seeds"),
        ("NoFeedback", NoFeedback, "no feedback"),
    ],
)
def test_broken_environments_are_caught(name, cls, message):
    env_id = f"checkertest/{name}-v0"
    register(env_id, cls, family="reasoning", description="broken on purpose")
    with pytest.raises(ConformanceError, match=message):
        check_env(env_id)


def test_our_determinism_check_catches_ignored_seeds_without_upstream_help():
    register("checkertest/IgnoresSeedOwn-v0", IgnoresSeed, family="reasoning", description="broken")
    with pytest.raises(ConformanceError, match="same seed and actions differ"):
        check_env("checkertest/IgnoresSeedOwn-v0", skip_upstream=True)
