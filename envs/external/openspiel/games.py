"""The OpenSpiel games envalign registers, one class each so that ``envalign info`` shows its rules.

Every class is :class:`~envalign.envs.external.openspiel.env.OpenSpielEnv` with the game's name, its
default parameters and a paragraph of rules; the game itself is OpenSpiel's C++ implementation
(``open-spiel`` 2.0.2, Apache-2.0, https://github.com/google-deepmind/open_spiel).
"""

from __future__ import annotations

from typing import Any, ClassVar

from envalign.envs.external.openspiel.env import OpenSpielEnv

COMMON = """
    ## Observation
    ``{{"observation": [move_number, player_index, acting, invalid_count, num_legal_actions],
    "text": str}}``: the rules, OpenSpiel's view of the state for this player{view}, the feedback on
    the last action and, for the player to move, the legal actions (also in ``info["valid_actions"]``).

    ## Action
    One legal action's name, e.g. {example}; matching ignores case, punctuation and words around it.
    Anything else is answered with feedback and ``invalid_action`` = -0.1; the player moves again, and
    after 3 invalid actions in a row a random legal action is played for it (seeded).

    ## Reward
    ``game``: OpenSpiel's reward for the step ({reward}); ``invalid_action`` as above.
    ``metrics["success"]``: the player's return is positive; ``metrics["return"]`` is the return.

    ## Termination
    When OpenSpiel's state is terminal ({termination}).

    ## Source
    OpenSpiel's ``{game}`` (DeepMind, Apache-2.0), ``pip install "envalign[openspiel]"``. Chance
    outcomes are sampled from a generator seeded by ``reset(seed=...)``.

    ## Baselines
    ``random`` (a uniform legal action) and {oracle}.
"""


def _document(cls: type[OpenSpielEnv], **fields: str) -> type[OpenSpielEnv]:
    view = " (its information state: everything it has seen)" if cls.view != "observation" else ""
    cls.__doc__ = (cls.__doc__ or "") + COMMON.format(game=cls.game_name, view=view, **fields)
    return cls


class BargainingEnv(OpenSpielEnv):
    """Bargaining over a pool of books, hats and basketballs (Lewis et al. 2017, DeNero et al.).

    ## Description
    Two players with private values for each item take turns to offer a split of the pool, up to
    10 offers; the other may agree. Without agreement both get nothing.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "openspiel_bargaining"}
    game_name = "bargaining"
    rules = (
        "Bargaining: you and the other player split a pool of items. Each of you values the items "
        "privately. Take turns offering how many of each item YOU get; the other may Agree. "
        "No agreement after the last offer means both get 0; otherwise each scores the value of "
        "the items they receive."
    )


class NegotiationEnv(OpenSpielEnv):
    """Negotiation with proposals and cheap-talk utterances (Cao et al. 2018, "Emergent communication").

    ## Description
    Two players with private utility vectors over three item types alternate a proposal (how to
    split the pool) and an utterance (three symbols of cheap talk); a player may accept the other's
    last proposal. The game has a random number of turns.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "openspiel_negotiation"}
    game_name = "negotiation"
    rules = (
        "Negotiation: split a pool of three item types. Each turn you make a Proposal "
        "([a, b, c]: what YOU get) and then an Utterance (three symbols of cheap talk). Accepting "
        "the other's proposal ends the game with that split, scored by your private utilities."
    )


class TradeCommEnv(OpenSpielEnv):
    """Trade with communication: each player holds an item and wants the other's (Sokota et al.).

    ## Description
    Each player privately receives one of 10 items. Each utters one symbol, then both propose a
    trade; they are rewarded only when the trades match what each holds.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "openspiel_trade_comm"}
    game_name = "trade_comm"
    rules = (
        "Trade with communication: you each hold one item (0-9) and cannot see the other's. First "
        "each of you utters one symbol, then each proposes 'Trade x:y' (give x, get y). Both score 1 "
        "when the two trades match the items you actually hold."
    )


class ColoredTrailsEnv(OpenSpielEnv):
    """Colored Trails: two proposers offer chip trades to a responder (Gal et al., de Jong et al.).

    ## Description
    Three players on a 4x4 board of colours: two proposers each offer the responder a chip trade,
    the responder takes one or none; scores depend on how close the chips bring each to its goal.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi"],
        "name": "openspiel_colored_trails",
    }
    game_name = "colored_trails"
    rules = (
        "Colored Trails: moving onto a square of the board costs a chip of its colour. Players 0 and "
        "1 each propose a chip trade to player 2, who accepts one or none. Scores reward getting "
        "close to your goal and keeping chips."
    )


