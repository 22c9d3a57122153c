"""``evaluate``: score one policy on a suite tier and write the run's folder.

The folder holds ``results.json`` (:mod:`envalign.training.eval.results`), ``episodes.jsonl``
(readable by ``envalign view``), ``episodes.html`` (the viewer page), ``scorecard.html`` and
``progress.jsonl`` (what makes an interrupted evaluation resumable).
"""

from __future__ import annotations

import datetime
import importlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from envalign.agents.base import Policy
from envalign.agents.baselines import baseline_policy
from envalign.envs.errors import ConfigError, EnvalignError
from envalign.envs.registry import make
from envalign.training.episodes import EpisodeWriter
from envalign.training.eval import baselines as baseline_scores
from envalign.training.eval import stats
from envalign.training.eval.metrics import episode_metrics
from envalign.training.eval.results import EntryResult, EpisodeScore, EvalResult
from envalign.training.eval.runner import (
    PROGRESS_FILE,
    Played,
    ProgressLog,
    apply_acting,
    build_streams,
    cast_policy,
    evaluated_policy,
    play,
)
from envalign.training.eval.suite import Entry, Suite, load_suite

#: Rows per forward pass for a model loaded by ``evaluate``: the whole suite generates at once, and
#: on a CPU one pass over 128 rows costs far less than four over 32 (the weights are read once).
EVAL_BATCH_ROWS = 128


def evaluate(
    policy: str | Policy,
    suite: str | Suite = "core-v1",
    *,
    tier: str = "quick",
    only: list[str] | None = None,
    out: str | Path | None = None,
    concurrency: int = 512,
    sequential: bool = False,
    on_episode: Callable[[Played], None] | None = None,
    policy_options: dict[str, Any] | None = None,
    scorecard: bool = True,
) -> EvalResult:
    """Play every entry of a suite tier with ``policy`` in its seat and score it.

    Args:
        policy: What ``envalign run`` accepts (a preset, ``hf:PATH``, a run folder of ``envalign
            train``, ``langchain:MODULE:ATTR``, a baseline name) or a policy object.
        suite: A shipped suite name, a suite file, or a loaded :class:`Suite`.
        tier: ``quick`` or ``full``.
        only: Entry ids to run (all when empty).
        out: The run's folder; an interrupted run in it is resumed.
        concurrency: Most episodes in flight over all entries (default: every episode of the
            quick tier at once, so multi-turn entries share every tick).
        sequential: Play the entries one after another instead of in one batch (benchmark).
        on_episode: Called with every episode as it ends.
        policy_options: Attributes set on a loaded LLM policy (``action_selection``...).
        scorecard: Also write ``scorecard.html`` and the viewer page (needs ``out``).

    Returns:
        The result (also written to ``out/results.json`` when ``out`` is given).

    Raises:
        ConfigError: For an unknown suite, tier, entry or policy, or an entry that changed since
            the interrupted run in ``out``.
    """
    started = time.monotonic()
    loaded = suite if isinstance(suite, Suite) else load_suite(suite)
    if tier not in loaded.tiers:
        raise ConfigError(f"Unknown tier '{tier}'; suite '{loaded.name}' has: quick, full.")
    entries = [entry for entry in loaded.select(only) if entry.seeds(tier, loaded.tiers)]
    hashes = {e.id: e.fingerprint(tier, loaded.tiers, loaded.acting_for(e)) for e in entries}
    unavailable = {e.id: why for e in entries if (why := unavailable_reason(e)) is not None}
    runnable = [e for e in entries if e.id not in unavailable]
    spec = normalise_policy_spec(policy)
    log = ProgressLog(Path(out) / PROGRESS_FILE) if out is not None else None
    played = {p.key: p for p in (log.read(hashes) if log is not None else [])}
    runnable = _startable(loaded, runnable, spec, unavailable)
    if runnable:
        for record in _play(
            loaded,
            tier,
            runnable,
            spec,
            hashes,
            set(played),
            concurrency,
            sequential,
            policy_options,
        ):
            played[record.key] = record
            if log is not None:
                log.append(record)
            if on_episode is not None:
                on_episode(record)
    result = assemble(loaded, tier, entries, hashes, played, unavailable, spec, policy_options)
    result.wall_time_s = time.monotonic() - started
    if out is not None:
        write_outputs(result, played, Path(out), scorecard=scorecard)
    return result


def _play(
    suite: Suite,
    tier: str,
    entries: list[Entry],
    spec: str | Policy,
    hashes: dict[str, str],
    done: set[tuple[str, str, int]],
    concurrency: int,
    sequential: bool,
    policy_options: dict[str, Any] | None,
) -> Iterator[Played]:
    """Play every entry at once; entries that act differently share ticks, not calls."""
    policy_for = evaluated_policy(spec, entries)
    options = dict(policy_options or {})
    dtype = options.pop("dtype", None)
    for entry in entries:
        policy = policy_for(entry)
        if isinstance(spec, str):  # a model loaded here; a policy object keeps its settings
            cast_policy(policy, dtype)
            if getattr(policy, "max_batch_size", EVAL_BATCH_ROWS) < EVAL_BATCH_ROWS:
                policy.max_batch_size = EVAL_BATCH_ROWS  # type: ignore[attr-defined]
        apply_acting(policy, suite.acting_for(entry), reseed=True)
        for name, value in options.items():
            if hasattr(policy, name):
                setattr(policy, name, value)
    streams = build_streams(suite, tier, entries, policy_for, hashes, done)
    yield from play(streams, concurrency=concurrency, sequential=sequential)


