"""Social-interaction and collective-intelligence games (PettingZoo)."""

from envalign.envs.registry import register

ULTIMATUM = "envalign.envs.social.ultimatum"


def register_all() -> None:
    """Register the social and collective families."""
    register(
        "envalign/Ultimatum-v0",
        f"{ULTIMATUM}:UltimatumEnv",
        family="social",
        num_agents=2,
        description="Proposer splits 100 coins in text, responder accepts or rejects; payoffs as rewards.",
        policies={
            "scripted": f"{ULTIMATUM}:fair_policy",
            "fair": f"{ULTIMATUM}:fair_policy",
            "greedy": f"{ULTIMATUM}:greedy_policy",
            "random": f"{ULTIMATUM}:random_policy",
        },
    )
