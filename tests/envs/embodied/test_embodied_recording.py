"""Animations of episodes: GIF from rgb_array frames (or drawn text), MP4 only with ffmpeg."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from envalign.envs.embodied.recording import record_episode, record_video, write_animation
from envalign.envs.errors import ConfigError, DependencyNotInstalled


@pytest.mark.parametrize(
    "env_id",
    ["envalign/BabyAIText-GoToLocal-v0", "envalign/CoopKitchen-v0", "envalign/Household-v0"],
)
def test_record_video_writes_a_readable_gif(tmp_path, env_id):
    path = record_video(env_id, "scripted", seed=1, path=tmp_path / "episode.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames > 1


def test_frames_are_the_environments_pictures():
    frames = record_episode("envalign/CoopKitchen-v0", "scripted", seed=0)
    assert len(frames) > 10 and all(frame.shape == (160, 224, 3) for frame in frames)
    assert not np.array_equal(frames[0], frames[-1])


def test_text_only_environment_is_drawn_as_text():
    frames = record_episode("envalign/Arithmetic-v0", "scripted", seed=0)
    assert (
        len(frames) == 2 and frames[0].min() < 100 and frames[0].max() == 255
    )  # dark text on white


def test_bad_requests_fail_with_advice(tmp_path):
    with pytest.raises(ConfigError, match="gif or .mp4"):
        write_animation([np.zeros((4, 4, 3), np.uint8)], tmp_path / "x.avi")
    with pytest.raises(ConfigError, match="no frames"):
        write_animation([], tmp_path / "x.gif")
    with pytest.raises(ConfigError, match="no baseline policy"):
        record_episode("envalign/Household-v0", "telepathic")


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is not None, reason="ffmpeg present")
def test_mp4_without_ffmpeg_names_the_package(tmp_path):
    with pytest.raises(DependencyNotInstalled, match="imageio-ffmpeg"):
        write_animation([np.zeros((8, 8, 3), np.uint8)] * 2, tmp_path / "x.mp4")


def test_any_function_can_drive_the_recording():
    frames = record_episode("envalign/BabyAIText-GoToLocal-v0", lambda context: "turn left", seed=0)
    assert len(frames) == 65  # the reset frame plus 64 steps until MiniGrid's step budget
