"""Pick a task by id for ``reset(options={...})`` in the tool environments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def pick_by_id(items: Iterable[T], wanted: object, option: str) -> T:
    """Return the item whose ``id`` is ``wanted`` (for ``reset(options={option: ...})``).

    Raises:
        KeyError: Naming a few valid ids.
    """
    items = list(items)
    for item in items:
        if getattr(item, "id", None) == wanted:
            return item
    examples = ", ".join(repr(getattr(item, "id", "")) for item in items[:3])
    raise KeyError(f"No task with {option}={wanted!r}; valid ids look like {examples}.")
