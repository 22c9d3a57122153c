"""Free-text replies map to exactly one admissible command, or to None with feedback."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from envalign.envs.embodied.babyai_text import ALIASES, COMMANDS
from envalign.envs.embodied.text_matching import action_key, match_action, unmatched_feedback

HOUSE = [
    "go to fridge 1",
    "go to countertop 1",
    "go to countertop 2",
    "open fridge 1",
    "take apple 1 from fridge 1",
    "take mug 2 from fridge 1",
    "put apple 1 in/on countertop 1",
    "look",
    "inventory",
]
FILLERS = st.sampled_from(["I", "will", "now", "please", "ok", "let", "me", "think", "step", "so"])


def test_exact_and_decorated_replies_match():
    assert match_action("go to fridge 1", HOUSE) == "go to fridge 1"
    assert match_action("  GO TO THE FRIDGE 1!!", HOUSE) == "go to fridge 1"
    assert match_action("I will take the apple 1 from the fridge 1.", HOUSE) == (
        "take apple 1 from fridge 1"
    )
    assert match_action("Put apple 1 on countertop 1", HOUSE) == "put apple 1 in/on countertop 1"


def test_number_can_be_left_out_only_when_unambiguous():
    assert match_action("go to the fridge", HOUSE) == "go to fridge 1"
    assert match_action("go to the countertop", HOUSE) is None


def test_two_unrelated_actions_are_ambiguous():
    assert match_action("look, then inventory", HOUSE) is None


def test_aliases_apply_only_after_literal_commands():
    assert match_action("rotate left", COMMANDS, ALIASES) == "turn left"
    assert match_action("Move forward please.", COMMANDS, ALIASES) == "go forward"
    assert match_action("pickup", COMMANDS, ALIASES) == "pick up"
    assert match_action("turn right", COMMANDS, ALIASES) == "turn right"
    assert match_action("dance", COMMANDS, ALIASES) is None


def test_unmatched_feedback_lists_commands():
    text = unmatched_feedback("dance wildly", COMMANDS)
    assert "dance wildly" in text and "'go forward'" in text


@settings(max_examples=200, deadline=None)
@given(
    action=st.sampled_from(HOUSE),
    upper=st.booleans(),
    before=st.lists(FILLERS, max_size=3),
    after=st.lists(FILLERS, max_size=3),
    article=st.sampled_from(["", "the ", "a "]),
    punctuation=st.sampled_from(["", ".", "!", " ?", "..."]),
)
def test_decorations_never_change_the_match(action, upper, before, after, article, punctuation):
    words = action.split()
    decorated = " ".join([*before, words[0], article + " ".join(words[1:]), *after]) + punctuation
    if upper:
        decorated = decorated.upper()
    assert match_action(decorated, HOUSE) == action


@settings(max_examples=300, deadline=None)
@given(reply=st.text(max_size=200))
def test_any_reply_gives_an_admissible_action_or_none(reply):
    matched = match_action(reply, HOUSE)
    assert matched is None or matched in HOUSE
    matched = match_action(reply, COMMANDS, ALIASES)
    assert matched is None or matched in COMMANDS


@given(reply=st.text(alphabet="xyzqw ,.!", max_size=50))
def test_replies_without_command_words_match_nothing(reply):
    assert match_action(reply, HOUSE) is None


def test_key_ignores_case_articles_and_punctuation():
    assert action_key("Go to THE fridge-1!") == ("go", "fridge", "1")


def test_abbreviations_match_only_when_one_action_fits():
    assert match_action("take apple 1", HOUSE) == "take apple 1 from fridge 1"
    assert match_action("take the apple", HOUSE) == "take apple 1 from fridge 1"
    assert match_action("take", HOUSE) is None  # apple or mug
    assert match_action("go", HOUSE) is None
    assert match_action("open", HOUSE) == "open fridge 1"
