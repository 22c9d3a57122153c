"""Environments behind OpenEnv servers, used as ``gymnasium.Env`` objects.

``envalign.make("openenv:ws://127.0.0.1:8000")`` connects to an OpenEnv server (one served by
``envalign serve``, or any other OpenEnv environment) through OpenEnv's own client and returns a
:class:`~envalign.envs.remote.env.RemoteEnv`. The runner, the trainer and the TRL adapters take the
id like any other. Nothing here is imported until such an id is used, so ``import envalign`` does not
pull in OpenEnv.
"""

OPENENV_PREFIX = "openenv:"

__all__ = ["OPENENV_PREFIX"]
