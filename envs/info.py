"""The schema of every step's ``info`` (DESIGN.md, Environments).

``reward_components`` (name -> float, summing to the reward), ``feedback`` (text, may be empty),
optional ``valid_actions`` (list of strings), ``task_id`` and ``metrics`` (name -> number or bool).
:func:`step_info` builds one and refuses an inconsistent one; :func:`validate_info` checks one that an
environment returned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from envalign.envs.errors import InvalidInfo

REQUIRED_KEYS = ("reward_components", "feedback", "task_id", "metrics")
TOLERANCE = 1e-6


def step_info(
    reward: float,
    *,
    components: Mapping[str, float],
    feedback: str = "",
    task_id: str,
    valid_actions: Sequence[str] | None = None,
    metrics: Mapping[str, float | int | bool] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build a step's ``info`` and check it against the reward.

    Args:
        reward: The reward the step returns.
        components: Named parts of the reward; they must sum to ``reward``.
        feedback: The text signal for the agent (may be empty).
        task_id: Identifies the task inside the environment (stable under the seed).
        valid_actions: Admissible actions, for likelihood-based policies.
        metrics: Numbers and flags worth logging (``success`` is the binary signal).
        **extra: Environment-specific entries kept beside the schema.

    Returns:
        The info dict.

    Raises:
        InvalidInfo: If the components do not sum to the reward, or an entry has the wrong type.
    """
    info: dict[str, Any] = {
        "reward_components": {name: float(value) for name, value in components.items()},
        "feedback": feedback,
        "task_id": task_id,
        "metrics": dict(metrics or {}),
        **extra,
    }
    if valid_actions is not None:
        info["valid_actions"] = list(valid_actions)
    validate_info(info, reward)
    return info


def validate_info(info: Mapping[str, Any], reward: float) -> None:
    """Check that ``info`` follows the schema and that its components sum to ``reward``.

    Raises:
        InvalidInfo: Naming the first entry that is wrong.
    """
    missing = [key for key in REQUIRED_KEYS if key not in info]
    if missing:
        raise InvalidInfo(f"info lacks {missing}; every step's info needs {list(REQUIRED_KEYS)}.")
    components = info["reward_components"]
    if not isinstance(components, Mapping) or not all(isinstance(k, str) for k in components):
        raise InvalidInfo("info['reward_components'] must map names (str) to floats.")
    for name, value in components.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInfo(f"reward component {name!r} is {value!r}; expected a finite float.")
    if not math.isfinite(float(reward)):
        raise InvalidInfo(f"reward is {reward!r}; rewards must be finite.")
    total = math.fsum(components.values())
    if abs(total - float(reward)) > TOLERANCE * max(1.0, abs(float(reward))):
        raise InvalidInfo(
            f"reward components {dict(components)} sum to {total}, but the reward is {reward}."
        )
    if not isinstance(info["feedback"], str):
        raise InvalidInfo(f"info['feedback'] must be a str, got {type(info['feedback']).__name__}.")
    if not isinstance(info["task_id"], str):
        raise InvalidInfo(f"info['task_id'] must be a str, got {type(info['task_id']).__name__}.")
    metrics = info["metrics"]
    if not isinstance(metrics, Mapping) or not all(
        isinstance(value, (int, float, bool)) for value in metrics.values()
    ):
        raise InvalidInfo("info['metrics'] must map names to numbers or booleans.")
    valid_actions = info.get("valid_actions")
    if valid_actions is not None and not (
        isinstance(valid_actions, list) and all(isinstance(a, str) for a in valid_actions)
    ):
        raise InvalidInfo("info['valid_actions'] must be a list of strings.")
