"""The trainer loop on a tiny random model: it learns, every algorithm steps, multi-agent seats work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envalign.training.config import from_dict, load_config
from envalign.training.trainer import Trainer, train

pytest.importorskip("torch")
pytest.importorskip("transformers")


def tiny_config(tmp_path: Path, **sections: dict[str, Any]) -> Any:
    """A config for the tiny random model on Arithmetic ``1 + 1`` (answer space: one digit)."""
    data: dict[str, Any] = {
        "env": {"id": "envalign/Arithmetic-v0", "kwargs": {"low": 1, "high": 1}},
        "model": {"name": "tiny-random", "device": "cpu", "seed": 0},
        "rollout": {"prompts_per_step": 4, "group_size": 8, "max_new_tokens": 3},
        "algorithm": {"name": "grpo"},
        "optim": {"lr": 5e-3, "micro_batch_size": 32},
        "run": {
            "steps": 2,
            "output_dir": str(tmp_path / "run"),
            "eval_every": 0,
            "eval_episodes": 16,
            "progress": False,
            "tensorboard": False,
        },
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return from_dict(data)


def test_grpo_raises_the_mean_reward_of_a_tiny_model(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, run={"steps": 20, "eval_every": 20})
    result = train(config)
    rows = result.metrics
    first = [r["train/reward"] for r in rows if 1 <= r["step"] <= 3]
    last = [r["train/reward"] for r in rows if r["step"] >= 18]
    assert sum(first) / len(first) <= 0.2
    assert sum(last) / len(last) >= 0.6
    evals = [r["eval/reward"] for r in rows if "eval/reward" in r]
    assert evals[0] <= 0.1 and evals[-1] >= 0.8
    assert result.reward_curve is not None and result.reward_curve.stat().st_size > 1000
    assert (result.output_dir / "final" / "config.json").exists()


@pytest.mark.parametrize(
    "algorithm",
    [
        {"name": "rloo"},
        {"name": "reinforce", "baseline": "ema"},
        {"name": "grpo", "kl_coef": 0.1, "drop_uniform_groups": True, "clip_high": 0.28},
        {"name": "grpo", "loss_normalization": "sequence", "scale_rewards": "none"},
        {"name": "ppo", "updates_per_batch": 2},
        {"name": "rejection_sampling"},
        {"name": "dpo"},
        {"name": "stable_alignment"},
    ],
    ids=lambda a: "-".join(str(v) for v in a.values()),
)
def test_every_algorithm_updates_the_weights(tmp_path: Path, algorithm: dict[str, Any]) -> None:
    # A higher temperature and lower operands make rewards vary within groups at step 1.
    config = tiny_config(
        tmp_path,
        env={"kwargs": {"low": 0, "high": 1}},
        algorithm=algorithm,
        run={"steps": 1},
        rollout={"max_new_tokens": 2, "group_size": 8, "prompts_per_step": 4},
    )
    trainer = Trainer(config)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    stats = trainer.update(*_rollout(trainer))
    after = list(trainer.model.parameters())
    changed = any(not b.equal(a.detach()) for b, a in zip(before, after, strict=True))
    assert all(v == v for v in stats.values())  # no NaN
    assert changed, f"{algorithm['name']} left the weights unchanged: {stats}"


def _rollout(trainer: Trainer) -> tuple[list[Any], int]:
    """Collect until some group has varying rewards (so every algorithm has signal)."""
    from envalign.training.algorithms.batch import turn_samples

    for step in range(1, 30):
        samples = turn_samples(trainer.collect(step))
        by_group: dict[int, set[float]] = {}
        for s in samples:
            by_group.setdefault(s.group, set()).add(s.credit)
        if any(len(v) > 1 for v in by_group.values()):
            return samples, step
    raise AssertionError("no group with varying rewards in 30 rollouts")


def test_lora_trains_only_the_adapters(tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path, model={"lora": {"enabled": True, "r": 4}}, algorithm={"kl_coef": 0.1}
    )
    trainer = Trainer(config)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    result = trainer.train()
    assert result.steps == 2
    assert (result.output_dir / "final" / "config.json").exists()


def test_self_play_trains_every_seat_with_one_model(tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path,
        env={"id": "envalign/PrisonersDilemma-v0", "kwargs": {"rounds": 2, "message_phase": False}},
        rollout={"prompts_per_step": 2, "group_size": 2, "max_new_tokens": 4},
        algorithm={"name": "rloo"},
        run={"steps": 1},
    )
    trainer = Trainer(config)
    episodes = trainer.collect(1)
    agents = {t.agent for e in episodes for t in e.turns if t.token_ids}
    assert agents == {"agent_0", "agent_1"}
    assert trainer.train().steps == 1


def test_one_seat_trains_against_a_fixed_policy(tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path,
        env={
            "id": "envalign/Ultimatum-v0",
            "kwargs": {},
            "trained_agents": ["proposer"],
            "opponents": {"responder": "scripted"},
        },
        rollout={"prompts_per_step": 2, "group_size": 2, "max_new_tokens": 4},
        algorithm={"name": "reinforce"},
        run={"steps": 1, "eval_every": 1, "eval_episodes": 2},
    )
    trainer = Trainer(config)
    episodes = trainer.collect(1)
    assert all(e.policies["responder"] == "scripted" for e in episodes)
    assert {t.agent for e in episodes for t in e.turns if t.token_ids} == {"proposer"}
    rows = trainer.train().metrics
    assert "eval/reward" in rows[-1]


def test_metrics_go_to_json_lines_and_tensorboard(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    config = tiny_config(tmp_path, run={"tensorboard": True, "eval_every": 1, "eval_episodes": 4})
    result = train(config)
    lines = (result.output_dir / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert {"train/reward", "train/loss", "time/completions_per_s", "eval/reward"} <= set(rows[-1])
    assert list((result.output_dir / "tensorboard").glob("events.out.tfevents.*"))


def test_an_unknown_environment_fails_at_train_time_with_a_suggestion(tmp_path: Path) -> None:
    from envalign.envs.errors import UnknownEnvironment

    config = tiny_config(tmp_path, env={"id": "envalign/Arithmetc-v0"})
    with pytest.raises(UnknownEnvironment, match="Arithmetic-v0"):
        Trainer(config)


def test_agents_the_environment_lacks_are_named_with_a_suggestion(tmp_path: Path) -> None:
    from envalign.envs.errors import ConfigError

    config = tiny_config(
        tmp_path, env={"id": "envalign/Ultimatum-v0", "kwargs": {}, "trained_agents": ["proposr"]}
    )
    with pytest.raises(ConfigError, match="Did you mean 'proposer'"):
        Trainer(config)


def test_bf16_models_train_through_fp32_master_weights(tmp_path: Path) -> None:
    import torch

    config = tiny_config(
        tmp_path, model={"dtype": "bfloat16"}, env={"kwargs": {"low": 0, "high": 1}}
    )
    trainer = Trainer(config)
    assert trainer.master is not None
    before = [m.detach().clone() for m in trainer.master.master]
    trainer.update(*_rollout(trainer))
    pairs = list(zip(trainer.master.model_params, trainer.master.master, strict=True))
    assert all(p.dtype == torch.bfloat16 and m.dtype == torch.float32 for p, m in pairs)
    assert all(torch.equal(p, m.to(torch.bfloat16)) for p, m in pairs)
    assert any(not b.equal(m) for b, m in zip(before, trainer.master.master, strict=True))


def test_training_logprobs_match_the_sampling_logprobs_on_the_exact_ids(tmp_path: Path) -> None:
    # On-policy, the first update's ratio pi/pi_old is 1: the trainer re-scores exactly the ids the
    # policy generated, with the same temperature. A re-tokenized prompt or a missing temperature
    # would move it away from 1.
    config = tiny_config(
        tmp_path,
        env={"kwargs": {"low": 0, "high": 1}},
        rollout={"temperature": 0.7, "max_new_tokens": 4},
        optim={"micro_batch_size": 5},
    )
    trainer = Trainer(config)
    stats = trainer.update(*_rollout(trainer))
    assert stats["ratio"] == pytest.approx(1.0, abs=1e-4)
    assert stats["clip_fraction"] == 0.0


def test_stable_alignment_on_social_sandbox_records_separates_best_from_worst(
    tmp_path: Path,
) -> None:
    import torch

    from envalign.training.algorithms.batch import masked_mean, samples_batch, token_logprobs
    from envalign.training.rollout import simulate

    records = tmp_path / "records.jsonl"
    simulate(
        "envalign/SocialSandbox-v0",
        {"agent_0": "aligned", "agent_1": "careless", "agent_2": "scripted"},
        episodes=2,
        env_kwargs={"records_path": str(records)},
    )
    config = tiny_config(
        tmp_path,
        env={"id": "envalign/SocialSandbox-v0", "kwargs": {}},
        algorithm={"name": "stable_alignment", "contrast_weight": 1.0, "margin": 0.5},
        rollout={"prompts_per_step": 4},
        optim={"lr": 3e-3},
        run={"steps": 6},
        data={"records": str(records)},
    )
    trainer = Trainer(config)
    assert trainer.data is not None
    best = [max(g, key=lambda s: s.credit) for g in trainer.data]
    worst = [min(g, key=lambda s: s.credit) for g in trainer.data]

    def gap() -> float:
        with torch.no_grad():
            b = samples_batch(best, [0.0] * len(best), pad_id=trainer.pad_id)
            w = samples_batch(worst, [0.0] * len(worst), pad_id=trainer.pad_id)
            lb = masked_mean(
                token_logprobs(trainer.model, b.input_ids, b.attention_mask), b.loss_mask, dim=-1
            )
            lw = masked_mean(
                token_logprobs(trainer.model, w.input_ids, w.attention_mask), w.loss_mask, dim=-1
            )
        return float((lb - lw).mean())

    before = gap()
    result = trainer.train()
    assert result.steps == 6
    assert "train/data_credit" in result.metrics[-1]
    after = gap()
    assert after > before + 0.5


def test_dpo_learns_from_an_episodes_file_without_collecting(tmp_path: Path) -> None:
    from envalign.training.episodes import EpisodeWriter

    collector = Trainer(tiny_config(tmp_path / "collect", env={"kwargs": {"low": 0, "high": 1}}))
    path = tmp_path / "episodes.jsonl"
    _, step = _rollout(collector)  # the first rollout with a group whose rewards vary
    with EpisodeWriter(path) as writer:
        for episode in collector.collect(step):
            writer.write(episode)
    config = tiny_config(
        tmp_path / "offline",
        env={"kwargs": {"low": 0, "high": 1}},
        algorithm={"name": "dpo"},
        rollout={"prompts_per_step": 4},
        run={"steps": 3},
        data={"episodes": str(path)},
    )
    trainer = Trainer(config)
    trainer.runner.run = None  # collecting would fail loudly: the data must be used instead
    rows = [trainer.train_step() for _ in range(3)]
    assert all("train/data_credit" in row for row in rows)
    assert all(row["train/pairs"] >= 1 for row in rows)  # each step visits every group


VOLATILE = ("time/", "train/completions_per_s")


def _rows(result) -> list[dict]:  # noqa: ANN001 - a TrainResult
    return [{k: v for k, v in row.items() if not k.startswith(VOLATILE)} for row in result.metrics]


def test_ray_workers_train_exactly_like_the_local_runner(tmp_path: Path, ray_address: str) -> None:
    sections = {"run": {"steps": 2, "eval_every": 2, "eval_episodes": 8}}
    local = train(tiny_config(tmp_path / "local", **sections))
    on_ray = train(
        tiny_config(
            tmp_path / "ray",
            rollout={"workers": 2, "ray_address": ray_address},
            **sections,
        )
    )
    assert _rows(on_ray) == _rows(local)  # same seeds, same samples, same updates
    assert on_ray.metrics[-1]["train/episodes"] == 32


def test_the_run_folder_records_its_config(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, run={"steps": 1})
    result = train(config)
    assert load_config(result.output_dir / "config.yaml") == config