class KuhnPokerEnv(OpenSpielEnv):
    """Kuhn poker: three cards, one bet (Kuhn 1950), the smallest poker with a mixed equilibrium.

    ## Description
    Each player antes 1 and gets one card of J, Q, K (shown as 0, 1, 2); players Pass or Bet in
    turn; the higher card wins the pot at a showdown.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "openspiel_kuhn_poker"}
    game_name = "kuhn_poker"
    view = "information_state"
    rules = (
        "Kuhn poker: a deck of three cards (0 < 1 < 2). Each player antes 1 chip and holds one card. "
        "In turn, Pass or Bet 1 chip; after a bet, Bet calls and Pass folds. The higher card wins at "
        "showdown. The view shows your card then the moves so far (p = pass, b = bet)."
    )


class LeducPokerEnv(OpenSpielEnv):
    """Leduc hold'em: six cards, two betting rounds, one public card (Southey et al. 2005).

    ## Description
    Each player holds a private card; a public card is revealed after the first round; a pair with
    the public card wins, else the higher card.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "openspiel_leduc_poker"}
    game_name = "leduc_poker"
    view = "information_state"
    rules = (
        "Leduc poker: six cards (two suits of J, Q, K). Each player antes 1 and holds one private "
        "card; two betting rounds (Fold, Call, Raise; raises of 2 then 4); a public card is shown "
        "after the first. Pairing the public card wins, else the higher card."
    )


class TicTacToeEnv(OpenSpielEnv):
    """Tic-tac-toe: perfect information, solved (a draw with best play).

    ## Description
    Players mark ``x`` and ``o`` on a 3x3 board; three in a row wins.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "openspiel_tic_tac_toe"}
    game_name = "tic_tac_toe"
    rules = (
        "Tic-tac-toe: player_0 plays x, player_1 plays o, on a 3x3 board (row, column from 0). "
        "Three in a row, column or diagonal wins."
    )


MCTS = "``mcts`` (OpenSpiel's MCTS bot with random rollouts on the true state: it sees hidden information, so it is an upper reference, not a fair player)"
_document(
    BargainingEnv,
    example="'Offer: Book: 1, Hat: 0, Basketball: 1' or 'Agree'",
    reward="each player's value of the items it gets, 0 to 10, when the game ends",
    termination="agreement, or after 10 offers",
    oracle=MCTS,
)
_document(
    NegotiationEnv,
    example="'Proposal: [1, 0, 2]', 'Utterance: [0, 3, 1]' or 'Accept'",
    reward="the utility of the agreed split when a proposal is accepted, else 0",
    termination="acceptance, or a random number of turns (4 to 10)",
    oracle=MCTS,
)
_document(
    TradeCommEnv,
    example="'Utter 3' or 'Trade 3:7'",
    reward="1 each when the trade succeeds, else 0",
    termination="after the two utterances and the two trade proposals",
    oracle="``protocol`` (the optimal convention: utter your item, then trade it for the one you "
    "heard; both following it always score 1) and " + MCTS + "; MCTS rarely finds the trade",
)
_document(
    ColoredTrailsEnv,
    example="'Proposer 0: B for E' or 'Deal: trade with proposer 1'",
    reward="each player's score change when the game ends",
    termination="after the two proposals and the responder's choice",
    oracle=MCTS,
)
_document(
    KuhnPokerEnv,
    example="'Pass' or 'Bet'",
    reward="chips won or lost (zero-sum, -2 to 2)",
    termination="a fold or the showdown",
    oracle="``cfr`` (an approximate Nash equilibrium from OpenSpiel's C++ CFR, 1,000 iterations)",
)
_document(
    LeducPokerEnv,
    example="'Call', 'Raise' or 'Fold'",
    reward="chips won or lost (zero-sum)",
    termination="a fold or the showdown after the second round",
    oracle="``cfr`` (OpenSpiel's C++ CFR, 200 iterations)",
)
_document(
    TicTacToeEnv,
    example="'x(1,1)'",
    reward="1 to the winner, -1 to the loser, 0 for a draw",
    termination="three in a row, or a full board",
    oracle="``solver`` (exact alpha-beta search from OpenSpiel: never loses) and ``mcts``",
)
