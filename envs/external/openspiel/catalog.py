"""The OpenSpiel family's registrations: ``openspiel/<Game>-v0``, one per game class in ``games.py``."""

from envalign.envs.external.dependencies import availability
from envalign.envs.registry import register

GAMES = "envalign.envs.external.openspiel.games"
BASELINES = "envalign.envs.external.openspiel.baselines"
#: id name -> (class in games.py, number of players, oracle baselines, one line)
ENTRIES = {
    "Bargaining": (
        "BargainingEnv",
        2,
        ("mcts",),
        "split books, hats and balls under private values",
    ),
    "Negotiation": ("NegotiationEnv", 2, ("mcts",), "proposals plus cheap-talk utterances"),
    "TradeComm": (
        "TradeCommEnv",
        2,
        ("protocol", "mcts"),
        "one utterance each, then a blind trade",
    ),
    "ColoredTrails": (
        "ColoredTrailsEnv",
        3,
        ("mcts",),
        "two proposers offer chip trades to a responder",
    ),
    "KuhnPoker": ("KuhnPokerEnv", 2, ("cfr",), "three-card poker; CFR equilibrium baseline"),
    "LeducPoker": ("LeducPokerEnv", 2, ("cfr",), "six-card two-round poker; CFR baseline"),
    "TicTacToe": ("TicTacToeEnv", 2, ("solver", "mcts"), "solved game; exact alpha-beta baseline"),
}


def register_all() -> None:
    """Register the OpenSpiel games (listed even without ``open-spiel`` installed)."""
    note = availability("pyspiel", "openspiel")
    for name, (cls, players, oracles, line) in ENTRIES.items():
        policies = {
            "random": f"{BASELINES}:random_policy",
            "scripted": f"{BASELINES}:{oracles[0]}_policy",
        }
        policies.update({oracle: f"{BASELINES}:{oracle}_policy" for oracle in oracles})
        register(
            f"openspiel/{name}-v0",
            f"{GAMES}:{cls}",
            family="social",
            num_agents=players,
            description=f"OpenSpiel {name}: {line}.{note}",
            tags=("openspiel", "external", "game-theory", "valid-actions"),
            policies=policies,
        )
