import random

import pytest

import envalign
from envalign.envs import list_envs, make_raw, observation_text

pytest.importorskip(
    "pyspiel", reason='needs pip install "envalign[openspiel]" (make test installs it)'
)

IDS = [card.id for card in list_envs() if card.id.startswith("openspiel/")]


def test_the_games_are_in_the_catalog_with_oracle_baselines():
    assert {"openspiel/Bargaining-v0", "openspiel/KuhnPoker-v0", "openspiel/TicTacToe-v0"} <= set(
        IDS
    )
    for card in list_envs():
        if card.id in IDS:
            assert {"random", "scripted"} <= set(card.policies)
            assert card.multi_agent


def play(env, seed, pick):
    observations, infos = env.reset(seed=seed)
    trace = []
    while env.agents:
        mover = next(agent for agent in env.agents if infos[agent]["acting"])
        action = pick(mover, infos[mover])
        observations, rewards, _, _, infos = env.step(
            {agent: "" for agent in env.agents} | {mover: action}
        )
        trace.append((mover, action, dict(rewards)))
    return trace


def test_same_seed_same_chance_outcomes_and_no_global_random_use():
    env = make_raw("openspiel/Bargaining-v0")
    state = random.getstate()
    first = observation_text(env.reset(seed=5)[0]["player_0"])
    random.seed(123)  # a different global stream must not change the episode
    assert observation_text(env.reset(seed=5)[0]["player_0"]) == first
    random.setstate(state)
    env.reset(seed=5)
    env.step({"player_0": "Offer: Book: 0, Hat: 0, Basketball: 0", "player_1": ""})
    assert random.getstate() == state
    pools = {observation_text(env.reset(seed=s)[0]["player_0"]).split("\n")[2] for s in range(8)}
    assert len(pools) > 1  # the seed picks the instance


def test_free_text_naming_a_legal_action_is_played():
    env = make_raw("openspiel/TicTacToe-v0")
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step(
        {"player_0": "I will take the centre: X(1,1).", "player_1": ""}
    )
    assert infos["player_0"]["feedback"] == "You played: x(1,1)."
    assert infos["player_1"]["acting"] and "o(1,1)" not in infos["player_1"]["valid_actions"]


def test_invalid_actions_get_feedback_a_penalty_then_a_seeded_random_move():
    env = make_raw("openspiel/TicTacToe-v0")
    env.reset(seed=0)
    for attempt in range(2):
        obs, rewards, _, _, infos = env.step({"player_0": "resign", "player_1": ""})
        assert rewards["player_0"] == pytest.approx(-0.1)
        assert infos["player_0"]["reward_components"] == {"invalid_action": -0.1}
        assert infos["player_0"]["acting"] and "Invalid action" in infos["player_0"]["feedback"]
        assert obs["player_0"]["observation"][3] == attempt + 1
    _, rewards, _, _, infos = env.step({"player_0": 12345, "player_1": ""})
    assert "random legal action was played" in infos["player_0"]["feedback"]
    assert infos["player_1"]["acting"]


def test_the_exact_solver_never_loses_to_random_and_draws_itself():
    env = make_raw("openspiel/TicTacToe-v0")
    solver = envalign.simulate(
        "openspiel/TicTacToe-v0", {"player_0": "solver", "player_1": "random"}, episodes=10
    )
    assert all(e.returns["player_0"] >= 0 for e in solver.episodes)
    assert solver.summary.agents["player_0"].mean_return > 0.5
    selfplay = envalign.simulate("openspiel/TicTacToe-v0", "solver", episodes=2)
    assert [e.returns["player_0"] for e in selfplay.episodes] == [0.0, 0.0]
    env.close()


def test_cfr_and_mcts_baselines_play_whole_games():
    kuhn = envalign.simulate(
        "openspiel/KuhnPoker-v0", {"player_0": "cfr", "player_1": "random"}, episodes=300
    )
    assert kuhn.summary.agents["player_0"].mean_return > -0.2  # equilibrium value is -1/18
    bargaining = envalign.simulate("openspiel/Bargaining-v0", "mcts", episodes=6)
    random_play = envalign.simulate("openspiel/Bargaining-v0", "random", episodes=6)
    assert (
        bargaining.summary.agents["player_0"].mean_return
        > random_play.summary.agents["player_0"].mean_return
    )


@pytest.mark.parametrize("env_id", IDS)
def test_every_game_ends_with_returns_in_the_metrics(env_id):
    env = make_raw(env_id)
    rng = random.Random(0)
    trace = play(env, 1, lambda agent, info: rng.choice(info["valid_actions"]))
    assert trace
    env.close()


def test_trade_comm_protocol_always_trades():
    result = envalign.simulate("openspiel/TradeComm-v0", "protocol", episodes=10)
    assert all(e.returns == {"player_0": 1.0, "player_1": 1.0} for e in result.episodes)
