"""TextWorld's cooking games (``tw-cooking``) generated offline and played in envalign's conventions.

TextWorld (Côté et al. 2018, Microsoft, MIT, ``pip install "envalign[textworld]"``) generates
parser-based text games and compiles them with the Inform 7 compilers its wheel ships; they run on
the Z-machine through Jericho. The generated files live in a temporary folder owned by the
environment and removed by ``close()``. Generating a game costs seconds, so each process keeps the
bytes of the games it generated (keyed by settings and seed, at most ``GAME_CACHE_SIZE``) and writes
them into the environment's folder again when a seed comes back.
"""

from __future__ import annotations

import functools
import random
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.external.dependencies import require
from envalign.envs.info import step_info

GAME_CACHE_SIZE = 64
SEED_SPACE = 2**31 - 1
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
PROMPT = re.compile(r"\n*>\s[^\n]*$")
MAX_COMMAND_CHARS = 180
INVALID_PENALTY = -0.01
SUFFIXES = (".z8", ".json")


def load_textworld() -> Any:
    """Import ``textworld`` or raise ``DependencyNotInstalled`` naming the ``textworld`` extra."""
    return require(
        "textworld", package="textworld", extra="textworld", purpose="play TextWorld games"
    )


@functools.lru_cache(maxsize=GAME_CACHE_SIZE)
def generate_cooking_game(settings: tuple[tuple[str, Any], ...], seed: int) -> dict[str, bytes]:
    """Generate and compile one ``tw-cooking`` game; return its files' bytes by suffix."""
    load_textworld()
    from textworld import GameOptions
    from textworld.challenges import cooking
    from textworld.generator import compile_game

    with (
        tempfile.TemporaryDirectory(prefix="envalign-textworld-gen-") as folder,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # Jericho's "not fully supported" while checking the game
        options = GameOptions()
        options.seeds = seed
        options.path = str(Path(folder) / "game.z8")
        options.force_recompile = True
        game = cooking.make({**dict(settings), "recipe_seed": seed}, options)
        compiled = Path(compile_game(game, options))
        return {suffix: compiled.with_suffix(suffix).read_bytes() for suffix in SUFFIXES}


class CookingEnv(TextEnv):
    """A TextWorld cooking game (the ``tw-cooking`` family of the agent-RL literature).

    ## Description
    The player is hungry: find the cookbook, read the recipe, gather the ingredients, prepare them
    as it says (slice, dice, chop, roast, fry...) and ``prepare meal``, then ``eat meal``. Each seed
    generates a new game (map, objects, recipe) with TextWorld's ``cooking`` challenge, offline.

    ## Observation
    Text: the objective and the room on reset; then the game's answer to each command.

    ## Action
    A parser command (``take red apple from counter``, ``open fridge``, ``go east``...).
    ``info["valid_actions"]`` holds TextWorld's admissible commands of the state. Text that is not a
    string, is over-long or is empty gets feedback and ``invalid_action`` = -0.01 without reaching the
    game; other unknown commands get the game's own answer ("That's not a verb I recognise.").

    ## Reward
    ``score``: the change of the game's score divided by its maximum score (a won game sums to 1).
    ``metrics``: ``success`` (the game is won), ``score``, ``max_score``.

    ## Termination
    Terminated when the game is won or lost (eating an unprepared meal, burning an ingredient...);
    truncated after ``max_steps`` commands (default 50).

    ## Arguments
    ``recipe`` (ingredients in the recipe, 1-5; default 1), ``take`` (ingredients to fetch, default
    1), ``go`` (rooms: 1, 6, 9 or 12; default 1), ``open``, ``cook``, ``cut``, ``drop`` (skills the
    game needs; default off), ``split`` (``"train"``, ``"valid"`` or ``"test"`` foods; default
    ``"train"``), ``max_steps`` (50), ``render_mode``.

    ## Source
    ``textworld`` 1.7.0 (Microsoft, MIT), https://github.com/microsoft/TextWorld; games generated
    and compiled offline with its Inform 7 tools, played through Jericho.
    ``pip install "envalign[textworld]"``.

    ## Baselines
    ``random`` (a uniform admissible command) and ``walkthrough`` / ``scripted`` (the generator's
    walkthrough of the game: it wins).
    """

    def __init__(
        self,
        recipe: int = 1,
        take: int = 1,
        go: int = 1,
        open: bool = False,  # noqa: A002 - TextWorld's own name for the skill
        cook: bool = False,
        cut: bool = False,
        drop: bool = False,
        split: str = "train",
        max_steps: int = 50,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=2_048)
        load_textworld()
        if go not in (1, 6, 9, 12) or not 1 <= take <= recipe <= 5:
            raise ValueError("need go in (1, 6, 9, 12) and 1 <= take <= recipe <= 5.")
        if split not in ("train", "valid", "test") or max_steps < 1:
            raise ValueError("split must be 'train', 'valid' or 'test' and max_steps at least 1.")
        self.settings = (
            ("recipe", recipe),
            ("take", take),
            ("go", go),
            ("open", open),
            ("cook", cook),
            ("cut", cut),
            ("drop", drop),
            ("split", split),
        )
        self.max_steps = max_steps
        self.folder: Path | None = None
        self.game: Any = None
        self.rng = random.Random()
        self.game_seed = 0
        self.steps = 0
        self.walkthrough: list[str] = []
        self.state: Any = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Generate (or reuse) the game the seed picks and start it."""
        super().reset(seed=seed)
        if seed is not None:
            self.rng = random.Random(seed)
        self.game_seed = self.rng.randrange(SEED_SPACE)
        files = generate_cooking_game(self.settings, self.game_seed)
        self._close_game()
        if self.folder is None:
            # A TemporaryDirectory also removes itself if the environment is dropped unclosed.
            self._tempdir = tempfile.TemporaryDirectory(prefix="envalign-textworld-")
            self.folder = Path(self._tempdir.name)
        for suffix, data in files.items():
            (self.folder / f"game{suffix}").write_bytes(data)
        textworld = load_textworld()
        wanted = textworld.EnvInfos(
            admissible_commands=True,
            description=True,
            objective=True,
            max_score=True,
            score=True,
            won=True,
            lost=True,
            extras=["walkthrough"],
        )
        with warnings.catch_warnings():  # Jericho warns that generated games lack its score hooks
            warnings.simplefilter("ignore")
            self.game = textworld.start(str(self.folder / "game.z8"), request_infos=wanted)
        self.state = self.game.reset()
        self.steps = 0
        self.walkthrough = list(self.state.get("extra.walkthrough") or [])
        text = f"{self.state['objective'].strip()}\n\n{self.state['description'].strip()}"
        self.transcript = [text]
        return text, self._info(0.0, {}, "")

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Send the command to the game and return its answer and the change of score."""
        text, problem = read_action(action, self.max_action_length)
        # The Z-machine reads ASCII and Jericho at most 198 bytes; other characters mean nothing to it.
        ascii_text = (text or "").encode("ascii", "ignore").decode("ascii")
        command = " ".join(CONTROL.sub(" ", ascii_text).split())[:MAX_COMMAND_CHARS]
        if text is not None and not command:
            problem = (
                "Your action had no command in it (plain ASCII words). Write one command, "
                "e.g. 'look' or 'examine cookbook'."
            )
        self.steps += 1
        truncated = self.steps >= self.max_steps
        if problem:
            self.transcript.append(f"> (invalid) {problem}")
            components = {"invalid_action": INVALID_PENALTY}
            info = self._info(INVALID_PENALTY, components, problem)
            return problem, INVALID_PENALTY, False, truncated, info
        previous = self.state["score"]
        self.state, _, done = self.game.step(command)
        reward = (self.state["score"] - previous) / max(1, self.state["max_score"])
        feedback = PROMPT.sub("", self.state.feedback).strip() or "Nothing happens."
        self.transcript += [f"> {command}", feedback]
        terminated = bool(done or self.state["won"] or self.state["lost"])
        info = self._info(reward, {"score": reward}, feedback)
        return feedback, reward, terminated, truncated and not terminated, info

    def _info(self, reward: float, components: dict[str, float], feedback: str) -> dict[str, Any]:
        return step_info(
            reward,
            components=components,
            feedback=feedback,
            task_id=f"tw-cooking/{self.game_seed}",
            valid_actions=list(self.state["admissible_commands"] or []),
            metrics={
                "success": bool(self.state["won"]),
                "score": int(self.state["score"]),
                "max_score": int(self.state["max_score"]),
            },
        )

    def _close_game(self) -> None:
        if self.game is not None:
            self.game.close()
            self.game = None

    def close(self) -> None:
        """Stop the game and delete its generated files (even if stopping the game fails)."""
        try:
            self._close_game()
        finally:
            if self.folder is not None:
                self._tempdir.cleanup()
                self.folder = None
            super().close()


def random_policy(context: ActContext) -> str:
    """A uniformly random admissible command."""
    choices = context.info.get("valid_actions") or ["look"]
    return context.rng.choice(list(choices))


def walkthrough_policy(context: ActContext) -> str:
    """Follow the walkthrough the generator wrote for this game."""
    env = getattr(context.env, "unwrapped", context.env)
    return env.walkthrough[env.steps] if env.steps < len(env.walkthrough) else "look"
