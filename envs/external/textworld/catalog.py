"""The TextWorld family's registrations."""

from envalign.envs.external.dependencies import availability
from envalign.envs.registry import register

COOKING = "envalign.envs.external.textworld.cooking"


def register_all() -> None:
    """Register TextWorld's cooking games (listed even without ``textworld`` installed)."""
    note = availability("textworld", "textworld")
    register(
        "textworld/Cooking-v0",
        f"{COOKING}:CookingEnv",
        family="embodied",
        description=f"TextWorld tw-cooking: read the recipe, gather and prepare ingredients, eat.{note}",
        tags=("textworld", "external", "valid-actions", "procedural"),
        policies={
            "random": f"{COOKING}:random_policy",
            "walkthrough": f"{COOKING}:walkthrough_policy",
            "scripted": f"{COOKING}:walkthrough_policy",
        },
    )
