"""One optimizer step per batch of samples, with the configured algorithm.

:class:`Updater` owns the pieces a gradient step needs (model, optimizer, value head, frozen
reference, fp32 master weights) and applies the algorithm's loss from ``algorithms/`` to micro-batches,
accumulating gradients so that the sum over micro-batches equals the full-batch loss. Sequences are
sorted by length before they are cut into micro-batches, and each micro-batch is trimmed to its
longest row, so little compute goes to padding.
"""

from __future__ import annotations

from typing import Any

from envalign.training.algorithms import batch as batching
from envalign.training.algorithms import dpo, grpo, ppo, reinforce, rejection_sampling, rloo
from envalign.training.algorithms import stable_alignment as sa
from envalign.training.config import TrainConfig
from envalign.training.offline import preference_pairs
from envalign.training.precision import MasterWeights


class Updater:
    """Apply one algorithm update to a batch of turn samples.

    Args:
        config: The run's configuration (``algorithm``, ``optim`` and ``rollout`` are read).
        model: The policy's model, updated in place.
        optimizer: Its optimizer (over the master weights when ``master`` is given).
        pad_id: The padding token id.
        device: Where the model lives.
        baseline: REINFORCE's baseline (its moving average is saved in checkpoints).
        value_head: PPO's value head.
        reference: A frozen copy of the initial model (KL penalty, DPO); ``None`` with LoRA uses the
            model with its adapters disabled.
        master: fp32 master weights of a bf16 model.
    """

    def __init__(
        self,
        config: TrainConfig,
        model: Any,
        optimizer: Any,
        *,
        pad_id: int,
        device: Any,
        baseline: reinforce.Baseline,
        value_head: Any = None,
        reference: Any = None,
        master: MasterWeights | None = None,
    ) -> None:
        self.config = config
        self.model = model
        self.optimizer = optimizer
        self.pad_id = pad_id
        self.device = device
        self.baseline = baseline
        self.value_head = value_head
        self.reference = reference
        self.master = master

    def update(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        """Apply the configured algorithm to one batch of samples."""
        name = self.config.algorithm.name
        self.model.train()
        try:
            if name in ("grpo", "rloo", "reinforce"):
                return self._policy_gradient(samples)
            if name == "ppo":
                return self._ppo(samples)
            if name == "rejection_sampling":
                return self._rejection_sampling(samples)
            if name == "dpo":
                return self._dpo(samples)
            return self._stable_alignment(samples)
        finally:
            self.model.eval()

    def _advantages(self, samples: list[batching.TurnSample]) -> tuple[list[Any], list[float]]:
        a = self.config.algorithm
        credits, groups = [s.credit for s in samples], [s.group for s in samples]
        if a.name == "grpo":
            advantages = grpo.group_advantages(credits, groups, scale=a.scale_rewards)
            if a.drop_uniform_groups:
                keep = grpo.varying_groups(credits, groups)
                pairs = [
                    (s, v) for s, v in zip(samples, advantages, strict=True) if s.group in keep
                ]
                return [p[0] for p in pairs], [p[1] for p in pairs]
            return samples, advantages
        if a.name == "rloo":
            return samples, rloo.leave_one_out_advantages(credits, groups)
        return samples, self.baseline.advantages(credits)

    def _policy_gradient(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        a = self.config.algorithm
        kept, advantages = self._advantages(samples)
        stats: dict[str, float] = {"kept_fraction": len(kept) / max(len(samples), 1)}
        if not kept:
            return stats
        full = self._batch(kept, advantages)
        weights = grpo.token_weights(
            full.loss_mask, a.loss_normalization, max_new_tokens=self.config.rollout.max_new_tokens
        )
        full = self._with_old_logprobs(full)
        for _ in range(a.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for micro, w in self._micro_batches(full, weights):
                logprobs = self._logprobs(self.model, micro)
                if a.name == "reinforce":
                    loss = reinforce.reinforce_loss(logprobs, micro.values, w)
                    parts: dict[str, Any] = {}
                else:
                    loss, parts = grpo.clipped_loss(
                        logprobs,
                        micro.old_logprobs,
                        micro.values,
                        w,
                        clip_low=a.clip_low,
                        clip_high=a.clip_high,
                        ref_logprobs=self._reference_logprobs(micro),
                        kl_coef=a.kl_coef,
                    )
                loss.backward()
                _accumulate(stats, {"loss": loss, **parts}, share=float(w.sum()))
            stats["grad_norm"] = self._optimizer_step()
        return stats

    def _ppo(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        import torch

        a = self.config.algorithm
        full = self._with_old_logprobs(self._batch(samples, [s.credit for s in samples]))
        weights = grpo.token_weights(
            full.loss_mask, a.loss_normalization, max_new_tokens=self.config.rollout.max_new_tokens
        )
        with torch.no_grad():
            values = torch.zeros_like(full.loss_mask)
            for start, micro in self._slices(full):
                _, hidden = self._logprobs(self.model, micro, hidden=True)
                width = micro.input_ids.shape[1]
                values[start : start + len(micro), :width] = ppo.token_values(
                    self.value_head, hidden
                )
            rewards = ppo.terminal_rewards(full.values, full.loss_mask)
            advantages, returns = ppo.gae(rewards, values, full.loss_mask, gamma=a.gamma, lam=a.lam)
            advantages = ppo.whiten(advantages, full.loss_mask)
        stats: dict[str, float] = {
            "value_mean": float(batching.masked_mean(values, full.loss_mask))
        }
        for _ in range(a.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for start, micro in self._slices(full):
                stop, width = start + len(micro), micro.input_ids.shape[1]
                w = weights[start:stop, :width]
                logprobs, hidden = self._logprobs(self.model, micro, hidden=True)
                new_values = ppo.token_values(self.value_head, hidden)
                actor, parts = grpo.clipped_loss(
                    logprobs,
                    micro.old_logprobs,
                    advantages[start:stop, :width],
                    w,
                    clip_low=a.clip_low,
                    clip_high=a.clip_high,
                    ref_logprobs=self._reference_logprobs(micro),
                    kl_coef=a.kl_coef,
                )
                critic = ppo.value_loss(
                    new_values,
                    values[start:stop, :width],
                    returns[start:stop, :width],
                    w,
                    clip=a.value_clip,
                )
                loss = actor + a.value_coef * critic
                loss.backward()
                _accumulate(
                    stats, {"loss": loss, "value_loss": critic, **parts}, share=float(w.sum())
                )
            stats["grad_norm"] = self._optimizer_step()
        return stats

    def _rejection_sampling(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        kept = rejection_sampling.best_of_n(samples, min_credit=self.config.algorithm.min_credit)
        stats: dict[str, float] = {"kept_fraction": len(kept) / max(len(samples), 1)}
        if not kept:
            return stats
        full = self._batch(kept, [s.credit for s in kept])
        weights = grpo.token_weights(full.loss_mask, "token")
        self.optimizer.zero_grad(set_to_none=True)
        for micro, w in self._micro_batches(full, weights):
            loss = rejection_sampling.nll_loss(self._logprobs(self.model, micro), w)
            loss.backward()
            _accumulate(stats, {"loss": loss}, share=float(w.sum()))
        stats["grad_norm"] = self._optimizer_step()
        return stats

    def _dpo(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        a = self.config.algorithm
        pairs = preference_pairs(samples)
        stats: dict[str, float] = {"pairs": float(len(pairs))}
        if not pairs:
            return stats
        self.optimizer.zero_grad(set_to_none=True)
        size = max(1, self.config.optim.micro_batch_size // 2)
        for start in range(0, len(pairs), size):
            chunk = pairs[start : start + size]
            rows = [p.chosen for p in chunk] + [p.rejected for p in chunk]
            micro = self._batch(rows, [0.0] * len(rows), sort=False).to(self.device)
            policy = dpo.sequence_logprob(self._logprobs(self.model, micro), micro.loss_mask)
            reference = dpo.sequence_logprob(
                self._reference_logprobs(micro, force=True), micro.loss_mask
            )
            n = len(chunk)
            loss, parts = dpo.dpo_loss(
                policy[:n],
                policy[n:],
                reference[:n],
                reference[n:],
                beta=a.beta,
                label_smoothing=a.label_smoothing,
            )
            share = n / len(pairs)
            (loss * share).backward()
            _accumulate(stats, {"loss": loss, **parts}, share=share)
        stats["grad_norm"] = self._optimizer_step()
        return stats

    def _stable_alignment(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        import torch

        a = self.config.algorithm
        groups = sa.rated_groups(samples)
        stats: dict[str, float] = {"groups": float(len(groups))}
        if not groups:
            return stats
        self.optimizer.zero_grad(set_to_none=True)
        for group in groups:
            rows = [group.best, *group.others]
            micro = self._batch(rows, [0.0] * len(rows), sort=False).to(self.device)
            mean_lp = batching.masked_mean(
                self._logprobs(self.model, micro), micro.loss_mask, dim=-1
            )
            gaps = torch.tensor(
                [[group.best.credit - o.credit for o in group.others]], device=self.device
            )
            loss, parts = sa.stable_alignment_loss(
                mean_lp[:1],
                mean_lp[1:].unsqueeze(0),
                gaps,
                torch.ones_like(gaps),
                margin=a.margin,
                contrast_weight=a.contrast_weight,
            )
            share = 1 / len(groups)
            (loss * share).backward()
            _accumulate(stats, {"loss": loss, **parts}, share=share)
        stats["grad_norm"] = self._optimizer_step()
        return stats

    # ------------------------------------------------------------------ tensors

    def _batch(
        self, samples: list[batching.TurnSample], values: list[float], sort: bool = True
    ) -> Any:
        if sort:  # similar lengths share a micro-batch: less padding
            order = sorted(
                range(len(samples)),
                key=lambda i: len(samples[i].prompt_ids) + len(samples[i].completion_ids),
            )
            samples, values = [samples[i] for i in order], [values[i] for i in order]
        return batching.samples_batch(samples, values, pad_id=self.pad_id)

    def _slices(self, full: Any) -> Any:
        size = self.config.optim.micro_batch_size
        for start in range(0, len(full), size):
            micro = full.slice(start, start + size)
            width = int(micro.attention_mask.sum(-1).max())
            yield start, _trim(micro, width).to(self.device)

    def _micro_batches(self, full: Any, weights: Any) -> Any:
        for start, micro in self._slices(full):
            width = micro.input_ids.shape[1]
            yield micro, weights[start : start + len(micro), :width].to(self.device)

    def _logprobs(self, model: Any, micro: Any, hidden: bool = False) -> Any:
        return batching.token_logprobs(
            model,
            micro.input_ids,
            micro.attention_mask,
            temperature=self.config.rollout.temperature,
            return_hidden=hidden,
        )

    def _with_old_logprobs(self, full: Any) -> Any:
        """Fill in sampling log-probabilities when the policy did not report them."""
        import torch

        if full.old_logprobs is not None:
            return full
        old = torch.zeros_like(full.loss_mask)
        with torch.no_grad():
            for start, micro in self._slices(full):
                lp = self._logprobs(self.model, micro)
                old[start : start + len(micro), : lp.shape[1]] = lp.cpu()
        full.old_logprobs = old * full.loss_mask
        return full

    def _reference_logprobs(self, micro: Any, force: bool = False) -> Any:
        import torch

        if not force and self.config.algorithm.kl_coef == 0:
            return None
        with torch.no_grad():
            if self.reference is not None:
                return self._logprobs(self.reference, micro)
            with self.model.disable_adapter():
                return self._logprobs(self.model, micro)

    def _optimizer_step(self) -> float:
        import torch

        if self.master is not None:
            self.master.copy_grads()
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        limit = self.config.optim.max_grad_norm or float("inf")
        norm = torch.nn.utils.clip_grad_norm_(params, limit)
        self.optimizer.step()
        if self.master is not None:
            self.master.copy_weights()
        return float(norm)


def _trim(micro: Any, width: int) -> Any:
    old = micro.old_logprobs[:, :width] if micro.old_logprobs is not None else None
    return batching.TokenBatch(
        micro.input_ids[:, :width],
        micro.attention_mask[:, :width],
        micro.loss_mask[:, :width],
        old,
        micro.values,
    )


def _accumulate(stats: dict[str, float], values: dict[str, Any], share: float) -> None:
    """Add ``share``-weighted micro-batch statistics (the loss is already a share of the total)."""
    for key, value in values.items():
        number = float(value.detach()) if hasattr(value, "detach") else float(value)
        weight = 1.0 if key == "loss" else share
        stats[key] = stats.get(key, 0.0) + number * weight
