"""CoopKitchen-v0: an Overcooked-style kitchen for two cooks who can only succeed together."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from envalign.envs.core import ActContext, TextParallelEnv, read_action
from envalign.envs.embodied.text_matching import match_action, unmatched_feedback
from envalign.envs.info import step_info
from envalign.envs.spaces import multi_agent_observation

AGENTS = ("agent_0", "agent_1")
MARKS = {"agent_0": "A", "agent_1": "B"}
#: The kitchen: a pass counter (``|``) splits it; the left cook has the crates and the chopping
#: boards, the right cook the plates, the stove and the serving window.
LAYOUT = (
    "#TO#P##",
    "K..|..S",
    "K..|..#",
    "#..|..W",
    "#L#####",
)
STARTS = {"agent_0": (2, 1), "agent_1": (2, 5)}
LEGEND = (
    "# wall, . floor, | pass counter, T tomato crate, O onion crate, L lettuce crate, "
    "K chopping board, P plate rack, S stove with a pot, W serving window"
)
CRATES = {"T": "tomato", "O": "onion", "L": "lettuce"}
HOLDERS = frozenset("|K")  # tiles that hold one item
DIRECTIONS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
COMMANDS = ("move up", "move down", "move left", "move right", "interact", "wait")
ALIASES = {
    "up": "move up",
    "go up": "move up",
    "north": "move up",
    "down": "move down",
    "go down": "move down",
    "south": "move down",
    "left": "move left",
    "go left": "move left",
    "west": "move left",
    "right": "move right",
    "go right": "move right",
    "east": "move right",
    "use": "interact",
    "pick up": "interact",
    "put down": "interact",
    "chop": "interact",
    "serve": "interact",
    "stay": "wait",
    "noop": "wait",
    "do nothing": "wait",
}
#: The standard recipes and the plate each one is served on.
RECIPES = {
    "tomato soup": ("tomato soup",),
    "onion soup": ("onion soup",),
    "salad": ("lettuce", "tomato"),
}
RECIPE_HELP = {
    "tomato soup": "2 chopped tomatoes cooked in the pot, served on a plate",
    "onion soup": "2 chopped onions cooked in the pot, served on a plate",
    "salad": "chopped lettuce and chopped tomato on a plate",
}
SOUP_INGREDIENTS = frozenset({"tomato", "onion"})
CHOP_STEPS, COOK_STEPS, POT_SIZE = 2, 3, 2
SERVED_REWARD, PROGRESS_REWARD = 1.0, 0.1
TILE_COLORS = {
    "#": (90, 90, 90),
    ".": (230, 220, 200),
    "|": (170, 120, 70),
    "T": (220, 60, 50),
    "O": (200, 170, 90),
    "L": (90, 180, 70),
    "K": (200, 200, 170),
    "P": (240, 240, 240),
    "S": (60, 60, 70),
    "W": (80, 140, 220),
}
ITEM_COLORS = {"tomato": (230, 40, 40), "onion": (230, 200, 120), "lettuce": (60, 200, 60)}
AGENT_COLORS = {"agent_0": (40, 90, 220), "agent_1": (240, 140, 20)}


@dataclass
class Item:
    """An ingredient (raw or chopped) or a plate with what is on it."""

    kind: str
    chopped: bool = False
    chops: int = 0
    contents: tuple[str, ...] = ()

    def describe(self) -> str:
        """``"chopped tomato"``, ``"raw onion"``, ``"plate with tomato soup"``, ``"empty plate"``."""
        if self.kind == "plate":
            return f"plate with {' and '.join(self.contents)}" if self.contents else "empty plate"
        return f"{'chopped' if self.chopped else 'raw'} {self.kind}"


@dataclass
class Pot:
    """The pot on the stove: up to two chopped ingredients, then a soup cooking or ready."""

    ingredients: list[str] = field(default_factory=list)
    timer: int = 0
    soup: str | None = None

    def describe(self) -> str:
        """The pot's state in words."""
        if self.soup and self.timer > 0:
            return f"the pot is cooking {self.soup}, {self.timer} more step(s)"
        if self.soup:
            return f"the pot holds a ready {self.soup}: bring an empty plate"
        if self.ingredients:
            return f"the pot holds {' and '.join(self.ingredients)} ({len(self.ingredients)}/{POT_SIZE})"
        return "the pot is empty"


