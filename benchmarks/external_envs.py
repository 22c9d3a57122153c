"""Throughput of the external families with a random policy, and the adapter's overhead.

For each family it plays random episodes twice in the same run, taking turns: once through the
envalign adapter (``make_raw(id)``, ``reset``/``step`` with text actions, ``info`` built by
``step_info``) and once with the library called directly (the same game, the same kind of random
choice, and the text an agent would need: observation strings and the names of the legal actions).
It reports steps per second of each and the ratio. Start-up costs (a JVM, generating a game) are
excluded from steps/s and reported beside them.

Run::

    python benchmarks/external_envs.py --repeats 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from envalign.envs import make_raw


def adapter_steps(
    env_id: str, steps: int, seed: int, *, same_game: bool = False, **kwargs
) -> tuple[float, int]:
    """Random play through the adapter; return (seconds inside reset/step, steps).

    With ``same_game`` every episode resets to the same seed (TextWorld: the direct side plays one
    generated game, so generating new ones would not be the adapter's overhead).
    """
    env = make_raw(env_id, **kwargs)
    rng = random.Random(seed)
    done, taken, seconds, episode = True, 0, 0.0, 0
    observations: dict = {}
    infos: dict = {}
    while taken < steps:
        start = time.perf_counter()
        if done:
            observations, infos = env.reset(seed=seed if same_game else seed + episode)
            episode += 1
            if not hasattr(env, "possible_agents"):
                infos = {"agent": infos}
            done = False
        if hasattr(env, "possible_agents"):
            mover = next(agent for agent in env.agents if infos[agent].get("acting", True))
            choices = infos[mover].get("valid_actions") or random_moves(observations[mover]["text"])
            seconds += time.perf_counter() - start
            action = rng.choice(choices)
            start = time.perf_counter()
            observations, _, _, _, infos = env.step({mover: action})
            done = not env.agents
        else:
            action = rng.choice(infos["agent"]["valid_actions"])
            seconds += time.perf_counter() - start
            start = time.perf_counter()
            _, _, terminated, truncated, info = env.step(action)
            infos, done = {"agent": info}, terminated or truncated
        seconds += time.perf_counter() - start
        taken += 1
    env.close()
    return seconds, taken


def random_moves(text: str) -> list[str]:
    from envalign.envs.external.textarena.env import BRACKETED

    return BRACKETED.findall(text[-2_000:]) or ["[0]"]


def openspiel_direct(steps: int, seed: int) -> tuple[float, int]:
    """pyspiel called directly: random legal actions, observation and action strings each step."""
    import pyspiel

    game = pyspiel.load_game("bargaining")
    rng = random.Random(seed)
    state, taken, start = None, 0, time.perf_counter()
    while taken < steps:
        if state is None or state.is_terminal():
            state = game.new_initial_state()
        while state.is_chance_node():
            actions, weights = zip(*state.chance_outcomes(), strict=True)
            state.apply_action(rng.choices(actions, weights)[0])
        if state.is_terminal():
            continue
        player = state.current_player()
        [state.observation_string(p) for p in range(game.num_players())]
        legal = {state.action_to_string(player, a): a for a in state.legal_actions(player)}
        state.apply_action(legal[rng.choice(list(legal))])
        taken += 1
    return time.perf_counter() - start, taken


def scienceworld_direct(steps: int, seed: int) -> tuple[float, int]:
    """ScienceWorld's own ``step`` with a random valid action (same JVM flags as the adapter)."""
    from envalign.envs.external.scienceworld.env import start_simulator, stop_simulator

    simulator = start_simulator()
    rng = random.Random(seed)
    taken, seconds, done = 0, 0.0, True
    info: dict = {}
    while taken < steps:
        start = time.perf_counter()
        if done:
            simulator.load("find-living-thing", 0, "")
            _, info = simulator.reset()
            done = False
        _, _, done, info = simulator.step(rng.choice(list(info["valid"])))
        done = done or info["moves"] >= 100
        seconds += time.perf_counter() - start
        taken += 1
    stop_simulator(simulator)
    return seconds, taken


def textworld_direct(steps: int, seed: int) -> tuple[float, int]:
    """TextWorld's own ``step`` on the same generated game, random admissible commands."""
    import tempfile
    from pathlib import Path

    import textworld

    from envalign.envs.external.textworld.cooking import generate_cooking_game

    settings = tuple(make_raw("textworld/Cooking-v0").settings)
    files = generate_cooking_game(settings, random.Random(seed).randrange(2**31 - 1))
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        for suffix, data in files.items():
            (Path(folder) / f"game{suffix}").write_bytes(data)
        wanted = textworld.EnvInfos(  # what the adapter asks for
            admissible_commands=True,
            description=True,
            objective=True,
            max_score=True,
            score=True,
            won=True,
            lost=True,
            extras=["walkthrough"],
        )
        game = textworld.start(str(Path(folder) / "game.z8"), request_infos=wanted)
        taken, seconds, done, moves = 0, 0.0, True, 0
        state = None
        while taken < steps:
            start = time.perf_counter()
            if done or moves >= 50:
                state, done, moves = game.reset(), False, 0
            state, _, done = game.step(rng.choice(state["admissible_commands"]))
            seconds += time.perf_counter() - start
            taken, moves = taken + 1, moves + 1
        game.close()
    return seconds, taken


def textarena_direct(steps: int, seed: int) -> tuple[float, int]:
    """TextArena's own API (``ta.make``, ``get_observation``, ``step``) with random bracketed moves."""
    import textarena

    rng = random.Random(seed)
    taken, episode, done, start = 0, 0, True, time.perf_counter()
    game = None
    while taken < steps:
        if done:
            game = textarena.make("LiarsDice-v0")
            game.reset(num_players=2, seed=seed + episode)
            episode += 1
        _, observation = game.get_observation()
        done, _ = game.step(rng.choice(random_moves(observation)))
        if done:
            game.close()
        taken += 1
    return time.perf_counter() - start, taken


FAMILIES: dict[str, tuple[str, dict, Callable[[int, int], tuple[float, int]], int]] = {
    "openspiel": ("openspiel/Bargaining-v0", {}, openspiel_direct, 3_000),
    "scienceworld": ("scienceworld/FindLivingThing-v0", {}, scienceworld_direct, 150),
    "textworld": ("textworld/Cooking-v0", {"same_game": True}, textworld_direct, 400),
    "textarena": ("textarena/LiarsDice-v0", {}, textarena_direct, 3_000),
}


def startup_seconds(env_id: str) -> float:
    """Seconds from ``make_raw`` to the first observation (a JVM, a generated game...)."""
    start = time.perf_counter()
    env = make_raw(env_id)
    env.reset(seed=12345)
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each side")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the step counts")
    args = parser.parse_args()
    print("| family (id) | library steps/s | adapter steps/s | adapter / library | start-up s |")
    print("|---|---:|---:|---:|---:|")
    for family in args.families.split(","):
        env_id, kwargs, direct, steps = FAMILIES[family]
        steps = max(10, int(steps * args.scale))
        adapter_steps(env_id, min(steps, 20), 0, **kwargs)  # warm: imports, generated games
        direct(min(steps, 20), 0)
        library, adapter = [], []
        for repeat in range(args.repeats):
            seconds, taken = direct(steps, repeat)
            library.append(taken / seconds)
            seconds, taken = adapter_steps(env_id, steps, repeat, **kwargs)
            adapter.append(taken / seconds)
        lib, ada = statistics.median(library), statistics.median(adapter)
        print(
            f"| {family} (`{env_id}`) | {lib:,.1f} | {ada:,.1f} | {ada / lib:.2f}x | "
            f"{startup_seconds(env_id):.2f} |"
        )


if __name__ == "__main__":
    main()
