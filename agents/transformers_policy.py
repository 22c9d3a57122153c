"""``TransformersPolicy``: any causal LM from transformers as a batched :class:`Policy`.

Generation is a small explicit decoding loop (left-padded batch, KV cache, a ``torch.Generator`` per
policy) rather than ``model.generate``, so that every generated token comes back with two
log-probabilities, finished rows are known exactly, and seeds never touch the global RNG:

* ``Generation.logprobs``: log-probability of each token under the distribution it was *sampled
  from* (logits divided by ``temperature``, then ``top_p`` truncation and renormalisation). This is
  the behaviour policy's log-prob that importance ratios need. With ``temperature == 0`` (greedy)
  the sampling distribution is a point mass, so the model's own (temperature 1) log-probs are
  reported.
* ``Generation.model_logprobs``: log-probability under the raw model (temperature 1, no truncation),
  the quantity a trainer recomputes with gradients. :meth:`TransformersPolicy.logprobs_of`
  recomputes it teacher-forced for any ``(prompt ids, token ids)`` pair.

Rows are bucketed by prompt length into batches of at most ``max_batch_size`` rows (and
``max_batch_tokens`` tokens); a row that ends (EOS or a stop string) leaves the batch and the KV
cache, so long replies do not make short ones pay. :meth:`TransformersPolicy.score` runs each prompt
once and scores all its candidate actions from copies of its KV cache.

Torch and transformers are imported only when this module is.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import torch

from envalign.agents.base import Conversation, Generation, SamplingParams, TurnRequest
from envalign.agents.scoring import NORMALISATIONS, choose_action, normalise

ActionSelection = Literal["generate", "likelihood"]
Normalisation = Literal["sum", "token", "word"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Return ``device``, or CUDA when present, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """Return ``dtype`` (``"bf16"``, ``"fp32"``, ...); default bf16 on CUDA, fp32 on CPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
        "fp16": torch.float16,
        "float16": torch.float16,
        "fp32": torch.float32,
        "float32": torch.float32,
    }
    if dtype is None or dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype not in names:
        raise ValueError(f"Unknown dtype '{dtype}'; use one of {', '.join(sorted(names))}.")
    return names[dtype]


