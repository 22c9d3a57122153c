"""Plugin loading: third-party packages add environments through the ``envalign.envs`` entry points.

A plugin declares, in its ``pyproject.toml``::

    [project.entry-points."envalign.envs"]
    my_envs = "my_package.envs:register_envs"

``register_envs`` is called once, as soon as ``envalign.envs`` has been imported (``import envalign``
makes that happen when Gymnasium or PettingZoo is imported, so their registries know the plugin's
ids) or the catalog is first read; it calls ``envalign.envs.register(...)``. A plugin that fails to
load is reported with a one-line :class:`PluginWarning` naming it and the fix, and skipped, so one
broken package never hides the others.
"""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint, entry_points

from envalign.envs.registry import registered_by
from envalign.errors import EnvalignError

GROUP = "envalign.envs"


class PluginWarning(RuntimeWarning):
    """A plugin failed to register its environments; the message is one line naming the fix."""


_format_warning = warnings.formatwarning


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """Show a :class:`PluginWarning` as one line (no file, no source line); others as usual."""
    if issubclass(category, PluginWarning):
        return f"warning: {message}\n"
    return _format_warning(message, category, filename, lineno, line)


_loaded = False
failures: dict[str, str] = {}


def load_plugins(*, reload: bool = False) -> None:
    """Call every ``envalign.envs`` entry point once (again if ``reload``)."""
    global _loaded
    if _loaded and not reload:
        return
    _loaded = True
    for entry in entry_points(group=GROUP):
        _load_one(entry)


def _load_one(entry: EntryPoint) -> None:
    source = entry.dist.name if entry.dist is not None else entry.value
    try:
        with registered_by(source):
            target = entry.load()
            if callable(target):
                target()
    except Exception as error:  # a broken plugin must not break the platform
        failures[entry.name] = f"{type(error).__name__}: {error}"
        detail = (
            str(error) if isinstance(error, EnvalignError) else f"{type(error).__name__}: {error}"
        )
        warnings.formatwarning = _one_line_warning
        warnings.warn(
            f"envalign plugin '{entry.name}' ({entry.value}, from {source}) was skipped: "
            f"{' '.join(detail.split())}",
            PluginWarning,
            stacklevel=2,
        )
