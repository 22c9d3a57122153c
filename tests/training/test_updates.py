"""The Updater's statistics: entropy from the update's own logits, KL to the sampling policy."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from envalign.training.algorithms.batch import turn_samples
from envalign.training.config import from_dict
from envalign.training.trainer import Trainer

pytest.importorskip("torch")
pytest.importorskip("transformers")


def tiny_trainer(tmp_path: Path, **algorithm: Any) -> Trainer:
    config = from_dict(
        {
            "env": {"id": "envalign/Arithmetic-v0", "kwargs": {"low": 0, "high": 1}},
            "model": {"name": "tiny-random", "device": "cpu"},
            "rollout": {"prompts_per_step": 3, "group_size": 8, "max_new_tokens": 2},
            "algorithm": {"name": "grpo", **algorithm},
            "optim": {"lr": 5e-3, "micro_batch_size": 8},
            "run": {"steps": 1, "seed": 8, "output_dir": str(tmp_path), "tensorboard": False},
        }
    )
    return Trainer(config)


def test_first_update_has_zero_kl_and_the_policy_entropy(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path)
    samples = turn_samples(trainer.collect(1))
    assert len({s.credit for s in samples}) > 1  # run.seed 8 gives step 1 a reward signal
    stats = trainer.update(samples, 1)
    assert stats["grad_norm"] > 0
    # The sampling policy is the current one: the ratio is 1 up to float noise, so KL is ~0.
    assert stats["kl"] == pytest.approx(0.0, abs=1e-6)
    assert "kl_ref" not in stats
    vocab = trainer.model.config.vocab_size
    assert 0 < stats["entropy"] <= math.log(vocab) + 1e-6


def test_later_passes_see_the_policy_move_away_from_the_sampling_policy(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path, updates_per_batch=3, kl_coef=0.1)
    stats = trainer.update(turn_samples(trainer.collect(1)), 1)
    assert stats["kl"] > 1e-6  # averaged over 3 passes, 2 of them after an optimizer step
    assert stats["kl_ref"] >= 0.0  # the KL to the frozen reference keeps its own name


def test_train_step_rows_carry_the_report_metrics(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path)
    row = trainer.train_step()
    for key in (
        "train/reward",
        "train/reward_std",
        "train/success",
        "train/entropy",
        "train/kl",
        "train/reward_components/correct",
    ):
        assert key in row, key
    assert row["train/episodes"] == 24
    assert row["train/reward_components/correct"] == pytest.approx(row["train/reward"])
    mean = row["train/reward"]
    assert row["train/reward_std"] == pytest.approx(math.sqrt(mean * (1 - mean)))  # 0/1 rewards
