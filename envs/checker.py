"""``envalign.envs.check``: the upstream checkers plus envalign's conventions, for any registered id.

Plugin authors run the same checks as the project's conformance suite::

    from envalign.envs import check
    check("myplugin/MyEnv-v0")
"""

from __future__ import annotations

import math
import random
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from envalign.envs.core import SINGLE_AGENT
from envalign.envs.errors import ConformanceError
from envalign.envs.info import validate_info
from envalign.envs.registry import make_raw, spec

#: Malformed actions every environment must answer with feedback and a finite reward.
MALFORMED_ACTIONS: tuple[Any, ...] = (
    "",
    " ",
    "x" * 100_000,
    "\x00\x01\x02\x1b[31m\x7f",
    "\ud800 lone surrogate \udfff",
    '{"tool": null, "args": [1, {"a": NaN}]}',
    "[]",
    "-1e309",
    "🤖" * 500,
    b"\xff\xfe bytes".decode("latin-1"),
    None,
    12345,
)
STEP_BUDGET_S = 60.0


def check_env(
    env_id: str, *, episodes: int = 3, skip_upstream: bool = False, **kwargs: Any
) -> None:
    """Run every conformance check on ``env_id``; raise :class:`ConformanceError` on the first failure."""
    card = spec(env_id)
    factory = lambda: make_raw(env_id, **kwargs)  # noqa: E731 - a fresh environment per check
    checks: list[Callable[[], None]] = []
    if not skip_upstream:
        checks.append(lambda: upstream_checks(factory, card.multi_agent))
    checks += [
        lambda: check_episodes(factory, episodes),
        lambda: check_determinism(factory, seed=7),
        lambda: check_malformed_actions(factory, MALFORMED_ACTIONS),
        lambda: check_valid_actions(factory, episodes),
    ]
    for run in checks:
        try:
            run()
        except ConformanceError:
            raise
        except Exception as error:  # any failure of the environment is a conformance failure
            raise ConformanceError(f"{env_id}: {type(error).__name__}: {error}") from error


def upstream_checks(factory: Callable[[], Any], multi_agent: bool) -> None:
    """Gymnasium's ``check_env``, or PettingZoo's API, parallel API and seed tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not multi_agent:
            from gymnasium.utils.env_checker import check_env as gymnasium_check_env

            gymnasium_check_env(factory(), skip_render_check=False)
            return
        from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test
        from pettingzoo.utils.conversions import parallel_to_aec

        parallel_api_test(factory(), num_cycles=50)
        api_test(parallel_to_aec(factory()), num_cycles=50)
        parallel_seed_test(factory, num_cycles=50)
        seed_test(lambda: parallel_to_aec(factory()), num_cycles=50)


def check_episodes(factory: Callable[[], Any], episodes: int) -> None:
    """Play whole episodes with random actions, validating every step's info and reward."""
    for seed in range(episodes):
        for _ in play(factory(), seed=seed, actions=_sampled_actions(seed)):
            pass


def check_determinism(factory: Callable[[], Any], seed: int) -> None:
    """The same seed and the same actions must give the same episode."""
    first = list(play(factory(), seed=seed, actions=_sampled_actions(seed)))
    second = list(play(factory(), seed=seed, actions=_sampled_actions(seed)))
    if _fingerprint(first) != _fingerprint(second):
        raise ConformanceError("two episodes with the same seed and actions differ.")


def check_valid_actions(factory: Callable[[], Any], episodes: int) -> None:
    """An agent offered ``valid_actions`` on one turn is offered them on every turn it must act.

    Likelihood policies can only act where the list is there, so an environment that lists its
    actions lists them on every acting step: the info of ``reset`` and of every step before the
    end, for each agent whose ``acting`` flag is set. Turns of another kind, where the action is
    free text (a message phase before a move, an answer before a rating), are told apart by
    ``info["phase"]``: the rule holds per agent and phase.
    """
    for seed in range(episodes):
        env = factory()
        offered: dict[tuple[str, Any], int] = {}  # (agent, phase) -> steps offered
        missing: dict[tuple[str, Any], int] = {}  # (agent, phase) -> first step without
        observation, info = _reset(env, seed=seed)
        step_index = 0
        try:
            for step_index in range(10_000):
                for agent, agent_info in info.items():
                    if not agent_info.get("acting", True):
                        continue
                    key = (agent, agent_info.get("phase"))
                    if agent_info.get("valid_actions"):
                        offered[key] = offered.get(key, 0) + 1
                    else:
                        missing.setdefault(key, step_index)
                step = _step(env, _sampled_actions(seed), observation, info)
                if _finished(env, step):
                    break
                observation = {agent: values[0] for agent, values in step.items()}
                info = {agent: values[4] for agent, values in step.items()}
        finally:
            env.close()
        for key, first in missing.items():
            if key in offered:
                agent, phase = key
                where = f" in phase {phase!r}" if phase is not None else ""
                raise ConformanceError(
                    f"{agent} is offered valid_actions on {offered[key]} of its turns{where} "
                    f"but not at step {first} (seed {seed}); list them on every turn it acts."
                )


