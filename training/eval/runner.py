"""Play a suite tier with one evaluated policy: every entry at once, one generation batch.

Each ``(entry, partner configuration)`` is a *stream* with its own
:class:`~envalign.training.episode_host.EpisodeHost`. At every tick the pending turns of all streams
— different environments included — are grouped by policy object and each policy is called once,
so the evaluated model generates for every environment of the suite in one batch. Partners are the
environments' named baselines.

Every finished (or failed) episode is appended to ``progress.jsonl`` with one write and an
``fsync``, keyed by its entry's hash, so an interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envalign.agents.base import Generation, Policy
from envalign.agents.baselines import BaselinePolicy, baseline_policy
from envalign.agents.registry import resolve_policy
from envalign.envs.errors import ConfigError
from envalign.training.episode_host import EpisodeHost, PendingTurn
from envalign.training.episodes import Episode
from envalign.training.eval.suite import Acting, Entry, Suite

PROGRESS_FILE = "progress.jsonl"


@dataclass
class Played:
    """One evaluated episode: which entry, partners and seed, and the record or why it failed."""

    entry: str
    hash: str
    opponent: str
    seat: str
    seed: int
    episode: Episode | None = None
    error: str | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """Identity of the episode within a run."""
        return (self.entry, self.opponent, self.seed)

    def to_json(self) -> str:
        """One line of ``progress.jsonl``."""
        record = self.episode.to_json() if self.episode is not None else "null"
        head = {k: v for k, v in self.__dict__.items() if k != "episode"}
        return json.dumps(head, ensure_ascii=False)[:-1] + f', "episode": {record}}}'

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Played:
        """Rebuild from a ``progress.jsonl`` line."""
        episode = data.pop("episode", None)
        return cls(**data, episode=Episode.from_dict(episode) if episode else None)


@dataclass
class Stream:
    """The episodes of one entry against one partner configuration."""

    entry: Entry
    hash: str
    opponent: str
    seeds: list[int]
    policies: dict[str, Policy]
    host: EpisodeHost
    acting: Acting
    seeds_by_index: dict[int, int] = field(default_factory=dict)
    next_index: int = 0

    @property
    def busy(self) -> bool:
        """Whether seeds remain or episodes are in flight."""
        return bool(self.seeds) or self.host.in_flight > 0

    def start_one(self) -> None:
        """Start the next seed."""
        seed = self.seeds.pop(0)
        self.seeds_by_index[self.next_index] = seed
        self.host.start(self.next_index, seed)
        self.next_index += 1

    def played(self, seed: int, episode: Episode | None = None, error: str | None = None) -> Played:
        """A :class:`Played` record of this stream."""
        return Played(
            self.entry.id, self.hash, self.opponent, self.entry.seat, seed, episode, error
        )


def evaluated_policy(spec: str | Policy, entries: list[Entry]) -> Callable[[Entry], Policy]:
    """``entry -> policy`` for the evaluated seat; a model is loaded once and shared by all entries.

    Baselines (``random``, ``scripted``) are the environment's own, so they resolve per entry.
    """
    if not isinstance(spec, str):
        return lambda entry: spec
    first = resolve_policy(spec, entries[0].env)
    if not isinstance(first, BaselinePolicy):
        return lambda entry: first
    cache: dict[str, Policy] = {entries[0].env: first}

    def per_entry(entry: Entry) -> Policy:
        if entry.env not in cache:
            cache[entry.env] = resolve_policy(spec, entry.env)
        return cache[entry.env]

    return per_entry


def eval_dtype(requested: str = "auto") -> str | None:
    """The dtype to evaluate a transformers model in: ``bfloat16`` where the hardware computes it.

    ``auto`` means bfloat16 on CUDA and on CPUs with native bfloat16 (AVX512-BF16 or AMX: about
    2x the float32 speed on a 2-core Zen 4, measured in ``benchmarks/RESULTS.md``), else float32.
    """
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available() or torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "bfloat16"
    return "float32"


def cast_policy(policy: Policy, dtype: str | None) -> None:
    """Put a transformers policy's model in ``dtype`` (other policies are left alone)."""
    model = getattr(policy, "model", None)
    if dtype is None or model is None or not hasattr(model, "to"):
        return
    import torch

    target = {"bfloat16": torch.bfloat16, "float32": torch.float32}[dtype]
    policy.model = model.to(dtype=target)  # type: ignore[attr-defined]
    policy.dtype = target  # type: ignore[attr-defined]


def apply_acting(policy: Policy, acting: Acting, *, reseed: bool = False) -> None:
    """Set an LLM policy's temperature and reply length (baselines have no sampling).

    Args:
        policy: The policy.
        acting: The settings of the entry about to be played.
        reseed: Also restart its sampling generator (once, before a run).
    """
    sampling = getattr(policy, "sampling", None)
    if sampling is None:
        return
    from dataclasses import replace

    changed = replace(
        sampling, temperature=acting.temperature, max_new_tokens=acting.max_new_tokens
    )
    policy.sampling = changed  # type: ignore[attr-defined]
    if reseed and getattr(policy, "reseed", None) is not None:
        policy.reseed(0)  # type: ignore[attr-defined]


