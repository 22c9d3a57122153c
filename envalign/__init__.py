"""envalign: align LLM agents through environment feedback.

The front door is small: :func:`make`, :func:`list_envs`, :func:`simulate` and :func:`train`.
Everything else is imported from its room (``envalign.envs``, ``envalign.agents``,
``envalign.sandbox``, ``envalign.training``).

Importing this package imports no room (PEP 562 ``__getattr__`` loads them on first use), so
``import envalign.sandbox`` stays as light as the sandbox itself. Gymnasium and PettingZoo still
know every envalign and plugin environment after ``import envalign``: once either of them is
imported (or at once, if one already is), ``envalign.envs`` registers the built-in environments
and calls the plugins' ``envalign.envs`` entry points.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envalign.envs import list_envs, make, register, spec
    from envalign.training.rollout import SimulationResult

__version__ = "0.1.0"

_FRONT_DOOR = {name: "envalign.envs" for name in ("list_envs", "make", "register", "spec")}
_ROOMS = ("envs", "agents", "sandbox", "training", "errors", "cli")
#: Importing one of these makes envalign's environments known to its registry.
_UPSTREAM = ("gymnasium", "pettingzoo")


def __getattr__(name: str) -> Any:
    """Load the front door's functions and the rooms on first use."""
    if name in _FRONT_DOOR:
        value = getattr(importlib.import_module(_FRONT_DOOR[name]), name)
        globals()[name] = value
        return value
    if name in _ROOMS:
        return importlib.import_module(f"envalign.{name}")
    raise AttributeError(f"module 'envalign' has no attribute {name!r}")


def simulate(env_id: str, policies: Any = "random", **kwargs: Any) -> SimulationResult:
    """Run episodes of ``env_id`` with the given policies; see ``envalign.training.rollout.simulate``."""
    from envalign.training.rollout import simulate as run_simulation

    return run_simulation(env_id, policies, **kwargs)


def train(config: Any) -> Any:
    """Train a policy from environment rewards; see ``envalign.training.trainer.train``."""
    from envalign.training.trainer import train as run_training

    return run_training(config)


def _load_plugins() -> None:
    """Call the plugins' entry points (``envalign.envs`` has just finished importing)."""
    from envalign.envs.plugins import load_plugins

    load_plugins()


def _register_environments() -> None:
    """Import ``envalign.envs`` (built-ins register; its import hook then loads plugins)."""
    if "envalign.envs" in sys.modules:
        return  # imported already, or importing now: its own completion loads the plugins
    try:
        importlib.import_module("envalign.envs")
    except Exception as error:  # never break the user's `import gymnasium`
        warnings.warn(f"envalign could not register its environments: {error}", stacklevel=2)


class _AfterImport(importlib.abc.Loader):
    """Runs a module's own loader, then a callback."""

    def __init__(self, loader: importlib.abc.Loader, callback: Any) -> None:
        self.loader = loader
        self.callback = callback

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        self.callback()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)  # get_resource_reader, is_package...


class _RegistryHook(importlib.abc.MetaPathFinder):
    """Registers envalign's environments when Gymnasium or PettingZoo is imported.

    Registration stays where it belongs (``envalign.envs``); this only decides *when*: after the
    upstream package has finished importing, and plugins after ``envalign.envs`` has.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "envalign.envs":
            callback: Any = _load_plugins
        elif fullname in _UPSTREAM:
            callback = _register_environments
        else:
            return None
        sys.meta_path.remove(self)
        try:
            found = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if found is None or found.loader is None:
            return found
        found.loader = _AfterImport(found.loader, callback)
        return found


if not any(isinstance(finder, _RegistryHook) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegistryHook())
if any(name in sys.modules for name in _UPSTREAM):
    _register_environments()

__all__ = ["__version__", "list_envs", "make", "register", "simulate", "spec", "train"]