class CoopKitchenEnv(TextParallelEnv):
    """Two cooks prepare and serve orders in a kitchen split by a pass counter.

    ## Description
    An Overcooked-style game on a 5x7 grid. ``agent_0`` can reach the tomato, onion and lettuce
    crates and two chopping boards; ``agent_1`` the plate rack, the stove with its pot and the serving
    window. Between them a pass counter holds one item per cell. Every recipe needs both cooks: the
    first fetches and chops, hands over across the counter, the second cooks, plates and serves.
    Recipes: tomato soup and onion soup (2 chopped ingredients in the pot, cooked 3 steps, plated)
    and salad (chopped lettuce and chopped tomato on a plate). Both cooks act every step.

    ## Observation
    ``{"observation": [step, row, column, facing, holding], "text": str}``. The text gives the
    orders, a map of the kitchen with both cooks, what lies on counters and boards, the pot, what each
    cook holds and the feedback on the agent's last action.

    ## Action
    ``move up|down|left|right`` (moving toward something that is not floor only turns to face it),
    ``interact`` (with the tile faced: take from a crate or the rack, put down or pick up, chop on a
    board, fill the pot, plate a soup, add a chopped ingredient to a plate, serve at the window) and
    ``wait``. Listed in ``info[agent]["valid_actions"]``; free text is matched ("go up", "north",
    "chop"). Unmatched text counts as ``wait`` and is answered with feedback.

    ## Reward
    A team reward, the same for both cooks. ``served``: +1 per dish that matches an open order.
    ``progress``: +0.1 when a soup of an ordered kind finishes cooking or a salad is complete on a
    plate (at most once per order). ``metrics["success"]`` is true once every order is served.

    ## Termination
    When every order is served; truncated after ``max_steps`` steps (default 120).

    ## Arguments
    ``num_orders`` (default 2), ``recipes`` (names to draw orders from, default all three),
    ``max_steps`` (default 120), ``render_mode`` (``"ansi"`` or ``"rgb_array"``).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi", "rgb_array"],
        "name": "coop_kitchen_v0",
        "render_fps": 4,
    }
    num_features = 5

    def __init__(
        self,
        num_orders: int = 2,
        recipes: tuple[str, ...] | list[str] = tuple(RECIPES),
        max_steps: int = 120,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(AGENTS, render_mode=render_mode, max_action_length=2_048)
        unknown = set(recipes) - set(RECIPES)
        if unknown or not recipes:
            raise ValueError(f"recipes must be drawn from {sorted(RECIPES)}, got {list(recipes)}.")
        if num_orders < 1 or max_steps < 1:
            raise ValueError("num_orders and max_steps must be at least 1.")
        self.num_orders, self.recipes, self.max_steps = num_orders, tuple(recipes), max_steps
        self.rng = np.random.default_rng()
        self._reset_state([])

    def _reset_state(self, orders: list[str]) -> None:
        self.orders = orders
        self.served: list[str] = []
        self.positions = dict(STARTS)
        self.facing = {"agent_0": "right", "agent_1": "left"}
        self.held: dict[str, Item | None] = dict.fromkeys(AGENTS)
        self.tiles: dict[tuple[int, int], Item] = {}
        self.pot = Pot()
        self.steps, self.progress_paid = 0, 0
        self.feedback = dict.fromkeys(AGENTS, "")

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new shift with orders drawn from the seed."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        orders = [str(self.rng.choice(self.recipes)) for _ in range(self.num_orders)]
        self._reset_state(orders)
        self.agents = list(self.possible_agents)
        self.transcript = [f"Orders: {', '.join(orders)}."]
        infos = {agent: self._info(agent, 0.0, {}, False) for agent in self.agents}
        return self._observations(), infos

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Both cooks act at once: moves first, then interactions (agent_0 before agent_1)."""
        commands = {agent: self._read(agent, actions.get(agent, "")) for agent in self.agents}
        self._move({a: c for a, c in commands.items() if c and c.startswith("move")})
        components: dict[str, float] = {}
        for agent in self.agents:
            if commands[agent] == "interact":
                self.feedback[agent] = self._interact(agent, components)
            elif commands[agent] == "wait":
                self.feedback[agent] = "You wait."
        self._cook(components)
        self.steps += 1
        self.transcript.append(
            f"step {self.steps}: "
            + "; ".join(f"{a} {commands[a] or '(unmatched)'}" for a in self.agents)
        )
        return self._finish_step(components)

    def _read(self, agent: str, action: Any) -> str | None:
        text, problem = read_action(action, self.max_action_length)
        command = match_action(text, COMMANDS, ALIASES) if text is not None else None
        if command is None:
            self.feedback[agent] = (problem or unmatched_feedback(text or "", COMMANDS)) + (
                " You wait this step."
            )
        return command

    def _finish_step(self, components: dict[str, float]) -> tuple[dict, dict, dict, dict, dict]:
        reward = sum(components.values())
        done = len(self.served) == len(self.orders)
        truncated = not done and self.steps >= self.max_steps
        observations = self._observations()
        rewards = dict.fromkeys(self.agents, reward)
        infos = {agent: self._info(agent, reward, components, done) for agent in self.agents}
        terminations = dict.fromkeys(self.agents, done)
        truncations = dict.fromkeys(self.agents, truncated)
        if done or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    # -- dynamics -------------------------------------------------------------------------------

    def _move(self, moves: dict[str, str]) -> None:
        targets = {}
        for agent, command in moves.items():
            direction = command.split()[1]
            self.facing[agent] = direction
            row, col = self.positions[agent]
            d_row, d_col = DIRECTIONS[direction]
            target = (row + d_row, col + d_col)
            targets[agent] = target if _tile(target) == "." else self.positions[agent]
        for agent, target in targets.items():
            others = [a for a in AGENTS if a != agent]
            blocked = any(
                target == self.positions[o] or target == targets.get(o, None) for o in others
            )
            moved = target != self.positions[agent] and not blocked
            if moved:
                self.positions[agent] = target
            verb = moves[agent].split()[1]
            self.feedback[agent] = f"You move {verb}." if moved else f"You turn {verb}."

    def _faced(self, agent: str) -> tuple[int, int]:
        row, col = self.positions[agent]
        d_row, d_col = DIRECTIONS[self.facing[agent]]
        return row + d_row, col + d_col

    def _interact(self, agent: str, components: dict[str, float]) -> str:
        cell = self._faced(agent)
        tile = _tile(cell)
        held = self.held[agent]
        if tile in CRATES or tile == "P":
            kind = CRATES.get(tile, "plate")
            if held is not None:
                return f"Your hands are full: you hold a {held.describe()}."
            taken = self.held[agent] = Item(kind)
            return f"You take a {taken.describe()}."
        if tile in HOLDERS:
            return self._use_holder(agent, cell, tile, components)
        if tile == "S":
            return self._use_stove(agent)
        if tile == "W":
            return self._serve(agent, components)
        return (
            "Nothing to interact with: face a crate, a counter, a board, the stove or the window."
        )

    def _use_holder(
        self, agent: str, cell: tuple[int, int], tile: str, components: dict[str, float]
    ) -> str:
        held, lying = self.held[agent], self.tiles.get(cell)
        if held is None and lying is None:
            return "There is nothing here to pick up."
        if held is None and tile == "K" and lying is not None and not lying.chopped:
            lying.chops += 1
            if lying.chops >= CHOP_STEPS:
                lying.chopped = True
                return f"You finish chopping: a {lying.describe()}."
            return f"You chop the {lying.kind} ({lying.chops}/{CHOP_STEPS})."
        if held is None and lying is not None:
            self.held[agent] = self.tiles.pop(cell)
            return f"You pick up the {lying.describe()}."
        assert held is not None
        if lying is None:
            if tile == "K" and held.kind == "plate":
                return "Plates do not go on the chopping board."
            self.tiles[cell] = held
            self.held[agent] = None
            return f"You put down the {held.describe()}."
        plate, ingredient = (held, lying) if held.kind == "plate" else (lying, held)
        if plate.kind != "plate" or ingredient.kind == "plate" or not ingredient.chopped:
            return f"There is already a {lying.describe()} here."
        if (
            any(part.endswith("soup") for part in plate.contents)
            or ingredient.kind in plate.contents
        ):
            return f"The {ingredient.describe()} does not fit on the {plate.describe()}."
        plate.contents = tuple(sorted((*plate.contents, ingredient.kind)))
        if ingredient is held:
            self.held[agent] = None
        else:
            del self.tiles[cell]
        self._pay_progress(plate.contents, components)
        return f"You put the chopped {ingredient.kind} on the plate: {plate.describe()}."

    def _use_stove(self, agent: str) -> str:
        held, pot = self.held[agent], self.pot
        if (
            held is not None
            and held.kind == "plate"
            and not held.contents
            and pot.soup
            and pot.timer == 0
        ):
            held.contents, pot.soup, pot.ingredients = (pot.soup,), None, []
            return f"You fill the plate: {held.describe()}."
        if held is not None and held.kind in SOUP_INGREDIENTS and held.chopped and not pot.soup:
            pot.ingredients.append(held.kind)
            self.held[agent] = None
            if len(pot.ingredients) == POT_SIZE:
                kinds = set(pot.ingredients)
                pot.soup = f"{kinds.pop()} soup" if len(kinds) == 1 else "mixed soup"
                pot.timer = COOK_STEPS + 1  # the tick at the end of this step counts
            return f"You put the chopped {held.kind} in the pot; {pot.describe()}."
        return f"Nothing happens: {pot.describe()}; it takes chopped tomato or onion, or an empty plate when a soup is ready."

    def _cook(self, components: dict[str, float]) -> None:
        if self.pot.soup and self.pot.timer > 0:
            self.pot.timer -= 1
            if self.pot.timer == 0:
                self._pay_progress((self.pot.soup,), components)

    def _serve(self, agent: str, components: dict[str, float]) -> str:
        held = self.held[agent]
        if held is None or held.kind != "plate" or not held.contents:
            return "Bring a plate with a finished dish to the window."
        self.held[agent] = None
        dish = _dish_name(held.contents)
        if dish in self._open_orders():
            self.served.append(dish)
            components["served"] = components.get("served", 0.0) + SERVED_REWARD
            return f"You serve {dish}: order complete!"
        return f"Nobody ordered a {held.describe()}; it goes to waste."

    def _pay_progress(self, contents: tuple[str, ...], components: dict[str, float]) -> None:
        if _dish_name(contents) in self._open_orders() and self.progress_paid < len(self.orders):
            self.progress_paid += 1
            components["progress"] = components.get("progress", 0.0) + PROGRESS_REWARD

    def _open_orders(self) -> list[str]:
        remaining = list(self.orders)
        for dish in self.served:
            remaining.remove(dish)
        return remaining

    # -- observations ---------------------------------------------------------------------------

    def _info(self, agent: str, reward: float, components: dict[str, float], done: bool) -> dict:
        return step_info(
            reward,
            components=components,
            feedback=self.feedback[agent],
            task_id="+".join(self.orders),
            valid_actions=COMMANDS,
            metrics={"success": done, "served": len(self.served)},
        )

    def _observations(self) -> dict[str, dict[str, Any]]:
        return {agent: self._observation(agent) for agent in self.possible_agents}

    def _observation(self, agent: str) -> dict[str, Any]:
        row, col = self.positions[agent]
        held = self.held[agent]
        features = [self.steps, row, col, list(DIRECTIONS).index(self.facing[agent]), _code(held)]
        return multi_agent_observation(self.describe(agent), features)

    def describe(self, agent: str) -> str:
        """The agent's text observation."""
        partner = next(a for a in AGENTS if a != agent)
        row, col = self.positions[agent]
        lines = [
            f"{self.feedback[agent]}".strip(),
            f"Open orders: {_orders_text(self._open_orders())}. Served: {len(self.served)}/{len(self.orders)}.",
            f"You are {agent} ({MARKS[agent]} on the map) at row {row}, column {col}, facing "
            f"{self.facing[agent]}, holding {_holding(self.held[agent])}. Your partner {partner} "
            f"({MARKS[partner]}) holds {_holding(self.held[partner])}.",
            f"Kitchen, row 0 at the top ({LEGEND}):",
            *self._map_rows(),
            f"On counters and boards: {self._tiles_text()}. On the stove, {self.pot.describe()}.",
            f"Step {self.steps} of {self.max_steps}.",
        ]
        return "\n".join(line for line in lines if line)

    def _map_rows(self) -> list[str]:
        rows = [list(line) for line in LAYOUT]
        for agent, (row, col) in self.positions.items():
            rows[row][col] = MARKS[agent]
        return ["".join(row) for row in rows]

    def _tiles_text(self) -> str:
        if not self.tiles:
            return "nothing"
        return ", ".join(
            f"{item.describe()} at row {row}, column {col}"
            for (row, col), item in sorted(self.tiles.items())
        )

    def render(self) -> Any:
        """The transcript (``ansi``) or a picture of the kitchen (``rgb_array``)."""
        if self.render_mode == "rgb_array":
            return self._picture()
        return super().render()

    def _picture(self, size: int = 32) -> np.ndarray:
        image = np.zeros((len(LAYOUT) * size, len(LAYOUT[0]) * size, 3), dtype=np.uint8)
        for row, line in enumerate(LAYOUT):
            for col, tile in enumerate(line):
                _fill(image, row, col, size, 1, TILE_COLORS[tile])
        if self.pot.ingredients or self.pot.soup:
            color = (250, 120, 40) if self.pot.soup and self.pot.timer == 0 else (160, 160, 160)
            _fill(image, 1, 6, size, 8, color)
        for (row, col), item in self.tiles.items():
            _fill(image, row, col, size, 9, _item_color(item))
        for agent, (row, col) in self.positions.items():
            _fill(image, row, col, size, 4, AGENT_COLORS[agent])
            carried = self.held[agent]
            if carried is not None:
                _fill(image, row, col, size, 11, _item_color(carried))
        return image


