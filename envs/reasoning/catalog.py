"""Reasoning environments with verifiable answers."""

from envalign.envs.registry import register

ARITHMETIC = "envalign.envs.reasoning.arithmetic"


def register_all() -> None:
    """Register the reasoning family."""
    register(
        "envalign/Arithmetic-v0",
        f"{ARITHMETIC}:ArithmeticEnv",
        family="reasoning",
        description="Single-turn 'What is a + b?'; reward 1 when the first number in the reply is right.",
        policies={
            "scripted": f"{ARITHMETIC}:scripted_policy",
            "random": f"{ARITHMETIC}:random_policy",
        },
    )
