"""The external families in the rest of the platform: Ray env workers, TRL's environment_factory."""

import dataclasses

import pytest

from envalign.training.rollout import simulate

pytest.importorskip("pyspiel", reason='needs pip install "envalign[openspiel]"')
pytest.importorskip("textarena", reason='needs pip install "envalign[textarena]"')


def comparable(episode):
    record = dataclasses.asdict(episode)
    record.pop("wall_time_s")
    return record


@pytest.mark.parametrize(
    "env_id, policies",
    [
        ("openspiel/KuhnPoker-v0", {"player_0": "cfr", "player_1": "random"}),
        ("textarena/LiarsDice-v0", "random"),
    ],
)
def test_ray_workers_play_the_same_episodes_as_the_local_runner(ray_address, env_id, policies):
    local = simulate(env_id, policies, episodes=6, histogram=False)
    remote = simulate(env_id, policies, episodes=6, ray="auto", workers=2, histogram=False)
    assert [comparable(e) for e in remote.episodes] == [comparable(e) for e in local.episodes]


def test_trl_environment_factory_drives_an_openspiel_game_against_its_solver():
    from envalign.training.trl_environment import environment_factory

    Game = environment_factory("openspiel/TicTacToe-v0", agent="player_1", opponents="solver")
    game = Game()
    text = game.reset(seed=0)
    assert "You are player_1" in text and "Legal actions" in text
    while not game.done:
        legal = game._infos["player_1"]["valid_actions"]
        text = game.act(f"I play {legal[0]}")
    assert game.get_reward() <= 0.0  # the exact solver never loses


def test_trl_environment_factory_plays_textarena_as_one_seat():
    from envalign.training.trl_environment import environment_factory

    Game = environment_factory("textarena/TicTacToe-v0", agent="player_0", opponents="random")
    game = Game()
    assert "Tic Tac Toe" in game.reset(seed=1)
    for cell in range(9):
        if game.done:
            break
        game.act(f"[{cell}]")
    assert game.done and game.get_reward() in (-1.0, 0.0, 1.0)