def _tile(cell: tuple[int, int]) -> str:
    row, col = cell
    if 0 <= row < len(LAYOUT) and 0 <= col < len(LAYOUT[0]):
        return LAYOUT[row][col]
    return "#"


def _dish_name(contents: tuple[str, ...]) -> str:
    for name, plate in RECIPES.items():
        if tuple(sorted(contents)) == tuple(sorted(plate)):
            return name
    return " and ".join(contents)


def _orders_text(orders: list[str]) -> str:
    return "; ".join(f"{order} ({RECIPE_HELP[order]})" for order in orders) or "none"


def _holding(item: Item | None) -> str:
    return f"a {item.describe()}" if item is not None else "nothing"


def _code(item: Item | None) -> int:
    if item is None:
        return 0
    if item.kind == "plate":
        return 1 + len(item.contents)
    return 4 + ["tomato", "onion", "lettuce"].index(item.kind) * 2 + int(item.chopped)


def _item_color(item: Item) -> tuple[int, int, int]:
    if item.kind == "plate":
        return (255, 255, 255) if not item.contents else (250, 170, 90)
    base = ITEM_COLORS[item.kind]
    return base if not item.chopped else tuple(min(255, c + 40) for c in base)  # type: ignore[return-value]


def _fill(image: np.ndarray, row: int, col: int, size: int, margin: int, color: tuple) -> None:
    top, left = row * size + margin, col * size + margin
    image[top : (row + 1) * size - margin, left : (col + 1) * size - margin] = color


