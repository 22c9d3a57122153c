"""The runner: many episodes in flight, every pending turn of a policy generated in one batch.

``simulate`` is what ``envalign run`` and ``envalign.simulate`` call; trainers collect their rollouts
through the same :class:`Runner`. At every tick the runner gathers the turns of all agents that must act,
across all running episodes, groups them by policy and calls each policy once, so a GPU policy sees one
large batch instead of one conversation at a time.
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias

from envalign.agents.base import (
    Generation,
    Policy,
    SamplingParams,
    TurnRequest,
    valid_actions_of,
)
from envalign.agents.registry import resolve_policy
from envalign.envs.core import SINGLE_AGENT, ActContext
from envalign.envs.registry import EnvCard, make, spec
from envalign.envs.spaces import observation_text
from envalign.training.episodes import Episode, EpisodeWriter, TurnRecord
from envalign.training.summary import Summary, plot_return_histogram, summarize

DEFAULT_SYSTEM_PROMPT = (
    "You are an agent in a text environment. Read the observation and reply with your action only."
)
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
    """

    episodes: list[Episode]
    summary: Summary
    interrupted: bool = False
    out: Path | None = None
    histogram: Path | None = None


@dataclass
class _Live:
    """An episode in flight."""

    index: int
    seed: int
    env: Any
    agents: list[str]
    observations: dict[str, Any]
    infos: dict[str, dict[str, Any]]
    conversations: dict[str, list[dict[str, str]]]
    rngs: dict[str, random.Random]
    turns: list[TurnRecord] = field(default_factory=list)
    returns: dict[str, float] = field(default_factory=dict)
    step: int = 0
    started: float = field(default_factory=time.monotonic)
    done: bool = False
    terminated: bool = False
    task_id: str = ""


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
        #: Seconds spent loading policies given by name (models), kept out of throughput figures.
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
        live: list[_Live] = []
        finished: dict[int, Episode] = {}
        try:
            while queue or live:
                while queue and len(live) < self.concurrency:
                    index, seed = queue.pop()
                    live.append(self._start(index, seed))
                self._tick(live)
                for episode in [e for e in live if e.done]:
                    live.remove(episode)
                    record = self._finish(episode)
                    finished[episode.index] = record
                    if on_episode is not None:
                        on_episode(record)
        finally:
            for episode in live:
                episode.env.close()
        return [finished[index] for index in sorted(finished)]

    def _start(self, index: int, seed: int) -> _Live:
        env = make(self.env_id, **self.env_kwargs)
        observation, info = env.reset(seed=seed)
        if self.card.multi_agent:
            agents = list(env.agents)
            observations, infos = dict(observation), dict(info)
        else:
            agents = [SINGLE_AGENT]
            observations, infos = {SINGLE_AGENT: observation}, {SINGLE_AGENT: info}
        own_prompt = getattr(env.unwrapped, "system_prompt", None)
        prompt = str(self.system_prompt or own_prompt or DEFAULT_SYSTEM_PROMPT)
        return _Live(
            index=index,
            seed=seed,
            env=env,
            agents=agents,
            observations=observations,
            infos=infos,
            conversations={agent: [{"role": "system", "content": prompt}] for agent in agents},
            rngs={agent: random.Random(f"{seed}:{agent}") for agent in agents},
            returns=dict.fromkeys(agents, 0.0),
            task_id=str(next(iter(infos.values()), {}).get("task_id", "")),  # type: ignore[call-overload]
        )

    def _tick(self, live: list[_Live]) -> None:
        pending: dict[int, list[tuple[_Live, str, TurnRequest]]] = defaultdict(list)
        policies: dict[int, Policy] = {}
        for episode in live:
            for agent in self._acting(episode):
                text = observation_text(episode.observations[agent])
                episode.conversations[agent].append({"role": "user", "content": text})
                context = ActContext(
                    env=episode.env.unwrapped,
                    agent=agent,
                    observation=episode.observations[agent],
                    info=episode.infos[agent],
                    rng=episode.rngs[agent],
                )
                request = TurnRequest(
                    messages=self._window(episode.conversations[agent]),
                    context=context,
                    valid_actions=valid_actions_of(episode.infos[agent]),
                )
                policy = self.policy_for(agent)
                policies[id(policy)] = policy
                pending[id(policy)].append((episode, agent, request))
        actions: dict[int, dict[str, Generation]] = defaultdict(dict)
        for key, batch in pending.items():
            generations = policies[key].act([request for _, _, request in batch])
            if len(generations) != len(batch):
                raise RuntimeError(
                    f"Policy '{policies[key].name}' returned {len(generations)} generations for "
                    f"{len(batch)} requests."
                )
            for (episode, agent, _), generation in zip(batch, generations, strict=True):
                actions[episode.index][agent] = generation
        for episode in live:
            self._step(episode, actions.get(episode.index, {}))

    def _window(self, conversation: list[dict[str, str]]) -> list[dict[str, str]]:
        """The system message, the last ``history`` exchanges and the new observation."""
        if self.history is None or len(conversation) <= 2 + 2 * self.history:
            return list(conversation)
        return [conversation[0], *conversation[len(conversation) - 1 - 2 * self.history :]]

    def _acting(self, episode: _Live) -> list[str]:
        if not self.card.multi_agent:
            return [SINGLE_AGENT]
        return [a for a in episode.env.agents if episode.infos.get(a, {}).get("acting", True)]

    def _step(self, episode: _Live, generations: dict[str, Generation]) -> None:
        if self.card.multi_agent:
            moves = {agent: "" for agent in episode.env.agents}
            moves.update({agent: g.text for agent, g in generations.items()})
            observations, rewards, terminations, truncations, infos = episode.env.step(moves)
            ended = not episode.env.agents
            terminated = ended and any(terminations.values())
        else:
            obs, reward, term, trunc, info = episode.env.step(generations[SINGLE_AGENT].text)
            observations, rewards, infos = (
                {SINGLE_AGENT: obs},
                {SINGLE_AGENT: reward},
                {SINGLE_AGENT: info},
            )
            ended, terminated = bool(term or trunc), bool(term)
        for agent, reward in rewards.items():
            episode.returns[agent] = episode.returns.get(agent, 0.0) + float(reward)
        for agent, generation in generations.items():
            info = infos.get(agent, {})
            episode.conversations[agent].append({"role": "assistant", "content": generation.text})
            episode.turns.append(
                TurnRecord(
                    agent=agent,
                    step=episode.step,
                    observation=episode.conversations[agent][-2]["content"],
                    action=generation.text,
                    reward=float(rewards.get(agent, 0.0)),
                    reward_components=dict(info.get("reward_components", {})),
                    feedback=str(info.get("feedback", "")),
                    token_ids=list(generation.token_ids),
                    logprobs=generation.logprobs,
                    prompt_token_ids=generation.prompt_token_ids,
                    valid_actions=valid_actions_of(episode.infos.get(agent, {})),
                    metrics=dict(info.get("metrics", {})),
                    finish_reason=generation.finish_reason,
                )
            )
        episode.observations.update(observations)
        episode.infos.update(infos)
        episode.step += 1
        episode.done, episode.terminated = ended, terminated

    def _finish(self, episode: _Live) -> Episode:
        episode.env.close()
        metrics = {
            agent: dict(episode.infos.get(agent, {}).get("metrics", {})) for agent in episode.agents
        }
        success = {
            agent: (bool(m["success"]) if "success" in m else None) for agent, m in metrics.items()
        }
        return Episode(
            env_id=self.env_id,
            seed=episode.seed,
            task_id=episode.task_id,
            agents=episode.agents,
            policies={agent: self.policy_for(agent).name for agent in episode.agents},
            system_prompts={a: c[0]["content"] for a, c in episode.conversations.items()},
            turns=episode.turns,
            returns=episode.returns,
            success=success,
            steps=episode.step,
            terminated=episode.terminated,
            metrics=metrics,
            wall_time_s=time.monotonic() - episode.started,
            env_kwargs=self.env_kwargs,
        )


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

    Returns:
        The episodes and their summary. Ctrl-C ends the run early with ``interrupted=True``.
    """
    if episodes < 0:
        raise ValueError(f"episodes must be >= 0, got {episodes}.")
    runner = Runner(
        env_id,
        policies,
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
        collected.append(record)
        if writer is not None:
            writer.write(record)
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
    collected.sort(key=lambda record: record.seed)
    summary = summarize(collected, time.monotonic() - started - runner.load_time_s)
    result = SimulationResult(collected, summary, interrupted, Path(out) if out else None)
    if result.out is not None and histogram and collected:
        result.histogram = _draw_histogram(collected, histogram_path(result.out))
    return result


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
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]episodes"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[stats]}"),
            transient=False,
        )
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
