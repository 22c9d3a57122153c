"""Match free-text replies to admissible commands (case, articles, punctuation, extra words, synonyms).

Embodied environments list their admissible commands in ``info["valid_actions"]``. A policy that scores
each of them (GLAM, TWOSOME) sends one verbatim; a policy that generates text may write "Turn LEFT.",
"I will go to the fridge 1" or "rotate left". :func:`match_action` maps such replies to exactly one
admissible command, or to ``None`` with :func:`unmatched_feedback` explaining what to write.

Matching compares *keys*: lower-cased word sequences without punctuation, articles, prepositions and
politeness fillers. A reply matches an action when the action's key is the reply's key, or occurs in it
as a contiguous run of words (extra words around it are ignored); when several actions occur, the one
whose occurrence covers the others wins, and a reply naming two unrelated actions is ambiguous. Aliases
(``{"rotate left": "turn left"}``) are tried the same way when no action occurs literally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

WORD = re.compile(r"[a-z0-9]+")
#: Words that never distinguish two commands: articles, prepositions, fillers.
IGNORED_WORDS = frozenset(
    "a an the some to in on into onto inside at from with using please now then".split()
)
MAX_REPLY_CHARS = 2_000
MAX_LISTED = 12


def action_key(text: str) -> tuple[str, ...]:
    """Return the comparison key of ``text``: its significant lower-case words, in order."""
    return tuple(word for word in WORD.findall(text.lower()) if word not in IGNORED_WORDS)


def _occurrences(needle: tuple[str, ...], haystack: tuple[str, ...]) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` spans where ``needle`` occurs contiguously in ``haystack``."""
    size = len(needle)
    if size == 0:
        return []
    return [
        (start, start + size)
        for start in range(len(haystack) - size + 1)
        if haystack[start : start + size] == needle
    ]


def _best_occurring(
    reply: tuple[str, ...], candidates: Mapping[tuple[str, ...], str]
) -> tuple[str | None, bool]:
    """Return ``(action, ambiguous)`` for the candidate keys occurring in ``reply``.

    A candidate whose every occurrence lies inside another candidate's occurrence is dropped
    ("go forward" inside "go forward twice" is one action, "turn left" inside "turn left turn right"
    is not alone).
    """
    spans = {key: _occurrences(key, reply) for key in candidates}
    found = {key: found_spans for key, found_spans in spans.items() if found_spans}
    if not found:
        return None, False

    def covered(key: tuple[str, ...]) -> bool:
        return all(
            any(
                other != key and len(other) > len(key) and o_start <= start and end <= o_end
                for other, other_spans in found.items()
                for o_start, o_end in other_spans
            )
            for start, end in found[key]
        )

    remaining = {candidates[key] for key in found if not covered(key)}
    if len(remaining) == 1:
        return remaining.pop(), False
    return None, True


def match_action(
    reply: str,
    valid_actions: Sequence[str],
    aliases: Mapping[str, str] | None = None,
) -> str | None:
    """Return the admissible action that ``reply`` names, or ``None``.

    Args:
        reply: The agent's free text.
        valid_actions: The admissible commands of this step.
        aliases: Other phrasings, ``alias -> action`` (used only when the action is admissible).

    Returns:
        One element of ``valid_actions``, or ``None`` when the reply names none or is ambiguous.
    """
    reply_key = action_key(reply[:MAX_REPLY_CHARS])
    if not reply_key:
        return None
    by_key: dict[tuple[str, ...], str] = {}
    for action in valid_actions:
        by_key.setdefault(action_key(action), action)
    if reply_key in by_key:
        return by_key[reply_key]
    found, ambiguous = _best_occurring(reply_key, by_key)
    if found is not None or ambiguous:
        return found
    admissible = set(valid_actions)
    alias_keys = {
        action_key(alias): target
        for alias, target in (aliases or {}).items()
        if target in admissible and action_key(alias)
    }
    if reply_key in alias_keys:
        return alias_keys[reply_key]
    aliased, _ = _best_occurring(reply_key, alias_keys)
    return aliased if aliased is not None else _match_without_numbers(reply_key, by_key)


def _match_without_numbers(
    reply_key: tuple[str, ...], by_key: Mapping[tuple[str, ...], str]
) -> str | None:
    """Match an abbreviated reply when exactly one action fits it.

    In order: the reply begins exactly one action ("take apple 1" for "take apple 1 from fridge 1");
    the reply without numbers is exactly one action without numbers ("go to fridge" for
    "go to fridge 1"); the reply without numbers begins exactly one action without numbers.
    """

    def digitless(key: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(word for word in key if not word.isdigit())

    bare = digitless(reply_key)
    tests = (
        lambda key: key[: len(reply_key)] == reply_key,
        lambda key: bool(bare) and digitless(key) == bare,
        lambda key: bool(bare) and digitless(key)[: len(bare)] == bare,
    )
    for fits in tests:
        found = {action for key, action in by_key.items() if fits(key)}
        if len(found) == 1:
            return found.pop()
        if found:
            return None
    return None


def unmatched_feedback(reply: str, valid_actions: Sequence[str]) -> str:
    """Explain that ``reply`` named no admissible action, listing some that are."""
    shown = ", ".join(f"'{action}'" for action in list(valid_actions)[:MAX_LISTED])
    more = f" and {len(valid_actions) - MAX_LISTED} more" if len(valid_actions) > MAX_LISTED else ""
    excerpt = " ".join(reply.split())[:60]
    return (
        f"I did not understand '{excerpt}'. Reply with exactly one admissible command, "
        f"for example {shown}{more}."
    )