# -- baseline policies ---------------------------------------------------------------------------


def _approach(env: CoopKitchenEnv, agent: str, targets: list[tuple[int, int]]) -> str:
    """The command that brings ``agent`` next to (and facing) the nearest of ``targets``."""
    start = env.positions[agent]
    blocked = {pos for a, pos in env.positions.items() if a != agent}
    queue: deque[tuple[tuple[int, int], str | None]] = deque([(start, None)])
    seen = {start}
    while queue:
        cell, first = queue.popleft()
        for direction, (d_row, d_col) in DIRECTIONS.items():
            if (cell[0] + d_row, cell[1] + d_col) in targets:
                if cell == start:
                    return "interact" if env.facing[agent] == direction else f"move {direction}"
                return f"move {first}"
        for direction, (d_row, d_col) in DIRECTIONS.items():
            nxt = (cell[0] + d_row, cell[1] + d_col)
            if _tile(nxt) == "." and nxt not in seen and nxt not in blocked:
                seen.add(nxt)
                queue.append((nxt, first or direction))
    return "wait"


def _cells(tile: str) -> list[tuple[int, int]]:
    return [(r, c) for r, line in enumerate(LAYOUT) for c, t in enumerate(line) if t == tile]


def _needed_ingredients(env: CoopKitchenEnv) -> list[str]:
    """Ingredients the first open order still needs beyond those already on their way."""
    orders = env._open_orders()
    if not orders:
        return []
    order = orders[0]
    need = ["tomato", "tomato"] if order == "tomato soup" else ["onion", "onion"]
    if order == "salad":
        need = ["lettuce", "tomato"]
    loose = [item for item in (*env.held.values(), *env.tiles.values()) if item is not None]
    on_their_way = [item.kind for item in loose if item.kind != "plate"]
    if order == "salad":
        on_their_way += [part for item in loose if item.kind == "plate" for part in item.contents]
    else:
        on_their_way += env.pot.ingredients
        if env.pot.soup == order or any(
            order in item.contents for item in loose if item.kind == "plate"
        ):
            return []
    for kind in on_their_way:
        if kind in need:
            need.remove(kind)
    return need