def build_streams(
    suite: Suite,
    tier: str,
    entries: list[Entry],
    policy_for: Callable[[Entry], Policy],
    hashes: dict[str, str],
    done: set[tuple[str, str, int]],
) -> list[Stream]:
    """One stream per ``(entry, partner configuration)``, without the seeds already ``done``."""
    streams = []
    for entry in entries:
        acting = suite.acting_for(entry)
        for opponent, partners in entry.panel.items():
            policies: dict[str, Policy] = {entry.seat: policy_for(entry)}
            policies.update({a: baseline_policy(entry.env, name) for a, name in partners.items()})
            seeds = [
                s for s in entry.seeds(tier, suite.tiers) if (entry.id, opponent, s) not in done
            ]
            host = EpisodeHost(
                entry.env,
                env_kwargs=entry.kwargs,
                system_prompt=acting.system_prompt,
                history=acting.history,
                policy_name=_namer(policies, entry),
                isolate_errors=True,
                max_steps=entry.max_steps,
            )
            streams.append(Stream(entry, hashes[entry.id], opponent, seeds, policies, host, acting))
    return streams


def _namer(policies: dict[str, Policy], entry: Entry) -> Callable[[str], str]:
    def name(agent: str) -> str:
        if agent not in policies:
            raise ConfigError(
                f"Suite entry '{entry.id}': agent '{agent}' of {entry.env} has no policy; "
                f"name it under partners (the evaluated seat is '{entry.seat}')."
            )
        return policies[agent].name

    return name


def play(
    streams: list[Stream],
    *,
    concurrency: int = 64,
    sequential: bool = False,
) -> Iterator[Played]:
    """Play every stream's seeds, yielding each episode as it ends (failed ones included).

    Args:
        streams: From :func:`build_streams`.
        concurrency: Most episodes in flight over all streams.
        sequential: Play the streams one after another (the baseline of the batching benchmark)
            instead of all at once.
    """
    if sequential:
        for stream in streams:
            yield from play([stream], concurrency=concurrency)
        return
    try:
        while any(stream.busy for stream in streams):
            _fill(streams, concurrency)
            yield from _collect_failures(streams)
            generations, failed = _act(streams)
            yield from failed
            for number, stream in enumerate(streams):
                for index, episode in stream.host.advance(generations.get(number, {})):
                    yield stream.played(stream.seeds_by_index[index], episode)
            yield from _collect_failures(streams)
    finally:
        for stream in streams:
            stream.host.close()


def _fill(streams: list[Stream], concurrency: int) -> None:
    """Start seeds round-robin over the streams until ``concurrency`` episodes are in flight."""
    in_flight = sum(stream.host.in_flight for stream in streams)
    started = True
    while in_flight < concurrency and started:
        started = False
        for stream in streams:
            if stream.seeds and in_flight < concurrency:
                stream.start_one()
                in_flight, started = in_flight + 1, True


def _collect_failures(streams: list[Stream]) -> Iterator[Played]:
    for stream in streams:
        while stream.host.failures:
            index, seed, reason = stream.host.failures.pop(0)
            yield stream.played(seed, error=reason)


def _act(streams: list[Stream]) -> tuple[dict[int, dict[int, dict[str, Generation]]], list[Played]]:
    """Call each policy once on its pending turns of every stream."""
    batches: dict[tuple[int, str], list[tuple[int, PendingTurn]]] = defaultdict(list)
    policies: dict[tuple[int, str], tuple[Policy, Acting]] = {}
    for number, stream in enumerate(streams):
        for turn in stream.host.pending():
            policy = stream.policies.get(turn.agent)
            if policy is None:
                raise ConfigError(stream.host.policy_name(turn.agent))
            # what apply_acting sets; prompts (history, system) are the host's, not the call's
            key = (id(policy), f"{stream.acting.temperature}:{stream.acting.max_new_tokens}")
            policies[key] = (policy, stream.acting)
            batches[key].append((number, turn))
    generations: dict[int, dict[int, dict[str, Generation]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    failed: list[Played] = []
    for key, batch in batches.items():
        policy, acting = policies[key]
        try:
            apply_acting(policy, acting)
            replies = policy.act([turn.request for _, turn in batch])
            if len(replies) != len(batch):
                raise RuntimeError(f"returned {len(replies)} replies for {len(batch)} turns")
        except Exception as error:  # a policy that fails fails its episodes, not the evaluation
            failed += _fail_turns(streams, batch, f"policy '{policy.name}': {error}")
            continue
        for (number, turn), reply in zip(batch, replies, strict=True):
            generations[number][turn.index][turn.agent] = reply
    return generations, failed


def _fail_turns(
    streams: list[Stream], batch: list[tuple[int, PendingTurn]], reason: str
) -> list[Played]:
    failed, seen = [], set()
    for number, turn in batch:
        if (number, turn.index) in seen:
            continue
        seen.add((number, turn.index))
        stream = streams[number]
        stream.host._discard(turn.index)
        failed.append(stream.played(stream.seeds_by_index[turn.index], error=reason[:500]))
    return failed


class ProgressLog:
    """``progress.jsonl``: every episode played so far, appended durably, read back on resume.

    Args:
        path: The file (created with its folder).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def read(self, hashes: dict[str, str]) -> list[Played]:
        """The episodes already played; a truncated last line (hard kill) is ignored.

        Raises:
            ConfigError: If an entry changed since those episodes were played.
        """
        if not self.path.exists():
            return []
        played = []
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    break
                record = Played.from_dict(json.loads(line))
                if record.entry not in hashes:
                    continue
                if record.hash != hashes[record.entry]:
                    raise ConfigError(
                        f"Entry '{record.entry}' changed since the interrupted evaluation in "
                        f"'{self.path.parent}' (hash {record.hash} then, {hashes[record.entry]} "
                        "now); evaluate into a new --out folder."
                    )
                played.append(record)
        return played

    def append(self, record: Played) -> None:
        """Write one episode durably (one write, then fsync)."""
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(record.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
