"""The TextArena family's registrations: ``textarena/<Game>-v0`` for games that run offline."""

from envalign.envs.external.dependencies import availability
from envalign.envs.registry import register

GAMES = "envalign.envs.external.textarena.games"
RANDOM = "envalign.envs.external.textarena.env:random_policy"
#: id name -> (class in games.py, players, one line)
ENTRIES = {
    "SimpleNegotiation": ("SimpleNegotiationEnv", 2, "trade resources with private values"),
    "LiarsDice": ("LiarsDiceEnv", 2, "bid on hidden dice or call a lie"),
    "KuhnPoker": ("KuhnPokerEnv", 2, "several rounds of three-card poker"),
    "TicTacToe": ("TicTacToeEnv", 2, "three in a row, cells 0-8"),
    "Stratego": ("StrategoEnv", 2, "hidden-rank army game, capture the flag"),
    "SecretMafia": ("SecretMafiaEnv", 6, "social deduction: village against the mafia"),
}


def register_all() -> None:
    """Register the TextArena games (listed even without ``textarena`` installed)."""
    note = availability("textarena", "textarena")
    for name, (cls, players, line) in ENTRIES.items():
        register(
            f"textarena/{name}-v0",
            f"{GAMES}:{cls}",
            family="social",
            num_agents=players,
            description=f"TextArena {name}: {line}.{note}",
            signals=("scalar", "binary", "text"),
            tags=("textarena", "external"),
            policies={"random": RANDOM, "scripted": RANDOM},
        )
