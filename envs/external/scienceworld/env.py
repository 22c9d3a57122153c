"""ScienceWorld as an envalign text environment: elementary science experiments in a simulated house.

ScienceWorld (Wang et al. 2022, AllenAI, Apache-2.0, ``pip install "envalign[scienceworld]"``) is a
Scala simulator shipped as a jar in the ``scienceworld`` wheel and driven over py4j; it needs a Java
runtime (``scripts/ensure-java.sh`` installs Debian's ``openjdk-17-jre-headless``). Each environment
owns one JVM, started on the first ``reset`` and stopped by ``close()`` (the process is waited for,
then killed if it lingers, and the library's temporary folder is removed); with ``reuse_jvm=True``
``close()`` parks the JVM for the process's next ScienceWorld environment instead.
"""

from __future__ import annotations

import atexit
import os
import random
import re
import subprocess
import threading
from typing import Any

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.errors import EnvalignError
from envalign.envs.external.dependencies import require
from envalign.envs.info import step_info

#: JVM flags that cut ScienceWorld's start from about 2.9 s to 1.3 s here (C1 only, serial GC);
#: steps are short, so the optimising compiler never pays off within an episode.
JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss4m"
SPLITS = ("train", "dev", "test")
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
MAX_COMMAND_CHARS = 300
INVALID_PENALTY = -0.01
_launch_lock = threading.Lock()


def start_simulator() -> Any:
    """Start a ScienceWorld JVM and return the library's ``ScienceWorldEnv`` connected to it."""
    scienceworld = require(
        "scienceworld", package="scienceworld", extra="scienceworld", purpose="run ScienceWorld"
    )
    with _launch_lock:  # JAVA_TOOL_OPTIONS is read by the child at launch; keep it to this child
        previous = os.environ.get("JAVA_TOOL_OPTIONS")
        os.environ["JAVA_TOOL_OPTIONS"] = JAVA_OPTIONS
        try:
            return scienceworld.ScienceWorldEnv("", envStepLimit=10**9)
        except FileNotFoundError as error:
            raise EnvalignError(
                "ScienceWorld needs a Java runtime (8 or newer) on PATH; run "
                "scripts/ensure-java.sh or install openjdk-17-jre-headless."
            ) from error
        finally:
            if previous is None:
                os.environ.pop("JAVA_TOOL_OPTIONS", None)
            else:
                os.environ["JAVA_TOOL_OPTIONS"] = previous


def stop_simulator(simulator: Any, timeout_s: float = 10.0) -> None:
    """Shut the JVM down and wait for it (kill it if it does not exit); remove the library's temp dir."""
    process = simulator._gateway.java_process
    try:
        simulator.close()
    except Exception:  # noqa: BLE001 - a broken gateway still leaves a process to stop
        pass
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    tempdir = getattr(simulator, "_obj_tree_tempdir", None)
    if tempdir is not None:
        tempdir.cleanup()
    simulator.close = lambda: None  # the library's __del__ calls close() again


#: JVMs parked by environments closed with ``reuse_jvm=True``, for the next one in this process.
_parked: list[Any] = []
MAX_PARKED = 4


def take_simulator(reuse: bool) -> Any:
    """A parked JVM when ``reuse`` and one is free, else a new one."""
    with _launch_lock:
        if reuse and _parked:
            return _parked.pop()
    return start_simulator()


def release_simulator(simulator: Any, reuse: bool) -> None:
    """Park the JVM for the next environment when ``reuse`` (up to ``MAX_PARKED``), else stop it."""
    with _launch_lock:
        if reuse and len(_parked) < MAX_PARKED:
            _parked.append(simulator)
            return
    stop_simulator(simulator)


def stop_parked_simulators() -> int:
    """Stop every parked JVM (also run at interpreter exit); return how many were stopped."""
    with _launch_lock:
        parked = list(_parked)
        _parked.clear()
    for simulator in parked:
        stop_simulator(simulator)
    return len(parked)


atexit.register(stop_parked_simulators)


