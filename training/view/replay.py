"""Replay a recorded episode to draw its frames: environments are deterministic under their seed.

Episode records keep no pictures. An environment that renders ``rgb_array`` is rebuilt from the
record's ``env_id`` and ``env_kwargs``, reset with its seed, and stepped with the recorded actions
(multi-agent: each step's moves, ``""`` for agents that did not act); every frame is drawn. The
rewards of the replay are checked against the record, so a picture never shows a different episode
than the one recorded: a replay that diverges is reported instead of drawn.
"""

from __future__ import annotations

import base64
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from envalign.training.episodes import Episode

#: Frames wider or taller than this are scaled down, so an embedded GIF stays small.
MAX_FRAME_SIDE = 240
#: Longest animation drawn; later steps are left out (and the caption says so).
MAX_FRAMES = 150


@dataclass
class Replay:
    """What replaying one episode gave.

    Attributes:
        frames: ``[height, width, 3]`` uint8 pictures, the first after ``reset``.
        note: Why there are no frames (divergence, an error), or what was left out; empty if none.
    """

    frames: list[Any] = field(default_factory=list)
    note: str = ""


def renders_pictures(env_id: str) -> bool:
    """Whether ``env_id`` is registered here and renders ``rgb_array``."""
    from envalign.envs.errors import EnvalignError
    from envalign.envs.registry import load_entry_point, spec

    try:
        card = spec(env_id)
        modes = load_entry_point(card.entry_point).metadata.get("render_modes", [])
    except (EnvalignError, ImportError, AttributeError):
        return False
    return "rgb_array" in modes


def replay_frames(episode: Episode, max_frames: int = MAX_FRAMES) -> Replay:
    """Replay ``episode`` with ``render_mode="rgb_array"`` and return its frames.

    Args:
        episode: A recorded episode of an environment that renders ``rgb_array``.
        max_frames: Stop drawing after this many frames (rewards are still checked to the end).

    Returns:
        The frames, or no frames and a note saying why (the replay's rewards differ from the
        record's, or the environment failed).
    """
    from envalign.envs.registry import make_raw, spec

    try:
        multi_agent = spec(episode.env_id).multi_agent
        env = make_raw(episode.env_id, **{**episode.env_kwargs, "render_mode": "rgb_array"})
    except Exception as error:  # an unregistered or changed environment: say so, do not crash
        return Replay(note=f"not replayed: {type(error).__name__}: {error}")
    try:
        return _replay(env, episode, multi_agent, max_frames)
    except Exception as error:  # the recorded actions no longer fit the environment
        return Replay(note=f"not replayed: {type(error).__name__}: {error}")
    finally:
        env.close()


def _replay(env: Any, episode: Episode, multi_agent: bool, max_frames: int) -> Replay:
    moves_by_step: dict[int, dict[str, str]] = defaultdict(dict)
    for turn in episode.turns:
        moves_by_step[turn.step][turn.agent] = turn.action
    env.reset(seed=episode.seed)
    frames = [_picture(env)]
    returns: dict[str, float] = defaultdict(float)
    for step in range(episode.steps):
        rewards = _step(env, moves_by_step.get(step, {}), multi_agent)
        for agent, reward in rewards.items():
            returns[agent] += reward
        mismatch = _mismatch(episode, step, rewards)
        if mismatch:
            return Replay(note=f"replay diverged from the record at step {step}: {mismatch}")
        if len(frames) < max_frames:
            frames.append(_picture(env))
    for agent, recorded in episode.returns.items():
        if not math.isclose(returns[agent], recorded, rel_tol=1e-6, abs_tol=1e-6):
            return Replay(
                note=f"replay diverged: {agent}'s return is {returns[agent]:g}, "
                f"recorded {recorded:g}"
            )
    left_out = episode.steps + 1 - len(frames)
    note = f"first {len(frames)} frames of {episode.steps + 1}" if left_out > 0 else ""
    return Replay(frames=frames, note=note)


def _step(env: Any, moves: dict[str, str], multi_agent: bool) -> dict[str, float]:
    if multi_agent:
        actions = {agent: "" for agent in env.agents}
        actions.update(moves)
        _, rewards, _, _, _ = env.step(actions)
        return {agent: float(reward) for agent, reward in rewards.items()}
    from envalign.envs.core import SINGLE_AGENT

    _, reward, _, _, _ = env.step(moves.get(SINGLE_AGENT, ""))
    return {SINGLE_AGENT: float(reward)}


def _mismatch(episode: Episode, step: int, rewards: dict[str, float]) -> str:
    for turn in episode.turns:
        if turn.step != step:
            continue
        got = rewards.get(turn.agent, 0.0)
        if not math.isclose(got, turn.reward, rel_tol=1e-6, abs_tol=1e-6):
            return f"{turn.agent} got reward {got:g}, recorded {turn.reward:g}"
    return ""


def _picture(env: Any) -> Any:
    import numpy as np

    return np.asarray(env.render(), dtype=np.uint8)


def gif_data_uri(frames: Sequence[Any], fps: float = 4.0) -> str:
    """Encode frames as an animated GIF in a ``data:image/gif;base64,...`` URI.

    Frames are padded to one size and scaled down so their longer side is at most
    :data:`MAX_FRAME_SIDE` pixels.
    """
    from PIL import Image

    height = max(frame.shape[0] for frame in frames)
    width = max(frame.shape[1] for frame in frames)
    scale = min(1.0, MAX_FRAME_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    pictures = []
    for frame in frames:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(Image.fromarray(frame[..., :3]))
        pictures.append(canvas.resize(size, Image.Resampling.NEAREST))
    buffer = io.BytesIO()
    duration = max(20, int(1000 / fps))
    pictures[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=duration,
        loop=0,
        optimize=True,
    )
    return "data:image/gif;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
