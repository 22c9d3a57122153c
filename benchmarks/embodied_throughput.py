"""Throughput of the embodied environments with their scripted policies, and BabyAI bot solve rates.

For each environment it plays whole episodes with the registered ``scripted`` policy and reports
environment steps per second (policy included) and the time per step spent in ``env.step`` alone.
The baseline, measured in the same run, is MiniGrid's own ``step`` for the BabyAI levels (the text
layer's overhead is the ratio). ``--bot-seeds N`` also reports how many of N seeded episodes
MiniGrid's BabyAI bot solves through the text interface, per level.

Run::

    python benchmarks/embodied_throughput.py --episodes 30 --bot-seeds 1000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import time
from dataclasses import dataclass

from envalign.envs import make_raw
from envalign.envs.core import SINGLE_AGENT, ActContext
from envalign.envs.embodied.babyai_text import COMMANDS, BabyAITextEnv, bot_policy
from envalign.envs.embodied.catalog import BABYAI_LEVELS
from envalign.envs.registry import load_entry_point, spec

ENVIRONMENTS = (
    *(f"envalign/BabyAIText-{level}-v0" for level in BABYAI_LEVELS),
    "envalign/Household-v0",
    "envalign/CoopKitchen-v0",
)


@dataclass
class Throughput:
    """Steps and where the time went."""

    env_id: str
    episodes: int
    steps: int
    env_seconds: float
    policy_seconds: float
    baseline_us: float | None = None

    @property
    def steps_per_second(self) -> float:
        """Steps per second, policy included."""
        return self.steps / (self.env_seconds + self.policy_seconds)

    @property
    def env_us(self) -> float:
        """Microseconds per step inside ``env.step``."""
        return 1e6 * self.env_seconds / self.steps


def measure(env_id: str, episodes: int) -> Throughput:
    """Play ``episodes`` episodes with the scripted policy, timing env and policy separately."""
    env = make_raw(env_id)
    act = load_entry_point(spec(env_id).policies["scripted"])
    result = Throughput(env_id, episodes, 0, 0.0, 0.0)
    for seed in range(episodes):
        if spec(env_id).multi_agent:
            _play_parallel(env, act, seed, result)
        else:
            _play_single(env, act, seed, result)
    if isinstance(env, BabyAITextEnv):
        result.baseline_us = minigrid_step_us(env.level, episodes)
    return result


def _play_single(env, act, seed: int, result: Throughput) -> None:  # noqa: ANN001
    observation, info = env.reset(seed=seed)
    rng = random.Random(seed)
    while True:
        start = time.perf_counter()
        action = act(ActContext(env, SINGLE_AGENT, observation, info, rng))
        middle = time.perf_counter()
        observation, _, terminated, truncated, info = env.step(action)
        end = time.perf_counter()
        result.policy_seconds += middle - start
        result.env_seconds += end - middle
        result.steps += 1
        if terminated or truncated:
            return


def _play_parallel(env, act, seed: int, result: Throughput) -> None:  # noqa: ANN001
    observations, infos = env.reset(seed=seed)
    rng = random.Random(seed)
    while env.agents:
        start = time.perf_counter()
        actions = {
            agent: act(ActContext(env, agent, observations[agent], infos[agent], rng))
            for agent in env.agents
        }
        middle = time.perf_counter()
        observations, _, _, _, infos = env.step(actions)
        end = time.perf_counter()
        result.policy_seconds += middle - start
        result.env_seconds += end - middle
        result.steps += 1


def minigrid_step_us(level: str, episodes: int) -> float:
    """Microseconds per raw MiniGrid step on the same level, with the bot's actions (the baseline)."""
    from minigrid.envs import babyai
    from minigrid.utils.baby_ai_bot import BabyAIBot

    env = getattr(babyai, level)()
    seconds, steps = 0.0, 0
    for seed in range(episodes):
        with contextlib.redirect_stdout(io.StringIO()):
            env.reset(seed=seed)
        bot = BabyAIBot(env)
        while True:
            action = bot.replan()
            start = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(action)
            seconds += time.perf_counter() - start
            steps += 1
            if terminated or truncated:
                break
    return 1e6 * seconds / steps


def bot_solve_rate(level: str, seeds: int) -> tuple[int, float]:
    """How many of ``seeds`` episodes the BabyAI bot solves through the text interface, and seconds."""
    env = BabyAITextEnv(level=level)
    start, solved = time.perf_counter(), 0
    for seed in range(seeds):
        observation, info = env.reset(seed=seed)
        while True:
            command = bot_policy(ActContext(env, SINGLE_AGENT, observation, info))
            assert command in COMMANDS
            observation, reward, terminated, truncated, info = env.step(command)
            if terminated or truncated:
                break
        solved += bool(info["metrics"]["success"])
    return solved, time.perf_counter() - start


def main() -> None:
    """Print the throughput table (and the bot solve rates with ``--bot-seeds``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=30, help="episodes per environment")
    parser.add_argument(
        "--bot-seeds", type=int, default=0, help="seeds per BabyAI level for the bot"
    )
    args = parser.parse_args()
    print(
        "| environment | episodes | steps | steps/s (scripted policy) | env.step µs/step "
        "| MiniGrid step µs (baseline) | text-layer overhead |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for env_id in ENVIRONMENTS:
        r = measure(env_id, args.episodes)
        base = f"{r.baseline_us:.0f}" if r.baseline_us else "—"
        ratio = f"{r.env_us / r.baseline_us:.1f}x" if r.baseline_us else "—"
        print(
            f"| {env_id} | {r.episodes} | {r.steps} | {r.steps_per_second:,.0f} "
            f"| {r.env_us:,.0f} | {base} | {ratio} |"
        )
    if args.bot_seeds:
        print(
            f"\n| BabyAI level | solved by the bot through text (of {args.bot_seeds}) | rate | seconds |"
        )
        print("|---|---:|---:|---:|")
        for level in BABYAI_LEVELS:
            solved, seconds = bot_solve_rate(level, args.bot_seeds)
            print(f"| {level} | {solved} | {solved / args.bot_seeds:.1%} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
