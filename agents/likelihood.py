"""Scoring candidate actions by log-likelihood: one prompt pass, short continuations, bounded memory.

:class:`CandidateScorer` is what :meth:`TransformersPolicy.score` and likelihood acting run on. For a
batch of prompts, each with its candidate actions, it

1. looks up the longest earlier prompt that starts the new one in a small cache of key/value
   states (turn ``t`` of an episode usually extends turn ``t - 1``'s prompt by one reply and one
   observation, and every turn starts with the same system message), so only the new tokens run;
2. runs the rest of every prompt once, in batches of at most ``token_budget`` cached tokens, and
   keeps each prompt's key/value states for the next turn;
3. scores the candidates packed side by side after their prompt, many candidates in one row, each
   attending to the prompt and to its own earlier tokens only (a 4-D attention mask), in chunks
   whose rows x (prompt + candidate tokens) fit ``token_budget``: a chunk copies its rows of the
   prompt cache once, not once per candidate, and runs only the candidates' tokens. Peak memory is
   the prompt batch plus one chunk, whatever the number of candidates.

Cached prompts are keyed by their token ids and by a version of the model's weights (the sum of the
parameters' in-place update counters), so an optimizer step or ``load_state_dict`` never lets a
stale cache score anything. Models whose cache is not a plain ``DynamicCache`` (sliding-window or
hybrid layers) or whose attention takes no custom mask (flash attention) fall back to the plain
computation: every prompt + candidate run as one sequence.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch

KV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys and values [batch, heads, seq, dim]
#: Most candidate tokens one row feeds in a pass (bounds the [rows, fed, vocab] logits).
MAX_FED = 256


class CandidateScorer:
    """Log-probs of candidate continuations given prompts, sharing each prompt's computation.

    Args:
        model: A causal LM (in eval mode while scoring).
        pad_token_id: Id written in padded slots (never attended to).
        device: Where the model runs.
        token_budget: Most cached tokens (rows x sequence length) in one forward pass, for the
            prompt batches and for each chunk of candidate rows.
        prefix_cache_tokens: Most tokens of earlier prompts kept between calls (least recently
            used first out); 0 disables the reuse.
    """

    def __init__(
        self,
        model: Any,
        pad_token_id: int,
        device: torch.device,
        *,
        token_budget: int = 8192,
        prefix_cache_tokens: int = 8192,
    ) -> None:
        if token_budget < 1 or prefix_cache_tokens < 0:
            raise ValueError("token_budget must be >= 1 and prefix_cache_tokens >= 0.")
        self.model = model
        self.pad_token_id = pad_token_id
        self.device = device
        self.token_budget = token_budget
        self.prefix_cache_tokens = prefix_cache_tokens
        self._prefixes: OrderedDict[tuple[int, ...], KV] = OrderedDict()
        self._anchors: set[tuple[int, ...]] = set()
        self._prefix_tokens = 0
        self._weights_version: tuple[int, int] | None = None
        self._last_logits_only = _last_logits_only(model)
        self.stats = {"prefix_hits": 0, "prefix_misses": 0, "prompt_tokens_run": 0}

    def clear(self) -> None:
        """Forget every cached prompt."""
        self._prefixes.clear()
        self._anchors.clear()
        self._prefix_tokens = 0

    @torch.inference_mode()
    def score(
        self,
        prompts: Sequence[list[int]],
        continuations: Sequence[Sequence[list[int]]],
    ) -> list[list[list[float]]]:
        """Log-prob of every token of every candidate of every prompt.

        Args:
            prompts: Prompt token ids per request.
            continuations: Candidate token ids per request.

        Returns:
            ``[request][candidate][token]`` log-probs (an empty list for an empty candidate).
        """
        self._check_weights()
        if getattr(self.model.config, "_attn_implementation", "eager") not in ("sdpa", "eager"):
            return self._plain(prompts, continuations)
        found = [self._longest_prefix(prompt) for prompt in prompts]
        results: list[list[list[float]]] = [[[] for _ in c] for c in continuations]
        for batch in self._prompt_batches(prompts, [len(key) for key, _ in found]):
            state = self._run_prompts([prompts[i] for i in batch], [found[i] for i in batch])
            if state is None:
                return self._plain(prompts, continuations)
            for row, index in enumerate(batch):
                first = state.first_logps[row]
                for k, tokens in enumerate(continuations[index]):
                    if tokens:
                        results[index][k].append(float(first[tokens[0]]))
            pieces = self._pieces(state.width, [continuations[i] for i in batch])
            for chunk in self._chunks(pieces, state.width):
                for (row, ks), values in zip(
                    chunk, self._run_pieces(state, chunk, continuations, batch), strict=True
                ):
                    for k, scored in zip(ks, values, strict=True):
                        results[batch[row]][k].extend(scored)
        return results

    # ------------------------------------------------------------------ prompts

    def _prompt_batches(
        self, prompts: Sequence[list[int]], heads: Sequence[int]
    ) -> list[list[int]]:
        """Indices grouped by similar un-cached length, each group within the token budget."""
        rest = [len(p) - h for p, h in zip(prompts, heads, strict=True)]
        order = sorted(range(len(prompts)), key=lambda i: (rest[i], len(prompts[i])))
        batches: list[list[int]] = []
        current: list[int] = []
        for index in order:
            group = [*current, index]
            width = max(heads[i] for i in group) + max(rest[i] for i in group)  # cache columns
            if current and len(group) * width > self.token_budget:
                batches.append(current)
                current = []
            current.append(index)
        if current:
            batches.append(current)
        return batches

    def _run_prompts(
        self, prompts: list[list[int]], found: list[tuple[tuple[int, ...], KV | None]]
    ) -> _PromptState | None:
        """Run the prompts after their cached starts; ``None`` when the cache is unusable."""
        head_kv = [kv for _, kv in found]
        head_lengths = [len(key) for key, _ in found]
        lengths = [len(p) for p in prompts]
        rests = [p[h:] for p, h in zip(prompts, head_lengths, strict=True)]
        top_head, top_rest = max(head_lengths), max(len(r) for r in rests)
        width = top_head + top_rest
        # Row layout: [pad | head | pad | rest], so every row's last prompt token is the last column.
        ids = torch.full((len(prompts), top_rest), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        positions = torch.zeros((len(prompts), top_rest), dtype=torch.long)
        for row, (head, rest) in enumerate(zip(head_lengths, rests, strict=True)):
            ids[row, top_rest - len(rest) :] = torch.tensor(rest, dtype=torch.long)
            positions[row, top_rest - len(rest) :] = torch.arange(head, head + len(rest))
            mask[row, top_head - head : top_head] = 1
            mask[row, width - len(rest) :] = 1
        past = self._stack_heads(head_kv, head_lengths, top_head) if top_head else None
        output = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            past_key_values=past,
            use_cache=True,
            **self._last_logits_only,
        )
        self.stats["prompt_tokens_run"] += sum(len(r) for r in rests)
        kv = _layers(output.past_key_values)
        if kv is None:
            return None
        mask = mask.to(self.device)
        for row, prompt in enumerate(prompts):
            self._remember(prompt, kv, row, mask[row], head_lengths[row])
        first = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)  # [batch, vocab]
        return _PromptState(kv, mask, lengths, first)

    def _longest_prefix(self, prompt: list[int]) -> tuple[tuple[int, ...], KV | None]:
        """The longest cached prompt that is a strict prefix of ``prompt`` (``()`` if none)."""
        best: tuple[int, ...] = ()
        for key in self._prefixes:
            if len(best) < len(key) <= len(prompt) and tuple(prompt[: len(key)]) == key:
                best = key
        if not best or len(prompt) == 1:
            self.stats["prefix_misses"] += 1
            return (), None
        self.stats["prefix_hits"] += 1
        self._prefixes.move_to_end(best)
        kv = self._prefixes[best]
        if len(best) == len(prompt):  # the same prompt again: rerun its last token for the logits
            best, kv = best[:-1], [(k[:, :, :-1], v[:, :, :-1]) for k, v in kv]
        return best, kv

    def _remember(
        self, prompt: list[int], kv: KV, row: int, row_mask: torch.Tensor, reused: int
    ) -> None:
        """Keep one row's key/value states (its unpadded positions) for later prompts.

        A prompt that no cached one started (an episode's first turn) is kept as an anchor, for
        the turns whose window starts over; a prompt that extended a cached non-anchor one
        replaces it, so an episode holds its anchor and its latest prompt.
        """
        key = tuple(prompt)
        if key in self._prefixes or len(key) > self.prefix_cache_tokens:
            return
        extended = key[:reused]
        if reused and extended in self._prefixes and extended not in self._anchors:
            del self._prefixes[extended]
            self._prefix_tokens -= len(extended)
        while self._prefixes and self._prefix_tokens + len(key) > self.prefix_cache_tokens:
            old, _ = self._prefixes.popitem(last=False)
            self._anchors.discard(old)
            self._prefix_tokens -= len(old)
        if not reused:
            self._anchors.add(key)
        where = torch.nonzero(row_mask, as_tuple=True)[0]  # the row's real positions, in order
        self._prefixes[key] = [
            (
                keys[row : row + 1].index_select(2, where),
                values[row : row + 1].index_select(2, where),
            )
            for keys, values in kv
        ]
        self._prefix_tokens += len(key)

    def _stack_heads(self, heads: list[KV | None], lengths: list[int], width: int) -> Any:
        """One cache of ``width`` positions with each row's head right-aligned (zeros before)."""
        template = next(kv for kv in heads if kv is not None)
        layers = []
        for layer, (keys, values) in enumerate(template):
            shape = (len(heads), keys.shape[1], width, keys.shape[3])
            stacked_k, stacked_v = keys.new_zeros(shape), values.new_zeros(shape)
            for row, (kv, length) in enumerate(zip(heads, lengths, strict=True)):
                if kv is not None and length:
                    stacked_k[row, :, width - length :] = kv[layer][0][0]
                    stacked_v[row, :, width - length :] = kv[layer][1][0]
            layers.append((stacked_k, stacked_v))
        return _cache(layers)

    # ------------------------------------------------------------------ candidates

    def _pieces(
        self, width: int, continuations: Sequence[Sequence[list[int]]]
    ) -> list[tuple[int, list[int]]]:
        """Each prompt row's candidates (those with tokens after the first), packed into pieces.

        A piece is one row of a forward pass: its prompt's cache followed by several candidates
        side by side, each attending to the prompt and to its own earlier tokens only. A piece
        feeds at most ``max(1, min(token_budget - width, MAX_FED))`` tokens.
        """
        room = max(1, min(self.token_budget - width, MAX_FED))
        pieces: list[tuple[int, list[int]]] = []
        for row, candidates in enumerate(continuations):
            current: list[int] = []
            fed = 0
            for k, tokens in enumerate(candidates):
                if len(tokens) < 2:
                    continue
                if current and fed + len(tokens) - 1 > room:
                    pieces.append((row, current))
                    current, fed = [], 0
                current.append(k)
                fed += len(tokens) - 1
            if current:
                pieces.append((row, current))
        return pieces

    def _chunks(
        self, pieces: list[tuple[int, list[int]]], width: int
    ) -> list[list[tuple[int, list[int]]]]:
        """Pieces grouped so that rows x (cache + fed tokens) stays within the token budget."""
        chunks: list[list[tuple[int, list[int]]]] = []
        current: list[tuple[int, list[int]]] = []
        for piece in pieces:
            if current and (len(current) + 1) * (width + MAX_FED) > self.token_budget:
                chunks.append(current)
                current = []
            current.append(piece)
        if current:
            chunks.append(current)
        return chunks

    def _run_pieces(
        self,
        state: _PromptState,
        chunk: list[tuple[int, list[int]]],
        continuations: Sequence[Sequence[list[int]]],
        batch: list[int],
    ) -> list[list[list[float]]]:
        """Log-probs of each candidate's tokens after the first, every candidate of a piece at once."""
        feeds = [[continuations[batch[row]][k] for k in ks] for row, ks in chunk]
        fed = max(sum(len(c) - 1 for c in cands) for cands in feeds)
        rows = len(chunk)
        ids = torch.full((rows, fed), self.pad_token_id, dtype=torch.long)
        positions = torch.zeros((rows, fed), dtype=torch.long)
        owner = torch.full((rows, fed), -1, dtype=torch.long)  # which candidate each slot holds
        offset = torch.zeros((rows, fed), dtype=torch.long)
        for n, ((row, _), cands) in enumerate(zip(chunk, feeds, strict=True)):
            at = 0
            for k, tokens in enumerate(cands):
                size = len(tokens) - 1
                ids[n, at : at + size] = torch.tensor(tokens[:-1], dtype=torch.long)
                offset[n, at : at + size] = torch.arange(size)
                positions[n, at : at + size] = state.lengths[row] + torch.arange(size)
                owner[n, at : at + size] = k
                at += size
        index = torch.tensor([row for row, _ in chunk], device=self.device)
        # Each slot sees its prompt and the earlier slots of its own candidate: [rows, 1, fed, all].
        same = (owner[:, :, None] == owner[:, None, :]) & (owner[:, :, None] >= 0)
        causal = offset[:, None, :] <= offset[:, :, None]
        own = (same & causal).to(self.device)
        prompt = (state.mask[index] > 0)[:, None, :].expand(rows, fed, state.width)
        allowed = torch.cat([prompt, own], dim=-1)[:, None]
        dtype = state.kv[0][0].dtype
        mask = torch.zeros(allowed.shape, dtype=dtype, device=self.device)
        mask.masked_fill_(~allowed, torch.finfo(dtype).min)
        past = _cache([(k.index_select(0, index), v.index_select(0, index)) for k, v in state.kv])
        logits = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask,
            position_ids=positions.to(self.device),
            past_key_values=past,
            use_cache=True,
        ).logits.float()  # [rows, fed, vocab]
        totals = torch.logsumexp(logits, dim=-1)  # [rows, fed]
        results = []
        for n, cands in enumerate(feeds):
            at, scored = 0, []
            for tokens in cands:
                size = len(tokens) - 1
                targets = torch.tensor(tokens[1:], device=self.device)[:, None]
                picked = (
                    logits[n, at : at + size].gather(-1, targets)[:, 0] - totals[n, at : at + size]
                )
                scored.append(picked.tolist())
                at += size
            results.append(scored)
        return results

    # ------------------------------------------------------------------ fallback and upkeep

    def _plain(
        self, prompts: Sequence[list[int]], continuations: Sequence[Sequence[list[int]]]
    ) -> list[list[list[float]]]:
        """Every prompt + candidate as one sequence, in batches within the token budget."""
        pairs = [(i, k) for i, cands in enumerate(continuations) for k in range(len(cands))]
        results: list[list[list[float]]] = [[[] for _ in c] for c in continuations]
        rows = max(1, self.token_budget // max(1, max((len(p) for p in prompts), default=1)))
        for start in range(0, len(pairs), rows):
            chunk = [(i, k) for i, k in pairs[start : start + rows] if continuations[i][k]]
            if not chunk:
                continue
            scored = plain_logprobs(
                self.model,
                [prompts[i] for i, _ in chunk],
                [continuations[i][k] for i, k in chunk],
                self.pad_token_id,
                self.device,
            )
            for (i, k), values in zip(chunk, scored, strict=True):
                results[i][k] = values
        return results

    def _check_weights(self) -> None:
        version = (id(self.model), sum(p._version for p in self.model.parameters()))
        if version != self._weights_version:
            self.clear()
            self._weights_version = version


class _PromptState:
    """A batch of prompts after their forward pass: cache, mask, lengths, next-token log-probs."""

    def __init__(self, kv: KV, mask: torch.Tensor, lengths: list[int], first: torch.Tensor):
        self.kv = kv
        self.mask = mask  # [batch, width]
        self.width = int(mask.shape[1])
        self.lengths = lengths
        self.first_logps = first  # [batch, vocab]


def plain_logprobs(
    model: Any,
    prompts: Sequence[list[int]],
    continuations: Sequence[list[int]],
    pad_token_id: int,
    device: torch.device,
) -> list[list[float]]:
    """The reference computation: each prompt + continuation as one left-padded sequence.

    Returns:
        The log-prob of each continuation token given everything before it, per row.
    """
    rows = [list(p) + list(c) for p, c in zip(prompts, continuations, strict=True)]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    logps = torch.log_softmax(logits.float(), dim=-1)  # [batch, seq, vocab]
    results: list[list[float]] = []
    for index, tokens in enumerate(continuations):
        count = len(tokens)
        if count == 0:
            results.append([])
            continue
        targets = ids[index, width - count :]  # [count]
        predicted = logps[index, width - count - 1 : width - 1]  # [count, vocab]
        results.append(predicted.gather(-1, targets[:, None])[:, 0].tolist())
    return results


def _layers(cache: Any) -> KV | None:
    """Per-layer keys and values of a plain dynamic cache; ``None`` for any other kind."""
    layers = getattr(cache, "layers", None)
    if layers is None or type(cache).__name__ != "DynamicCache":
        return None
    if not all(type(layer).__name__ == "DynamicLayer" for layer in layers):
        return None  # sliding-window or hybrid layers: rows cannot be copied position by position
    return [(layer.keys, layer.values) for layer in layers]


def _cache(layers: KV) -> Any:
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=layers)


def _last_logits_only(model: Any) -> dict[str, int]:
    import inspect

    accepts = "logits_to_keep" in inspect.signature(model.forward).parameters
    return {"logits_to_keep": 1} if accepts else {}
