"""Pull the code out of an agent's reply: a fenced block, or the reply itself when it is bare code."""

from __future__ import annotations

import re

# A fence is three or more backticks or tildes, an optional language tag, then the body up to a
# matching fence (or the end of the reply, for replies cut off by a token limit).
FENCE = re.compile(
    r"(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]{0,30})[^\n]{0,200}\n(?P<body>.*?)(?:\n[ \t]*(?P=fence)|\Z)",
    re.DOTALL,
)
PREFERRED = {
    "python": ("python", "py", "python3", ""),
    "bash": ("bash", "sh", "shell", "console", ""),
    "sql": ("sql", "sqlite", ""),
}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Return every fenced block of ``text`` as ``(language tag, body)``, in order."""
    text = text.replace("\r\n", "\n")
    return [(m.group("lang").lower(), m.group("body")) for m in FENCE.finditer(text)]


def extract_code(text: str, language: str = "python") -> str:
    """Return the code an agent meant to submit.

    The last fenced block tagged with ``language`` (or untagged) wins, because models often show an
    example before the final answer; without a fence the whole reply is taken as code.

    Args:
        text: The agent's reply.
        language: ``python``, ``bash`` or ``sql``; decides which fence tags count.

    Returns:
        The code with surrounding blank lines removed (``""`` when the reply is blank).
    """
    text = text.replace("\r\n", "\n")
    tags = PREFERRED.get(language, (language, ""))
    blocks = fenced_blocks(text)
    chosen = [body for tag, body in blocks if tag in tags]
    if chosen:
        return _strip_blank_lines(chosen[-1])
    if blocks:
        return _strip_blank_lines(blocks[-1][1])
    return _strip_blank_lines(text)


def _strip_blank_lines(code: str) -> str:
    lines = code.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)
