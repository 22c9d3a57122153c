"""Record an episode as an animation (GIF, or MP4 where ``imageio-ffmpeg`` is installed).

:func:`record_episode` plays one episode of any registered environment with one of its baseline
policies and collects ``rgb_array`` frames; environments without a picture are drawn as their text
observation. :func:`write_animation` writes frames to a file; :func:`record_video` does both and is
what ``envalign run ... --record-video PATH`` calls.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envalign.envs.core import SINGLE_AGENT, ActContext, agent_rng
from envalign.envs.errors import ConfigError, DependencyNotInstalled
from envalign.envs.registry import load_entry_point, make_raw, spec
from envalign.envs.spaces import observation_text

TEXT_FRAME_SIZE = (640, 360)
MAX_TEXT_LINES = 22


def text_frame(text: str, size: tuple[int, int] = TEXT_FRAME_SIZE) -> np.ndarray:
    """Draw ``text`` (wrapped, first lines only) on a white ``[height, width, 3]`` image."""
    import textwrap

    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    # The default bitmap font only draws Latin-1; other characters become "?".
    text = text.encode("latin-1", "replace").decode("latin-1")
    lines = [wrapped for line in text.splitlines() for wrapped in textwrap.wrap(line, 100) or [""]]
    ImageDraw.Draw(image).multiline_text((8, 8), "\n".join(lines[:MAX_TEXT_LINES]), fill="black")
    return np.asarray(image)


Act = Callable[[ActContext], str]


def _baseline(env_id: str, policy_name: str | Act) -> Act:
    if callable(policy_name):
        return policy_name
    card = spec(env_id)
    if policy_name in card.policies:
        return load_entry_point(card.policies[policy_name])
    if policy_name == "random":
        return lambda context: context.rng.choice(context.info.get("valid_actions") or ["look"])
    raise ConfigError(
        f"'{env_id}' has no baseline policy {policy_name!r}; use one of {sorted(card.policies)}."
    )


def _frame(env: Any, pictured: bool, observation: Any) -> np.ndarray:
    if pictured:
        return np.asarray(env.render(), dtype=np.uint8)
    if isinstance(observation, dict) and "text" not in observation:
        observation = "\n\n".join(f"[{a}] {observation_text(o)}" for a, o in observation.items())
    return text_frame(observation_text(observation))


def record_episode(
    env_id: str,
    policy_name: str | Act = "scripted",
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    max_frames: int = 500,
) -> list[np.ndarray]:
    """Play one episode with a baseline policy and return its frames (the first is the reset).

    Args:
        env_id: A registered environment id.
        policy_name: A baseline the environment registered (``scripted``, ``random``...), or any
            function ``ActContext -> str`` (for instance one that asks an LLM policy).
        seed: Seed of the episode and of the policy.
        env_kwargs: Extra keyword arguments for the environment.
        max_frames: Stop after this many frames even if the episode goes on.

    Returns:
        ``[height, width, 3]`` uint8 frames: the environment's ``rgb_array`` pictures, or its text
        observations drawn as images when it has no picture.
    """
    card = spec(env_id)
    act = _baseline(env_id, policy_name)
    kwargs = dict(env_kwargs or {})
    render_modes = load_entry_point(card.entry_point).metadata.get("render_modes", [])
    pictured = "rgb_array" in render_modes
    if pictured:
        kwargs["render_mode"] = "rgb_array"
    env = make_raw(env_id, **kwargs)
    try:
        if card.multi_agent:
            return _record_parallel(env, act, seed, pictured, max_frames)
        return _record_single(env, act, seed, pictured, max_frames)
    finally:
        env.close()


def _record_single(
    env: Any, act: Callable[[ActContext], str], seed: int, pictured: bool, max_frames: int
) -> list[np.ndarray]:
    observation, info = env.reset(seed=seed)
    rng = random.Random(seed)
    frames = [_frame(env, pictured, observation)]
    while len(frames) < max_frames:
        action = act(ActContext(env, SINGLE_AGENT, observation, info, rng))
        observation, _, terminated, truncated, info = env.step(action)
        frames.append(_frame(env, pictured, observation))
        if terminated or truncated:
            break
    return frames


def _record_parallel(
    env: Any, act: Callable[[ActContext], str], seed: int, pictured: bool, max_frames: int
) -> list[np.ndarray]:
    observations, infos = env.reset(seed=seed)
    rngs = {agent: agent_rng(seed, agent) for agent in env.possible_agents}
    frames = [_frame(env, pictured, observations)]
    while env.agents and len(frames) < max_frames:
        actions = {
            agent: act(ActContext(env, agent, observations[agent], infos[agent], rngs[agent]))
            if infos[agent].get("acting", True)
            else ""
            for agent in env.agents
        }
        observations, _, _, _, infos = env.step(actions)
        frames.append(_frame(env, pictured, observations))
    return frames


def write_animation(frames: Sequence[np.ndarray], path: str | Path, fps: float = 4.0) -> Path:
    """Write frames as an animated GIF (Pillow) or an MP4 (needs ``imageio-ffmpeg``).

    Args:
        frames: ``[height, width, 3]`` uint8 images; they are padded to the largest size.
        path: Output file; its suffix (``.gif`` or ``.mp4``) picks the format.
        fps: Frames per second.

    Returns:
        The path written.

    Raises:
        ConfigError: If there are no frames or the suffix is neither ``.gif`` nor ``.mp4``.
        DependencyNotInstalled: For ``.mp4`` without ``imageio-ffmpeg``.
    """
    path = Path(path)
    if not frames:
        raise ConfigError("write_animation got no frames; record at least one step.")
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ConfigError(f"Cannot write {path.name!r}: use a .gif or .mp4 file name.")
    images = _same_size(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        from PIL import Image

        pictures = [Image.fromarray(image) for image in images]
        duration = max(20, int(1000 / fps))
        pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=duration, loop=0)
        return path
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401 - imageio needs it for MP4
    except ImportError as error:
        raise DependencyNotInstalled("imageio-ffmpeg", "video", "write MP4 videos") from error
    imageio.mimwrite(path, list[Any](images), fps=fps, macro_block_size=1)
    return path


def _same_size(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    height = max(frame.shape[0] for frame in frames)
    width = max(frame.shape[1] for frame in frames)
    padded = []
    for frame in frames:
        canvas = np.full((height, width, 3), 255, dtype=np.uint8)
        canvas[: frame.shape[0], : frame.shape[1]] = frame[..., :3]
        padded.append(canvas)
    return padded


def record_video(
    env_id: str,
    policy_name: str | Act = "scripted",
    seed: int = 0,
    path: str | Path = "episode.gif",
    env_kwargs: dict[str, Any] | None = None,
    fps: float = 4.0,
) -> Path:
    """Play one episode with a baseline policy and write it as a GIF or MP4 at ``path``.

    Args:
        env_id: A registered environment id.
        policy_name: A baseline name or a function ``ActContext -> str`` (see :func:`record_episode`).
        seed: Seed of the episode.
        path: Output file (``.gif``, or ``.mp4`` with ``imageio-ffmpeg``).
        env_kwargs: Extra keyword arguments for the environment.
        fps: Frames per second.

    Returns:
        The path written.
    """
    frames = record_episode(env_id, policy_name, seed, env_kwargs)
    return write_animation(frames, path, fps=fps)
