"""The TextArena games envalign registers: ones that run offline, one class each for ``envalign info``.

Each is :class:`~envalign.envs.external.textarena.env.TextArenaEnv` with TextArena's id, its number
of players and its rules in brief; the game itself is TextArena's (``textarena`` 0.7.4, MIT,
https://github.com/LeonGuertler/TextArena), made with ``ta.make`` and its default wrappers. Left out:
word games (they need NLTK data that cannot be fetched offline), games judged by a hosted LLM
(Debate and others) and those that need Python 3.12.
"""

from __future__ import annotations

from typing import Any, ClassVar

from envalign.envs.external.textarena.env import TextArenaEnv

COMMON = """
    ## Observation
    ``{{"observation": [turn, player_index, acting, current_player], "text": str}}``: for the player
    to move, TextArena's text for it (its default LLM wrapper's: the rules and the whole game so far,
    the latest part when longer than 16,384 characters); ``"Wait for your turn."`` for the others.

    ## Action
    TextArena's move syntax, e.g. {example}. TextArena judges moves itself: an invalid move is
    penalised by the game (in most games it loses). A non-string or over-long action is answered by
    the adapter with feedback and ``invalid_action`` = -0.1 and the player moves again (the third in
    a row is sent to the game as an empty move).

    ## Reward
    ``game``: TextArena's reward when the game ends ({reward}); ``invalid_action`` as above.
    ``metrics``: ``success`` (reward above 0), ``invalid_move`` (TextArena's flag).

    ## Termination
    When TextArena says the game is done ({termination}).

    ## Source
    TextArena's ``{game_id}`` (MIT), ``pip install "envalign[textarena]"``. Seeded by
    ``reset(seed=...)`` with a private state of the global ``random`` generator.

    ## Baselines
    ``random``: a random bracketed move among those the game's latest text mentions.
"""


def _document(cls: type[TextArenaEnv], **fields: str) -> None:
    cls.__doc__ = (cls.__doc__ or "") + COMMON.format(game_id=cls.game_id, **fields)


class SimpleNegotiationEnv(TextArenaEnv):
    """Simple negotiation: trade resources with private values to raise your inventory's worth.

    ## Description
    Two players hold Wheat, Wood, Sheep, Brick and Ore, valued privately; over 10 turns they talk
    and make, accept or deny trade offers. The player whose inventory value grew more wins.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "textarena_negotiation"}
    game_id = "SimpleNegotiation-v0"


class LiarsDiceEnv(TextArenaEnv):
    """Liar's dice: bid on the dice under all cups, or call the last bid a lie.

    ## Description
    Each player rolls five hidden dice. In turn, bid a quantity and face higher than the last bid,
    or call; the loser of a call loses a die. The last player with dice wins.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "textarena_liars_dice"}
    game_id = "LiarsDice-v0"


class KuhnPokerEnv(TextArenaEnv):
    """Kuhn poker over several rounds (J, Q, K; one bet), TextArena's version.

    ## Description
    Each round both ante a chip and get one card; check, bet, call or fold. The player with more
    chips after the rounds wins.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "textarena_kuhn_poker"}
    game_id = "KuhnPoker-v0"


class TicTacToeEnv(TextArenaEnv):
    """Tic-tac-toe in TextArena's text form (cells 0-8).

    ## Description
    Players place marks by cell number; three in a row wins.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "textarena_tic_tac_toe"}
    game_id = "TicTacToe-v0"


class StrategoEnv(TextArenaEnv):
    """Stratego: a hidden-rank army game; capture the flag.

    ## Description
    Armies are placed for the players; move pieces (``[A0 B0]``), attack to reveal ranks; capture
    the opponent's flag or leave it no movable piece.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "textarena_stratego"}
    game_id = "Stratego-v0"


class SecretMafiaEnv(TextArenaEnv):
    """Secret Mafia: a social-deduction game of villagers, a doctor, a detective and the mafia.

    ## Description
    Six players with secret roles; by day they discuss and vote someone out, by night the mafia
    kills, the doctor protects and the detective investigates. The village wins when the mafia is
    gone; the mafia when it reaches parity.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi"],
        "name": "textarena_secret_mafia",
    }
    game_id = "SecretMafia-v0"
    players = 6


_document(
    SimpleNegotiationEnv,
    example="'[Offer: 3 Sheep -> 2 Ore]', '[Accept]' or free talk",
    reward="1 to the player whose inventory value rose more, -1 to the other, 0 each for a draw",
    termination="after 10 turns, or an invalid move",
)
_document(
    LiarsDiceEnv,
    example="'[Bid: 3, 4]' or '[Call]'",
    reward="1 to the winner, -1 to the others",
    termination="one player keeps dice, or an invalid move",
)
_document(
    KuhnPokerEnv,
    example="'[check]', '[bet]', '[call]' or '[fold]'",
    reward="1 to the player with more chips at the end, -1 to the other",
    termination="after the last round, or an invalid move",
)
_document(
    TicTacToeEnv,
    example="'[4]'",
    reward="1 to the winner, -1 to the loser, 0 for a draw",
    termination="three in a row, a full board, or an invalid move",
)
_document(
    StrategoEnv,
    example="'[D0 E0]'",
    reward="1 to the winner, -1 to the loser",
    termination="a captured flag, no movable pieces, the turn limit, or an invalid move",
)
_document(
    SecretMafiaEnv,
    example="free talk by day, '[3]' to vote for Player 3",
    reward="1 to each member of the winning team, -1 to the others",
    termination="one team wins, or an invalid move",
)