def _supplier(env: CoopKitchenEnv, agent: str) -> str:
    held = env.held[agent]
    boards = _cells("K")
    free_boards = [cell for cell in boards if cell not in env.tiles]
    raw_on_board = [c for c in boards if c in env.tiles and not env.tiles[c].chopped]
    chopped_on_board = [c for c in boards if c in env.tiles and env.tiles[c].chopped]
    if held is not None and not held.chopped and free_boards:
        return _approach(env, agent, free_boards)
    if held is None and raw_on_board:
        return _approach(env, agent, raw_on_board)
    if held is None and chopped_on_board:
        return _approach(env, agent, chopped_on_board)
    if held is not None and held.chopped:
        free = [cell for cell in _cells("|") if cell not in env.tiles]
        return _approach(env, agent, free) if free else "wait"
    needed = _needed_ingredients(env)
    if held is None and needed:
        crate = next(letter for letter, kind in CRATES.items() if kind == needed[0])
        return _approach(env, agent, _cells(crate))
    return "wait"


def _cook(env: CoopKitchenEnv, agent: str) -> str:
    held, pot = env.held[agent], env.pot
    orders = env._open_orders()
    if held is not None and held.kind == "plate" and _dish_name(held.contents) in orders:
        return _approach(env, agent, _cells("W"))
    if not orders:
        return "wait"
    order = orders[0]
    if order == "salad":
        if held is None:
            return _approach(env, agent, _cells("P"))
        wanted = [
            cell
            for cell in _cells("|")
            if cell in env.tiles
            and env.tiles[cell].chopped
            and env.tiles[cell].kind in ("lettuce", "tomato")
            and env.tiles[cell].kind not in held.contents
        ]
        return _approach(env, agent, wanted) if wanted and held.kind == "plate" else "wait"
    if pot.soup:
        if held is None:
            return _approach(env, agent, _cells("P"))
        return _approach(env, agent, _cells("S")) if pot.timer == 0 else "wait"
    kind = order.split()[0]
    if held is not None and held.kind == kind:
        return _approach(env, agent, _cells("S"))
    ready = [
        c
        for c in _cells("|")
        if c in env.tiles and env.tiles[c].kind == kind and env.tiles[c].chopped
    ]
    return _approach(env, agent, ready) if held is None and ready else "wait"


def scripted_policy(context: ActContext) -> str:
    """A planner per cook: ``agent_0`` fetches and chops, ``agent_1`` cooks, plates and serves."""
    env = context.env.unwrapped if hasattr(context.env, "unwrapped") else context.env
    return (
        _supplier(env, context.agent) if context.agent == "agent_0" else _cook(env, context.agent)
    )


def random_policy(context: ActContext) -> str:
    """A uniformly random command."""
    return context.rng.choice(COMMANDS)
