"""BabyAIText-*-v0: MiniGrid's BabyAI levels seen and played through text (GLAM style)."""

from __future__ import annotations

import contextlib
import io
from typing import Any, ClassVar

import numpy as np

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.embodied.text_matching import match_action, unmatched_feedback
from envalign.envs.errors import DependencyNotInstalled
from envalign.envs.info import step_info

#: The BabyAI levels offered as ``envalign/BabyAIText-<Level>-v0`` (classes of minigrid.envs.babyai).
LEVELS = ("GoToRedBall", "GoToLocal", "PickupLoc", "PutNextLocal", "GoTo", "Open")
#: The six commands, in MiniGrid's action order (left, right, forward, pickup, drop, toggle).
COMMANDS = ("turn left", "turn right", "go forward", "pick up", "drop", "toggle")
ALIASES = {
    "left": "turn left",
    "rotate left": "turn left",
    "turn to left": "turn left",
    "right": "turn right",
    "rotate right": "turn right",
    "turn to right": "turn right",
    "forward": "go forward",
    "move forward": "go forward",
    "step forward": "go forward",
    "walk forward": "go forward",
    "go straight": "go forward",
    "move ahead": "go forward",
    "go ahead": "go forward",
    "pickup": "pick up",
    "pick it up": "pick up",
    "pick": "pick up",
    "grab": "pick up",
    "take": "pick up",
    "put down": "drop",
    "put it down": "drop",
    "release": "drop",
    "open": "toggle",
    "open door": "toggle",
    "unlock": "toggle",
    "close": "toggle",
    "use": "toggle",
}
# Indices of minigrid.core.constants (fixed across minigrid 2.x and 3.x).
OBJECT_NAMES = {2: "wall", 4: "door", 5: "key", 6: "ball", 7: "box", 8: "goal", 9: "lava"}
COLOR_NAMES = {0: "red", 1: "green", 2: "blue", 3: "purple", 4: "yellow", 5: "grey"}
DOOR_STATES = {0: "open", 1: "closed", 2: "locked"}
WALL = 2


def _steps(count: int, word: str) -> str:
    return f"{count} step{'s' if count != 1 else ''} {word}"


def describe_cell(image: Any, column: int, row: int) -> str | None:
    """Describe the object in the agent's view at ``(column, row)``, or ``None`` if there is none.

    Args:
        image: MiniGrid's egocentric ``[view, view, 3]`` encoding (array or nested lists); the
            agent is at the bottom middle, facing up (decreasing ``row``).
        column: Column in the view.
        row: Row in the view.
    """
    kind, color, state = (int(value) for value in image[column][row])
    name = OBJECT_NAMES.get(kind)
    if name is None or name == "wall":
        return None
    size = len(image)
    forward, sideways = size - 1 - row, column - size // 2
    if name == "door":
        name = f"{DOOR_STATES.get(state, 'closed')} {COLOR_NAMES.get(color, '')} door"
    else:
        name = f"{COLOR_NAMES.get(color, '')} {name}"
    parts = []
    if forward:
        parts.append(_steps(forward, "forward"))
    if sideways:
        parts.append(_steps(abs(sideways), "right" if sideways > 0 else "left"))
    where = " and ".join(parts) if parts else "right here"
    article = "an" if name[0] in "aeiou" else "a"
    return f"{article} {name} {where}"


def describe_walls(image: Any) -> list[str]:
    """Return the nearest wall straight ahead, to the left and to the right, in visible cells."""
    size = len(image)
    middle, bottom = size // 2, size - 1
    found = []
    for distance in range(1, bottom + 1):
        if int(image[middle][bottom - distance][0]) == WALL:
            found.append(f"a wall {_steps(distance, 'forward')}")
            break
    for side, sign in (("left", -1), ("right", 1)):
        for distance in range(1, middle + 1):
            if int(image[middle + sign * distance][bottom][0]) == WALL:
                found.append(f"a wall {_steps(distance, side)}")
                break
    return found


