"""The built-in environments: each family registers its own in ``<family>/catalog.py``.

Entry points are ``"module:attr"`` strings, so registering costs no import of the environments' code.
Adding an environment touches its own file plus one ``register(...)`` line in its family's catalog.
"""

from __future__ import annotations

import importlib

FAMILY_CATALOGS = (
    "envalign.envs.reasoning.catalog",
    "envalign.envs.social.catalog",
    "envalign.envs.tools.catalog",
    "envalign.envs.embodied.catalog",
    "envalign.envs.external.catalog",
)


def register_builtins() -> None:
    """Register every environment that ships with envalign."""
    for name in FAMILY_CATALOGS:
        importlib.import_module(name).register_all()