def _startable(
    suite: Suite, entries: list[Entry], spec: str | Policy, unavailable: dict[str, str]
) -> list[Entry]:
    """The entries whose environment and partners load; the others join ``unavailable``.

    An entry whose code is broken is reported, not allowed to end the whole evaluation.
    """
    startable = []
    for entry in entries:
        try:
            for partners in entry.panel.values():
                for name in partners.values():
                    baseline_policy(entry.env, name)
            make(entry.env, **entry.kwargs).close()
        except EnvalignError:
            raise
        except Exception as error:  # broken environment code: say which entry and why
            unavailable[entry.id] = f"could not start: {type(error).__name__}: {error}"[:300]
            continue
        startable.append(entry)
    return startable


def unavailable_reason(entry: Entry) -> str | None:
    """Why ``entry`` cannot run here (no Docker engine for a tool environment), or ``None``."""
    if not entry.card.needs_docker:
        return None
    from envalign.sandbox.choose import docker_available

    if docker_available():
        return None
    return (
        "needs the Docker sandbox and no engine answers here (start one: scripts/ensure-docker.sh; "
        "check: envalign sandbox doctor); agent code is never evaluated outside it"
    )


def normalise_policy_spec(policy: str | Policy) -> str | Policy:
    """Turn a run folder, a model folder or ``langchain:MODULE:ATTR`` into a policy spec or object.

    Raises:
        ConfigError: If a ``langchain:`` target cannot be imported.
    """
    if not isinstance(policy, str):
        return policy
    if policy.startswith("langchain:"):
        return _langchain_policy(policy.removeprefix("langchain:"))
    path = Path(policy)
    if ":" in policy or not path.is_dir():
        return policy
    if (path / "final" / "config.json").is_file():  # a run folder of `envalign train`
        return f"hf:{path / 'final'}"
    return f"hf:{path}"


def _langchain_policy(target: str) -> Policy:
    from envalign.agents.langchain_policy import LangChainPolicy

    module_name, _, attribute = target.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            f"Cannot import LangChain model '{target}' ({error}); write "
            "langchain:MODULE:ATTR where ATTR is a chat model or a function returning one."
        ) from error
    model = value() if callable(value) and not hasattr(value, "batch") else value
    return LangChainPolicy(model, name=f"langchain:{target}")


def assemble(
    suite: Suite,
    tier: str,
    entries: list[Entry],
    hashes: dict[str, str],
    played: dict[tuple[str, str, int], Played],
    unavailable: dict[str, str],
    spec: str | Policy,
    policy_options: dict[str, Any] | None,
) -> EvalResult:
    """Build the :class:`EvalResult` of the episodes played, with baselines and statistics."""
    baselines = baseline_scores.for_entries(suite, tier, entries, hashes, unavailable)
    results = []
    for entry in entries:
        scores = entry_scores(suite, tier, entry, played)
        result = EntryResult(
            id=entry.id,
            env_id=entry.env,
            family=entry.card.family,
            hash=hashes[entry.id],
            alignment_metrics={k: v for k, v in entry.alignment_metrics.items() if v},
            baseline=baselines.get(entry.id, {}),
            episodes=scores,
            unavailable=unavailable.get(entry.id),
        )
        result.summary = stats.summarize_entry(result)
        results.append(result)
    name = spec if isinstance(spec, str) else getattr(spec, "name", type(spec).__name__)
    return EvalResult(
        suite=suite.name,
        suite_version=suite.version,
        tier=tier,
        policy=name,
        settings={**suite.acting.model_dump(), **(policy_options or {})},
        entries=results,
        aggregate=stats.aggregate(results),
        envalign_version=_version(),
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def entry_scores(
    suite: Suite, tier: str, entry: Entry, played: dict[tuple[str, str, int], Played]
) -> list[EpisodeScore]:
    """One :class:`EpisodeScore` per played episode of ``entry``, in (partners, seed) order."""
    scores = []
    for opponent in entry.panel:
        for seed in entry.seeds(tier, suite.tiers):
            record = played.get((entry.id, opponent, seed))
            if record is not None:
                scores.append(score_of(entry, record))
    return scores


def score_of(entry: Entry, record: Played) -> EpisodeScore:
    """The outcome of one played episode for the evaluated seat."""
    base = EpisodeScore(seed=record.seed, seat=entry.seat, opponent=record.opponent)
    episode = record.episode
    if episode is None:
        base.failed, base.error = True, record.error or "failed"
        return base
    base.score = entry.score_of(episode.returns)
    base.success = episode.success.get(entry.seat)
    base.metrics = episode_metrics(episode, entry.seat, list(entry.alignment_metrics))
    base.task_id, base.steps = episode.task_id, episode.steps
    return base


def write_outputs(
    result: EvalResult, played: dict[tuple[str, str, int], Played], out: Path, *, scorecard: bool
) -> None:
    """Write ``results.json``, ``episodes.jsonl`` and (with ``scorecard``) the two HTML pages."""
    result.write(out / "results.json")
    with EpisodeWriter(out / "episodes.jsonl") as writer:
        for entry in result.entries:
            for record in sorted(
                (p for p in played.values() if p.entry == entry.id and p.episode is not None),
                key=lambda p: (p.opponent, p.seed),
            ):
                assert record.episode is not None
                writer.write(record.episode)
    if scorecard:
        write_pages(result, out)


def write_pages(result: EvalResult, out: Path) -> Path:
    """Write the viewer page of the episodes and the scorecard that links into it."""
    from envalign.training.eval.scorecard import write_scorecard

    page = None
    if (out / "episodes.jsonl").stat().st_size > 0:
        from envalign.training.view.episodes_page import build_episodes_page

        build_episodes_page(out / "episodes.jsonl", out / "episodes.html", frames=0)
        page = "episodes.html"
    return write_scorecard(result, out / "scorecard.html", episodes_page=page)


def _version() -> str:
    import envalign

    return str(envalign.__version__)
