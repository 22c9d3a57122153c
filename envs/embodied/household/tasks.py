"""ALFWorld's six task types, their seeded generation, goal tests and sub-goals.

Task types: ``pick_and_place``, ``pick_clean_then_place``, ``pick_heat_then_place``,
``pick_cool_then_place``, ``look_at_obj_in_light`` and ``pick_two_obj_and_place``.

Sub-goals (each rewarded once per episode, see :data:`SUBGOAL_REWARD`):

* ``found``: the agent first takes an object of the task's kind;
* ``transformed``: an object of that kind first gets the required state (clean, hot or cold tasks);
* ``sliced``: an object of that kind is first sliced (tasks that ask for a sliced object);
* ``first_placed``: the first of the two objects is in place (pick-two tasks).

On success ``goal`` pays the rest of 1.0, so a solved episode returns exactly 1.0 and an unsolved
one at most 0.3.

As in ALFRED, a task may ask for a sliced object ("put a sliced apple in fridge."): the agent must
take a knife and slice the object where it lies before taking it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from envalign.envs.embodied.household.world import (
    OBJECT_KINDS,
    ROOMS,
    World,
    build_furniture,
    place_lamp,
    spots_for,
)

TASK_TYPES = (
    "pick_and_place",
    "pick_clean_then_place",
    "pick_heat_then_place",
    "pick_cool_then_place",
    "look_at_obj_in_light",
    "pick_two_obj_and_place",
)
#: What each transforming task asks: ``type -> (ability, state attribute, appliance kind)``.
TRANSFORMS = {
    "pick_clean_then_place": ("clean", "clean", "sinkbasin"),
    "pick_heat_then_place": ("heat", "hot", "microwave"),
    "pick_cool_then_place": ("cool", "cold", "fridge"),
}
TEMPLATES = {
    "pick_and_place": ("put a {obj} in {recep}.", "put some {obj} on {recep}."),
    "pick_clean_then_place": (
        "put a clean {obj} in {recep}.",
        "clean some {obj} and put it in {recep}.",
    ),
    "pick_heat_then_place": (
        "put a hot {obj} in {recep}.",
        "heat some {obj} and put it in {recep}.",
    ),
    "pick_cool_then_place": (
        "put a cool {obj} in {recep}.",
        "cool some {obj} and put it in {recep}.",
    ),
    "look_at_obj_in_light": (
        "look at {obj} under the {lamp}.",
        "examine the {obj} with the {lamp}.",
    ),
    "pick_two_obj_and_place": (
        "put two {obj} in {recep}.",
        "find two {obj} and put them in {recep}.",
    ),
}
#: Small things one holds under a lamp to examine.
LOOK_KINDS = (
    "alarmclock",
    "book",
    "bowl",
    "cd",
    "cellphone",
    "creditcard",
    "keychain",
    "mug",
    "pen",
    "pencil",
    "pillow",
    "remotecontrol",
    "statue",
    "vase",
)
SUBGOAL_REWARD = 0.1
AN_BEFORE_VOWEL = re.compile(r"\ba (?=[aeiou])")
SLICED_CHANCE = 0.3
DISTRACTORS = (10, 18)


@dataclass(frozen=True)
class Task:
    """A generated task: its type, the object kind, where it must go and how it reads."""

    type: str
    object_kind: str
    target_kind: str
    text: str
    needed: int = 1
    sliced: bool = False

    @property
    def required_state(self) -> str | None:
        """``"clean"``, ``"hot"``, ``"cold"`` or ``None``."""
        return TRANSFORMS[self.type][1] if self.type in TRANSFORMS else None

    @property
    def subgoals(self) -> tuple[str, ...]:
        """The sub-goals this task rewards, in the order they are usually met."""
        names = ["sliced"] if self.sliced else []
        names.append("found")
        if self.required_state:
            names.append("transformed")
        if self.needed > 1:
            names.append("first_placed")
        return tuple(names)


def generate(seed: int) -> tuple[World, Task]:
    """Build the house and the task of ``seed`` (the same seed always gives the same pair)."""
    rng = random.Random(seed)
    receptacles = build_furniture(rng)
    world = World(receptacles, {}, place_lamp(rng, receptacles), start_room=rng.choice(ROOMS))
    task = _draw_task(rng, world)
    _place_task_objects(rng, world, task)
    _place_distractors(rng, world, task)
    for receptacle in world.receptacles.values():
        receptacle.is_open = False
    return world, task


def _draw_task(rng: random.Random, world: World) -> Task:
    task_type = rng.choice(TASK_TYPES)
    if task_type == "look_at_obj_in_light":
        kind = rng.choice(LOOK_KINDS)
        text = rng.choice(TEMPLATES[task_type]).format(obj=kind, lamp=world.lamp.kind)
        return Task(task_type, kind, "", text)
    ability, _, appliance = TRANSFORMS.get(task_type, ("", "", ""))
    present = world.kinds_present()
    options = [
        (kind, target)
        for kind, spec in sorted(OBJECT_KINDS.items())
        if not ability or ability in spec.abilities
        for target in spec.places
        if target in present and target != appliance and target != "garbagecan"
    ]
    kind, target = rng.choice(options)
    needed = 2 if task_type == "pick_two_obj_and_place" else 1
    sliced = "slice" in OBJECT_KINDS[kind].abilities and rng.random() < SLICED_CHANCE
    name = f"sliced {kind}" if sliced else kind
    text = AN_BEFORE_VOWEL.sub(
        "an ", rng.choice(TEMPLATES[task_type]).format(obj=name, recep=target)
    )
    return Task(task_type, kind, target, text, needed, sliced)


def _place_task_objects(rng: random.Random, world: World, task: Task) -> None:
    """Put enough objects of the task's kind in the house, none already where they must go."""
    excluded = frozenset({task.target_kind}) if task.target_kind else frozenset()
    spots = spots_for(world, task.object_kind, excluded)
    for _ in range(rng.randint(task.needed, task.needed + 1)):
        world.add_item(task.object_kind, rng.choice(spots))
    if task.sliced:
        world.add_item("knife", rng.choice(spots_for(world, "knife")))


