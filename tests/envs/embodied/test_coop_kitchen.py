"""CoopKitchen-v0: recipes need both cooks; the scripted pair serves every standard recipe."""

from __future__ import annotations

import numpy as np
import pytest

from envalign.envs.core import ActContext
from envalign.envs.embodied.coop_kitchen import RECIPES, CoopKitchenEnv, scripted_policy


def play(env: CoopKitchenEnv, seed: int, lazy: str | None = None) -> tuple[float, dict]:
    observations, infos = env.reset(seed=seed)
    total = 0.0
    while env.agents:
        actions = {
            agent: "wait"
            if agent == lazy
            else scripted_policy(ActContext(env, agent, observations[agent], infos[agent]))
            for agent in env.agents
        }
        observations, rewards, _, _, infos = env.step(actions)
        assert rewards["agent_0"] == rewards["agent_1"]  # a team reward
        total += rewards["agent_0"]
    return total, infos["agent_0"]


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_scripted_pair_completes_each_standard_recipe(recipe):
    env = CoopKitchenEnv(num_orders=1, recipes=(recipe,))
    for seed in range(3):
        total, info = play(env, seed)
        assert info["metrics"]["success"] and env.served == [recipe]
        assert total == pytest.approx(1.1)  # served + progress


def test_scripted_pair_completes_two_order_shifts():
    env = CoopKitchenEnv()
    for seed in range(30):
        _, info = play(env, seed)
        assert info["metrics"]["success"], (seed, env.orders)


@pytest.mark.parametrize("lazy", ["agent_0", "agent_1"])
def test_one_cook_alone_serves_nothing(lazy):
    env = CoopKitchenEnv(num_orders=1, max_steps=60)
    total, info = play(env, seed=0, lazy=lazy)
    assert total == 0.0 and not info["metrics"]["success"]


def test_text_observation_and_rgb_frame():
    env = CoopKitchenEnv(render_mode="rgb_array")
    observations, infos = env.reset(seed=4)
    text = observations["agent_0"]["text"]
    assert "Open orders:" in text and "agent_0 (A on the map)" in text and "#TO#P##" in text
    assert infos["agent_1"]["valid_actions"][-2:] == ["interact", "wait"]
    frame = env.render()
    assert frame.shape == (160, 224, 3) and frame.dtype == np.uint8


def test_free_text_and_unmatched_actions():
    env = CoopKitchenEnv()
    env.reset(seed=0)
    start = env.positions["agent_0"]
    _, _, _, _, infos = env.step({"agent_0": "I go UP.", "agent_1": "juggle"})
    assert env.positions["agent_0"] == (start[0] - 1, start[1])
    assert "did not understand" in infos["agent_1"]["feedback"]
    assert infos["agent_0"]["feedback"] == "You move up."


def test_chopping_takes_two_interactions():
    env = CoopKitchenEnv()
    env.reset(seed=0)
    env.positions["agent_0"], env.facing["agent_0"] = (1, 1), "up"
    env.step({"agent_0": "interact", "agent_1": "wait"})  # take a tomato
    env.step({"agent_0": "move left", "agent_1": "wait"})  # face the board
    messages = [
        env.step({"agent_0": "interact", "agent_1": "wait"})[4]["agent_0"]["feedback"]
        for _ in range(3)
    ]
    assert messages == [
        "You put down the raw tomato.",
        "You chop the tomato (1/2).",
        "You finish chopping: a chopped tomato.",
    ]


def test_pettingzoo_render_test_for_ansi_and_rgb_array():
    from pettingzoo.test import render_test
    from pettingzoo.utils.conversions import parallel_to_aec

    # render_test first builds a "human" env just to read the metadata; there is no window here.
    render_test(
        lambda render_mode=None: parallel_to_aec(
            CoopKitchenEnv(render_mode=None if render_mode == "human" else render_mode)
        )
    )


def test_layout_splits_the_work_between_the_cooks():
    from envalign.envs.embodied.coop_kitchen import DIRECTIONS, LAYOUT, STARTS

    def reachable_tiles(start):
        seen, frontier, tiles = {start}, [start], set()
        while frontier:
            row, col = frontier.pop()
            for d_row, d_col in DIRECTIONS.values():
                cell = (row + d_row, col + d_col)
                tile = LAYOUT[cell[0]][cell[1]]
                if tile == "." and cell not in seen:
                    seen.add(cell)
                    frontier.append(cell)
                elif tile != ".":
                    tiles.add(tile)
        return tiles

    assert reachable_tiles(STARTS["agent_0"]) == {"#", "T", "O", "L", "K", "|"}
    assert reachable_tiles(STARTS["agent_1"]) == {"#", "P", "S", "W", "|"}
