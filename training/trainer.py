"""The trainer loop: collect episodes, turn rewards into advantages, update the policy in place.

One step::

    seeds   = P task seeds, each repeated G times          (group sampling: same task, same seed)
    episodes = Runner(env, {trained agents: policy, others: fixed}).run(seeds)
    samples  = one (prompt ids, generated ids, credit) per trained turn (algorithms/batch.py)
    loss     = the algorithm's loss on those exact ids, gradients accumulated over micro-batches
    optimizer step; the policy's ``.model`` is the trained model, so the next rollout uses it

Every ``eval_every`` steps the policy plays held-out seeds (greedy by default). Metrics go to
``metrics.jsonl`` (and TensorBoard), checkpoints to ``checkpoints/``; a killed run resumes exactly
from its newest checkpoint: task seeds and sampling seeds are functions of ``(run.seed, step)``, and
the checkpoint restores weights, optimizer, scheduler and every RNG.

Launched by ``torchrun`` or ``accelerate launch`` the same loop runs data-parallel
(``training/distributed.py``): each rank plays its share of the step's prompts, the update sums
gradients over ranks so every rank takes the same step, and only rank 0 writes metrics, checkpoints
and the final model. ``docs/multi_gpu.md`` says how to launch it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envalign.envs.errors import ConfigError
from envalign.training import distributed
from envalign.training.algorithms import batch as batching
from envalign.training.algorithms import ppo, reinforce
from envalign.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from envalign.training.config import TrainConfig, check_env, save_config
from envalign.training.episodes import Episode
from envalign.training.eval.in_training import (
    AFTER,
    BEFORE,
    compare_runs,
    judge_conflicts,
    play_suite,
)
from envalign.training.metrics import (
    MetricsLogger,
    ProgressDisplay,
    episode_metrics,
    episode_values,
    plot_reward_curve,
    read_metrics,
)
from envalign.training.policy_model import build_policy
from envalign.training.precision import MasterWeights, needs_master_weights
from envalign.training.updates import Updater


@dataclass
class TrainResult:
    """What :meth:`Trainer.train` returns.

    Attributes:
        steps: Steps completed (including those before a resume).
        metrics: Every logged row of this run's ``metrics.jsonl``.
        output_dir: The run's folder.
        reward_curve: The PNG of the reward curve, when drawn.
        resumed_from: The checkpoint step this run resumed from (0: it started fresh).
    """

    steps: int
    metrics: list[dict[str, Any]]
    output_dir: Path
    reward_curve: Path | None = None
    resumed_from: int = 0


@dataclass
class _State:
    step: int = 0
    completions: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Trainer:
    """Train a policy on environment rewards as ``config`` says.

    Args:
        config: The run's configuration.
        policy: A ready :class:`~envalign.agents.transformers_policy.TransformersPolicy` to train
            (its ``.model`` is updated in place); built from ``config.model`` when omitted.
    """

    def __init__(self, config: TrainConfig, policy: Any = None) -> None:
        import torch

        check_env(config)
        self.config = config
        self.output_dir = Path(config.run.output_dir)
        self.dist = distributed.setup(config.model.device)
        _check_world(config, self.dist.world_size)
        _seed_everything(config.run.seed, config.run.deterministic)
        self.policy = policy if policy is not None else build_policy(config, self.dist.device)
        self.model = self.policy.model
        self.device = self.policy.device
        self.pad_id = int(self.policy.pad_token_id)
        self.value_head = self._value_head()
        self.reference = self._reference()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.master = MasterWeights(params) if needs_master_weights(params) else None
        if self.master is not None:
            params = self.master.parameters()
        if self.value_head is not None:
            params += list(self.value_head.parameters())
        o = config.optim
        self.optimizer = torch.optim.AdamW(
            params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.baseline = reinforce.Baseline(
            config.algorithm.baseline, config.algorithm.baseline_decay
        )
        self.runner = self._runner()
        self.state = _State()
        self.data = self._load_data()
        self.updater = Updater(
            config,
            self.model,
            self.optimizer,
            pad_id=self.pad_id,
            device=self.device,
            baseline=self.baseline,
            value_head=self.value_head,
            reference=self.reference,
            master=self.master,
        )
        distributed.broadcast_state([m for m in (self.model, self.value_head) if m is not None])

    # ------------------------------------------------------------------ setup

    def _value_head(self) -> Any:
        if self.config.algorithm.name != "ppo":
            return None
        hidden = self.model.config.hidden_size
        return ppo.value_head(hidden).to(self.device)

    def _reference(self) -> Any:
        a = self.config.algorithm
        if a.name != "dpo" and a.kl_coef == 0:
            return None
        if self.config.model.lora.enabled:
            return None  # the base model with adapters disabled is the reference
        reference = copy.deepcopy(self.model).eval()
        for parameter in reference.parameters():
            parameter.requires_grad_(False)
        return reference

    def _lr_factor(self, step: int) -> float:
        o, total = self.config.optim, self.config.run.steps
        if o.warmup_steps and step < o.warmup_steps:
            return (step + 1) / o.warmup_steps
        progress = (step - o.warmup_steps) / max(1, total - o.warmup_steps)
        if o.scheduler == "linear":
            return max(0.0, 1.0 - progress)
        if o.scheduler == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        return 1.0

    def _runner(self) -> Any:
        """The local runner, or Ray env workers when ``rollout.workers`` is set.

        Either way generation stays here, batched on the learner's model; Ray workers only step
        environments (and hold their sandboxes), so no weights ever need syncing.
        """
        from envalign.training.rollout import Runner

        env = self.config.env
        policies: dict[str, Any] = dict(env.opponents)
        for agent in env.trained_agents or ["*"]:
            policies[agent] = self.policy
        r = self.config.rollout
        concurrency = r.concurrency or r.prompts_per_step * r.group_size
        options: dict[str, Any] = {
            "env_kwargs": env.kwargs,
            "concurrency": max(concurrency, self.config.run.eval_episodes, 1),
            "system_prompt": env.system_prompt,
            "history": r.history,
        }
        if r.workers:
            from envalign.training.scale import RayRunner

            return RayRunner(env.id, policies, workers=r.workers, address=r.ray_address, **options)
        return Runner(env.id, policies, **options)

    def _load_data(self) -> list[list[batching.TurnSample]] | None:
        """Groups of fixed samples for offline training (``None``: collect episodes instead)."""
        from envalign.training.offline import load_records_samples, load_samples

        d, a = self.config.data, self.config.algorithm
        if d.episodes:
            samples = load_samples(
                d.episodes, agents=self.config.env.trained_agents, credit=a.credit, gamma=a.gamma
            )
        elif d.records:
            samples = load_records_samples(
                d.records, self.policy.tokenizer, system_prompt=self.config.env.system_prompt
            )
        else:
            return None
        groups: dict[int, list[batching.TurnSample]] = {}
        for sample in samples:
            groups.setdefault(sample.group, []).append(sample)
        ordered = list(groups.values())
        if not ordered:
            raise ConfigError(f"data: {d.episodes or d.records} holds no trainable samples.")
        if d.shuffle:
            random.Random(f"{self.config.run.seed}:data").shuffle(ordered)
        return ordered

    def data_batch(self, step: int) -> list[batching.TurnSample]:
        """This rank's share of the ``prompts_per_step`` groups of step ``step`` (cycling the data)."""
        assert self.data is not None
        size = self.config.rollout.prompts_per_step
        chosen = [self.data[((step - 1) * size + i) % len(self.data)] for i in range(size)]
        samples = []
        for number, group in distributed.shard(list(enumerate(chosen))):
            for sample in group:
                samples.append(dataclasses.replace(sample, group=number))
        return samples

    def _modules(self) -> dict[str, Any]:
        modules = {"model": self.model, "optimizer": self.optimizer, "scheduler": self.scheduler}
        if self.value_head is not None:
            modules["value_head"] = self.value_head
        if self.master is not None:
            modules["master_weights"] = self.master
        return modules

    # ------------------------------------------------------------------ the loop

    def train(self) -> TrainResult:
        """Run (or resume) the training loop to ``run.steps`` and return the metrics."""
        run, main = self.config.run, self.dist.is_main
        self._maybe_resume()
        resumed_from = self.state.step
        logger = (
            MetricsLogger(self.output_dir, tensorboard=run.tensorboard, resume_step=resumed_from)
            if main
            else None
        )
        if main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.output_dir / "config.yaml")
        if main and self.dist.world_size > 1:
            print(
                f"envalign: data-parallel training on {self.dist.world_size} processes "
                f"({self.dist.backend}, {self.dist.device})",
                file=sys.stderr,
            )
        show = main and run.progress and sys.stderr.isatty()
        display = ProgressDisplay(run.steps, self.state.step) if show else None
        try:
            if self.state.step == 0 and run.eval_suite:
                self._suite(BEFORE)
            if self.state.step == 0 and run.eval_every:
                _log(logger, 0, self.evaluate())
            while self.state.step < run.steps:
                row = self.train_step()
                step = self.state.step
                if run.eval_every and (step % run.eval_every == 0 or step == run.steps):
                    row.update(self.evaluate())
                _log(logger, step, row)
                if display is not None:
                    display.update(step, row)
                if run.checkpoint_every and step % run.checkpoint_every == 0 and step < run.steps:
                    self.save()
            self.save()
            if run.eval_suite:
                self._suite(AFTER)
        finally:
            if logger is not None:
                logger.close()
            if display is not None:
                display.stop()
            if hasattr(self.runner, "close"):
                self.runner.close()  # Ray env workers
        curve = self._finish_outputs()
        rows = read_metrics(self.output_dir / "metrics.jsonl")
        return TrainResult(self.state.step, rows, self.output_dir, curve, resumed_from)

    def _suite(self, when: str) -> None:
        """Rank 0 plays ``run.eval_suite`` (and, after training, compares); the others wait."""
        if self.dist.is_main:
            env, run = self.config.env, self.config.run
            conflicts = judge_conflicts(env.id, env.kwargs, run.eval_suite or "")
            if conflicts and when == BEFORE:
                print(
                    f"envalign: warning: suite entries {', '.join(conflicts)} are scored by the "
                    "judge that makes this run's reward; their verdicts are not evidence of "
                    "improvement (use run.eval_suite_only to leave them out).",
                    file=sys.stderr,
                )
            self.model.eval()
            play_suite(self.policy, run, self.output_dir, when)
            if when == AFTER:
                compare_runs(self.output_dir)
        distributed.barrier()

    def _finish_outputs(self) -> Path | None:
        """Rank 0 draws the reward curve and saves the final model; every rank waits for it."""
        curve = self.output_dir / "reward_curve.png"
        if self.dist.is_main:
            rows = read_metrics(self.output_dir / "metrics.jsonl")
            plot_reward_curve(rows, curve, title=self.config.env.id)
            self.save_model(self.output_dir / "final")
        distributed.barrier()
        return curve

    def _maybe_resume(self) -> None:
        if not self.config.run.resume:
            return
        found = latest_checkpoint(self.output_dir / "checkpoints")
        if found is None:
            return
        restored = load_checkpoint(found, self._modules())
        self.state = _State(
            restored.step, int(restored.extra.get("completions", 0)), restored.extra
        )
        if "baseline" in restored.extra:
            self.baseline.value = restored.extra["baseline"]

    def save(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0 only: the ranks hold the same state)."""
        if not self.dist.is_main:
            return None
        extra = {"completions": self.state.completions, "baseline": self.baseline.value}
        return save_checkpoint(
            self.output_dir / "checkpoints",
            step=self.state.step,
            modules=self._modules(),
            config=self.config.to_dict(),
            extra=extra,
            keep=self.config.run.keep_checkpoints,
        )

    def save_model(self, path: Path) -> None:
        """Save the trained model and tokenizer with ``save_pretrained`` (LoRA adapters merged)."""
        model = self.model
        if self.config.model.lora.enabled and hasattr(model, "merge_and_unload"):
            model = copy.deepcopy(model).merge_and_unload()
        model.save_pretrained(path)
        self.policy.tokenizer.save_pretrained(path)

    def train_step(self) -> dict[str, Any]:
        """Collect one batch of episodes, update the policy, and return the step's metrics."""
        step = self.state.step + 1
        started = time.perf_counter()
        if self.data is not None:
            episodes, samples = [], self.data_batch(step)
        else:
            episodes = self.collect(step)
            samples = batching.turn_samples(
                episodes,
                agents=self.config.env.trained_agents,
                credit=self.config.algorithm.credit,
                gamma=self.config.algorithm.gamma,
            )
        rollout_s = time.perf_counter() - started
        started = time.perf_counter()
        stats = self.update(samples, step)
        update_s = time.perf_counter() - started
        self.scheduler.step()
        self.state.step = step
        credit, tokens, count = distributed.all_sum(
            [
                sum(s.credit for s in samples),
                sum(len(s.completion_ids) for s in samples),
                len(samples),
            ]
        )
        self.state.completions += int(count)
        if self.data is None:
            row = self._gathered_metrics(episodes, "train")
        else:
            row = {"train/data_credit": credit / max(count, 1)}
        row.update({f"train/{k}": v for k, v in stats.items()})
        row.update(
            {
                "train/completions": self.state.completions,
                "train/completion_tokens": tokens / max(count, 1),
                "time/rollout_s": rollout_s,
                "time/update_s": update_s,
                "time/completions_per_s": count / max(rollout_s + update_s, 1e-9),
                "lr": self.scheduler.get_last_lr()[0],
            }
        )
        return row

    def collect(self, step: int) -> list[Episode]:
        """Play ``prompts_per_step`` seeds ``group_size`` times each with the current policy.

        Data-parallel ranks draw the same task seeds and each plays its share (prompt ``i`` on rank
        ``i % world_size``), sampling with its own seed; ``episode.group`` is the prompt's index in
        the whole step, so groups never mix across ranks.
        """
        r = self.config.rollout
        draw = random.Random(f"{self.config.run.seed}:tasks:{step}")
        tasks = [
            draw.randrange(self.config.run.eval_seed_offset) for _ in range(r.prompts_per_step)
        ]
        mine = distributed.shard(list(enumerate(tasks)))
        seeds = [seed for _, seed in mine for _ in range(r.group_size)]
        self._reseed(distributed.rank_seed(draw.randrange(2**31)))
        self.policy.sampling.temperature = r.temperature
        self.model.eval()
        episodes = self.runner.run(seeds)
        for index, episode in enumerate(episodes):
            episode.group = mine[index // r.group_size][0]
        return episodes

    def evaluate(self) -> dict[str, Any]:
        """Play ``eval_episodes`` held-out seeds (split over ranks) and return ``eval/...`` metrics."""
        run = self.config.run
        saved = (self.policy.sampling.temperature, self.policy.sampling.seed)
        self.policy.sampling.temperature = run.eval_temperature
        self._reseed(distributed.rank_seed(run.seed))
        self.model.eval()
        seeds = distributed.shard(
            range(run.eval_seed_offset, run.eval_seed_offset + run.eval_episodes)
        )
        episodes = self.runner.run(seeds) if seeds else []
        self.policy.sampling.temperature, self.policy.sampling.seed = saved
        return self._gathered_metrics(episodes, "eval")

    def _gathered_metrics(self, episodes: list[Episode], prefix: str) -> dict[str, Any]:
        """Episode metrics over every rank's episodes."""
        mine = episode_values(episodes, self.config.env.trained_agents)
        everyone = distributed.all_gather_objects(mine)
        return episode_metrics([value for part in everyone for value in part], prefix)

    def _reseed(self, seed: int) -> None:
        """Make the next rollout's sampling a function of ``seed`` alone.

        ``reseed`` restarts the generator even when the same seed comes again (collecting a step
        twice, evaluations), so every rollout is reproducible on its own.
        """
        self.policy.reseed(seed)

    # ------------------------------------------------------------------ updates

    def update(self, samples: list[batching.TurnSample], step: int = 0) -> dict[str, float]:
        """Apply the configured algorithm to one batch of samples (see :class:`Updater`)."""
        return self.updater.update(samples)


# ---------------------------------------------------------------------- helpers


def _seed_everything(seed: int, deterministic: bool) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def _check_world(config: TrainConfig, world_size: int) -> None:
    prompts = config.rollout.prompts_per_step
    if prompts < world_size:
        raise ConfigError(
            f"rollout.prompts_per_step = {prompts} cannot be split over {world_size} processes: "
            f"every rank needs at least one prompt; use at least {world_size} (it is the global "
            "number of prompts per step, shared between ranks)."
        )


def _log(logger: MetricsLogger | None, step: int, row: dict[str, Any]) -> None:
    if logger is not None:
        logger.log(step, row)


def train(config: TrainConfig, policy: Any = None) -> TrainResult:
    """Train as ``config`` says (resuming from its newest checkpoint) and return the result.

    Under ``torchrun`` / ``accelerate launch`` every rank calls this; the process group it joined
    is left when training ends.
    """
    trainer = Trainer(config, policy)
    try:
        return trainer.train()
    finally:
        distributed.shutdown(trainer.dist)