def _place_distractors(rng: random.Random, world: World, task: Task) -> None:
    kinds = sorted(kind for kind in OBJECT_KINDS if kind != task.object_kind)
    for _ in range(rng.randint(*DISTRACTORS)):
        kind = rng.choice(kinds)
        spots = spots_for(world, kind)
        if spots:
            world.add_item(kind, rng.choice(spots))


def qualifies(world: World, task: Task, item_name: str) -> bool:
    """Whether an object is of the task's kind and in the required state (and sliced if asked)."""
    item = world.items[item_name]
    state = task.required_state
    return (
        item.kind == task.object_kind
        and (state is None or getattr(item, state))
        and (item.sliced or not task.sliced)
    )


def placed_count(world: World, task: Task) -> int:
    """How many qualifying objects are in receptacles of the target kind."""
    return sum(
        1
        for item in world.items.values()
        if item.location in world.receptacles
        and world.receptacles[item.location].kind == task.target_kind
        and qualifies(world, task, item.name)
    )


def is_solved(world: World, task: Task) -> bool:
    """The goal test of ALFWorld's task types."""
    if task.type == "look_at_obj_in_light":
        held = world.held()
        return world.lamp.on and held is not None and held.kind == task.object_kind
    return placed_count(world, task) >= task.needed


def reached_subgoals(world: World, task: Task) -> set[str]:
    """The sub-goals that hold in the current state (the environment rewards each once)."""
    reached = set()
    held = world.held()
    if held is not None and held.kind == task.object_kind:
        reached.add("found")
    state = task.required_state
    if state and any(
        item.kind == task.object_kind and getattr(item, state) for item in world.items.values()
    ):
        reached.add("transformed")
    if task.sliced and any(
        item.kind == task.object_kind and item.sliced for item in world.items.values()
    ):
        reached.add("sliced")
    if task.needed > 1 and placed_count(world, task) >= 1:
        reached.add("first_placed")
    return reached
