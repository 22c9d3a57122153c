"""The planner oracle: reads the hidden state and returns the next command of a shortest plan.

It replans from the current state at every step, so it also recovers from a state another policy
left (an object in hand, an open door). Every command it returns is admissible.
"""

from __future__ import annotations

from envalign.envs.embodied.household.commands import APPLIANCES
from envalign.envs.embodied.household.tasks import TRANSFORMS, Task, qualifies
from envalign.envs.embodied.household.world import HELD, Item, World


def next_command(world: World, task: Task) -> str:
    """Return the next command towards solving ``task``."""
    held = world.held()
    if task.sliced and not (held is not None and held.kind == task.object_kind):
        command = _slicing_step(world, task)
        if command is not None:
            return command
    if task.type == "look_at_obj_in_light":
        if held is not None and held.kind == task.object_kind:
            return _reach(world, world.lamp.at) or f"use {world.lamp.name}"
        return _put_down_or_fetch(world, task)
    if (
        held is not None
        and held.kind == task.object_kind
        and not _already_placed(world, task, held.name)
    ):
        if not qualifies(world, task, held.name):
            verb = TRANSFORMS[task.type][0]
            appliance = _nearest(world, APPLIANCES[verb])
            return (
                _reach(world, appliance, need_open=False) or f"{verb} {held.name} with {appliance}"
            )
        target = _nearest(world, task.target_kind)
        return _reach(world, target) or f"put {held.name} in/on {target}"
    return _put_down_or_fetch(world, task)


def _slicing_step(world: World, task: Task) -> str | None:
    """Fetch a knife and slice an object of the task's kind, unless a sliced one is waiting."""
    unplaced = [
        item
        for item in world.items.values()
        if item.kind == task.object_kind and not _already_placed(world, task, item.name)
    ]
    if any(item.sliced for item in unplaced):
        return None  # a held knife is put down by _put_down_or_fetch
    held = world.held()
    if held is None:
        knife = next(item for item in world.items.values() if item.kind == "knife")
        return _reach(world, knife.location) or f"take {knife.name} from {knife.location}"
    if held.kind != "knife":
        return None
    target = min(unplaced, key=lambda item: item.name)
    return _reach(world, target.location) or f"slice {target.name} with {held.name}"


def _put_down_or_fetch(world: World, task: Task) -> str:
    held = world.held()
    if held is not None:  # something useless in hand: put it down where we are (or nearby)
        here = world.agent_at if world.agent_at in world.receptacles else None
        spot = here if here is not None else next(iter(world.receptacles))
        return _reach(world, spot) or f"put {held.name} in/on {spot}"
    item = _wanted_item(world, task)
    return _reach(world, item.location) or f"take {item.name} from {item.location}"


def _wanted_item(world: World, task: Task) -> Item:
    candidates = [
        item
        for item in world.items.values()
        if item.kind == task.object_kind
        and item.location != HELD
        and not _already_placed(world, task, item.name)
        and (item.sliced or not task.sliced)
    ]
    # Prefer objects already in the required state, then the first by name (deterministic).
    candidates.sort(key=lambda item: (not qualifies(world, task, item.name), item.name))
    return candidates[0]


def _already_placed(world: World, task: Task, item_name: str) -> bool:
    location = world.items[item_name].location
    return (
        bool(task.target_kind)
        and location in world.receptacles
        and world.receptacles[location].kind == task.target_kind
        and qualifies(world, task, item_name)
    )


def _nearest(world: World, kind: str) -> str:
    """The receptacle of ``kind`` to use: the one the agent is at, else the first by number."""
    if world.agent_at and world.receptacles[world.agent_at].kind == kind:
        return world.agent_at
    return next(name for name, r in world.receptacles.items() if r.kind == kind)


def _reach(world: World, receptacle: str, need_open: bool = True) -> str | None:
    """The command that brings the agent to an accessible ``receptacle``, or ``None`` if there."""
    if world.agent_at != receptacle:
        return f"go to {receptacle}"
    if need_open and not world.receptacles[receptacle].accessible:
        return f"open {receptacle}"
    return None
