"""GuessNumber-v0: a multi-turn environment with text feedback, written as a plugin would be."""

from __future__ import annotations

import re
from typing import Any

from envalign.envs import ActContext, TextEnv, read_action, step_info

NUMBER = re.compile(r"-?\d{1,12}")


class GuessNumberEnv(TextEnv):
    """Guess the hidden number; the environment answers "higher" or "lower".

    ## Description
    A number is drawn uniformly from ``[1, high]``. The agent has ``max_tries`` guesses.

    ## Observation
    The rules, then the feedback on the last guess.

    ## Action
    Free text; the first integer in it is the guess.

    ## Reward
    ``solved``: 1.0 when the guess is right; ``invalid``: -0.1 for a reply without a number.

    ## Termination
    On the right guess; truncation after ``max_tries`` guesses.

    ## Arguments
    ``high`` (default 100), ``max_tries`` (default 7), ``render_mode`` (``"ansi"``).
    """

    def __init__(self, high: int = 100, max_tries: int = 7, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode, max_action_length=1_000)
        self.high, self.max_tries = high, max_tries
        self.secret, self.tries = 0, 0
        self.low_bound, self.high_bound = 1, high

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self.secret = int(self.np_random.integers(1, self.high + 1))
        self.tries, self.low_bound, self.high_bound = 0, 1, self.high
        self.transcript = [f"secret {self.secret}"]
        text = (
            f"I am thinking of a number from 1 to {self.high}. You have {self.max_tries} guesses."
        )
        return text, step_info(0.0, components={}, task_id=str(self.secret))

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        text, problem = read_action(action, self.max_action_length)
        match = NUMBER.search(text) if text is not None else None
        self.tries += 1
        truncated = self.tries >= self.max_tries
        if match is None:
            feedback = problem or "Reply with a whole number."
            info = step_info(
                -0.1,
                components={"invalid": -0.1},
                feedback=feedback,
                task_id=str(self.secret),
                metrics={"success": False},
            )
            return feedback, -0.1, False, truncated, info
        guess = int(match.group())
        solved = guess == self.secret
        if solved:
            feedback = f"Yes, it is {guess}."
        else:
            feedback = f"{guess} is too {'low' if guess < self.secret else 'high'}."
            if guess < self.secret:
                self.low_bound = max(self.low_bound, guess + 1)
            else:
                self.high_bound = min(self.high_bound, guess - 1)
        self.transcript.append(feedback)
        reward = 1.0 if solved else 0.0
        info = step_info(
            reward,
            components={"solved": reward},
            feedback=feedback,
            task_id=str(self.secret),
            metrics={"success": solved},
        )
        return feedback, reward, solved, truncated and not solved, info


def bisect_policy(context: ActContext) -> str:
    """Guess the middle of the interval still possible."""
    env = context.env
    return str((env.low_bound + env.high_bound) // 2)
