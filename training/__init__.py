"""envalign.training: rollouts, episode records, algorithms and the trainer loop.

Torch is imported only by the algorithm and trainer modules, so collecting rollouts needs no GPU stack.
"""

from envalign.training.episodes import Episode, EpisodeWriter, TurnRecord, read_episodes
from envalign.training.rollout import Runner, SimulationResult, simulate
from envalign.training.summary import Summary, summarize

__all__ = [
    "Episode",
    "EpisodeWriter",
    "Runner",
    "SimulationResult",
    "Summary",
    "TurnRecord",
    "read_episodes",
    "simulate",
    "summarize",
]