class TransformersPolicy:
    """A transformers causal LM that acts by generating (or by scoring ``valid_actions``).

    Args:
        model: A ``PreTrainedModel`` with a causal LM head.
        tokenizer: Its tokenizer; the chat template (when it has one) formats conversations.
        sampling: Default sampling parameters; mutable (``policy.sampling.temperature = 0``).
        max_batch_size: Most conversations in one forward pass.
        max_prompt_tokens: Longer prompts keep their last ``max_prompt_tokens`` tokens (warned).
        max_batch_tokens: Cap on ``rows * (longest prompt + max_new_tokens)`` per forward batch.
        device: Where to run; CUDA when present by default.
        dtype: ``"bf16"``, ``"fp32"``, a ``torch.dtype``, or ``None`` (bf16 on CUDA, fp32 on CPU).
        name: Name shown in summaries and episode records.
        action_selection: ``"generate"`` always generates; ``"likelihood"`` scores the request's
            ``valid_actions`` when it has them and samples from the softmax of the scores (argmax
            when ``temperature == 0``), generating otherwise.
        normalisation: How :meth:`score` normalises in likelihood mode: ``"sum"`` (GLAM),
            ``"token"`` or ``"word"`` (TWOSOME).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        sampling: SamplingParams | None = None,
        max_batch_size: int = 32,
        max_prompt_tokens: int = 2048,
        max_batch_tokens: int = 65_536,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        name: str = "transformers",
        action_selection: ActionSelection = "generate",
        normalisation: Normalisation = "token",
    ) -> None:
        if max_batch_size < 1 or max_prompt_tokens < 1 or max_batch_tokens < 1:
            raise ValueError("max_batch_size, max_prompt_tokens and max_batch_tokens must be >= 1.")
        if action_selection not in ("generate", "likelihood"):
            raise ValueError(
                f"action_selection must be 'generate' or 'likelihood', got {action_selection!r}."
            )
        if normalisation not in NORMALISATIONS:
            raise ValueError(
                f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}."
            )
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.tokenizer = tokenizer
        self.sampling = sampling if sampling is not None else SamplingParams()
        self.max_batch_size = max_batch_size
        self.max_prompt_tokens = max_prompt_tokens
        self.max_batch_tokens = max_batch_tokens
        self.name = name
        self.action_selection = action_selection
        self.normalisation = normalisation
        self.pad_token_id = _pad_token_id(tokenizer)
        self.eos_token_ids = _eos_token_ids(model, tokenizer)
        self._generator: torch.Generator | None = None
        self._generator_seed: int | None = None
        self._warned_truncation = False
        # Only the last position is sampled: skip the LM head elsewhere where the model allows it.
        accepts = "logits_to_keep" in inspect.signature(self.model.forward).parameters
        self._last_logits_only: dict[str, int] = {"logits_to_keep": 1} if accepts else {}

    @classmethod
    def from_pretrained(cls, path_or_name: str, **kwargs: Any) -> TransformersPolicy:
        """Load a model folder, a ``.gguf`` file, a preset name or a hub name (where reachable).

        Args:
            path_or_name: See :func:`envalign.agents.models.load_model`.
            **kwargs: Passed to the constructor; ``dtype`` also to the loader, so large models
                load directly in bf16.
        """
        from envalign.agents.models import load_model

        dtype = resolve_dtype(kwargs.get("dtype"), resolve_device(kwargs.get("device")))
        model, tokenizer = load_model(path_or_name, dtype=dtype)
        kwargs.setdefault("name", path_or_name)
        return cls(model, tokenizer, **kwargs)

    # ------------------------------------------------------------------ the Policy protocol

    def act(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        """Answer every request: by likelihood over ``valid_actions`` or by generation."""
        results: list[Generation | None] = [None] * len(requests)
        by_likelihood = [
            i
            for i, r in enumerate(requests)
            if self.action_selection == "likelihood" and r.valid_actions
        ]
        if by_likelihood:
            chosen = self.choose([requests[i] for i in by_likelihood])
            for i, generation in zip(by_likelihood, chosen, strict=True):
                results[i] = generation
        rest = [i for i in range(len(requests)) if results[i] is None]
        if rest:
            generated = self.generate([requests[i].messages for i in rest])
            for i, generation in zip(rest, generated, strict=True):
                results[i] = generation
        return [g for g in results if g is not None]

    # ------------------------------------------------------------------ prompts

    def prompt_ids(self, messages: Conversation) -> list[int]:
        """Token ids of ``messages`` formatted by the chat template, ready for the reply."""
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        else:
            lines = [f"{m['role']}: {m['content']}" for m in messages]
            text = "\n".join(lines) + "\nassistant:"
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        if len(ids) > self.max_prompt_tokens:
            if not self._warned_truncation:
                warnings.warn(
                    f"A prompt of {len(ids)} tokens was cut to its last {self.max_prompt_tokens}; "
                    "raise max_prompt_tokens to keep whole conversations.",
                    stacklevel=2,
                )
                self._warned_truncation = True
            ids = ids[-self.max_prompt_tokens :]
        return ids

    # ------------------------------------------------------------------ generation

    def generate(
        self, conversations: Sequence[Conversation], sampling: SamplingParams | None = None
    ) -> list[Generation]:
        """Generate one reply per conversation, in batches, and return them in order."""
        params = sampling or self.sampling
        prompts = [self.prompt_ids(messages) for messages in conversations]
        results: list[Generation | None] = [None] * len(prompts)
        for chunk in self._chunks([len(p) for p in prompts], params.max_new_tokens):
            for index, generation in zip(
                chunk, self._generate_batch([prompts[i] for i in chunk], params), strict=True
            ):
                results[index] = generation
        return [g for g in results if g is not None]

    def _chunks(self, lengths: list[int], new_tokens: int) -> list[list[int]]:
        """Group indices by similar prompt length within the batch caps."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        chunks: list[list[int]] = []
        current: list[int] = []
        for index in order:
            rows = len(current) + 1
            cost = rows * (lengths[index] + new_tokens)
            if current and (rows > self.max_batch_size or cost > self.max_batch_tokens):
                chunks.append(current)
                current = []
            current.append(index)
        if current:
            chunks.append(current)
        return chunks

    def _generate_batch(self, prompts: list[list[int]], params: SamplingParams) -> list[Generation]:
        # A trainer may leave the model in train mode, where gradient checkpointing turns the KV
        # cache off; decoding needs the cache, so generate in eval mode and restore the mode after.
        was_training = self.model.training
        self.model.eval()
        try:
            return self._decode(prompts, params)
        finally:
            self.model.train(was_training)

    @torch.inference_mode()
    def _decode(self, prompts: list[list[int]], params: SamplingParams) -> list[Generation]:
        step_ids, step_mask = self._left_pad(prompts)  # [batch, seq]
        step_positions = (step_mask.cumsum(-1) - 1).clamp(min=0)
        batch = len(prompts)
        tokens: list[list[int]] = [[] for _ in range(batch)]
        sampled_lp: list[list[float]] = [[] for _ in range(batch)]
        model_lp: list[list[float]] = [[] for _ in range(batch)]
        reasons = ["length"] * batch
        active = list(range(batch))  # original rows still generating, in batch order
        eos = torch.tensor(sorted(self.eos_token_ids), device=self.device)
        generator = self._sampling_generator(params)
        past = None
        # transformers 5 names the KV cache `cache` (`past_key_values` is deprecated); 4.x does not.
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        named = "cache" if "cache" in inspect.signature(base.forward).parameters else None
        for _ in range(params.max_new_tokens):
            output = self.model(
                input_ids=step_ids,
                attention_mask=step_mask,
                position_ids=step_positions,
                use_cache=True,
                **{named or "past_key_values": past},
                **self._last_logits_only,
            )
            past = output.get("cache") if named else output.past_key_values
            if past is None:
                raise RuntimeError(
                    "The model returned no KV cache; set model.config.use_cache = True to generate."
                )
            logits = output.logits[:, -1, :].float()  # [active, vocab]
            chosen, lp_sampled, lp_model = _sample(logits, params, generator)
            is_eos = torch.isin(chosen, eos).tolist()
            keep = []
            for position, (row, token, lps, lpm) in enumerate(
                zip(active, chosen.tolist(), lp_sampled.tolist(), lp_model.tolist(), strict=True)
            ):
                tokens[row].append(token)
                sampled_lp[row].append(lps)
                model_lp[row].append(lpm)
                if is_eos[position] or self._hit_stop(tokens[row], params.stop):
                    reasons[row] = "stop"
                else:
                    keep.append(position)
            if not keep:
                break
            if len(keep) < len(active):
                # Drop finished rows from the batch and the KV cache: no compute on them again.
                index = torch.tensor(keep, device=self.device)
                past.batch_select_indices(index)
                chosen, step_mask, step_positions = (
                    chosen[index],
                    step_mask[index],
                    step_positions[index],
                )
                active = [active[position] for position in keep]
            step_ids = chosen[:, None]
            step_mask = torch.cat([step_mask, step_mask.new_ones(len(active), 1)], dim=-1)
            step_positions = step_positions[:, -1:] + 1
        return [
            Generation(
                text=self._text(tokens[row], params.stop),
                token_ids=tokens[row],
                logprobs=sampled_lp[row],
                prompt_token_ids=prompts[row],
                finish_reason=reasons[row],
                model_logprobs=model_lp[row],
            )
            for row in range(batch)
        ]

    def _left_pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
        return ids.to(self.device), mask.to(self.device)

    def _sampling_generator(self, params: SamplingParams) -> torch.Generator | None:
        """One generator per policy, reseeded when ``sampling.seed`` changes."""
        if params.seed is None:
            return None
        if self._generator is None or self._generator_seed != params.seed:
            self._generator = torch.Generator(device=self.device).manual_seed(params.seed)
            self._generator_seed = params.seed
        return self._generator

    def _hit_stop(self, tokens: list[int], stop: tuple[str, ...]) -> bool:
        if not stop:
            return False
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return any(s in text for s in stop)

    def _text(self, tokens: list[int], stop: tuple[str, ...]) -> str:
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        cuts = [text.index(s) for s in stop if s in text]
        return (text[: min(cuts)] if cuts else text).strip()

    # ------------------------------------------------------------------ likelihoods

    @torch.inference_mode()
    def logprobs_of(
        self, prompts: Sequence[list[int]], continuations: Sequence[list[int]]
    ) -> list[list[float]]:
        """Model (temperature 1) log-prob of each continuation token given its prompt.

        Args:
            prompts: Prompt token ids per row.
            continuations: Token ids to score per row (e.g. ``Generation.token_ids``).

        Returns:
            One list per row with one log-prob per continuation token.
        """
        results: list[list[float]] = [[] for _ in prompts]
        lengths = [len(p) + len(c) for p, c in zip(prompts, continuations, strict=True)]
        for chunk in self._chunks(lengths, 0):
            rows = [list(prompts[i]) + list(continuations[i]) for i in chunk]
            ids, mask = self._left_pad(rows)
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
            logps = torch.log_softmax(logits.float(), dim=-1)  # [batch, seq, vocab]
            width = ids.shape[1]
            for row, index in enumerate(chunk):
                count = len(continuations[index])
                if count == 0:
                    continue
                targets = ids[row, width - count :]  # [count]
                predicted = logps[row, width - count - 1 : width - 1]  # [count, vocab]
                results[index] = predicted.gather(-1, targets[:, None])[:, 0].tolist()
        return results

    def candidate_ids(self, candidate: str) -> list[int]:
        """Token ids of an action string as the assistant's reply (no special tokens)."""
        return list(self.tokenizer(candidate, add_special_tokens=False)["input_ids"])

    def score(
        self,
        requests: Sequence[TurnRequest | Conversation],
        candidates: Sequence[Sequence[str]] | None = None,
        normalisation: Normalisation | None = None,
    ) -> list[list[float]]:
        """Log-likelihood of each candidate action given each request's prompt.

        Args:
            requests: Turn requests (or bare conversations).
            candidates: Candidate strings per request; defaults to each request's ``valid_actions``.
            normalisation: ``"sum"`` (GLAM: summed token log-probs), ``"token"`` (TWOSOME: divided
                by the number of tokens) or ``"word"`` (TWOSOME: divided by the number of words).
                Defaults to the policy's ``normalisation``.

        Returns:
            One list of scores per request, in the order of its candidates.
        """
        how = normalisation or self.normalisation
        raw = self._candidate_logprobs(requests, candidates)
        return [
            [normalise(lps, text, how) for lps, text in zip(row, texts, strict=True)]
            for row, texts in zip(raw, _candidate_lists(requests, candidates), strict=True)
        ]

    def _candidate_logprobs(
        self,
        requests: Sequence[TurnRequest | Conversation],
        candidates: Sequence[Sequence[str]] | None,
    ) -> list[list[list[float]]]:
        lists = _candidate_lists(requests, candidates)
        prompts = [
            self.prompt_ids(r.messages if isinstance(r, TurnRequest) else r) for r in requests
        ]
        continuations = [[self.candidate_ids(text) for text in texts] for texts in lists]
        results: list[list[list[float]]] = [[] for _ in requests]
        for chunk in self._candidate_chunks(prompts, continuations):
            scored = self._shared_prompt_logprobs(
                [prompts[i] for i in chunk], [continuations[i] for i in chunk]
            )
            for index, values in zip(chunk, scored, strict=True):
                results[index] = values
        return results

    def _candidate_chunks(
        self, prompts: list[list[int]], continuations: list[list[list[int]]]
    ) -> list[list[int]]:
        """Group requests so that prompts and candidate rows stay within the batch caps."""
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        chunks: list[list[int]] = []
        current: list[int] = []
        rows = 0
        for index in order:
            count = max(1, len(continuations[index]))
            if current and (
                len(current) + 1 > self.max_batch_size or rows + count > 4 * self.max_batch_size
            ):
                chunks.append(current)
                current, rows = [], 0
            current.append(index)
            rows += count
        if current:
            chunks.append(current)
        return chunks

    @torch.inference_mode()
    def _shared_prompt_logprobs(
        self, prompts: list[list[int]], continuations: list[list[list[int]]]
    ) -> list[list[list[float]]]:
        """Score every candidate of every prompt, running each prompt through the model once.

        The prompts' KV cache is copied to one row per candidate, and only the candidates' own
        tokens are run again: scoring K actions costs one prompt plus K short continuations.
        """
        ids, mask = self._left_pad(prompts)  # [batch, prompt]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        output = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **self._last_logits_only,
        )
        first = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)  # [batch, vocab]
        owners = [(row, k) for row, cands in enumerate(continuations) for k in range(len(cands))]
        results: list[list[list[float]]] = [[[] for _ in cands] for cands in continuations]
        for row, k in owners:
            tokens = continuations[row][k]
            if tokens:
                results[row][k].append(float(first[row, tokens[0]]))
        width = max((len(continuations[r][k]) for r, k in owners), default=0) - 1
        if width < 1:
            return results
        index = torch.tensor([row for row, _ in owners], device=self.device)
        cache = output.past_key_values
        cache.batch_select_indices(index)
        feed = torch.full((len(owners), width), self.pad_token_id, dtype=torch.long)
        feed_mask = torch.zeros((len(owners), width), dtype=torch.long)
        for n, (row, k) in enumerate(owners):
            tokens = continuations[row][k][:-1]  # each token predicts the next one
            feed[n, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            feed_mask[n, : len(tokens)] = 1
        feed, feed_mask = feed.to(self.device), feed_mask.to(self.device)
        start = mask.sum(-1)[index][:, None]  # [rows, 1] prompt lengths
        logits = self.model(
            input_ids=feed,
            attention_mask=torch.cat([mask[index], feed_mask], dim=-1),
            position_ids=start + torch.arange(width, device=self.device)[None, :],
            past_key_values=cache,
            use_cache=True,
        ).logits
        logps = torch.log_softmax(logits.float(), dim=-1)  # [rows, width, vocab]
        for n, (row, k) in enumerate(owners):
            targets = continuations[row][k][1:]
            if targets:
                picked = logps[n, : len(targets)].gather(
                    -1, torch.tensor(targets, device=self.device)[:, None]
                )
                results[row][k].extend(picked[:, 0].tolist())
        return results

    def choose(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        """Act by likelihood: score ``valid_actions`` and sample (or argmax) among them."""
        params = self.sampling
        raw = self._candidate_logprobs(requests, None)
        generator = self._sampling_generator(params)
        results = []
        for request, logprobs in zip(requests, raw, strict=True):
            actions = list(request.valid_actions or [])
            scores = [
                normalise(lps, a, self.normalisation)
                for lps, a in zip(logprobs, actions, strict=True)
            ]
            uniform = float(torch.rand((), generator=generator, device=self.device))
            index = choose_action(scores, params.temperature, uniform)
            results.append(
                Generation(
                    text=actions[index],
                    token_ids=self.candidate_ids(actions[index]),
                    logprobs=logprobs[index],
                    prompt_token_ids=self.prompt_ids(request.messages),
                    finish_reason="likelihood",
                    model_logprobs=logprobs[index],
                    action_scores=scores,
                )
            )
        return results

    def reseed(self, seed: int | None) -> None:
        """Restart sampling from ``seed``: the next calls repeat exactly when the seed repeats.

        Setting ``sampling.seed`` to a new value also reseeds, but setting it to the value it
        already has continues the running generator; ``reseed`` always starts over.
        """
        self.sampling = replace(self.sampling, seed=seed)
        self._generator, self._generator_seed = None, None

    def with_sampling(self, **changes: Any) -> TransformersPolicy:
        """Set sampling fields in place (validated) and return the policy."""
        self.sampling = replace(self.sampling, **changes)
        return self


def _sample(
    logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pick one token per row; return it with its sampling and model log-probs."""
    model_logps = torch.log_softmax(logits, dim=-1)  # [batch, vocab]
    if params.temperature == 0:
        chosen = logits.argmax(dim=-1)
        picked = model_logps.gather(-1, chosen[:, None])[:, 0]
        return chosen, picked, picked
    scaled = logits / params.temperature
    if params.top_p < 1.0:
        scaled = _top_p_filter(scaled, params.top_p)
    sampling_logps = torch.log_softmax(scaled, dim=-1)
    chosen = torch.multinomial(sampling_logps.exp(), 1, generator=generator)[:, 0]
    return (
        chosen,
        sampling_logps.gather(-1, chosen[:, None])[:, 0],
        model_logps.gather(-1, chosen[:, None])[:, 0],
    )


def _top_p_filter(scaled: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability mass reaches ``top_p``."""
    ordered, order = scaled.sort(dim=-1, descending=True)
    mass = ordered.softmax(dim=-1).cumsum(dim=-1)
    drop = mass - ordered.softmax(dim=-1) >= top_p  # the mass before this token already suffices
    ordered = ordered.masked_fill(drop, -math.inf)
    return torch.full_like(scaled, -math.inf).scatter(-1, order, ordered)


def _candidate_lists(
    requests: Sequence[TurnRequest | Conversation], candidates: Sequence[Sequence[str]] | None
) -> list[list[str]]:
    if candidates is not None:
        if len(candidates) != len(requests):
            raise ValueError(
                f"Got {len(candidates)} candidate lists for {len(requests)} requests; "
                "pass one list per request."
            )
        return [list(c) for c in candidates]
    lists = []
    for request in requests:
        actions = request.valid_actions if isinstance(request, TurnRequest) else None
        if not actions:
            raise ValueError(
                "score() needs candidates: pass them, or requests whose valid_actions are set."
            )
        lists.append(list(actions))
    return lists


def _pad_token_id(tokenizer: Any) -> int:
    for value in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if value is not None:
            return int(value)
    return 0


def _eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    if not ids:
        raise ValueError(
            "The tokenizer has no eos_token_id; set tokenizer.eos_token so generation can stop."
        )
    return ids
