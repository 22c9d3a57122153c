"""Household-v0: an ALFWorld-style text household, procedurally generated from the seed."""

from __future__ import annotations

from typing import Any

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.embodied.household import commands as cmd
from envalign.envs.embodied.household.planner import next_command
from envalign.envs.embodied.household.tasks import (
    SUBGOAL_REWARD,
    Task,
    generate,
    is_solved,
    reached_subgoals,
)
from envalign.envs.embodied.household.world import ROOMS, World, with_article
from envalign.envs.embodied.text_matching import action_key, match_action, unmatched_feedback
from envalign.envs.info import step_info

NOTHING_HAPPENS = "Nothing happens."
ALIASES_BY_VERB = {
    "pick up": "take",
    "grab": "take",
    "place": "put",
    "move": "put",
    "wash": "clean",
}


class HouseholdEnv(TextEnv):
    """An ALFWorld-style household: find objects, change their state, put them in place.

    ## Description
    Each seed generates a house (kitchen, living room, bedroom, bathroom) with numbered receptacles,
    some of which open and close (fridge, microwave, cabinets, drawers), one lamp, 10-20 objects with
    states (clean, hot, cold, sliced), and a task of one of ALFWorld's six types: pick and place,
    clean then place, heat then place, cool then place, examine under a lamp, and pick two; as in
    ALFRED, some ask for a sliced object (take a knife, slice it where it lies). The same seed always yields the same house and task.

    ## Observation
    Plain text: the feedback on the last command and the task, e.g. ``"You arrive at fridge 1 in the
    kitchen. The fridge 1 is closed. Your task is to: put a cool apple in diningtable."``
    The first observation lists the receptacles of each room.

    ## Action
    A command such as ``go to fridge 1``, ``open fridge 1``, ``take apple 1 from fridge 1``,
    ``put apple 1 in/on diningtable 1``, ``clean mug 2 with sinkbasin 1``, ``heat ...with microwave 1``,
    ``cool ... with fridge 1``, ``slice apple 1 with knife 1``, ``use desklamp 1``, ``examine X``,
    ``look``, ``inventory``. The admissible commands are in ``info["valid_actions"]``. Free text is
    matched robustly (case, articles, extra words, "go to fridge" when there is one fridge); a command
    that is understood but impossible gets "Nothing happens.", other text gets a list of commands.

    ## Reward
    Sub-goals, each once: ``sliced`` (+0.1, first time an object of the task's kind is sliced, when
    the task asks for a sliced one), ``found`` (+0.1, first time an object of the task's kind is
    taken), ``transformed`` (+0.1, first time one is cleaned/heated/cooled as the task requires),
    ``first_placed`` (+0.1, first of two objects in place); ``goal`` on success pays the rest of 1.0,
    so a solved episode returns exactly 1.0. ``metrics["success"]`` is the binary signal.
    Impossible or unmatched commands earn 0 and use a step.

    ## Termination
    When the task is solved; truncated after ``max_steps`` commands (default 50).

    ## Arguments
    ``max_steps`` (default 50), ``render_mode`` (``"ansi"``).
    """

    def __init__(
        self, max_steps: int = 50, render_mode: str | None = None, max_action_length: int = 2_048
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=max_action_length)
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}.")
        self.max_steps = max_steps
        self.world: World | None = None
        self.task: Task | None = None
        self.task_id = ""
        self.steps = 0
        self.earned: set[str] = set()
        self.admissible: dict[str, cmd.Operation] = {}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Generate the house and task of the seed."""
        super().reset(seed=seed)
        house_seed = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
        self.world, self.task = generate(house_seed)
        self.task_id = f"{self.task.type}:{house_seed}"
        self.steps, self.earned = 0, set()
        self.admissible = cmd.admissible_commands(self.world)
        text = f"{self._introduction()}\n\nYour task is to: {self.task.text}"
        self.transcript = [text]
        info = step_info(
            0.0, components={}, task_id=self.task_id, valid_actions=list(self.admissible)
        )
        return text, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Match the reply to an admissible command, apply it and reward progress."""
        assert self.world is not None and self.task is not None, "call reset() before step()"
        text, problem = read_action(action, self.max_action_length)
        command = self._match(text) if text is not None else None
        self.steps += 1
        if command is not None:
            feedback = cmd.execute(self.world, self.admissible[command])
        elif problem:
            feedback = problem
        elif text is not None and _starts_with_verb(text):
            feedback = NOTHING_HAPPENS
        else:
            feedback = unmatched_feedback(text or "", list(self.admissible))
        components, solved = self._progress()
        reward = sum(components.values())
        truncated = not solved and self.steps >= self.max_steps
        self.admissible = cmd.admissible_commands(self.world)
        observation = f"{feedback}\nYour task is to: {self.task.text}"
        self.transcript.append(f"> {command or str(action)[:120]}\n{feedback}")
        info = step_info(
            reward,
            components=components,
            feedback=feedback,
            task_id=self.task_id,
            valid_actions=list(self.admissible),
            metrics={"success": solved, "matched": command is not None},
            command=command,
            task_type=self.task.type,
        )
        return observation, reward, solved, truncated, info

    def _match(self, text: str) -> str | None:
        command = match_action(text, list(self.admissible))
        if command is not None:
            return command
        for alias, verb in ALIASES_BY_VERB.items():
            if text.lower().lstrip().startswith(alias):
                rewritten = verb + text.lstrip()[len(alias) :]
                return match_action(rewritten, list(self.admissible))
        return None

    def _progress(self) -> tuple[dict[str, float], bool]:
        assert self.world is not None and self.task is not None
        new = (reached_subgoals(self.world, self.task) & set(self.task.subgoals)) - self.earned
        components = {name: SUBGOAL_REWARD for name in sorted(new)}
        self.earned |= new
        solved = is_solved(self.world, self.task)
        if solved:
            components["goal"] = round(1.0 - SUBGOAL_REWARD * len(self.earned), 10)
        return components, solved

    def _introduction(self) -> str:
        assert self.world is not None
        rooms = []
        for room in ROOMS:
            names = [r.name for r in self.world.receptacles.values() if r.room == room]
            rooms.append(f"In the {room}, you see {', '.join(map(with_article, names))}.")
        lamp = self.world.lamp
        return (
            f"You are in the middle of the {self.world.start_room} of a house with a kitchen, a "
            f"living room, a bedroom and a bathroom. Looking quickly around you:\n"
            + "\n".join(rooms)
            + f"\nThere is a {lamp.name} at the {lamp.at}."
        )


def _starts_with_verb(text: str) -> bool:
    words = action_key(text)
    return bool(words) and words[0] in cmd.VERBS


def planner_policy(context: ActContext) -> str:
    """The oracle: the next command of a plan computed from the hidden state."""
    env = context.env.unwrapped
    return next_command(env.world, env.task)


def random_policy(context: ActContext) -> str:
    """A uniformly random admissible command."""
    return context.rng.choice(context.info.get("valid_actions") or ["look"])
