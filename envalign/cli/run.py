"""``envalign run``: play episodes with built-in or LLM policies and write them as JSON Lines."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from typing import Any

from envalign.envs.errors import ConfigError


def add_commands(subparsers: Any) -> None:
    """Add ``run``."""
    run = subparsers.add_parser(
        "run",
        help="run episodes of an environment and summarise them",
        description="Run episodes with one policy for every agent or one per agent.",
    )
    run.add_argument("env_id", metavar="ID", help="environment id, e.g. envalign/Ultimatum-v0")
    run.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="[AGENT=]NAME",
        help="policy for every agent, or AGENT=NAME for one agent (repeatable); NAME is random, "
        "scripted or another baseline the environment lists, smollm2-135m-instruct (the default "
        "model, pulled on first use), tiny-random, or hf:PATH_OR_NAME (a transformers model "
        "folder or GGUF file); agents given the same model name share one model (default: random)",
    )
    run.add_argument(
        "--episodes", type=positive_int, default=10, help="number of episodes (default 10)"
    )
    run.add_argument(
        "--seed", type=any_int, default=0, help="seed of the first episode (default 0)"
    )
    run.add_argument(
        "--concurrency", type=positive_int, default=8, help="episodes in flight (default 8)"
    )
    run.add_argument("--out", metavar="FILE.jsonl", help="write the episodes here as JSON Lines")
    run.add_argument(
        "--env-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment keyword argument (VALUE parsed as JSON when it can be)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--no-histogram", action="store_true", help="do not draw OUT's return histogram PNG"
    )
    run.add_argument(
        "--history",
        type=history_value,
        default=None,
        metavar="N|all",
        help="LLM policies: most earlier exchanges each prompt keeps besides the system message "
        "and the first exchange (default 4; older ones are dropped in blocks, so each turn "
        "extends the last prompt and likelihood acting reuses its computation); all keeps "
        "the whole conversation",
    )
    run.add_argument(
        "--system-prompt", metavar="TEXT", help="override every agent's system message"
    )
    run.add_argument(
        "--record-video",
        metavar="FILE.gif",
        help="also play the first seed once more and write it as an animation (.gif, or .mp4 "
        "with the video extra); environments without pictures are drawn as text",
    )
    scale = run.add_argument_group("scale-out (Ray)")
    scale.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the environments in Ray actors: auto (RAY_ADDRESS or the cluster running "
        "here), ray://HOST:PORT, HOST:PORT, or local (start Ray in this process); models still "
        "generate here in one batch; needs the ray extra",
    )
    scale.add_argument(
        "--workers", type=positive_int, help="env worker actors with --ray (default 2)"
    )
    sampling = run.add_argument_group("sampling (LLM policies)")
    sampling.add_argument(
        "--temperature", type=non_negative_float, default=0.7, help="0 is greedy (default 0.7)"
    )
    sampling.add_argument(
        "--top-p", type=probability_mass, default=1.0, help="nucleus mass (default 1.0)"
    )
    sampling.add_argument(
        "--max-new-tokens", type=positive_int, default=64, help="reply length cap (default 64)"
    )
    sampling.add_argument(
        "--stop", action="append", default=[], metavar="TEXT", help="stop string (repeatable)"
    )
    sampling.add_argument(
        "--action-selection",
        choices=["generate", "likelihood"],
        help="likelihood: where the environment lists valid_actions, pick one by its "
        "log-likelihood (GLAM/TWOSOME) instead of generating (default: generate)",
    )
    sampling.add_argument(
        "--normalisation",
        choices=["sum", "token", "word"],
        default="token",
        help="likelihood score: sum (GLAM), token or word mean (TWOSOME) (default token)",
    )
    run.set_defaults(handler=run_command)


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1; a wrong value says what was expected."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number >= 0 (``envalign view`` uses it too)."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {value}")
    return value


def any_int(text: str) -> int:
    """An argparse type: any whole number (seeds)."""
    return _whole_number(text)


def history_value(text: str) -> int | str:
    """An argparse type for ``--history``: a whole number >= 0, or ``all``."""
    if text.strip().lower() == "all":
        return "all"
    return non_negative_int(text)


def non_negative_float(text: str) -> float:
    """An argparse type: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text}")
    return value


def probability_mass(text: str) -> float:
    """An argparse type: a number in (0, 1]."""
    value = non_negative_float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text}")
    return value


