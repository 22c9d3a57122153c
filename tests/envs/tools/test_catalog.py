import pytest

from envalign.envs import list_envs, spec
from envalign.training.episodes import read_episodes

TOOL_ENVS = [
    "envalign/PythonTests-v0",
    "envalign/Bash-v0",
    "envalign/SQL-v0",
    "envalign/ToolUse-v0",
]


def test_tool_family_is_registered_with_docker_and_baselines():
    ids = {card.id for card in list_envs(family="tool")}
    assert set(TOOL_ENVS) <= ids
    for env_id in TOOL_ENVS:
        card = spec(env_id)
        assert card.needs_docker
        assert {"scripted", "random"} <= set(card.policies)


@pytest.mark.docker
@pytest.mark.parametrize("env_id", TOOL_ENVS)
def test_oracle_and_random_run_through_envalign_run(env_id, tmp_path):
    from envalign.cli import main

    returns = {}
    for policy in ("scripted", "random"):
        out = tmp_path / f"{policy}.jsonl"
        argv = ["run", env_id, "--policy", policy, "--episodes", "12", "--quiet", "--out", str(out)]
        assert main(argv) == 0
        episodes = list(read_episodes(out))
        assert len(episodes) == 12
        returns[policy] = sum(e.returns["agent"] for e in episodes) / len(episodes)
    assert returns["scripted"] == 1.0
    assert returns["random"] < 0.2
