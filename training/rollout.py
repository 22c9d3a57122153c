"""The runner: many episodes in flight, every pending turn of a policy generated in one batch.

``simulate`` is what ``envalign run`` and ``envalign.simulate`` call; trainers collect their rollouts
through the same :class:`Runner`. At every tick the runner gathers the turns of all agents that must act,
across all running episodes, groups them by policy and calls each policy once, so a GPU policy sees one
large batch instead of one conversation at a time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias

from envalign.agents.base import Generation, Policy, SamplingParams
from envalign.agents.registry import resolve_policy
from envalign.envs.registry import EnvCard, spec
from envalign.training.episode_host import DEFAULT_SYSTEM_PROMPT as DEFAULT_SYSTEM_PROMPT
from envalign.training.episode_host import EpisodeHost, PendingTurn, act_by_policy
from envalign.training.episodes import Episode, EpisodeWriter
from envalign.training.summary import Summary, plot_return_histogram, progress_bar, summarize

PolicySpec: TypeAlias = "str | Policy"
PolicyMap: TypeAlias = "PolicySpec | Mapping[str, PolicySpec]"


@dataclass
class SimulationResult:
    """What ``simulate`` returns.

    Attributes:
        episodes: The finished episodes, in order of their seeds.
        summary: Aggregate statistics.
        interrupted: Whether the run was stopped early (Ctrl-C); finished episodes are kept.
        out: The JSON Lines file written, if any.
        histogram: The return histogram PNG written next to ``out``, if any.
        retries: Episodes restarted from their seed after a Ray env worker died.
    """

    episodes: list[Episode]
    summary: Summary
    interrupted: bool = False
    out: Path | None = None
    histogram: Path | None = None
    retries: int = 0


class Runner:
    """Run episodes of one environment with a policy per agent, batching turns per policy.

    Args:
        env_id: A registered environment id.
        policies: One policy (name or object) for every agent, or ``{agent: policy}``; ``"*"`` is the
            default for agents not named.
        env_kwargs: Keyword arguments for the environment.
        concurrency: Episodes in flight at once.
        system_prompt: The first message of every agent's conversation; defaults to the environment's
            ``system_prompt`` attribute or a generic instruction.
        sampling: Sampling parameters given to every policy named by a string that samples (LLM
            policies have a ``sampling`` attribute); policy objects passed in keep their own.
        history: How many earlier exchanges (observation + reply) each prompt keeps after the
            system message; ``None`` keeps the whole conversation. Observations are
            self-contained, so a short window loses little and makes long games much cheaper to
            prompt. Episode records always hold every turn.
    """

    def __init__(
        self,
        env_id: str,
        policies: PolicyMap = "random",
        *,
        env_kwargs: Mapping[str, Any] | None = None,
        concurrency: int = 8,
        system_prompt: str | None = None,
        sampling: SamplingParams | None = None,
        history: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}.")
        if history is not None and history < 0:
            raise ValueError(f"history must be >= 0 or None, got {history}.")
        self.history = history
        self.card: EnvCard = spec(env_id)
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.concurrency = concurrency
        self.system_prompt = system_prompt
        self.sampling = sampling
        self._policy_spec = policies
        #: Seconds spent loading policies given by name (models) and, on Ray, starting the
        #: workers: kept out of throughput figures.
        self.load_time_s = 0.0
        self._resolved: dict[str, Policy] = {}
        self._by_name: dict[str, Policy] = {}

    def policy_for(self, agent: str) -> Policy:
        """Return the policy that plays ``agent``; agents given the same name share one object."""
        if agent not in self._resolved:
            chosen = self._policy_spec
            if isinstance(chosen, Mapping):
                if agent not in chosen and "*" not in chosen:
                    named = ", ".join(sorted(chosen))
                    raise ValueError(
                        f"No policy for agent '{agent}' (policies given for: {named})."
                    )
                chosen = chosen.get(agent, chosen.get("*"))
            if isinstance(chosen, str):
                if chosen not in self._by_name:
                    loading = time.monotonic()
                    resolved = resolve_policy(chosen, self.env_id)
                    self.load_time_s += time.monotonic() - loading
                    if self.sampling is not None and hasattr(resolved, "sampling"):
                        resolved.sampling = replace(self.sampling)
                    self._by_name[chosen] = resolved
                chosen = self._by_name[chosen]
            assert chosen is not None
            self._resolved[agent] = chosen
        return self._resolved[agent]

    def run(
        self,
        seeds: Iterable[int],
        *,
        on_episode: Callable[[Episode], None] | None = None,
    ) -> list[Episode]:
        """Play one episode per seed and return them in the order of ``seeds``."""
        queue = list(enumerate(seeds))
        queue.reverse()
        host = self.host()
        finished: dict[int, Episode] = {}
        try:
            while queue or host.in_flight:
                while queue and host.in_flight < self.concurrency:
                    host.start(*queue.pop())
                generations = self.act(host.pending())
                for index, record in host.advance(generations):
                    finished[index] = record
                    if on_episode is not None:
                        on_episode(record)
        finally:
            host.close()
        return [finished[index] for index in sorted(finished)]

    def host(self) -> EpisodeHost:
        """A fresh :class:`EpisodeHost` configured like this runner."""
        return EpisodeHost(
            self.env_id,
            env_kwargs=self.env_kwargs,
            system_prompt=self.system_prompt,
            history=self.history,
            policy_name=lambda agent: self.policy_for(agent).name,
        )

    def act(self, turns: list[PendingTurn]) -> dict[int, dict[str, Generation]]:
        """Call each policy once on all of its pending turns: ``{index: {agent: generation}}``."""
        return act_by_policy(turns, self.policy_for)


def simulate(
    env_id: str,
    policies: PolicyMap = "random",
    *,
    episodes: int = 10,
    seed: int = 0,
    concurrency: int = 8,
    env_kwargs: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    system_prompt: str | None = None,
    sampling: SamplingParams | None = None,
    histogram: bool = True,
    history: int | None = None,
    ray: str | None = None,
    workers: int = 2,
) -> SimulationResult:
    """Run ``episodes`` episodes of ``env_id`` (seeds ``seed, seed+1, ...``).

    Args:
        env_id: A registered environment id.
        policies: A policy for every agent (``"random"``, ``"scripted"``, a ``Policy``) or
            ``{agent: policy}`` with ``"*"`` as the default.
        episodes: How many episodes.
        seed: Seed of the first episode.
        concurrency: Episodes in flight at once.
        env_kwargs: Keyword arguments for the environment.
        out: JSON Lines file to write the episodes to (atomically, finished episodes kept on Ctrl-C).
        progress: Show a live progress bar with running reward statistics.
        system_prompt: Override the agents' system message.
        sampling: Sampling parameters for LLM policies given by name (see :class:`Runner`).
        histogram: With ``out``, also draw the per-agent return histogram to
            ``<out stem>.returns.png`` (needs matplotlib; skipped with a note without it).
        history: Earlier exchanges kept in each prompt (see :class:`Runner`); ``None``: all.
        ray: Run the environments in Ray actors: a cluster address (``"auto"``,
            ``"ray://HOST:PORT"``, ``"HOST:PORT"``) or ``"local"`` to start Ray here; ``None``
            runs everything in this process. Needs ``pip install "envalign[ray]"``.
        workers: Env worker actors with ``ray``.

    Returns:
        The episodes and their summary. Ctrl-C ends the run early with ``interrupted=True``.
    """
    if episodes < 0:
        raise ValueError(f"episodes must be >= 0, got {episodes}.")
    runner = _runner(
        env_id,
        policies,
        ray,
        workers,
        env_kwargs=env_kwargs,
        concurrency=concurrency,
        system_prompt=system_prompt,
        sampling=sampling,
        history=history,
    )
    collected: list[Episode] = []
    writer = EpisodeWriter(out) if out is not None else None
    started = time.monotonic()
    interrupted = False
    display = _Progress(episodes) if progress else None

    def keep(record: Episode) -> None:
        if writer is not None:  # written first: Ctrl-C here never counts an unwritten episode
            writer.write(record)
        collected.append(record)
        if display is not None:
            display.advance(record)

    try:
        if display is not None:
            display.start()
        runner.run(range(seed, seed + episodes), on_episode=keep)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if display is not None:
            display.stop()
        if writer is not None:
            writer.close()
        if ray is not None:
            runner.close()  # type: ignore[attr-defined]
    collected.sort(key=lambda record: record.seed)
    summary = summarize(collected, time.monotonic() - started - runner.load_time_s)
    result = SimulationResult(collected, summary, interrupted, Path(out) if out else None)
    result.retries = len(getattr(runner, "retries", ()))
    if result.out is not None and histogram and collected:
        result.histogram = _draw_histogram(collected, histogram_path(result.out))
    return result


def _runner(
    env_id: str, policies: PolicyMap, ray: str | None, workers: int, **options: Any
) -> Runner:
    """The local runner, or a :class:`~envalign.training.scale.RayRunner` when ``ray`` is set."""
    if ray is None:
        return Runner(env_id, policies, **options)
    from envalign.training.scale import RayRunner

    address = None if ray == "local" else ray
    return RayRunner(env_id, policies, workers=workers, address=address, **options)


def histogram_path(out: str | Path) -> Path:
    """Where the return histogram of ``out`` goes: ``runs/x.jsonl`` -> ``runs/x.returns.png``."""
    out = Path(out)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.stem
    return out.with_name(f"{stem}.returns.png")


def _draw_histogram(episodes: list[Episode], path: Path) -> Path | None:
    try:
        return plot_return_histogram(episodes, path)
    except ImportError:
        print("envalign: matplotlib is not installed; no return histogram drawn.", file=sys.stderr)
        return None


class _Progress:
    """A rich progress bar with running return statistics, success rate and tokens/s."""

    def __init__(self, total: int) -> None:
        self.progress = progress_bar("episodes")
        self.task = self.progress.add_task("run", total=total, stats="")
        self.episodes: list[Episode] = []
        self.started = time.monotonic()

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()

    def advance(self, episode: Episode) -> None:
        self.episodes.append(episode)
        self.progress.update(
            self.task, advance=1, stats=progress_stats(self.episodes, self.started)
        )


def progress_stats(episodes: list[Episode], started: float) -> str:
    """The progress bar's text: mean return ± 95% interval, success rate, tokens/s."""
    summary = summarize(episodes, time.monotonic() - started)
    if len(summary.agents) <= 3:
        text = " ".join(
            f"{agent} {stats.mean_return:+.3f}±{stats.ci95:.3f}"
            for agent, stats in summary.agents.items()
        )
    else:
        means = [stats.mean_return for stats in summary.agents.values()]
        text = f"mean return {sum(means) / len(means):+.3f}"
    if summary.success_rate is not None:
        text += f" · success {summary.success_rate:.0%}"
    if summary.tokens:
        text += f" · {summary.tokens_per_s:.0f} tok/s"
    return text
