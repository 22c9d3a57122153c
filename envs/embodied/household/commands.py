"""The household's commands: which are admissible in a state, and what each one does.

Commands follow ALFWorld's wording: ``go to X``, ``open X``, ``close X``, ``take Y from X``,
``put Y in/on X``, ``clean Y with X``, ``heat Y with X``, ``cool Y with X``, ``slice Y with K``,
``use L``, ``examine Y``, ``look`` and ``inventory``. :func:`admissible_commands` maps each admissible
command's text to an operation; :func:`execute` applies one and returns the textual feedback.
"""

from __future__ import annotations

from collections.abc import Callable

from envalign.envs.embodied.household.world import HELD, World, with_article

Operation = tuple[str, ...]
#: First words of commands; a reply that starts with one but is not admissible gets "Nothing happens."
VERBS = frozenset(
    "go open close take put clean heat cool slice use examine look inventory move pick turn".split()
)
APPLIANCES = {"clean": "sinkbasin", "heat": "microwave", "cool": "fridge"}


def _listing(names: list[str]) -> str:
    if not names:
        return "nothing"
    items = [with_article(name) for name in names]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])}, and {items[-1]}"


def describe_receptacle(world: World, name: str) -> str:
    """What the agent sees at a receptacle: its contents, or that it is closed."""
    receptacle = world.receptacles[name]
    if not receptacle.accessible:
        return f"The {name} is closed."
    contents = [item.describe() for item in world.contents(name)]
    if world.lamp.at == name:
        contents.append(world.lamp.name)
    opening = (
        "In" if receptacle.openable or receptacle.kind in ("sinkbasin", "garbagecan") else "On"
    )
    state = f"The {name} is open. " if receptacle.openable else ""
    return f"{state}{opening} the {name}, you see {_listing(contents)}."


def admissible_commands(world: World) -> dict[str, Operation]:
    """Return ``command text -> operation`` for every command that does something now."""
    commands: dict[str, Operation] = {}
    for name in world.receptacles:
        if name != world.agent_at:
            commands[f"go to {name}"] = ("go", name)
    here = world.receptacles.get(world.agent_at or "")
    held = world.held()
    if here is not None:
        _here_commands(world, commands)
    if held is not None:
        commands[f"examine {held.name}"] = ("examine", held.name)
    commands["look"] = ("look",)
    commands["inventory"] = ("inventory",)
    return dict(sorted(commands.items()))


def _here_commands(world: World, commands: dict[str, Operation]) -> None:
    here = world.receptacles[world.agent_at or ""]
    if here.openable:
        verb = "close" if here.is_open else "open"
        commands[f"{verb} {here.name}"] = (verb, here.name)
    commands[f"examine {here.name}"] = ("examine", here.name)
    if world.lamp.at == here.name:
        commands[f"use {world.lamp.name}"] = ("use", world.lamp.name)
    item = world.held()
    for verb, appliance in APPLIANCES.items():  # appliances work closed, as in ALFWorld
        if item is not None and here.kind == appliance and item.can(verb):
            commands[f"{verb} {item.name} with {here.name}"] = (verb, item.name, here.name)
    if not here.accessible:
        return
    visible = world.contents(here.name)
    if item is None:
        for thing in visible:
            commands[f"take {thing.name} from {here.name}"] = ("take", thing.name, here.name)
        return
    commands[f"put {item.name} in/on {here.name}"] = ("put", item.name, here.name)
    if item.kind == "knife":
        for thing in visible:
            if thing.can("slice") and not thing.sliced:
                commands[f"slice {thing.name} with {item.name}"] = ("slice", thing.name, item.name)


def execute(world: World, operation: Operation) -> str:
    """Apply an admissible operation to ``world`` and return the feedback text."""
    verb, *args = operation
    return HANDLERS[verb](world, *args)


def _go(world: World, name: str) -> str:
    world.agent_at = name
    room = world.receptacles[name].room
    return f"You arrive at {name} in the {room}. {describe_receptacle(world, name)}"


def _open(world: World, name: str) -> str:
    world.receptacles[name].is_open = True
    contents = [item.describe() for item in world.contents(name)]
    return f"You open the {name}. The {name} is open. In it, you see {_listing(contents)}."


def _close(world: World, name: str) -> str:
    world.receptacles[name].is_open = False
    return f"You close the {name}."


def _take(world: World, item: str, receptacle: str) -> str:
    world.items[item].location = HELD
    world.holding = item
    return f"You pick up the {item} from the {receptacle}."


def _put(world: World, item: str, receptacle: str) -> str:
    world.items[item].location = receptacle
    world.holding = None
    return f"You put the {item} in/on the {receptacle}."


def _transform(verb: str) -> Callable[[World, str, str], str]:
    def handler(world: World, item: str, appliance: str) -> str:
        thing = world.items[item]
        if verb == "clean":
            thing.clean = True
        elif verb == "heat":
            thing.hot, thing.cold = True, False
        else:
            thing.cold, thing.hot = True, False
        return f"You {verb} the {item} using the {appliance}."

    return handler


def _slice(world: World, item: str, knife: str) -> str:
    world.items[item].sliced = True
    return f"You slice the {item} with the {knife}."


def _use(world: World, lamp: str) -> str:
    world.lamp.on = True
    return f"You turn on the {lamp}."


def _examine(world: World, name: str) -> str:
    if name in world.items:
        item = world.items[name]
        states = [s for s in ("clean", "hot", "cold", "sliced") if getattr(item, s)]
        looks = f"It is {' and '.join(states)}." if states else "Nothing special about it."
        return f"This is {with_article(name)}. {looks}"
    return describe_receptacle(world, name)


def _look(world: World) -> str:
    if world.agent_at is None:
        return f"You are in the middle of the {world.start_room}. Go to a receptacle to act."
    room = world.receptacles[world.agent_at].room
    return f"You are facing the {world.agent_at} in the {room}. {describe_receptacle(world, world.agent_at)}"


def _inventory(world: World) -> str:
    held = world.held()
    return (
        f"You are carrying: {with_article(held.describe())}."
        if held
        else "You are not carrying anything."
    )


HANDLERS: dict[str, Callable[..., str]] = {
    "go": _go,
    "open": _open,
    "close": _close,
    "take": _take,
    "put": _put,
    "clean": _transform("clean"),
    "heat": _transform("heat"),
    "cool": _transform("cool"),
    "slice": _slice,
    "use": _use,
    "examine": _examine,
    "look": _look,
    "inventory": _inventory,
}
