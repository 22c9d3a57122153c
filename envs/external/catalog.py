"""Registrations of the external families, one catalog per library."""

from __future__ import annotations

import importlib

CATALOGS = (
    "envalign.envs.external.openspiel.catalog",
    "envalign.envs.external.scienceworld.catalog",
    "envalign.envs.external.textworld.catalog",
    "envalign.envs.external.textarena.catalog",
)


def register_all() -> None:
    """Register every external family (whether or not its library is installed)."""
    for name in CATALOGS:
        importlib.import_module(name).register_all()
