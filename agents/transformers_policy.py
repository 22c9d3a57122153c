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
once and scores its candidate actions in bounded chunks from its KV cache, reusing the computation
of the previous turn's prompt (:mod:`envalign.agents.likelihood`). Prompts keep a
bounded window of the conversation by default (``history``).

Torch and transformers are imported only when this module is.
"""

from __future__ import annotations

import inspect
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import torch

from envalign.agents.base import (
    DEFAULT_HISTORY,
    Conversation,
    Generation,
    SamplingParams,
    TurnRequest,
    history_window,
)
from envalign.agents.likelihood import CandidateScorer, plain_logprobs
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
        history: Earlier exchanges each prompt keeps besides the system message and the first
            exchange (see :func:`~envalign.agents.base.history_window`); ``None`` keeps the whole
            conversation. The default, :data:`~envalign.agents.base.DEFAULT_HISTORY`, bounds the
            cost of a turn however long the episode; ``envalign run --history`` overrides it.
        score_token_budget: Most cached tokens (rows x length) one scoring pass holds: prompts
            and candidate rows are run in chunks within it, so memory stays bounded whatever the
            number of candidates.
        prefix_cache_tokens: Tokens of earlier prompts whose key/value states likelihood acting
            keeps, so the next turn only runs what its prompt adds.
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
        history: int | None = DEFAULT_HISTORY,
        score_token_budget: int = 8192,
        prefix_cache_tokens: int = 8192,
    ) -> None:
        if history is not None and history < 0:
            raise ValueError(f"history must be >= 0 or None, got {history}.")
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
        self.history = history
        self.pad_token_id = _pad_token_id(tokenizer)
        self.scorer = CandidateScorer(
            self.model,
            self.pad_token_id,
            self.device,
            token_budget=score_token_budget,
            prefix_cache_tokens=prefix_cache_tokens,
        )
        self.eos_token_ids = _eos_token_ids(model, tokenizer)
        self._generator: torch.Generator | None = None
        self._generator_seed: int | None = None
        self._warned_truncation = False
        # Only the last position is sampled: skip the LM head elsewhere where the model allows it.
        accepts = "logits_to_keep" in inspect.signature(self.model.forward).parameters
        self._last_logits_only: dict[str, int] = {"logits_to_keep": 1} if accepts else {}

    @classmethod
    def from_pretrained(
        cls, path_or_name: str | os.PathLike[str], **kwargs: Any
    ) -> TransformersPolicy:
        """Load a model folder, a ``.gguf`` file, a preset name or a hub name (where reachable).

        Args:
            path_or_name: See :func:`envalign.agents.models.load_model`.
            **kwargs: Passed to the constructor; ``dtype`` also to the loader, so large models
                load directly in bf16.
        """
        from envalign.agents.models import load_model

        dtype = resolve_dtype(kwargs.get("dtype"), resolve_device(kwargs.get("device")))
        model, tokenizer = load_model(path_or_name, dtype=dtype)
        kwargs.setdefault("name", os.fspath(path_or_name))
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
        """Token ids of ``messages`` formatted by the chat template, ready for the reply.

        The conversation is first cut to the policy's ``history`` window
        (:func:`~envalign.agents.base.history_window`).
        """
        window = history_window(messages, self.history)
        ids = self._template_ids(window, add_generation_prompt=True)
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

    def _template_ids(self, messages: Conversation, *, add_generation_prompt: bool) -> list[int]:
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=add_generation_prompt, tokenize=False
            )
        else:
            text = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
            text += "\nassistant:" if add_generation_prompt else "\n"
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

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
            scored = plain_logprobs(
                self.model,
                [prompts[i] for i in chunk],
                [continuations[i] for i in chunk],
                self.pad_token_id,
                self.device,
            )
            for index, values in zip(chunk, scored, strict=True):
                results[index] = values
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
        raw, _ = self._candidate_logprobs(requests, candidates)
        return [
            [normalise(lps, text, how) for lps, text in zip(row, texts, strict=True)]
            for row, texts in zip(raw, _candidate_lists(requests, candidates), strict=True)
        ]

    def _candidate_logprobs(
        self,
        requests: Sequence[TurnRequest | Conversation],
        candidates: Sequence[Sequence[str]] | None,
    ) -> tuple[list[list[list[float]]], list[list[int]]]:
        """Per-token log-probs of every candidate, and the prompt ids they were scored after."""
        lists = _candidate_lists(requests, candidates)
        prompts = [
            self.prompt_ids(r.messages if isinstance(r, TurnRequest) else r) for r in requests
        ]
        continuations = [[self.candidate_ids(text) for text in texts] for texts in lists]
        was_training = self.model.training
        self.model.eval()
        try:
            return self.scorer.score(prompts, continuations), prompts
        finally:
            self.model.train(was_training)

    def choose(self, requests: Sequence[TurnRequest]) -> list[Generation]:
        """Act by likelihood: score ``valid_actions`` and sample (or argmax) among them."""
        params = self.sampling
        raw, prompts = self._candidate_logprobs(requests, None)
        generator = self._sampling_generator(params)
        results = []
        for request, logprobs, prompt in zip(requests, raw, prompts, strict=True):
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
                    prompt_token_ids=prompt,
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
