import random

import numpy as np
import pytest

import envalign
from envalign.envs import list_envs, make_raw, observation_text
from envalign.envs.external.textarena.env import PrivateRandom

textarena = pytest.importorskip("textarena", reason='needs pip install "envalign[textarena]"')

IDS = [card.id for card in list_envs() if card.id.startswith("textarena/")]


def moves(seed):
    rng = random.Random(seed)
    return lambda: rng.choice(["[Bid: 1, 2]", "[Bid: 2, 3]", "[Bid: 3, 5]", "[Call]", "hello"])


def play(env, seed, between=lambda: None):
    observations, infos = env.reset(seed=seed)
    pick, trace = moves(seed), [observation_text(observations["player_0"])]
    while env.agents:
        mover = next(agent for agent in env.agents if infos[agent]["acting"])
        observations, rewards, _, _, infos = env.step({mover: pick()})
        between()
        trace.append((mover, {a: observation_text(o) for a, o in observations.items()}, rewards))
    return trace


def test_the_library_itself_reseeds_the_global_generator():
    game = textarena.make("LiarsDice-v0")
    random.seed(1)
    expected = random.random()
    random.seed(1)
    game.reset(num_players=2, seed=99)
    assert random.random() != expected  # what the adapter guards against


def test_a_game_beside_other_random_users_plays_as_alone_and_leaves_global_state():
    alone = play(make_raw("textarena/LiarsDice-v0"), seed=4)
    other = make_raw("textarena/LiarsDice-v0")
    other.reset(seed=77)

    def noisy_neighbour():
        random.random()
        np.random.random()
        if other.agents:  # another TextArena game stepping in the same process
            mover = next(a for a in other.agents if other.acting_agent() == a)
            other.step({mover: "[Bid: 1, 1]"})

    random.seed(2024)
    state = random.getstate()
    beside = play(make_raw("textarena/LiarsDice-v0"), seed=4, between=noisy_neighbour)
    assert beside == alone
    random.setstate(state)
    numpy_state = np.random.get_state()[1].copy()
    play(make_raw("textarena/LiarsDice-v0"), seed=4)
    assert random.getstate() == state
    assert (np.random.get_state()[1] == numpy_state).all()


def test_seeds_pick_different_deals():
    env = make_raw("textarena/SimpleNegotiation-v0")
    texts = {observation_text(env.reset(seed=seed)[0]["player_0"]) for seed in range(5)}
    assert len(texts) > 1


def test_private_random_continues_its_own_stream():
    private = PrivateRandom(5)
    with private.swapped_in():
        first = random.random()
    random.seed(0)
    with private.swapped_in():
        second = random.random()
    reference = random.Random(5)
    assert [first, second] == [reference.random(), reference.random()]
    with_numpy = PrivateRandom(5, numpy=True)
    np.random.seed(0)
    with with_numpy.swapped_in():
        drawn = np.random.random()
    assert (
        drawn == np.random.RandomState(5).random()
        and np.random.random() == np.random.RandomState(0).random()
    )


def test_non_text_actions_get_feedback_then_the_third_is_sent_as_an_empty_move():
    env = make_raw("textarena/TicTacToe-v0")
    env.reset(seed=0)
    for _ in range(2):
        _, rewards, _, _, infos = env.step({"player_0": None, "player_1": ""})
        assert rewards["player_0"] == -0.1 and "still your turn" in infos["player_0"]["feedback"]
    observations, rewards, _, _, infos = env.step({"player_0": 7, "player_1": ""})
    assert infos["player_0"]["feedback"].startswith("You said nothing.")  # TextArena judged it
    assert rewards["player_0"] != -0.1 and observations["player_0"]["observation"][0] == 1


def test_random_baseline_plays_every_game_to_the_end():
    for env_id in IDS:
        result = envalign.simulate(env_id, "random", episodes=2)
        assert all(episode.returns for episode in result.episodes), env_id
