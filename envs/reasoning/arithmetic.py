"""Arithmetic-v0: one question, one answer; the training yardstick."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from envalign.envs.core import ActContext, TextEnv, read_action
from envalign.envs.info import step_info

OPERATIONS: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
# Bounded repetition keeps the scan linear on adversarial input; '−' is the Unicode minus.
NUMBER = re.compile(r"[-−]?\d{1,64}(?:\.\d{1,64})?")


def first_number(text: str) -> float | None:
    """Return the first number written in ``text`` (``"-3"``, ``"4.0"``, ``"−7"``), or ``None``."""
    match = NUMBER.search(text)
    if match is None:
        return None
    return float(match.group().replace("−", "-"))


class ArithmeticEnv(TextEnv):
    """Answer ``What is a + b?``; reward 1 when the first number in the reply is right.

    ## Description
    A single-turn question about two integers drawn uniformly from ``[low, high]`` with an operation
    drawn from ``operations``. It is trivially learnable, which makes it the yardstick of trainers.

    ## Observation
    ``"What is 3 + 5?"`` (plain text).

    ## Action
    Free text. The first number in it is the answer (``"8"``, ``"The answer is 8."``, ``"8.0"``).

    ## Reward
    ``correct``: 1.0 if that number equals the result, else 0.0. Unparseable or over-long replies get
    0.0 and feedback saying why.

    ## Termination
    After the one answer.

    ## Arguments
    ``low``, ``high`` (operand range, default 0..9), ``operations`` (default ``"+"``),
    ``render_mode`` (``"ansi"``).
    """

    def __init__(
        self,
        low: int = 0,
        high: int = 9,
        operations: str = "+",
        render_mode: str | None = None,
        max_action_length: int = 2_048,
    ) -> None:
        super().__init__(render_mode=render_mode, max_action_length=max_action_length)
        if low > high:
            raise ValueError(f"low ({low}) must not exceed high ({high}).")
        unknown = set(operations) - set(OPERATIONS)
        if unknown or not operations:
            raise ValueError(
                f"operations must be drawn from {''.join(OPERATIONS)!r}, got {operations!r}."
            )
        self.low, self.high, self.operations = low, high, operations
        self.question = ""
        self.answer = 0
        self.task_id = ""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Draw a new question."""
        super().reset(seed=seed)
        a, b = (int(x) for x in self.np_random.integers(self.low, self.high + 1, size=2))
        symbol = self.operations[int(self.np_random.integers(len(self.operations)))]
        self.answer = OPERATIONS[symbol](a, b)
        self.question = f"What is {a} {symbol} {b}?"
        self.task_id = f"{a}{symbol}{b}"
        self.transcript = [f"Q: {self.question}"]
        info = step_info(0.0, components={}, task_id=self.task_id)
        return self.question, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Grade the answer and end the episode."""
        text, problem = read_action(action, self.max_action_length)
        guess = first_number(text) if text is not None else None
        correct = guess is not None and guess == self.answer
        if problem:
            feedback = problem
        elif guess is None:
            feedback = f"No number found in your reply. The answer was {self.answer}."
        elif correct:
            feedback = "Correct."
        else:
            feedback = f"Incorrect: you answered {guess:g}, the answer was {self.answer}."
        reward = 1.0 if correct else 0.0
        self.transcript += [f"A: {str(action)[:200]}", feedback]
        info = step_info(
            reward,
            components={"correct": reward},
            feedback=feedback,
            task_id=self.task_id,
            metrics={"success": correct, "parsed": guess is not None},
        )
        return f"{self.question}\n{feedback}", reward, True, False, info


def scripted_policy(context: ActContext) -> str:
    """The oracle: answer correctly."""
    return str(context.env.answer)


def random_policy(context: ActContext) -> str:
    """Guess a number in the plausible range."""
    env = context.env
    return str(context.rng.randint(min(env.low * 2, 0) - 1, env.high * max(env.high, 2) + 1))
