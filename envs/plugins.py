"""Plugin loading: third-party packages add environments through the ``envalign.envs`` entry points.

A plugin declares, in its ``pyproject.toml``::

    [project.entry-points."envalign.envs"]
    my_envs = "my_package.envs:register_envs"

``register_envs`` is called once, the first time the catalog is read; it calls
``envalign.envs.register(...)``. A plugin that fails to load is reported with a warning and skipped, so
one broken package never hides the others.
"""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint, entry_points

from envalign.envs.registry import registered_by

GROUP = "envalign.envs"
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
        warnings.warn(
            f"envalign plugin '{entry.name}' ({entry.value}) failed to load: {error}",
            RuntimeWarning,
            stacklevel=2,
        )
