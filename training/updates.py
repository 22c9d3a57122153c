"""One optimizer step per batch of samples, with the configured algorithm.

:class:`Updater` owns the pieces a gradient step needs (model, optimizer, value head, frozen
reference, fp32 master weights) and applies the algorithm's loss from ``algorithms/`` to micro-batches,
accumulating gradients so that the sum over micro-batches equals the full-batch loss. Sequences are
sorted by length before they are cut into micro-batches, and each micro-batch is trimmed to its
longest row, so little compute goes to padding.

Under data parallelism (``training/distributed.py``) each rank holds part of the batch. Everything
batch-wide is computed over all ranks: advantages from every rank's credits, token and sequence
counts for the loss normalisation, PPO's whitening, DPO's pair and Stable Alignment's group counts.
Each rank's loss is then its exact share of the union batch's loss, the gradients are summed over
ranks before the optimizer step, and the statistics (``loss``, ``clip_fraction``, ``kl``,
``entropy``...) are those of the union batch. A rank with nothing to train on still takes part in
every optimizer step (with zero gradients), so the ranks never wait on each other forever.
"""

from __future__ import annotations

from typing import Any

from envalign.training import distributed
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
        self._parts: dict[str, float] = {}
        self._entropy = [0.0, 0.0]  # summed entropy and tokens, this rank

    def update(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        """Apply the configured algorithm to one batch of samples (this rank's share of it).

        Returns:
            The union batch's statistics: the algorithm's (``loss``, ``clip_fraction``, ``kl``,
            ``grad_norm``...) and ``entropy``, the mean per-token entropy of the policy over the
            generated tokens, from the first pass's logits.
        """
        name = self.config.algorithm.name
        self._parts, self._entropy = {}, [0.0, 0.0]
        self.model.train()
        try:
            if name in ("grpo", "rloo", "reinforce"):
                stats = self._policy_gradient(samples)
            elif name == "ppo":
                stats = self._ppo(samples)
            elif name == "rejection_sampling":
                stats = self._rejection_sampling(samples)
            elif name == "dpo":
                stats = self._dpo(samples)
            else:
                stats = self._stable_alignment(samples)
        finally:
            self.model.eval()
        return self._finish(stats)

    def _finish(self, stats: dict[str, float]) -> dict[str, float]:
        """Add the share-weighted statistics of every rank, and the mean entropy."""
        for parts in distributed.all_gather_objects(self._parts):
            for key, value in parts.items():
                stats[key] = stats.get(key, 0.0) + value
        entropy, tokens = distributed.all_sum(self._entropy)
        if tokens > 0:
            stats["entropy"] = entropy / tokens
        return stats

    def _advantages(
        self, samples: list[batching.TurnSample]
    ) -> tuple[list[Any], list[float], float]:
        """This rank's kept samples, their advantages, and the kept fraction of the union batch.

        Advantages are computed from every rank's credits (group ids are unique across ranks), so
        they are those one process would compute on the union batch.
        """
        a = self.config.algorithm
        everyone = distributed.all_gather_objects([(s.credit, s.group) for s in samples])
        rank, _ = distributed.world()
        start = sum(len(part) for part in everyone[:rank])
        credits = [credit for part in everyone for credit, _ in part]
        groups = [group for part in everyone for _, group in part]
        keep = set(groups)
        if a.name == "grpo":
            advantages = grpo.group_advantages(credits, groups, scale=a.scale_rewards)
            if a.drop_uniform_groups:
                keep = grpo.varying_groups(credits, groups)
        elif a.name == "rloo":
            advantages = rloo.leave_one_out_advantages(credits, groups)
        else:
            advantages = self.baseline.advantages(credits)
        mine = advantages[start : start + len(samples)]
        pairs = [(s, v) for s, v in zip(samples, mine, strict=True) if s.group in keep]
        fraction = sum(g in keep for g in groups) / max(len(groups), 1)
        return [p[0] for p in pairs], [p[1] for p in pairs], fraction

    def _weighted_batch(
        self, samples: list[batching.TurnSample], values: list[float], normalization: str
    ) -> tuple[Any, Any, float]:
        """The padded batch, its token weights normalised over all ranks, and their global sum.

        The batch and weights are ``None`` when this rank has no samples; a global sum of 0 means
        no rank has a token to train on.
        """
        full = self._batch(samples, values) if samples else None
        local = [float(full.loss_mask.sum()), float(len(full))] if full is not None else [0.0, 0.0]
        tokens, sequences = distributed.all_sum(local)
        weights = None
        if full is not None:
            weights = grpo.token_weights(
                full.loss_mask,
                normalization,
                max_new_tokens=self.config.rollout.max_new_tokens,
                total_tokens=tokens,
                total_sequences=sequences,
            )
        (total,) = distributed.all_sum([float(weights.sum()) if weights is not None else 0.0])
        return full, weights, total

    def _policy_gradient(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        a = self.config.algorithm
        kept, advantages, fraction = self._advantages(samples)
        stats: dict[str, float] = {"kept_fraction": fraction}
        full, weights, total = self._weighted_batch(kept, advantages, a.loss_normalization)
        if total <= 0:
            return stats
        full = self._with_old_logprobs(full)
        for epoch in range(a.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for micro, w in self._micro_batches(full, weights):
                logprobs = self._logprobs(self.model, micro, entropy=epoch == 0)
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
                self._accumulate({"loss": loss, **parts}, share=float(w.sum()) / total)
            stats["grad_norm"] = self._optimizer_step()
        return stats

    def _ppo(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        a = self.config.algorithm
        full, weights, total = self._weighted_batch(
            samples, [s.credit for s in samples], a.loss_normalization
        )
        if total <= 0:
            return {}
        full = self._with_old_logprobs(full)
        values, advantages, returns = self._ppo_targets(full)
        stats: dict[str, float] = {"value_mean": _global_mean(values, full)}
        for epoch in range(a.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for start, micro in self._slices(full):
                stop, width = start + len(micro), micro.input_ids.shape[1]
                w = weights[start:stop, :width]
                logprobs, hidden = self._logprobs(
                    self.model, micro, hidden=True, entropy=epoch == 0
                )
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
                self._accumulate(
                    {"loss": loss, "value_loss": critic, **parts}, share=float(w.sum()) / total
                )
            stats["grad_norm"] = self._optimizer_step()
        return stats

    def _ppo_targets(self, full: Any) -> tuple[Any, Any, Any]:
        """Value estimates, whitened GAE advantages and returns, ``[batch, seq]`` each."""
        import torch

        a = self.config.algorithm
        if full is None:
            _global_whiten(None, None)  # take part in the collective sums
            return None, None, None
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
            advantages = _global_whiten(advantages, full.loss_mask)
        return values, advantages, returns

    def _rejection_sampling(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        kept = rejection_sampling.best_of_n(samples, min_credit=self.config.algorithm.min_credit)
        chosen, seen = distributed.all_sum([len(kept), len(samples)])
        stats: dict[str, float] = {"kept_fraction": chosen / max(seen, 1)}
        full, weights, total = self._weighted_batch(kept, [s.credit for s in kept], "token")
        if total <= 0:
            return stats
        self.optimizer.zero_grad(set_to_none=True)
        for micro, w in self._micro_batches(full, weights):
            logprobs = self._logprobs(self.model, micro, entropy=True)
            loss = rejection_sampling.nll_loss(logprobs, w)
            loss.backward()
            self._accumulate({"loss": loss}, share=float(w.sum()) / total)
        stats["grad_norm"] = self._optimizer_step()
        return stats

    def _dpo(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        a = self.config.algorithm
        pairs = preference_pairs(samples)
        (total,) = distributed.all_sum([len(pairs)])
        stats: dict[str, float] = {"pairs": total}
        if not total:
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
            share = n / total
            (loss * share).backward()
            self._accumulate({"loss": loss, **parts}, share=share)
        stats["grad_norm"] = self._optimizer_step()
        return stats

    def _stable_alignment(self, samples: list[batching.TurnSample]) -> dict[str, float]:
        import torch

        a = self.config.algorithm
        groups = sa.rated_groups(samples)
        (total,) = distributed.all_sum([len(groups)])
        stats: dict[str, float] = {"groups": total}
        if not total:
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
            share = 1 / total
            (loss * share).backward()
            self._accumulate({"loss": loss, **parts}, share=share)
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
        if full is None:  # this rank has nothing to train on this step
            return
        size = self.config.optim.micro_batch_size
        for start in range(0, len(full), size):
            micro = full.slice(start, start + size)
            width = int(micro.attention_mask.sum(-1).max())
            yield start, _trim(micro, width).to(self.device)

    def _micro_batches(self, full: Any, weights: Any) -> Any:
        for start, micro in self._slices(full):
            width = micro.input_ids.shape[1]
            yield micro, weights[start : start + len(micro), :width].to(self.device)

    def _logprobs(self, model: Any, micro: Any, hidden: bool = False, entropy: bool = False) -> Any:
        """Token log-probs (and hidden states); ``entropy`` adds this pass to the entropy metric."""
        out = batching.token_logprobs(
            model,
            micro.input_ids,
            micro.attention_mask,
            temperature=self.config.rollout.temperature,
            return_hidden=hidden,
            return_entropy=entropy,
        )
        if not entropy:
            return out
        *rest, per_token = out
        self._entropy[0] += float((per_token * micro.loss_mask).sum())
        self._entropy[1] += float(micro.loss_mask.sum())
        return tuple(rest) if hidden else rest[0]

    def _accumulate(self, values: dict[str, Any], share: float) -> None:
        """Add ``share``-weighted micro-batch statistics (the loss is already a share of the total).

        Shares add up to 1 over the micro-batches of all ranks, so the sum over ranks is the union
        batch's weighted mean.
        """
        for key, value in values.items():
            number = float(value.detach()) if hasattr(value, "detach") else float(value)
            weight = 1.0 if key == "loss" else share
            self._parts[key] = self._parts.get(key, 0.0) + number * weight

    def _with_old_logprobs(self, full: Any) -> Any:
        """Fill in sampling log-probabilities when the policy did not report them."""
        import torch

        if full is None or full.old_logprobs is not None:
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
        distributed.all_reduce_gradients(params)
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


def _global_mean(values: Any, full: Any) -> float:
    """The mean of ``values`` over the generated tokens of every rank's batch (``full`` may be None)."""
    local = [0.0, 0.0]
    if full is not None:
        local = [float((values * full.loss_mask).sum()), float(full.loss_mask.sum())]
    total, tokens = distributed.all_sum(local)
    return total / max(tokens, 1.0)


def _global_whiten(values: Any, mask: Any, eps: float = 1e-8) -> Any:
    """:func:`ppo.whiten` with the mean and variance over every rank's tokens.

    ``values`` and ``mask`` are ``None`` on a rank without samples; it still joins the sums.
    """
    present = values is not None
    total, count = distributed.all_sum(
        [float((values * mask).sum()), float(mask.sum())] if present else [0.0, 0.0]
    )
    mean = total / max(count, 1.0)
    local = float((((values - mean) ** 2) * mask).sum()) if present else 0.0
    (squares,) = distributed.all_sum([local])
    if not present:
        return None
    variance = squares / max(count, 1.0)
    return (values - mean) * (variance + eps) ** -0.5 * mask
