"""Links into the episode viewer that open it filtered: ``episodes.html#env=ID&seed=1-5``.

The viewer page (:mod:`envalign.training.view.episodes_page`) reads these fragment keys on load
and whenever the fragment changes:

- ``env=ID``: only episodes of that environment id (the environment menu is set to it);
- ``seed=1,4,7-9``: only these seeds (a list of numbers and inclusive ranges);
- ``policy=NAME``: some agent played ``NAME``; ``policy.AGENT=NAME``: agent ``AGENT`` played it
  (each given key must hold, as recorded in the episode's ``policies``);
- ``success=1|0|none``, ``min=NUMBER``, ``q=TEXT``: the outcome, minimum return and search
  filters, as the controls on the page;
- ``episode=N``: open the ``N``-th episode of the file.

A fragment never leaves the browser, so the links work on a page opened from disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote


def seed_ranges(seeds: Iterable[int]) -> str:
    """Seeds as the viewer's compact list: ``[1, 2, 3, 7]`` -> ``"1-3,7"``."""
    ordered = sorted(set(seeds))
    parts: list[str] = []
    start = previous = None
    for seed in [*ordered, None]:
        if previous is not None and seed == previous + 1:
            previous = seed
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = seed
    return ",".join(parts)


def viewer_link(
    page: str,
    *,
    env_id: str | None = None,
    seeds: Iterable[int] = (),
    policies: Mapping[str, str] | None = None,
    any_policy: Iterable[str] = (),
    episode: int | None = None,
) -> str:
    """A link to ``page`` (a viewer page's URL or relative path) that opens it filtered.

    Args:
        page: Where the viewer page is, relative to the page holding the link or absolute.
        env_id: Show only this environment's episodes.
        seeds: Show only these seeds (none: every seed).
        policies: ``{agent: policy}`` each episode must have played.
        any_policy: Policy names some agent of each episode must have played.
        episode: Open this episode (its position in the file).

    Returns:
        ``page`` with a fragment; every value is percent-encoded.
    """
    keys: list[tuple[str, str]] = []
    if env_id is not None:
        keys.append(("env", env_id))
    seed_text = seed_ranges(seeds)
    if seed_text:
        keys.append(("seed", seed_text))
    keys += [(f"policy.{agent}", name) for agent, name in (policies or {}).items()]
    keys += [("policy", name) for name in any_policy]
    if episode is not None:
        keys.append(("episode", str(episode)))
    fragment = "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in keys)
    return f"{page.split('#', 1)[0]}#{fragment}" if fragment else page
