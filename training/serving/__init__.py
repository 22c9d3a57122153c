"""Serve envalign environments over OpenEnv's protocol (``envalign serve``).

:func:`serve` runs OpenEnv's own server (``openenv.core.env_server.create_app``) for any registered
environment; multi-agent games seat client sessions and server-side baselines at tables
(:mod:`~envalign.training.serving.tables`). The server lives in ``training`` because it plays seats
with ``agents``' baselines. Needs ``openenv`` (see docs/openenv.md for the install line).
"""

from envalign.training.serving.config import CLIENT, ServeConfig, seats_from_pairs

__all__ = ["CLIENT", "ServeConfig", "seats_from_pairs"]
