"""Interop with TRL: envalign environments as reward functions for TRL's trainers.

For single-turn environments (one observation, one answer, one reward), :func:`reward_function`
returns a callable with TRL's ``reward_funcs`` signature and :func:`dataset` builds the matching
prompt dataset from environment resets::

    from trl import GRPOConfig, GRPOTrainer
    from envalign.training.trl import dataset, reward_function

    train = dataset("envalign/Arithmetic-v0", 512, seed=0)
    trainer = GRPOTrainer(
        model="HuggingFaceTB/SmolLM2-135M-Instruct",
        reward_funcs=reward_function("envalign/Arithmetic-v0"),
        train_dataset=train,
        args=GRPOConfig(output_dir="runs/trl"),
    )
    trainer.train()

The dataset carries each prompt's ``seed`` column; TRL passes dataset columns to reward functions
as keyword arguments, so the reward function resets the environment with that seed and grades the
completion by stepping it once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from envalign.envs.errors import ConfigError, DependencyNotInstalled

RewardFunction = Callable[..., list[float]]


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or a conversation whose last message is the reply."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    raise TypeError(
        f"A completion must be a string or a list of chat messages, got {type(completion).__name__}."
    )


def reward_function(env_id: str, **env_kwargs: Any) -> RewardFunction:
    """A TRL reward function that grades each completion with one step of ``env_id``.

    Args:
        env_id: A registered single-agent, single-turn environment (e.g. ``envalign/Arithmetic-v0``).
        **env_kwargs: Keyword arguments for the environment (must match those of :func:`dataset`).

    Returns:
        ``fn(prompts, completions, *, seed, **kwargs) -> list[float]``, named after the environment
        (TRL logs each reward function under its ``__name__``).

    Raises:
        ConfigError: If the environment is multi-agent.
    """
    from envalign.envs.registry import make, spec

    card = spec(env_id)
    if card.multi_agent:
        raise ConfigError(
            f"{env_id} is multi-agent; TRL reward functions need a single-agent, single-turn "
            "environment. Train it with `envalign train` instead."
        )
    env = make(card.id, **env_kwargs)

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        seeds = kwargs.get("seed")
        if seeds is None:
            raise ConfigError(
                "The dataset has no 'seed' column: build it with envalign.training.trl.dataset() so "
                "each prompt can be replayed in the environment."
            )
        rewards = []
        for completion, seed in zip(completions, seeds, strict=True):
            env.reset(seed=int(seed))
            _, value, _, _, _ = env.step(completion_text(completion))
            rewards.append(float(value))
        return rewards

    reward.__name__ = card.id.split("/")[-1].replace("-", "_").lower()
    return reward


def prompts(
    env_id: str,
    n: int,
    seed: int = 0,
    *,
    conversational: bool = True,
    system_prompt: str | None = None,
    **env_kwargs: Any,
) -> list[dict[str, Any]]:
    """``n`` rows ``{"prompt": ..., "seed": s}`` from resets with seeds ``seed, seed+1, ...``.

    Args:
        env_id: The environment id.
        n: Number of prompts.
        seed: The first seed.
        conversational: Chat messages (system + user) when true, else the observation text.
        system_prompt: The system message (default: the environment's own, as the runner uses).
        **env_kwargs: Keyword arguments for the environment.
    """
    from envalign.envs.registry import make
    from envalign.envs.spaces import observation_text
    from envalign.training.rollout import DEFAULT_SYSTEM_PROMPT

    env = make(env_id, **env_kwargs)
    system = system_prompt or getattr(env.unwrapped, "system_prompt", DEFAULT_SYSTEM_PROMPT)
    rows = []
    for s in range(seed, seed + n):
        observation, _ = env.reset(seed=s)
        text = observation_text(observation)
        prompt: Any = (
            [{"role": "system", "content": system}, {"role": "user", "content": text}]
            if conversational
            else text
        )
        rows.append({"prompt": prompt, "seed": s})
    env.close()
    return rows


def dataset(env_id: str, n: int, seed: int = 0, **kwargs: Any) -> Any:
    """A ``datasets.Dataset`` of :func:`prompts` for TRL's ``train_dataset``.

    Raises:
        DependencyNotInstalled: If ``datasets`` is missing.
    """
    return rows_to_dataset(prompts(env_id, n, seed, **kwargs))


def rows_to_dataset(rows: list[dict[str, Any]]) -> Any:
    """A ``datasets.Dataset`` of ``rows``.

    Raises:
        DependencyNotInstalled: If ``datasets`` is missing.
    """
    try:
        from datasets import Dataset
    except ImportError as error:
        raise DependencyNotInstalled("datasets", "trl", "build a TRL dataset") from error
    return Dataset.from_list(rows)
