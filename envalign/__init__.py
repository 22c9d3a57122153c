"""envalign: align LLM agents through environment feedback.

The front door is small: :func:`make`, :func:`list_envs`, :func:`simulate` and :func:`train`.
Everything else is imported from its room (``envalign.envs``, ``envalign.agents``,
``envalign.sandbox``, ``envalign.training``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envalign.envs import list_envs, make, register, spec

if TYPE_CHECKING:
    from envalign.training.rollout import SimulationResult

__version__ = "0.1.0"


def simulate(env_id: str, policies: Any = "random", **kwargs: Any) -> SimulationResult:
    """Run episodes of ``env_id`` with the given policies; see ``envalign.training.rollout.simulate``."""
    from envalign.training.rollout import simulate as run_simulation

    return run_simulation(env_id, policies, **kwargs)


def train(config: Any) -> Any:
    """Train a policy from environment rewards; see ``envalign.training.trainer.train``."""
    from envalign.training.trainer import train as run_training

    return run_training(config)


__all__ = ["__version__", "list_envs", "make", "register", "simulate", "spec", "train"]
