"""BabyAI-Text: the text view, command matching, MiniGrid's reward, and the bot through text."""

from __future__ import annotations

import numpy as np
import pytest

from envalign.envs import make_raw
from envalign.envs.core import ActContext
from envalign.envs.embodied.babyai_text import (
    COMMANDS,
    LEVELS,
    BabyAITextEnv,
    bot_policy,
    describe_view,
)

FAST_LEVELS = ("GoToRedBall", "GoToLocal", "PickupLoc", "PutNextLocal")
SLOW_LEVELS = tuple(level for level in LEVELS if level not in FAST_LEVELS)


def solve_rate(level: str, seeds: range) -> float:
    env = BabyAITextEnv(level=level)
    solved = 0
    for seed in seeds:
        observation, info = env.reset(seed=seed)
        while True:
            command = bot_policy(ActContext(env, "agent", observation, info))
            assert command in info["valid_actions"]
            observation, reward, terminated, truncated, info = env.step(command)
            if terminated or truncated:
                break
        solved += info["metrics"]["success"] and reward > 0
    return solved / len(seeds)


def test_at_least_five_levels_are_registered():
    assert len(LEVELS) >= 5
    for level in LEVELS:
        assert make_raw(f"envalign/BabyAIText-{level}-v0").level == level


def test_view_describes_objects_and_walls_relative_to_the_agent():
    image = np.zeros((7, 7, 3), dtype=np.uint8)
    image[:, :, 0] = 1  # empty floor
    image[2, 4] = (6, 0, 0)  # red ball: 2 forward, 1 left
    image[3, 3] = (4, 2, 1)  # closed blue door: 3 forward
    image[3, 1] = (2, 5, 0)  # wall: 5 forward
    assert describe_view(image) == [
        "a red ball 2 steps forward and 1 step left",
        "a closed blue door 3 steps forward",
        "a wall 5 steps forward",
    ]


def test_observation_has_mission_and_commands_are_valid_actions():
    env = BabyAITextEnv(level="GoToLocal")
    observation, info = env.reset(seed=3)
    assert observation.startswith("Mission: go to")
    assert info["valid_actions"] == list(COMMANDS)


def test_free_text_is_matched_and_unmatched_text_gets_feedback():
    env = BabyAITextEnv(level="GoToLocal")
    env.reset(seed=0)
    direction = env.minigrid.agent_dir
    _, _, _, _, info = env.step("Please TURN to the left.")
    assert info["command"] == "turn left"
    assert env.minigrid.agent_dir == (direction - 1) % 4
    _, reward, _, _, info = env.step("sing a song")
    assert info["command"] is None and "did not understand" in info["feedback"]
    assert reward == 0.0 and env.steps == 2


def test_same_seed_same_level_and_rgb_frames():
    first = BabyAITextEnv(level="PickupLoc", render_mode="rgb_array")
    second = BabyAITextEnv(level="PickupLoc", render_mode="rgb_array")
    assert first.reset(seed=5)[0] == second.reset(seed=5)[0]
    frame = first.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    assert np.array_equal(frame, second.render())


def test_reward_is_minigrids_on_success():
    env = BabyAITextEnv(level="GoToRedBall")
    observation, info = env.reset(seed=1)
    total = 0.0
    while True:
        observation, reward, terminated, truncated, info = env.step(
            bot_policy(ActContext(env, "agent", observation, info))
        )
        total += reward
        if terminated or truncated:
            break
    assert info["metrics"]["success"]
    assert total == pytest.approx(1 - 0.9 * env.minigrid.step_count / env.max_steps)
    assert info["reward_components"] == {"minigrid": pytest.approx(total)}


@pytest.mark.parametrize("level", FAST_LEVELS)
def test_bot_through_text_solves_fast_levels(level):
    assert solve_rate(level, range(100)) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("level", SLOW_LEVELS)
def test_bot_through_text_solves_maze_levels(level):
    assert solve_rate(level, range(100)) >= 0.95


@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
def test_gymnasium_checker_with_rendering(render_mode):
    from gymnasium.utils.env_checker import check_env

    check_env(BabyAITextEnv(level="GoToLocal", render_mode=render_mode))