def check_malformed_actions(factory: Callable[[], Any], actions: tuple[Any, ...]) -> None:
    """Each malformed action must yield a finite reward and non-empty feedback, quickly."""
    for action in actions:
        env = factory()
        try:
            observation, info = _reset(env, seed=0)
            start = time.monotonic()
            step = _step(env, lambda agent, _obs, _info, a=action: a, observation, info)
            elapsed = time.monotonic() - start
        finally:
            env.close()
        if elapsed > STEP_BUDGET_S:
            raise ConformanceError(f"a malformed action took {elapsed:.1f}s to answer.")
        for agent, (_, reward, _, _, agent_info, acted) in step.items():
            _validate(agent, reward, agent_info)
            if acted and not agent_info["feedback"]:
                raise ConformanceError(
                    f"no feedback to {agent} for the action {str(action)[:60]!r}."
                )


def play(env: Any, *, seed: int, actions: Callable[..., Any]) -> Iterator[dict[str, tuple]]:
    """Yield each step's ``{agent: (obs, reward, terminated, truncated, info, acted)}`` to the end."""
    try:
        observation, info = _reset(env, seed=seed)
        for _ in range(10_000):
            step = _step(env, actions, observation, info)
            for agent, (_, reward, _, _, agent_info, _) in step.items():
                _validate(agent, reward, agent_info)
            yield step
            if _finished(env, step):
                return
            observation = {agent: values[0] for agent, values in step.items()}
            info = {agent: values[4] for agent, values in step.items()}
        raise ConformanceError("episode did not end within 10,000 steps.")
    finally:
        env.close()


def _sampled_actions(seed: int) -> Callable[..., Any]:
    rng = random.Random(seed)

    def act(agent: str, observation: Any, info: dict[str, Any]) -> str:
        choices = info.get("valid_actions")
        if choices and rng.random() < 0.7:
            return rng.choice(choices)
        return rng.choice(["", "hello", "42", "ACCEPT", "look", "OFFER 50", "```python\npass\n```"])

    return act


def _reset(env: Any, seed: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    observation, info = env.reset(seed=seed)
    if _is_multi(env):
        return observation, info
    return {SINGLE_AGENT: observation}, {SINGLE_AGENT: info}


def _step(
    env: Any, actions: Callable[..., Any], observation: dict[str, Any], info: dict[str, Any]
) -> dict[str, tuple]:
    if not _is_multi(env):
        chosen = actions(SINGLE_AGENT, observation[SINGLE_AGENT], info[SINGLE_AGENT])
        return {SINGLE_AGENT: (*env.step(chosen), True)}
    acted = {agent: info[agent].get("acting", True) for agent in env.agents}
    chosen = {
        agent: actions(agent, observation[agent], info[agent]) if acted[agent] else ""
        for agent in env.agents
    }
    observations, rewards, terminations, truncations, infos = env.step(chosen)
    return {
        agent: (
            observations.get(agent),
            rewards[agent],
            terminations[agent],
            truncations[agent],
            infos[agent],
            acted.get(agent, False),
        )
        for agent in rewards
    }


def _validate(agent: str, reward: Any, info: dict[str, Any]) -> None:
    if not isinstance(reward, (int, float)) or not math.isfinite(reward):
        raise ConformanceError(
            f"{agent} got the reward {reward!r}; rewards must be finite numbers."
        )
    validate_info(info, reward)


def _finished(env: Any, step: dict[str, tuple]) -> bool:
    if _is_multi(env):
        return not env.agents
    _, _, terminated, truncated, _, _ = step[SINGLE_AGENT]
    return bool(terminated or truncated)


def _is_multi(env: Any) -> bool:
    return hasattr(env, "possible_agents")


def _fingerprint(steps: list[dict[str, tuple]]) -> str:
    return repr(
        [
            {
                agent: (str(obs), reward, term, trunc, sorted(info.items(), key=str))
                for agent, (obs, reward, term, trunc, info, _) in step.items()
            }
            for step in steps
        ]
    )
