"""The household's furniture and objects, and the seeded generation of a house.

A house has four rooms (kitchen, living room, bedroom, bathroom) with numbered receptacles
("cabinet 3"), some of which open and close, one lamp, and objects placed where such objects belong.
Objects carry the states ALFWorld's tasks need: clean, hot, cold and sliced.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

ROOMS = ("kitchen", "living room", "bedroom", "bathroom")
HELD = "<held>"

#: Receptacle kinds per room: ``kind -> (fewest, most)`` instances.
ROOM_FURNITURE: dict[str, dict[str, tuple[int, int]]] = {
    "kitchen": {
        "fridge": (1, 1),
        "microwave": (1, 1),
        "sinkbasin": (1, 1),
        "stoveburner": (1, 2),
        "countertop": (1, 2),
        "cabinet": (2, 3),
        "drawer": (1, 2),
        "diningtable": (1, 1),
        "coffeemachine": (1, 1),
        "garbagecan": (1, 1),
    },
    "living room": {
        "sofa": (1, 1),
        "armchair": (1, 1),
        "coffeetable": (1, 1),
        "shelf": (1, 2),
        "sidetable": (1, 1),
        "tvstand": (1, 1),
    },
    "bedroom": {
        "bed": (1, 1),
        "desk": (1, 1),
        "dresser": (1, 1),
        "drawer": (1, 2),
        "shelf": (1, 1),
        "sidetable": (1, 1),
        "garbagecan": (1, 1),
    },
    "bathroom": {
        "sinkbasin": (1, 1),
        "countertop": (1, 1),
        "cabinet": (1, 2),
        "toilet": (1, 1),
        "towelholder": (1, 1),
        "garbagecan": (1, 1),
    },
}
OPENABLE = frozenset({"fridge", "microwave", "cabinet", "drawer"})

KITCHEN_SURFACES = ("countertop", "diningtable")
ROOM_SURFACES = ("shelf", "desk", "sidetable", "dresser", "coffeetable", "tvstand")


def with_article(name: str) -> str:
    """``"a mug 1"``, ``"an apple 1"``."""
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


@dataclass(frozen=True)
class ObjectKind:
    """What an object kind allows: ``clean``, ``heat``, ``cool``, ``slice`` and where it may lie."""

    abilities: frozenset[str]
    places: tuple[str, ...]


def _kind(abilities: str, *places: str) -> ObjectKind:
    return ObjectKind(frozenset(abilities.split()), places)


OBJECT_KINDS: dict[str, ObjectKind] = {
    "apple": _kind("clean heat cool slice", *KITCHEN_SURFACES, "fridge", "garbagecan"),
    "tomato": _kind("clean heat cool slice", *KITCHEN_SURFACES, "fridge", "garbagecan"),
    "potato": _kind("clean heat cool slice", *KITCHEN_SURFACES, "fridge", "cabinet"),
    "bread": _kind("heat cool slice", *KITCHEN_SURFACES, "fridge", "cabinet"),
    "egg": _kind("heat cool", *KITCHEN_SURFACES, "fridge", "garbagecan"),
    "lettuce": _kind("clean cool slice", *KITCHEN_SURFACES, "fridge"),
    "mug": _kind("clean heat cool", *KITCHEN_SURFACES, "cabinet", "coffeemachine", "shelf", "desk"),
    "cup": _kind("clean heat cool", *KITCHEN_SURFACES, "cabinet", "fridge", "shelf"),
    "plate": _kind("clean heat cool", *KITCHEN_SURFACES, "cabinet", "fridge", "shelf"),
    "bowl": _kind("clean heat cool", *KITCHEN_SURFACES, "cabinet", "fridge", "shelf"),
    "pan": _kind("clean cool", "stoveburner", "countertop", "cabinet"),
    "knife": _kind("clean", *KITCHEN_SURFACES, "drawer"),
    "spoon": _kind("clean", *KITCHEN_SURFACES, "drawer"),
    "cloth": _kind("clean", "countertop", "cabinet", "drawer", "towelholder"),
    "soapbar": _kind("clean", "countertop", "cabinet", "toilet", "sinkbasin"),
    "book": _kind("", *ROOM_SURFACES, "bed", "sofa", "drawer"),
    "cellphone": _kind("", *ROOM_SURFACES, "bed", "sofa", "drawer"),
    "keychain": _kind("", *ROOM_SURFACES, "drawer", "coffeetable"),
    "creditcard": _kind("", *ROOM_SURFACES, "drawer", "armchair"),
    "remotecontrol": _kind("", *ROOM_SURFACES, "sofa", "armchair"),
    "pen": _kind("", *ROOM_SURFACES, "drawer"),
    "pencil": _kind("", *ROOM_SURFACES, "drawer"),
    "cd": _kind("", *ROOM_SURFACES, "drawer", "garbagecan"),
    "alarmclock": _kind("", *ROOM_SURFACES),
    "pillow": _kind("", "bed", "sofa", "armchair"),
    "vase": _kind("", "shelf", "coffeetable", "tvstand", "sidetable", "diningtable"),
    "statue": _kind("", "shelf", "coffeetable", "tvstand", "sidetable", "desk"),
    "candle": _kind("", "countertop", "shelf", "toilet", "cabinet", "sidetable"),
    "toiletpaper": _kind("", "toilet", "countertop", "cabinet", "garbagecan"),
    "spraybottle": _kind("", "toilet", "countertop", "cabinet", "garbagecan"),
}
#: Lamps and the receptacles they stand on or beside.
LAMP_PLACES = {"desklamp": ("desk", "sidetable"), "floorlamp": ("armchair", "sofa")}


@dataclass
class Receptacle:
    """A numbered piece of furniture or appliance that holds objects."""

    name: str
    kind: str
    room: str
    openable: bool
    is_open: bool = False

    @property
    def accessible(self) -> bool:
        """Whether its contents can be seen and reached (open, or never closed)."""
        return self.is_open or not self.openable


@dataclass
class Item:
    """A numbered object with the states tasks ask for."""

    name: str
    kind: str
    location: str
    clean: bool = False
    hot: bool = False
    cold: bool = False
    sliced: bool = False

    def can(self, ability: str) -> bool:
        """Whether the object can be cleaned / heated / cooled / sliced."""
        return ability in OBJECT_KINDS[self.kind].abilities

    def describe(self) -> str:
        """Return ``"apple 1"`` with its states, e.g. ``"apple 1 (clean, sliced)"``."""
        states = [state for state in ("clean", "hot", "cold", "sliced") if getattr(self, state)]
        return f"{self.name} ({', '.join(states)})" if states else self.name


@dataclass
class Lamp:
    """The house's lamp, standing at a receptacle; ``use`` turns it on."""

    name: str
    kind: str
    at: str
    on: bool = False


