import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import envalign
from envalign.envs import list_envs, make_raw

pytest.importorskip("scienceworld", reason='needs pip install "envalign[scienceworld]"')
if shutil.which("java") is None:  # scripts/ensure-java.sh installs it; CI=true makes it required
    pytest.skip(
        "ScienceWorld needs a Java runtime (scripts/ensure-java.sh)", allow_module_level=True
    )


def java_children():
    """Java processes whose parent is this test process."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if (
            fields.get("PPid", "").strip() == str(os.getpid())
            and fields.get("Name", "").strip() == "java"
        ):
            found.append(int(status.parent.name))
    return found


@pytest.fixture(scope="module")
def env():
    environment = make_raw("scienceworld/FindLivingThing-v0")
    yield environment
    environment.close()


def test_tasks_are_in_the_catalog_with_the_gold_baseline():
    cards = {card.id: card for card in list_envs() if card.id.startswith("scienceworld/")}
    assert {"scienceworld/FindLivingThing-v0", "scienceworld/Melt-v0"} <= set(cards)
    assert {"random", "gold", "scripted"} <= set(cards["scienceworld/Melt-v0"].policies)


def test_reset_shows_the_task_and_lists_valid_actions(env):
    observation, info = env.reset(seed=3)
    assert observation.startswith("Task Description:") and "living thing" in observation
    assert "look around" in env.simulator.get_possible_actions()
    assert info["valid_actions"] and all(isinstance(a, str) for a in info["valid_actions"])
    assert info["task_id"].startswith("find-living-thing/train/")
    first_task = info["task_id"]
    assert env.reset(seed=3)[1]["task_id"] == first_task
    assert {env.reset(seed=s)[1]["task_id"] for s in range(4)} != {first_task}


def test_the_gold_path_solves_the_task_with_a_return_of_one(env):
    observation, info = env.reset(seed=1)
    total, steps = 0.0, 0
    for command in env.gold_actions():
        observation, reward, terminated, truncated, info = env.step(command)
        total, steps = total + reward, steps + 1
        assert sum(info["reward_components"].values()) == pytest.approx(reward)
        if terminated:
            break
    assert terminated and info["metrics"]["success"] and total == pytest.approx(1.0)


def test_unknown_and_malformed_commands(env):
    env.reset(seed=0)
    observation, reward, terminated, _, info = env.step("dance wildly")
    assert "No known action" in observation and reward == 0.0 and not terminated
    for bad in (None, "\x00\x01", "x" * 5_000):
        observation, reward, terminated, _, info = env.step(bad)
        assert reward == -0.01 and info["feedback"] and not terminated


def test_close_stops_the_jvm_and_removes_the_temp_folder():
    environment = make_raw("scienceworld/FindLivingThing-v0")
    environment.reset(seed=0)
    process = environment.simulator._gateway.java_process
    tempdir = Path(environment.simulator._obj_tree_tempdir.name)
    assert process.poll() is None and tempdir.exists() and process.pid in java_children()
    environment.close()
    assert process.poll() is not None and not tempdir.exists()
    assert process.pid not in java_children()
    environment.close()  # twice is harmless


def test_gold_and_random_baselines_in_the_runner():
    before = set(java_children())
    gold = envalign.simulate("scienceworld/FindLivingThing-v0", "gold", episodes=2, concurrency=2)
    assert [e.returns["agent"] for e in gold.episodes] == pytest.approx([1.0, 1.0])
    random_play = envalign.simulate(
        "scienceworld/FindLivingThing-v0", "random", episodes=1, env_kwargs={"max_steps": 5}
    )
    assert random_play.episodes[0].returns["agent"] < 1.0
    assert set(java_children()) == before  # the runner closed every environment's JVM


def test_without_java_the_error_says_what_to_install(tmp_path):
    script = (
        f"import os\nos.environ['PATH'] = {str(tmp_path)!r}\n"
        "from envalign.envs import make_raw, EnvalignError\n"
        "env = make_raw('scienceworld/FindLivingThing-v0')\n"
        "try:\n    env.reset(seed=0)\nexcept EnvalignError as error:\n    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert "needs a Java runtime" in result.stdout, result.stderr[-2000:]


def test_reuse_jvm_parks_one_jvm_across_episodes_until_stopped():
    from envalign.envs.external.scienceworld import env as module

    before = set(java_children())
    result = envalign.simulate(
        "scienceworld/FindLivingThing-v0",
        "gold",
        episodes=3,
        concurrency=1,
        env_kwargs={"reuse_jvm": True},
    )
    assert [e.returns["agent"] for e in result.episodes] == pytest.approx([1.0] * 3)
    parked = set(java_children()) - before
    assert len(parked) == 1  # three episodes, three environments, one JVM
    assert module.stop_parked_simulators() == 1
    assert set(java_children()) == before
