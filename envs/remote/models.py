"""The wire types of envalign environments served over OpenEnv's protocol.

They are OpenEnv's own ``Action``/``Observation``/``State`` models (pydantic), extended with text and
envalign's step ``info``. ``envalign serve`` validates actions against :class:`TextAction` and sends
:class:`TextObservation`; a client needs neither (OpenEnv's ``GenericEnvClient`` reads the JSON).
"""

from __future__ import annotations

from typing import Any

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field


class TextAction(Action):
    """One agent's action: the reply text (``{"text": "..."}`` on the wire)."""

    text: str = Field(description="The action text, as the observation asks for it.")


class TextObservation(Observation):
    """What the agent sees after ``reset`` or ``step``.

    ``reward`` is the agent's reward since its previous action (its moves and, in a game, the others'
    moves until it acts again); ``done`` is ``terminated or truncated``.
    """

    text: str = Field(default="", description="The observation text (self-contained).")
    agent: str = Field(default="agent", description="The seat this session plays.")
    truncated: bool = Field(default=False, description="Ended by a time limit, not by the game.")
    info: dict[str, Any] = Field(
        default_factory=dict,
        description="envalign's step info: reward_components, feedback, valid_actions, task_id, "
        "metrics (and the environment's own JSON entries).",
    )


class EpisodeState(State):
    """The session's episode: OpenEnv's ``episode_id``/``step_count`` plus envalign's own."""

    env_id: str = Field(default="", description="The served environment id.")
    agent: str = Field(default="", description="The seat this session plays.")
    seed: int | None = Field(default=None, description="The seed of the current episode.")
    done: bool = Field(default=False, description="Whether the current episode has ended.")