def sampling_params(args: argparse.Namespace) -> Any:
    """Build the LLM policies' :class:`SamplingParams` from the command line (seeded by --seed)."""
    from envalign.agents.base import SamplingParams

    try:
        return SamplingParams(
            temperature=args.temperature,
            top_p=args.top_p,
            max_new_tokens=args.max_new_tokens,
            stop=tuple(args.stop),
            seed=args.seed,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from error


def parse_env_args(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["low=0", "name='x'"]`` into keyword arguments (JSON values where valid)."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ConfigError(f"--env-arg expects KEY=VALUE, got '{pair}'.")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs


def parse_policies(values: list[str], agents: list[str]) -> dict[str, str]:
    """Turn ``["random", "agent_1=scripted"]`` into ``{"*": "random", "agent_1": "scripted"}``."""
    mapping: dict[str, str] = {}
    for value in values or ["random"]:
        agent, separator, name = value.partition("=")
        if not separator:
            agent, name = "*", value
        if agent != "*" and agent not in agents:
            close = difflib.get_close_matches(agent, agents, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"Unknown agent '{agent}' in --policy; agents: {', '.join(agents)}.{hint}"
            )
        mapping[agent] = name
    missing = [a for a in agents if a not in mapping]
    if missing and "*" not in mapping:
        mapping["*"] = "random"
    return mapping


def run_command(args: argparse.Namespace) -> int:
    """Run the episodes, print the summary table and write the episodes."""
    from envalign.envs import make_raw, spec
    from envalign.training.rollout import simulate

    card = spec(args.env_id)
    if args.workers is not None and args.ray is None:
        raise ConfigError(
            "--workers sets the Ray env workers, so it needs --ray (local, auto or HOST:PORT)."
        )
    env_kwargs = parse_env_args(args.env_arg)
    try:
        probe = make_raw(args.env_id, **env_kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"Cannot build {args.env_id} with {env_kwargs}: {error}") from error
    agents = list(getattr(probe, "possible_agents", ["agent"]))
    probe.close()
    policies = parse_policies(args.policy, agents)
    loaded = load_policies(policies, card.id, args)
    result = simulate(
        card.id,
        loaded,
        episodes=args.episodes,
        seed=args.seed,
        concurrency=args.concurrency,
        env_kwargs=env_kwargs,
        out=args.out,
        progress=not args.quiet and sys.stderr.isatty(),
        histogram=not args.no_histogram,
        system_prompt=args.system_prompt,
        ray=args.ray,
        workers=args.workers or 2,
    )
    print_summary(result, policies)
    if args.record_video and not result.interrupted:
        path = record_with(loaded, card.id, args.seed, args.record_video, env_kwargs)
        print(f"animation written to {path}")
    if result.interrupted:
        print(f"Interrupted: {len(result.episodes)} finished episodes kept.", file=sys.stderr)
        return 130
    return 0


def load_policies(
    policies: dict[str, str], env_id: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Resolve each policy name once (agents naming the same model share it) and configure it.

    Models load here, before the clock of the run starts; LLM policies get the sampling flags and,
    with ``--action-selection likelihood``, score ``valid_actions`` instead of generating.
    """
    from envalign.agents.registry import resolve_policy

    sampling = sampling_params(args)
    by_name: dict[str, Any] = {}
    for name in dict.fromkeys(policies.values()):
        policy = resolve_policy(name, env_id)
        if hasattr(policy, "sampling"):
            policy.sampling = sampling
        if args.action_selection and hasattr(policy, "action_selection"):
            policy.action_selection = args.action_selection
            policy.normalisation = args.normalisation
        if args.history is not None and hasattr(policy, "history"):
            policy.history = None if args.history == "all" else args.history
        by_name[name] = policy
    return {agent: by_name[name] for agent, name in policies.items()}


def record_with(
    policies: dict[str, Any], env_id: str, seed: int, path: str, env_kwargs: dict[str, Any]
) -> Any:
    """Replay seed ``seed`` with the run's policies, one turn at a time, and animate it."""
    from envalign.agents.base import TurnRequest, valid_actions_of
    from envalign.envs.core import ActContext
    from envalign.envs.embodied.recording import record_video
    from envalign.envs.spaces import observation_text

    def act(context: ActContext) -> str:
        policy = policies[context.agent] if context.agent in policies else policies["*"]
        message = {"role": "user", "content": observation_text(context.observation)}
        request = TurnRequest([message], context, valid_actions_of(context.info))
        return str(policy.act([request])[0].text)

    return record_video(env_id, act, seed=seed, path=path, env_kwargs=env_kwargs)


def print_summary(result: Any, policies: dict[str, str]) -> None:
    """Print the summary table of a simulation."""
    from rich.console import Console
    from rich.table import Table

    summary = result.summary
    table = Table(title=f"{summary.episodes} episodes in {summary.wall_time_s:.2f}s")
    for column in ("agent", "policy", "mean return", "95% CI", "success"):
        table.add_column(column, justify="right" if column not in ("agent", "policy") else "left")
    for agent, stats in summary.agents.items():
        success = "" if stats.success_rate is None else f"{stats.success_rate:.1%}"
        policy = policies.get(agent, policies.get("*", ""))
        table.add_row(agent, policy, f"{stats.mean_return:+.4f}", f"±{stats.ci95:.4f}", success)
    console = Console()
    console.print(table)
    overall = "n/a" if summary.success_rate is None else f"{summary.success_rate:.1%}"
    console.print(
        f"success rate {overall} · mean steps {summary.mean_steps:.2f} · "
        f"{summary.episodes_per_s:.2f} episodes/s · tokens generated {summary.tokens}"
        + (f" ({summary.tokens_per_s:.1f} tokens/s)" if summary.tokens else "")
        + f" · wall time {summary.wall_time_s:.1f}s"
    )
    if getattr(result, "retries", 0):
        console.print(
            f"{result.retries} episode(s) restarted from their seed after a Ray worker died"
        )
    if result.out is not None:
        console.print(f"episodes written to {result.out}")
    if getattr(result, "histogram", None) is not None:
        console.print(f"return histogram: {result.histogram}")
