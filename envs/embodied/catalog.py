"""The embodied family's registrations: BabyAI-Text levels, the household and the cooperative kitchen."""

from envalign.envs.registry import register

BABYAI = "envalign.envs.embodied.babyai_text"
HOUSEHOLD = "envalign.envs.embodied.household.env"
KITCHEN = "envalign.envs.embodied.coop_kitchen"
BABYAI_LEVELS = ("GoToRedBall", "GoToLocal", "PickupLoc", "PutNextLocal", "GoTo", "Open")


def register_all() -> None:
    """Register the embodied family (one ``register(...)`` per environment)."""
    for level in BABYAI_LEVELS:
        register(
            f"envalign/BabyAIText-{level}-v0",
            f"{BABYAI}:BabyAITextEnv",
            family="embodied",
            description=f"MiniGrid's BabyAI {level} level through a GLAM-style text view and six commands.",
            kwargs={"level": level},
            tags=("minigrid", "babyai", "glam", "valid-actions"),
            policies={"scripted": f"{BABYAI}:bot_policy", "random": f"{BABYAI}:random_policy"},
        )
    register(
        "envalign/Household-v0",
        f"{HOUSEHOLD}:HouseholdEnv",
        family="embodied",
        description="ALFWorld-style text household: six task types, admissible commands, sub-goal rewards.",
        tags=("alfworld", "procedural", "valid-actions"),
        policies={
            "scripted": f"{HOUSEHOLD}:planner_policy",
            "random": f"{HOUSEHOLD}:random_policy",
        },
    )
    register(
        "envalign/CoopKitchen-v0",
        f"{KITCHEN}:CoopKitchenEnv",
        family="embodied",
        num_agents=2,
        description="Overcooked-style two-cook kitchen split by a pass counter; team reward per dish served.",
        tags=("overcooked", "cooperative", "valid-actions", "rgb_array"),
        policies={"scripted": f"{KITCHEN}:scripted_policy", "random": f"{KITCHEN}:random_policy"},
    )
