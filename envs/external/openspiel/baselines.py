"""Baselines for the OpenSpiel games: a uniform random player and OpenSpiel's own solvers and bots.

``solver`` is OpenSpiel's exact alpha-beta search (two-player zero-sum, perfect information),
``cfr`` samples the average policy of OpenSpiel's C++ counterfactual-regret minimisation (an
approximate Nash equilibrium), ``protocol`` is trade_comm's optimal convention, and ``mcts`` is OpenSpiel's MCTS bot with random rollouts, which
searches the true state and so sees hidden information (an upper reference for imperfect-information
games). Each draws its randomness from the context's generator, so a seeded episode repeats.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from envalign.envs.core import ActContext

CFR_ITERATIONS = {"kuhn_poker": 1_000, "leduc_poker": 200}
MCTS_SIMULATIONS = 200


def _game_env(context: ActContext) -> Any:
    return getattr(context.env, "unwrapped", context.env)


def _acting(context: ActContext) -> bool:
    return bool(context.info.get("acting", False)) and bool(context.info.get("valid_actions"))


def _name_of(env: Any, action: int) -> str:
    return next(name for name, legal in env.legal_action_names().items() if legal == action)


def random_policy(context: ActContext) -> str:
    """Play a uniformly random legal action."""
    if not _acting(context):
        return ""
    return context.rng.choice(list(context.info["valid_actions"]))


def solver_policy(context: ActContext) -> str:
    """Play the move of OpenSpiel's exact alpha-beta search (ties broken by OpenSpiel's order)."""
    if not _acting(context):
        return ""
    from open_spiel.python.algorithms import minimax

    env = _game_env(context)
    player = env.state.current_player()
    _, action = minimax.alpha_beta_search(env.game, env.state.clone(), maximizing_player_id=player)
    return _name_of(env, action)


@functools.cache
def _cfr_policy(game_string: str, game_name: str) -> Any:
    import pyspiel

    game = pyspiel.load_game(game_string)
    solver = pyspiel.CFRSolver(game)
    for _ in range(CFR_ITERATIONS.get(game_name, 200)):
        solver.evaluate_and_update_policy()
    # The C++ policy refers to the solver's tables: keep the game and solver alive beside it.
    return game, solver, solver.average_policy()


def cfr_policy(context: ActContext) -> str:
    """Sample OpenSpiel's CFR average policy (an approximate Nash equilibrium), cached per game."""
    if not _acting(context):
        return ""
    env = _game_env(context)
    _, _, policy = _cfr_policy(str(env.game), env.game_name)
    state_policy = policy.get_state_policy(env.state.information_state_string())
    actions, weights = zip(*state_policy, strict=True)
    return _name_of(env, context.rng.choices(actions, weights)[0])


def mcts_policy(context: ActContext) -> str:
    """Play OpenSpiel's MCTS bot (UCT, random rollouts) from the true state, seeded per move."""
    if not _acting(context):
        return ""
    import numpy as np
    from open_spiel.python.algorithms import mcts

    env = _game_env(context)
    seed = context.rng.randrange(2**31 - 1)
    evaluator = mcts.RandomRolloutEvaluator(1, np.random.RandomState(seed))
    bot = mcts.MCTSBot(
        env.game, 2.0, MCTS_SIMULATIONS, evaluator, random_state=np.random.RandomState(seed + 1)
    )
    return _name_of(env, bot.step(env.state.clone()))


def protocol_policy(context: ActContext) -> str:
    """Trade with communication's optimal convention: utter your item, then give it for theirs.

    MCTS cannot find it (one trade in a hundred pays, and only when both agree), so this is the
    game's oracle: both players following it always score 1.
    """
    if not _acting(context):
        return ""
    env = _game_env(context)
    view = env.player_view(context.agent)
    mine = re.search(r"My item: (\d+)", view)
    if mine is None:
        return context.rng.choice(list(context.info["valid_actions"]))
    if "Phase: comm" in view:
        return f"Utter {mine.group(1)}"
    history = re.search(r"Comm history:\s*(.*)", view)
    heard = history.group(1).split() if history else []
    index = env.possible_agents.index(context.agent)
    if len(heard) < 2:
        return context.rng.choice(list(context.info["valid_actions"]))
    return f"Trade {mine.group(1)}:{heard[1 - index]}"