def describe_view(image: np.ndarray) -> list[str]:
    """List what the agent sees: objects (nearest first) then the nearest walls."""
    image = image.tolist()  # plain lists index ~10x faster than numpy scalars
    size = len(image)
    # The agent's own cell shows what it carries, which the observation states separately.
    cells = [
        (column, row)
        for column in range(size)
        for row in range(size)
        if (column, row) != (size // 2, size - 1)
    ]
    cells.sort(key=lambda cell: (size - 1 - cell[1]) + abs(cell[0] - size // 2))
    objects = [text for column, row in cells if (text := describe_cell(image, column, row))]
    return objects + describe_walls(image)


def _level_class(level: str) -> type:
    try:
        from minigrid.envs import babyai
    except ImportError as error:
        raise DependencyNotInstalled("minigrid", "embodied", "play BabyAI levels") from error
    cls = getattr(babyai, level, None)
    if not isinstance(cls, type):
        raise ValueError(
            f"Unknown BabyAI level {level!r}; use a class of minigrid.envs.babyai such as {LEVELS}."
        )
    return cls


class BabyAITextEnv(TextEnv):
    """A BabyAI level of MiniGrid, observed as text and played with six text commands.

    ## Description
    The GLAM setting (Carta et al., 2023): the agent reads the mission and a description of its 7x7
    egocentric view and answers with a command. The grid, the mission, the dynamics, the reward and
    success are MiniGrid's own (``minigrid.envs.babyai.<level>``), so results compare with BabyAI.

    ## Observation
    Plain text: the feedback on the last command, the mission, what the agent carries and what it
    sees, e.g. ``"Mission: go to the red ball You see a red ball 2 steps forward and 1 step left,
    a wall 3 steps forward."``

    ## Action
    One of ``turn left``, ``turn right``, ``go forward``, ``pick up``, ``drop``, ``toggle`` (also in
    ``info["valid_actions"]``). Free text is matched robustly ("Go forward.", "I'll turn to the left",
    "rotate left"); a reply naming no command is answered with feedback and does not move the agent
    (it still uses a step of the budget).

    ## Reward
    ``minigrid``: MiniGrid's reward, ``1 - 0.9 * steps / max_steps`` on success, else 0.
    ``invalid_action``: ``invalid_penalty`` (default 0) for a reply that names no command.
    ``metrics["success"]`` is true when the mission is accomplished.

    ## Termination
    On success (or a failure MiniGrid defines, such as opening the wrong door order); truncated after
    MiniGrid's ``max_steps`` steps (counting unmatched replies).

    ## Arguments
    ``level`` (a class name of ``minigrid.envs.babyai``, default ``"GoToLocal"``), ``invalid_penalty``
    (default 0.0), ``render_mode`` (``"ansi"`` or ``"rgb_array"``, MiniGrid's own picture).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        level: str = "GoToLocal",
        invalid_penalty: float = 0.0,
        render_mode: str | None = None,
        max_action_length: int = 2_048,
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=max_action_length)
        self.level = level
        self.invalid_penalty = float(invalid_penalty)
        picture = "rgb_array" if render_mode == "rgb_array" else None
        self.minigrid = _level_class(level)(render_mode=picture)
        self.max_steps = 0  # BabyAI levels set their step budget on reset
        self.steps = 0
        self.episode = 0
        self.task_id = ""
        self.image = np.zeros((7, 7, 3), dtype=np.uint8)  # MiniGrid's latest egocentric view

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Generate a new level instance (the same one for the same seed)."""
        super().reset(seed=seed)
        level_seed = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
        with contextlib.redirect_stdout(io.StringIO()):  # minigrid prints rejected samples
            first, _ = self.minigrid.reset(seed=level_seed)
        self.image = first["image"]
        self.max_steps = int(self.minigrid.max_steps)
        self.steps, self.episode = 0, self.episode + 1
        self.task_id = f"{self.level}:{level_seed}"
        text = self._observation("")
        self.transcript = [text]
        info = step_info(0.0, components={}, task_id=self.task_id, valid_actions=COMMANDS)
        return text, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Match the reply to a command and play it in MiniGrid."""
        text, problem = read_action(action, self.max_action_length)
        command = match_action(text, COMMANDS, ALIASES) if text is not None else None
        self.steps += 1
        if command is None:
            feedback = problem or unmatched_feedback(text or "", COMMANDS)
            components = {"invalid_action": self.invalid_penalty} if self.invalid_penalty else {}
            return self._answer(feedback, self.invalid_penalty, components, False, False, command)
        before = self._state()
        seen, reward, terminated, truncated, _ = self.minigrid.step(COMMANDS.index(command))
        self.image = seen["image"]
        feedback = self._feedback(command, before)
        components = {"minigrid": float(reward)} if reward else {}
        return self._answer(feedback, float(reward), components, terminated, truncated, command)

    def _answer(
        self,
        feedback: str,
        reward: float,
        components: dict[str, float],
        terminated: bool,
        truncated: bool,
        command: str | None,
    ) -> tuple[str, float, bool, bool, dict[str, Any]]:
        truncated = bool(truncated or (not terminated and self.steps >= self.max_steps))
        observation = self._observation(feedback)
        self.transcript.append(f"> {command or '(unmatched reply)'}\n{observation}")
        info = step_info(
            reward,
            components=components,
            feedback=feedback,
            task_id=self.task_id,
            valid_actions=COMMANDS,
            metrics={"success": bool(terminated and reward > 0), "matched": command is not None},
            command=command,
        )
        return observation, reward, bool(terminated), truncated, info

    def _state(self) -> tuple[Any, ...]:
        env = self.minigrid
        front = env.grid.get(*env.front_pos)
        door = (
            (front.is_open, front.is_locked) if front is not None and front.type == "door" else None
        )
        return tuple(env.agent_pos), env.agent_dir, env.carrying, door, front

    def _feedback(self, command: str, before: tuple[Any, ...]) -> str:
        position, _, carrying, door, front_before = before
        env = self.minigrid
        if command in ("turn left", "turn right"):
            return f"You {command}."
        if command == "go forward":
            moved = tuple(env.agent_pos) != position
            return (
                "You go forward." if moved else "You cannot go forward: something blocks the way."
            )
        if command == "pick up":
            if env.carrying is not None and carrying is None:
                return f"You pick up the {env.carrying.color} {env.carrying.type}."
            return "Nothing happens: there is nothing to pick up, or your hands are full."
        if command == "drop":
            if carrying is not None and env.carrying is None:
                return f"You drop the {carrying.color} {carrying.type}."
            return "Nothing happens: you carry nothing, or the cell in front is not free."
        front = env.grid.get(*env.front_pos)
        if door is not None and front is not None and (front.is_open, front.is_locked) != door:
            return f"You {'open' if front.is_open else 'close'} the {front.color} door."
        if front_before is not None and front_before.type == "box" and front is not front_before:
            inside = f"a {front.color} {front.type}" if front is not None else "nothing"
            return f"You open the {front_before.color} box; it held {inside}."
        return "Nothing happens."

    def _observation(self, feedback: str) -> str:
        env = self.minigrid
        seen = describe_view(self.image)
        carrying = (
            f"You carry a {env.carrying.color} {env.carrying.type}."
            if env.carrying is not None
            else "You carry nothing."
        )
        sight = f"You see {', '.join(seen)}." if seen else "You see nothing but the floor."
        lead = f"{feedback}\n" if feedback else ""
        return f"{lead}Mission: {env.mission}\n{carrying}\n{sight}"

    def render(self) -> Any:
        """Return the transcript (``ansi``) or MiniGrid's full picture (``rgb_array``)."""
        if self.render_mode == "rgb_array":
            return self.minigrid.get_frame(highlight=True, tile_size=32)
        return super().render()

    def close(self) -> None:
        """Close MiniGrid's window, if any."""
        self.minigrid.close()


def bot_policy(context: ActContext) -> str:
    """MiniGrid's BabyAI bot, answering through the text interface (one bot per episode).

    The bot plans on the true grid; its MiniGrid action is written as the text command, which the
    environment parses back, so a solved episode proves the text commands lose nothing.
    """
    from minigrid.utils.baby_ai_bot import BabyAIBot

    env = context.env.unwrapped
    if getattr(env, "_bot_episode", None) != env.episode:
        env._bot, env._bot_episode = BabyAIBot(env.minigrid), env.episode
    action = int(env._bot.replan())
    # The bot answers "done" (6) only when it believes the mission is over; any turn is harmless.
    return COMMANDS[action] if action < len(COMMANDS) else "turn left"


def random_policy(context: ActContext) -> str:
    """A uniformly random command."""
    return context.rng.choice(COMMANDS)
