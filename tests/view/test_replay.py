"""Replaying recorded episodes into frames, with the record's rewards as the check."""

from __future__ import annotations

import base64
import io

from envalign.training.episodes import read_episodes
from envalign.training.view.replay import (
    MAX_FRAME_SIDE,
    gif_data_uri,
    renders_pictures,
    replay_frames,
)


def babyai(real_episodes):
    return [e for e in read_episodes(real_episodes) if "BabyAI" in e.env_id]


def test_which_environments_render_pictures():
    assert renders_pictures("envalign/BabyAIText-GoToLocal-v0")
    assert renders_pictures("envalign/CoopKitchen-v0")
    assert not renders_pictures("envalign/Negotiation-v0")
    assert not renders_pictures("envalign/NoSuchEnv-v0")


def test_replay_reproduces_the_recorded_episode(real_episodes):
    for episode in babyai(real_episodes):
        replay = replay_frames(episode)
        assert replay.note == ""
        assert len(replay.frames) == episode.steps + 1
        assert replay.frames[0].ndim == 3 and replay.frames[0].shape[2] == 3


def test_multi_agent_replay_matches(tmp_path):
    from envalign.training.rollout import simulate

    (episode,) = simulate("envalign/CoopKitchen-v0", "scripted", episodes=1, seed=2).episodes
    replay = replay_frames(episode, max_frames=10)
    assert len(replay.frames) == 10
    assert replay.note == f"first 10 frames of {episode.steps + 1}"


def test_a_replay_that_diverges_is_reported_not_drawn(real_episodes):
    episode = next(e for e in babyai(real_episodes) if e.returns["agent"] > 0)
    episode.turns[-1].reward += 1.0
    replay = replay_frames(episode)
    assert replay.frames == []
    assert "diverged" in replay.note and f"step {episode.turns[-1].step}" in replay.note


def test_an_unknown_environment_is_a_note():
    from envalign.training.episodes import Episode

    episode = Episode("envalign/Gone-v0", 0, "", ["agent"], {}, {}, [], {}, {}, 1, True)
    assert "not replayed" in replay_frames(episode).note


def test_gif_is_scaled_down_and_keeps_every_frame(real_episodes):
    from PIL import Image

    frames = replay_frames(babyai(real_episodes)[0]).frames
    uri = gif_data_uri(frames)
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert image.format == "GIF" and max(image.size) <= MAX_FRAME_SIDE
    # Pillow merges identical neighbours into one longer frame: count time, not frames.
    durations = []
    for number in range(image.n_frames):
        image.seek(number)
        durations.append(image.info["duration"])
    assert sum(durations) == len(frames) * 250
