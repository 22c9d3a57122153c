"""Optional libraries of the external families: whether each is installed, and a clear error if not."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from envalign.envs.errors import DependencyNotInstalled


def installed(module: str) -> bool:
    """Return whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, *, package: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`DependencyNotInstalled` with the ``pip install`` to run.

    Args:
        module: Import name (``pyspiel``).
        package: Distribution to install (``open-spiel``).
        extra: envalign's extra that pins it (``openspiel``).
        purpose: What it is needed for, shown in the error.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise DependencyNotInstalled(package, extra, purpose) from error


def availability(module: str, extra: str) -> str:
    """Return the note ``envalign list`` appends: empty when installed, the extra to install if not."""
    return "" if installed(module) else f' [needs pip install "envalign[{extra}]"]'
