"""``envalign view``: episode records as one self-contained HTML page.

The page carries everything inline (no CDN, no network): the styles, the script and the episodes as
compact JSON in a ``<script type="application/json">``. The list holds a small index row per episode
and is rendered virtualised; an episode's turns stay a JSON string until it is opened, so ten
thousand episodes load and filter without freezing the page. Embodied episodes are replayed to an
animated GIF (see :mod:`envalign.training.view.replay`) for the first ``frames`` of them.
A link's fragment (``#env=ID&seed=1-5&policy.AGENT=NAME``) opens the page filtered (see
:mod:`envalign.training.view.links`).

All text is inserted with ``textContent``: agent text is untrusted and never becomes markup.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any

from envalign.envs.errors import ConfigError, UnreadableInput

#: Replay at most this many episodes to GIFs by default (a 10k-episode page stays small).
DEFAULT_FRAMES = 50
#: Turn fields dropped from the page: numbers a reader cannot use, and the bulk of a record.
DROPPED_TURN_FIELDS = ("token_ids", "logprobs", "prompt_token_ids")
REQUIRED_FIELDS = ("env_id", "seed", "agents", "turns", "returns")


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read an episode file as plain JSON objects, checking each line.

    Unknown keys are kept (a newer writer's extras show up in the page). A last line without a
    newline is a record cut by a hard kill and is skipped, as :func:`read_episodes` does.

    Raises:
        UnreadableInput: If the file is missing, empty, or a line is not an episode record.
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableInput(
            f"No episode file at '{path}'. Write one with "
            "`envalign run ID --out FILE.jsonl` and pass its path."
        )
    records = list(_records(path))
    if not records:
        raise UnreadableInput(
            f"'{path}' holds no episodes. Write some with `envalign run ID --out {path}`."
        )
    return records


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", errors="replace") as handle:  # bad bytes: not JSON
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                if not line.endswith("\n"):
                    return
                raise UnreadableInput(
                    f"{path}:{number} is not JSON ({error.msg} at column {error.colno}); "
                    "each line must be one episode written by `envalign run --out`."
                ) from error
            missing = [
                key for key in REQUIRED_FIELDS if not isinstance(record, dict) or key not in record
            ]
            if missing:
                raise UnreadableInput(
                    f"{path}:{number} is not an episode record (missing {', '.join(missing)}); "
                    "pass a file written by `envalign run --out` or a trainer."
                )
            wrong = _wrong_types(record)
            if wrong:
                raise UnreadableInput(
                    f"{path}:{number} is not an episode record ({wrong}); "
                    "pass a file written by `envalign run --out` or a trainer."
                )
            yield record


def _wrong_types(record: dict[str, Any]) -> str:
    """What in ``record`` has a type no writer produces (empty if nothing)."""
    turns = record["turns"]
    if not isinstance(turns, list) or not all(isinstance(turn, dict) for turn in turns):
        return "turns must be a list of objects"
    for key in ("returns", "success", "policies", "system_prompts", "env_kwargs"):
        if record.get(key) is not None and not isinstance(record[key], dict):
            return f"{key} must be an object"
    if not isinstance(record["agents"], list):
        return "agents must be a list"
    return ""


def episode_success(record: dict[str, Any]) -> bool | None:
    """An episode succeeds when every agent that reports success reports true (as the summary)."""
    reported = [bool(v) for v in (record.get("success") or {}).values() if v is not None]
    return all(reported) if reported else None


def to_episode(record: dict[str, Any]) -> Any:
    """Rebuild an :class:`Episode` from a record, ignoring keys this version does not know."""
    from envalign.training.episodes import Episode, TurnRecord

    turn_keys = {f.name for f in fields(TurnRecord)}
    episode_keys = {f.name for f in fields(Episode)}
    data = {key: value for key, value in record.items() if key in episode_keys}
    data["turns"] = [
        TurnRecord(**{key: value for key, value in turn.items() if key in turn_keys})
        for turn in record.get("turns", [])
    ]
    return Episode(**data)


def page_data(
    records: list[dict[str, Any]], *, frames: int = DEFAULT_FRAMES, source: str = ""
) -> dict[str, Any]:
    """The JSON the page embeds: an index row per episode, details as strings, and GIFs.

    ``policies`` holds each episode's ``{agent: policy}``, for the page's link filters
    (``#policy.AGENT=NAME``, see :mod:`envalign.training.view.links`).

    Args:
        records: Episode records (see :func:`read_records`).
        frames: Replay the first this-many episodes of environments that render ``rgb_array``.
        source: The file name shown in the title.
    """
    envs = sorted({str(record["env_id"]) for record in records})
    env_index = {env: number for number, env in enumerate(envs)}
    shared: dict[str, int] = {}
    rows, details, policies = [], [], []
    for record in records:
        rows.append(_index_row(record, env_index))
        details.append(strict_json(_details(record, shared)))
        policies.append({str(k): str(v) for k, v in (record.get("policies") or {}).items()})
    pictures, notes = _animations(records, frames)
    return {
        "source": source,
        "envs": envs,
        "rows": rows,
        "details": details,
        "policies": policies,
        "shared": [json.loads(text) for text in shared],
        "gifs": pictures,
        "gifNotes": notes,
        "frames": frames,
    }


def _index_row(record: dict[str, Any], env_index: dict[str, int]) -> list[Any]:
    """``[env, seed, mean return, success (1/0/null), steps, task, policies, returns text]``."""
    returns = {str(k): float(v) for k, v in (record.get("returns") or {}).items()}
    mean = sum(returns.values()) / len(returns) if returns else 0.0
    success = episode_success(record)
    policies = sorted(set(map(str, (record.get("policies") or {}).values())))
    return [
        env_index[str(record["env_id"])],
        record["seed"],
        round(mean, 6),
        None if success is None else int(success),
        int(record.get("steps", 0)),
        str(record.get("task_id", "")),
        ", ".join(policies),
        " / ".join(f"{value:+.3g}" for value in returns.values()),
    ]


def _details(record: dict[str, Any], shared: dict[str, int]) -> dict[str, Any]:
    """The record without token arrays; repeated prompts and action lists become shared ids."""
    detail = {key: value for key, value in record.items() if key != "turns"}
    detail["system_prompts"] = {
        agent: _share(text, shared) for agent, text in (record.get("system_prompts") or {}).items()
    }
    turns = []
    for turn in record.get("turns", []):
        kept = {key: value for key, value in turn.items() if key not in DROPPED_TURN_FIELDS}
        kept["tokens"] = len(turn.get("token_ids") or [])
        if turn.get("valid_actions"):
            kept["valid_actions"] = _share(turn["valid_actions"], shared)
        turns.append(kept)
    detail["turns"] = turns
    return detail


def _share(value: Any, shared: dict[str, int]) -> int:
    key = json.dumps(value, ensure_ascii=False)
    return shared.setdefault(key, len(shared))


def _animations(records: list[dict[str, Any]], limit: int) -> tuple[dict[str, str], dict[str, str]]:
    """GIF data URIs (and notes) of the first ``limit`` episodes that render pictures."""
    from envalign.training.view.replay import gif_data_uri, renders_pictures, replay_frames

    pictured = {env: renders_pictures(env) for env in {str(r["env_id"]) for r in records}}
    pictures: dict[str, str] = {}
    notes: dict[str, str] = {}
    for number, record in enumerate(records):
        if len(pictures) + len(notes) >= limit:
            break
        if not pictured[str(record["env_id"])]:
            continue
        try:
            replay = replay_frames(to_episode(record))
        except TypeError as error:  # a record whose fields this version cannot rebuild
            replay = None
            notes[str(number)] = f"not replayed: {error}"
        if replay is None:
            continue
        if replay.frames:
            pictures[str(number)] = gif_data_uri(replay.frames)
        if replay.note:
            notes[str(number)] = replay.note
    return pictures, notes


def asset(name: str) -> str:
    """The text of a file shipped in this package (``viewer.js``, ``viewer.css``...)."""
    return resources.files("envalign.training.view").joinpath(name).read_text(encoding="utf-8")


def strict_json(data: Any, **options: Any) -> str:
    """JSON the browser's ``JSON.parse`` accepts: NaN and infinities (Python writes them) as null."""
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False, **options)
    except ValueError:
        return json.dumps(_finite(data), ensure_ascii=False, allow_nan=False, **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def script_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` survive."""
    text = strict_json(data, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_page(data: dict[str, Any], title: str) -> str:
    """Fill the page template with the styles, the script and the data."""
    import html

    parts = {
        "title": html.escape(title),
        "style": asset("viewer.css"),
        "data": script_json(data),
        "script": asset("viewer.js"),
    }
    return fill_template(asset("viewer.html"), parts)


def fill_template(template: str, parts: dict[str, str]) -> str:
    """Replace each ``{{name}}`` of ``template`` in one pass (inserted text is never rescanned)."""
    import re

    return re.sub(r"\{\{(\w+)\}\}", lambda match: parts[match.group(1)], template)


def build_episodes_page(
    episodes_path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    frames: int = DEFAULT_FRAMES,
) -> Path:
    """Write the viewer page of an episode file.

    Args:
        episodes_path: A JSON Lines file of episodes (``envalign run --out``).
        out: The HTML file to write; defaults to the episode file with ``.html``.
        frames: Replay the first this-many pictured episodes to animations (0: none).

    Returns:
        The page written.

    Raises:
        UnreadableInput: If the episode file is missing, empty or malformed.
    """
    source = Path(episodes_path)
    records = read_records(source)
    target = Path(out) if out is not None else source.with_suffix(".html")
    data = page_data(records, frames=frames, source=source.name)
    page = render_page(data, title=f"{source.name}: {len(records)} episodes")
    return write_page(target, page)


def write_page(target: Path, page: str) -> Path:
    """Write ``page`` to ``target`` through a ``.partial`` file, so a reader never sees half.

    Raises:
        ConfigError: If ``target`` cannot be written (a folder, a read-only place).
    """
    partial = target.with_name(target.name + ".partial")
    try:
        if target.is_dir():
            raise IsADirectoryError(f"'{target}' is a folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink()
        reason = error.strerror or str(error)
        raise ConfigError(
            f"Cannot write the page to '{target}' ({reason}); pass --out a writable FILE.html."
        ) from error
    return target