@dataclass
class World:
    """The whole state of a house: furniture, objects, the lamp and the agent."""

    receptacles: dict[str, Receptacle]
    items: dict[str, Item]
    lamp: Lamp
    agent_at: str | None = None
    holding: str | None = None
    start_room: str = "kitchen"
    counts: dict[str, int] = field(default_factory=dict)

    def contents(self, receptacle: str) -> list[Item]:
        """Objects in ``receptacle``, in a stable order."""
        return [item for item in self.items.values() if item.location == receptacle]

    def held(self) -> Item | None:
        """The object in the agent's hand, if any."""
        return self.items[self.holding] if self.holding else None

    def kinds_present(self) -> set[str]:
        """Receptacle kinds that exist in this house."""
        return {receptacle.kind for receptacle in self.receptacles.values()}

    def add_item(self, kind: str, location: str) -> Item:
        """Place a new object of ``kind`` (numbered after those of its kind) at ``location``."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        item = Item(f"{kind} {self.counts[kind]}", kind, location)
        self.items[item.name] = item
        return item


def build_furniture(rng: random.Random) -> dict[str, Receptacle]:
    """Draw how many of each receptacle every room has; numbers run across the house."""
    receptacles: dict[str, Receptacle] = {}
    numbers: dict[str, int] = {}
    for room in ROOMS:
        for kind, (fewest, most) in ROOM_FURNITURE[room].items():
            for _ in range(rng.randint(fewest, most)):
                numbers[kind] = numbers.get(kind, 0) + 1
                name = f"{kind} {numbers[kind]}"
                receptacles[name] = Receptacle(name, kind, room, kind in OPENABLE)
    return receptacles


def place_lamp(rng: random.Random, receptacles: dict[str, Receptacle]) -> Lamp:
    """Stand one lamp (a desk lamp or a floor lamp) at a receptacle that suits it."""
    kind = rng.choice(sorted(LAMP_PLACES))
    spots = [name for name, r in receptacles.items() if r.kind in LAMP_PLACES[kind]]
    return Lamp(f"{kind} 1", kind, rng.choice(spots))


def spots_for(world: World, kind: str, excluded_kinds: frozenset[str] = frozenset()) -> list[str]:
    """Receptacles where an object of ``kind`` may lie, leaving out ``excluded_kinds``."""
    places = OBJECT_KINDS[kind].places
    return [
        name
        for name, receptacle in world.receptacles.items()
        if receptacle.kind in places and receptacle.kind not in excluded_kinds
    ]
