import gc
import random
import tempfile
from pathlib import Path

import pytest

import envalign
from envalign.envs import make_raw

pytest.importorskip("textworld", reason='needs pip install "envalign[textworld]"')


def leftover_folders():
    return set(Path(tempfile.gettempdir()).glob("envalign-textworld-*"))


@pytest.fixture(scope="module")
def env():
    environment = make_raw("textworld/Cooking-v0")
    yield environment
    environment.close()


def test_walkthrough_wins_and_rewards_sum_to_one(env):
    observation, info = env.reset(seed=0)
    assert "cookbook" in observation.lower() and info["valid_actions"]
    total = 0.0
    for command in list(env.walkthrough):
        observation, reward, terminated, truncated, info = env.step(command)
        total += reward
    assert terminated and info["metrics"]["success"] and total == pytest.approx(1.0)


def test_same_seed_same_game_and_other_seeds_differ(env):
    first = env.reset(seed=2)
    assert env.reset(seed=2) == first
    assert {env.reset(seed=s)[1]["task_id"] for s in (3, 4)} != {first[1]["task_id"]}


def test_unknown_and_malformed_commands(env):
    env.reset(seed=0)
    observation, reward, terminated, _, info = env.step("xyzzy the fridge")
    assert reward == 0.0 and not terminated and observation == info["feedback"] and observation
    for bad in (None, "🤖" * 300, "\x00", "x" * 10_000):
        observation, reward, terminated, _, info = env.step(bad)
        assert reward == -0.01 and info["feedback"] and not terminated
    observation, reward, _, _, _ = env.step("é" * 50 + " look")  # non-ASCII is dropped, not fatal
    assert reward == 0.0


def test_random_play_is_truncated_at_max_steps():
    environment = make_raw("textworld/Cooking-v0", max_steps=3)
    environment.reset(seed=0)
    rng = random.Random(0)
    for _ in range(3):
        _, _, terminated, truncated, info = environment.step(rng.choice(["look", "inventory"]))
    assert truncated and not terminated
    environment.close()


def test_close_removes_the_game_files_and_dropping_an_env_does_too():
    before = leftover_folders()
    environment = make_raw("textworld/Cooking-v0")
    environment.reset(seed=0)
    folder = environment.folder
    assert (folder / "game.z8").exists() and folder in leftover_folders()
    environment.close()
    assert not folder.exists() and leftover_folders() == before
    dropped = make_raw("textworld/Cooking-v0")
    dropped.reset(seed=0)
    folder = dropped.folder
    del dropped
    gc.collect()
    assert not folder.exists()


def test_walkthrough_and_random_baselines_in_the_runner():
    before = leftover_folders()
    oracle = envalign.simulate("textworld/Cooking-v0", "walkthrough", episodes=2, concurrency=2)
    assert [e.returns["agent"] for e in oracle.episodes] == pytest.approx([1.0, 1.0])
    floor = envalign.simulate(
        "textworld/Cooking-v0", "random", episodes=2, env_kwargs={"max_steps": 10}
    )
    assert all(e.returns["agent"] <= 1.0 for e in floor.episodes)
    assert leftover_folders() == before