class ScienceWorldEnv(TextEnv):
    """A ScienceWorld task (one of 30 types, thousands of variations) in envalign's text conventions.

    ## Description
    The agent is in a house with a kitchen, greenhouse, workshop, foundry and outside areas, and
    must carry out an elementary science experiment described at the start: boil water, find a
    living thing, test whether an object conducts electricity, grow a plant... (Wang et al., 2022,
    "ScienceWorld: Is your Agent Smarter than a 5th Grader?"). The seed picks the variation (objects,
    locations, substances) from the chosen split.

    ## Observation
    Text: the task description and the room on reset; then ScienceWorld's answer to each action.

    ## Action
    A ScienceWorld command in text (``open door to kitchen``, ``pick up thermometer``,
    ``focus on red wire``, ``wait``...). ``info["valid_actions"]`` lists the valid action-object
    combinations of the current state. Text that is not a string, is over-long or is empty gets
    feedback and ``invalid_action`` = -0.01 without reaching the simulator; other unknown commands
    get ScienceWorld's own answer ("No known action matches that input.") and no reward.

    ## Reward
    ``score``: the change of ScienceWorld's task score (0 to 100) divided by 100, so a solved task
    sums to 1. ``metrics``: ``success`` (score 100), ``score`` (0-100).

    ## Termination
    Terminated when the task is completed (score 100) or failed (ScienceWorld's score < 0);
    truncated after ``max_steps`` actions (100, ScienceWorld's default step limit).

    ## Arguments
    ``task`` (a ScienceWorld task name, e.g. ``"boil"``; see ``TASKS``), ``split`` (``"train"``,
    ``"dev"`` or ``"test"`` variations; default ``"train"``), ``simplifications`` (ScienceWorld's
    simplification string, e.g. ``"easy"``; default none), ``max_steps`` (100), ``reuse_jvm``
    (default ``False``: ``close()`` stops the JVM; ``True`` parks it for the next ScienceWorld
    environment of the process, so a runner that makes one environment per episode starts a JVM
    once per worker; ``stop_parked_simulators()`` or the interpreter's exit stops parked ones),
    ``render_mode``.

    ## Source
    ``scienceworld`` 1.2.3 (AllenAI, Apache-2.0), https://github.com/allenai/ScienceWorld.
    ``pip install "envalign[scienceworld]"`` plus a Java runtime.

    ## Baselines
    ``random`` (a uniform valid action) and ``gold`` / ``scripted`` (ScienceWorld's gold action
    sequence for the variation, generated by the simulator: it solves the task).
    """

    def __init__(
        self,
        task: str = "find-living-thing",
        split: str = "train",
        simplifications: str = "",
        max_steps: int = 100,
        reuse_jvm: bool = False,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=2_048)
        require(
            "scienceworld", package="scienceworld", extra="scienceworld", purpose="run ScienceWorld"
        )
        if split not in SPLITS:
            raise ValueError(f"split={split!r}: use one of {SPLITS}.")
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1.")
        self.task, self.split, self.simplifications = task, split, simplifications
        self.max_steps, self.reuse_jvm = max_steps, reuse_jvm
        self.simulator: Any = None
        self.rng = random.Random()
        self.variation = 0
        self.steps = 0
        self.score = 0
        self.gold: list[str] | None = None
        self.valid: list[str] = []
        self.variations: list[int] | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Load the variation the seed picks and return the task description and the first room."""
        super().reset(seed=seed)
        if seed is not None or self.simulator is None:
            self.rng = random.Random(seed)
        if self.simulator is None:
            self.simulator = take_simulator(self.reuse_jvm)
        variations = self._variations()
        self.variation = variations[self.rng.randrange(len(variations))]
        self._load(gold=False)
        return self._start()

    def _variations(self) -> list[int]:
        if self.variations is None:
            self.simulator.load(self.task, 0, self.simplifications)
            getter = getattr(self.simulator, f"get_variations_{self.split}")
            self.variations = sorted(getter())
        return self.variations

    def _load(self, *, gold: bool) -> None:
        self.simulator.load(self.task, self.variation, self.simplifications, generateGoldPath=gold)
        self.gold = list(self.simulator.get_gold_action_sequence()) if gold else None

    def _start(self) -> tuple[str, dict[str, Any]]:
        observation, info = self.simulator.reset()
        self.steps, self.score = 0, 0
        self.valid = list(info["valid"])
        text = f"{info['taskDesc'].strip()}\n\n{observation.strip()}"
        self.transcript = [text]
        return text, self._info(0.0, {}, "", success=False)

    def gold_actions(self) -> list[str]:
        """Return ScienceWorld's gold action sequence for this variation (generated on first use).

        Generating it reloads the variation, so it must be asked for before the first action.

        Raises:
            RuntimeError: If actions were already taken in this episode without the gold path.
        """
        if self.gold is None:
            if self.steps:
                raise RuntimeError(
                    "ScienceWorld's gold path must be generated before the episode's first action."
                )
            self._load(gold=True)
            self._start()
        assert self.gold is not None
        return self.gold

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Send the command to ScienceWorld and return its answer and the change of score."""
        text, problem = read_action(action, self.max_action_length)
        command = " ".join(CONTROL.sub(" ", text or "").split())[:MAX_COMMAND_CHARS]
        if text is not None and not command:
            problem = "Your action was empty. Write one ScienceWorld command, e.g. 'look around'."
        if problem:
            self.steps += 1
            truncated = self.steps >= self.max_steps
            self.transcript.append(f"> (invalid) {problem}")
            components = {"invalid_action": INVALID_PENALTY}
            return (
                problem,
                INVALID_PENALTY,
                False,
                truncated,
                self._info(INVALID_PENALTY, components, problem, success=False),
            )
        observation, _, _, info = self.simulator.step(command)
        self.steps += 1
        previous, self.score = self.score, int(info["score"])
        self.valid = list(info["valid"])
        reward = (self.score - previous) / 100
        terminated = (
            self.score >= 100 or self.score < 0 or bool(self.simulator.server.getCompleted())
        )
        truncated = not terminated and self.steps >= self.max_steps
        self.transcript += [f"> {command}", observation.strip()]
        info_out = self._info(
            reward, {"score": reward}, observation.strip(), success=self.score >= 100
        )
        return observation.strip(), reward, terminated, truncated, info_out

    def _info(
        self, reward: float, components: dict[str, float], feedback: str, *, success: bool
    ) -> dict[str, Any]:
        return step_info(
            reward,
            components=components,
            feedback=feedback,
            task_id=f"{self.task}/{self.split}/{self.variation}",
            valid_actions=self.valid,
            metrics={"success": success, "score": self.score},
        )

    def close(self) -> None:
        """Stop this environment's JVM and remove its temporary files (or park it: ``reuse_jvm``)."""
        if self.simulator is not None:
            release_simulator(self.simulator, self.reuse_jvm)
            self.simulator = None
        super().close()


def random_policy(context: ActContext) -> str:
    """A uniformly random valid action-object combination."""
    choices = context.info.get("valid_actions") or ["look around"]
    return context.rng.choice(list(choices))


def gold_policy(context: ActContext) -> str:
    """Follow ScienceWorld's gold action sequence for the episode's variation."""
    env = getattr(context.env, "unwrapped", context.env)
    gold = env.gold_actions()
    return gold[env.steps] if env.steps < len(gold) else "look around"
