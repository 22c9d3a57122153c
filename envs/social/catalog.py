"""Social-interaction and collective-intelligence games (PettingZoo)."""

from envalign.envs.registry import register

ULTIMATUM = "envalign.envs.social.ultimatum"
DILEMMA = "envalign.envs.social.prisoners_dilemma"
PUBLIC_GOODS = "envalign.envs.social.public_goods"
NEGOTIATION = "envalign.envs.social.negotiation"
DELIBERATION = "envalign.envs.social.deliberation"
SANDBOX = "envalign.envs.social.social_sandbox"
SANDBOX_POLICIES = {
    "scripted": f"{SANDBOX}:aligned_agent",
    "aligned": f"{SANDBOX}:aligned_agent",
    "careless": f"{SANDBOX}:careless_agent",
    "random": f"{SANDBOX}:random_member",
}


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
            "strict": f"{ULTIMATUM}:strict_policy",
            "greedy": f"{ULTIMATUM}:greedy_policy",
            "random": f"{ULTIMATUM}:random_policy",
        },
    )
    register(
        "envalign/PrisonersDilemma-v0",
        f"{DILEMMA}:PrisonersDilemmaEnv",
        family="social",
        num_agents=2,
        description="Iterated prisoner's dilemma, a message before each move; payoffs as rewards.",
        signals=("scalar", "text"),
        tags=("game-theory", "cheap-talk"),
        policies={
            "scripted": f"{DILEMMA}:tit_for_tat",
            "tit_for_tat": f"{DILEMMA}:tit_for_tat",
            "always_defect": f"{DILEMMA}:always_defect",
            "always_cooperate": f"{DILEMMA}:always_cooperate",
            "random": f"{DILEMMA}:random_move",
        },
    )
    register(
        "envalign/PublicGoods-v0",
        f"{PUBLIC_GOODS}:PublicGoodsEnv",
        family="social",
        num_agents=4,
        description="N players contribute to a multiplied common pot; payoffs, cooperation rate.",
        signals=("scalar", "text"),
        tags=("game-theory",),
        policies={
            "scripted": f"{PUBLIC_GOODS}:conditional_cooperator",
            "conditional_cooperator": f"{PUBLIC_GOODS}:conditional_cooperator",
            "full_contributor": f"{PUBLIC_GOODS}:full_contributor",
            "free_rider": f"{PUBLIC_GOODS}:free_rider",
            "random": f"{PUBLIC_GOODS}:random_contributor",
        },
    )
    register(
        "envalign/Negotiation-v0",
        f"{NEGOTIATION}:NegotiationEnv",
        family="social",
        num_agents=2,
        description="Deal or No Deal: split books, hats and balls under private values in text.",
        tags=("negotiation",),
        policies={
            "scripted": f"{NEGOTIATION}:fair_negotiator",
            "fair": f"{NEGOTIATION}:fair_negotiator",
            "greedy": f"{NEGOTIATION}:greedy_negotiator",
            "random": f"{NEGOTIATION}:random_negotiator",
        },
    )
    register(
        "envalign/Deliberation-v0",
        f"{DELIBERATION}:DeliberationEnv",
        family="collective",
        num_agents=3,
        description="Agents answer known-answer questions, read each other's reasons, then vote.",
        tags=("collective-intelligence", "majority", "borda"),
        policies={
            "scripted": f"{DELIBERATION}:honest_agent",
            "honest": f"{DELIBERATION}:honest_agent",
            "majority_follower": f"{DELIBERATION}:majority_follower",
            "random": f"{DELIBERATION}:random_answerer",
        },
    )
    register(
        "envalign/SocialSandbox-v0",
        f"{SANDBOX}:SocialSandboxEnv",
        family="social",
        num_agents=3,
        description="Stable Alignment's SANDBOX: answer value questions, peers rate 1-7, revise.",
        tags=("peer-ratings", "stable-alignment", "interaction-records"),
        policies=SANDBOX_POLICIES,
    )
    register(
        "envalign/SocialSandboxRuleJudge-v0",
        f"{SANDBOX}:SocialSandboxEnv",
        family="social",
        num_agents=3,
        description="SocialSandbox rated by a deterministic keyword heuristic (fast runs, tests).",
        kwargs={"judge": "rule"},
        tags=("rule-based-judge", "stable-alignment", "interaction-records"),
        policies=SANDBOX_POLICIES,
    )
