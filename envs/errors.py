"""The exception hierarchy, re-exported from :mod:`envalign.errors` where it lives.

The errors sit at the package root so that every room, ``envalign.sandbox`` included, can import
them without reaching up into ``envalign.envs``; this module keeps the older import path working
with the very same classes.
"""

from envalign.errors import (
    ConfigError,
    ConformanceError,
    DependencyNotInstalled,
    EnvalignError,
    InvalidInfo,
    RegistrationError,
    RolloutWorkerLost,
    SandboxError,
    SandboxUnavailable,
    UnknownEnvironment,
    UnreadableInput,
)

__all__ = [
    "ConfigError",
    "ConformanceError",
    "DependencyNotInstalled",
    "EnvalignError",
    "InvalidInfo",
    "RegistrationError",
    "RolloutWorkerLost",
    "SandboxError",
    "SandboxUnavailable",
    "UnknownEnvironment",
    "UnreadableInput",
]
