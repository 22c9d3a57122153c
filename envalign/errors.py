"""The one exception hierarchy of envalign (Gymnasium keeps its `error.py` at the root too).

Every error a user can meet derives from :class:`EnvalignError`, and says what was wrong, what was
expected and what to do. A bad model reply is never an exception: environments answer it with feedback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EnvalignError(Exception):
    """Base class of every error raised on purpose by envalign."""


class UnknownEnvironment(EnvalignError, LookupError):
    """An environment id that is not in the catalog."""

    def __init__(self, env_id: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(env_id, known, n=1, cutoff=0.5)
        hint = f" Did you mean '{close[0]}'?" if close else " Run `envalign list` to see them."
        super().__init__(f"Unknown environment '{env_id}'.{hint}")
        self.env_id = env_id
        self.suggestion = close[0] if close else None


class RegistrationError(EnvalignError, ValueError):
    """An environment was registered with an invalid id or metadata."""


class InvalidInfo(EnvalignError, ValueError):
    """A step's ``info`` does not follow the schema of DESIGN.md."""


class ConfigError(EnvalignError, ValueError):
    """A configuration field holds a value that cannot work."""


class DependencyNotInstalled(EnvalignError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str = "") -> None:
        why = f" to {purpose}" if purpose else ""
        super().__init__(
            f"{package} is needed{why} but is not installed. "
            f'Install it with: pip install "envalign[{extra}]"'
        )
        self.package = package
        self.extra = extra


class SandboxUnavailable(EnvalignError, RuntimeError):
    """No sandbox backend can run code here (no Docker engine, no image...)."""


class SandboxError(EnvalignError, RuntimeError):
    """A sandbox session failed in a way the caller must know about."""


class ConformanceError(EnvalignError, AssertionError):
    """An environment breaks the platform's conventions (raised by ``envalign.envs.check``)."""


class UnreadableInput(EnvalignError, ValueError):
    """A file given to envalign (episode records, a run's metrics) is missing, empty or malformed."""


class RolloutWorkerLost(EnvalignError, RuntimeError):
    """Episodes kept losing their Ray env worker; the message says which and what to check."""
