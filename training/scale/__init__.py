"""Scale-out of rollouts: environments in Ray actors, generation batched on the driver.

``RayRunner`` takes the arguments of :class:`~envalign.training.rollout.Runner` plus ``workers``
and ``address``; ``envalign run ENV --ray auto --workers N`` and
``simulate(..., ray="auto", workers=N)`` use it. Ray is imported only when a runner starts.
"""

from envalign.training.scale.ray_runner import RayRunner, RemoteEnvironment, Retry

__all__ = ["RayRunner", "RemoteEnvironment", "Retry"]
