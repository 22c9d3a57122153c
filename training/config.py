"""Training configuration: dataclasses with a default and one line of help per field.

A YAML file maps onto :class:`TrainConfig` section by section (``env``, ``model``, ``rollout``,
``algorithm``, ``optim``, ``run``). Unknown keys are errors that suggest the closest known key, and
:meth:`TrainConfig.validate` names the field and the fix for every value that cannot work.
Environment ids are checked at train time (:func:`check_env`), so a config for an environment that a
plugin registers later still loads.

Example::

    env: {id: envalign/Arithmetic-v0, kwargs: {low: 0, high: 9}}
    model: {name: smollm2-135m-instruct, dtype: bfloat16}
    rollout: {prompts_per_step: 8, group_size: 8, max_new_tokens: 32}
    algorithm: {name: grpo}
    optim: {lr: 2.0e-5}
    run: {steps: 60, output_dir: runs/arithmetic}
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from envalign.envs.errors import ConfigError
from envalign.training.algorithms import ALGORITHMS, ONLINE
from envalign.training.algorithms.grpo import NORMALIZATIONS, SCALES
from envalign.training.algorithms.reinforce import BASELINES


class _Section:
    """A config section: on construction every field is checked against its type, and coerced.

    ``2e-5``, ``"1E-4"`` and ``".5"`` are numbers for a ``float`` field; ``"10"`` and ``10.0`` are
    whole numbers for an ``int`` one; anything else that is not of the field's type is a
    :class:`ConfigError` that names the field, the value and what it expects. This holds for
    YAML files, ``--set`` overrides and the Python API alike.
    """

    _section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = _type_hints(type(self))
        for item in dataclasses.fields(self):  # type: ignore[arg-type]
            name = f"{self._section}.{item.name}" if self._section else item.name
            setattr(self, item.name, coerce(name, hints[item.name], getattr(self, item.name)))


_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


@functools.cache
def _adapter(hint: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(hint)


def coerce(name: str, hint: Any, value: Any) -> Any:
    """Return ``value`` as the type ``hint`` (pydantic's lax mode), or raise a ConfigError.

    Args:
        name: The dotted field name, for the message (``optim.lr``).
        hint: The field's type.
        value: What the config gave.

    Raises:
        ConfigError: ``optim.lr = 'abc' is not valid: expected a number (e.g. 1e-05).``
    """
    from pydantic import ValidationError

    section = _SECTION_TYPES.get(hint)
    if section is not None:
        if isinstance(value, section):
            return value
        return _build(section, value, f"{name}.")
    numeric = _strip_optional(hint) in (int, float)
    if isinstance(value, bool) and numeric:
        raise ConfigError(f"{name} = {value!r} is not valid: expected {_expected(hint)}.")
    try:
        return _adapter(hint).validate_python(value)
    except ValidationError as error:
        raise ConfigError(
            f"{name} = {value!r} is not valid: expected {_expected(hint)}."
        ) from error


def _strip_optional(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    return args[0] if is_union and len(args) == 1 else hint


def _expected(hint: Any) -> str:
    """Words for a type: ``float`` -> ``a number (e.g. 1e-05)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [_expected(a) for a in typing.get_args(hint) if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in typing.get_args(hint) else "")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return f"a list of {_plural(args[0]) if args else 'values'}"
    if origin is dict or hint is dict:
        return "a mapping of keys to values"
    words = {
        float: "a number (e.g. 1e-05, 0.5 or 3)",
        int: "a whole number (e.g. 10)",
        bool: "true or false",
        str: "text",
    }
    return words.get(hint, getattr(hint, "__name__", str(hint)))


def _plural(hint: Any) -> str:
    return {float: "numbers", int: "whole numbers", str: "strings", bool: "booleans"}.get(
        hint, "values"
    )


def _help(default: Any, text: str) -> Any:
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass
class EnvConfig(_Section):
    """Which environment, and who plays which seat."""

    _section: ClassVar[str] = "env"

    id: str = _help("envalign/Arithmetic-v0", "Registered environment id.")
    kwargs: dict[str, Any] = _help({}, "Keyword arguments for the environment.")
    system_prompt: str | None = _help(None, "Override the agents' system message.")
    trained_agents: list[str] | None = _help(
        None,
        "Agents whose turns are trained; null trains every agent (self-play: one model, every seat).",
    )
    opponents: dict[str, str] = _help(
        {}, "Fixed policies for other agents, {agent: policy name} (e.g. {agent_1: scripted})."
    )


@dataclass
class LoraConfig(_Section):
    """Low-rank adapters through ``peft`` (only the adapters are trained)."""

    _section: ClassVar[str] = "model.lora"

    enabled: bool = _help(False, "Train LoRA adapters instead of every weight.")
    r: int = _help(16, "Adapter rank.")
    alpha: int = _help(32, "Adapter scaling numerator (scale = alpha / r).")
    dropout: float = _help(0.0, "Dropout on the adapter input.")
    target_modules: list[str] = _help(
        ["q_proj", "k_proj", "v_proj", "o_proj"], "Module names that get adapters."
    )


@dataclass
class ModelConfig(_Section):
    """The policy model."""

    _section: ClassVar[str] = "model"

    name: str = _help(
        "smollm2-135m-instruct",
        "Model preset (smollm2-135m-instruct), 'tiny-random' (tests), or a local folder / hf:PATH.",
    )
    dtype: str = _help(
        "auto", "Weights dtype: auto (bfloat16 on GPU, float32 on CPU), bfloat16, float32."
    )
    device: str = _help("auto", "Device: auto (cuda when available), cuda, cuda:N or cpu.")
    gradient_checkpointing: bool = _help(False, "Recompute activations in backward to save memory.")
    lora: LoraConfig = field(default_factory=LoraConfig, metadata={"help": "LoRA adapters."})
    seed: int = _help(0, "Seed of the tiny random model (model.name: tiny-random only).")


@dataclass
class RolloutConfig(_Section):
    """How episodes are collected each step."""

    _section: ClassVar[str] = "rollout"

    prompts_per_step: int = _help(
        8, "Distinct seeds (tasks) per step; with data: groups (prompts) per step."
    )
    group_size: int = _help(8, "Episodes per seed (G); group-relative advantages compare them.")
    max_new_tokens: int = _help(32, "Cap on generated tokens per turn.")
    max_prompt_tokens: int = _help(
        1024, "Longer prompts are truncated from the left by the policy."
    )
    temperature: float = _help(1.0, "Sampling temperature (> 0 for on-policy RL).")
    top_p: float = _help(1.0, "Nucleus sampling mass.")
    concurrency: int = _help(0, "Episodes in flight (0: all episodes of the step at once).")
    max_batch_size: int = _help(256, "Most sequences generated in one forward batch.")
    history: int | None = _help(
        None, "Earlier exchanges each multi-turn prompt keeps after the system message (null: all)."
    )
    workers: int = _help(
        0, "Ray env workers that run the episodes (and their sandboxes); 0: in this process."
    )
    ray_address: str | None = _help(
        None,
        "Ray cluster for the workers: auto, HOST:PORT, ray://HOST:PORT (null: start a local one).",
    )


@dataclass
class AlgorithmConfig(_Section):
    """The learning algorithm and its knobs."""

    _section: ClassVar[str] = "algorithm"

    name: str = _help("grpo", f"One of {', '.join(ALGORITHMS)}.")
    credit: str = _help(
        "episode", "episode: every turn gets the episode return; turn: its reward-to-go."
    )
    gamma: float = _help(
        1.0, "Discount of later turns (turn credit) and of later tokens (PPO's GAE)."
    )
    loss_normalization: str = _help(
        "token", "token (DAPO), sequence (GRPO) or constant (Dr. GRPO: sequences x max_new_tokens)."
    )
    scale_rewards: str = _help(
        "group", "Divide advantages by the group std, the batch std, or none."
    )
    clip_low: float = _help(0.2, "Ratio clipped below at 1 - clip_low.")
    clip_high: float = _help(
        0.2, "Ratio clipped above at 1 + clip_high (0.28 for DAPO's clip-higher)."
    )
    drop_uniform_groups: bool = _help(False, "Skip groups whose rewards are all equal (no signal).")
    kl_coef: float = _help(0.0, "Weight of the KL penalty to a frozen copy of the initial model.")
    updates_per_batch: int = _help(1, "Optimizer passes over each rollout batch (PPO epochs).")
    baseline: str = _help("mean", "REINFORCE baseline: mean (batch mean) or ema (moving average).")
    baseline_decay: float = _help(0.9, "Moving-average decay of the ema baseline.")
    lam: float = _help(0.95, "PPO: GAE lambda.")
    value_coef: float = _help(0.5, "PPO: weight of the value loss.")
    value_clip: float = _help(0.2, "PPO: clip range of the value update.")
    beta: float = _help(0.1, "DPO: strength of the implicit KL constraint.")
    label_smoothing: float = _help(0.0, "DPO: probability that a preference is wrong.")
    min_credit: float | None = _help(
        None, "Rejection sampling: keep a group's best only at or above this."
    )
    margin: float = _help(1.0, "Stable Alignment: log-prob margin per unit of rating gap.")
    contrast_weight: float = _help(
        1.0, "Stable Alignment: weight of the contrastive term (lambda)."
    )


@dataclass
class OptimConfig(_Section):
    """The optimizer and its schedule."""

    _section: ClassVar[str] = "optim"

    lr: float = _help(1e-5, "Peak learning rate (AdamW).")
    weight_decay: float = _help(0.0, "AdamW weight decay.")
    betas: list[float] = _help([0.9, 0.999], "AdamW betas.")
    max_grad_norm: float = _help(1.0, "Clip the gradient norm to this (0: no clipping).")
    warmup_steps: int = _help(0, "Linear warm-up steps.")
    scheduler: str = _help("constant", "constant, linear (to 0) or cosine (to 0) after warm-up.")
    micro_batch_size: int = _help(
        16, "Sequences per forward/backward; gradients accumulate over the batch."
    )


@dataclass
class RunConfig(_Section):
    """Length of the run, evaluation, logging and checkpoints."""

    _section: ClassVar[str] = "run"

    steps: int = _help(100, "Training steps (one rollout batch each).")
    seed: int = _help(0, "Seed of everything (seeds of tasks, sampling, initialisation).")
    output_dir: str = _help("runs/envalign", "Metrics, checkpoints and the reward curve go here.")
    eval_every: int = _help(10, "Evaluate on held-out seeds every this many steps (0: never).")
    eval_episodes: int = _help(32, "Held-out episodes per evaluation.")
    eval_temperature: float = _help(0.0, "Sampling temperature during evaluation (0: greedy).")
    eval_seed_offset: int = _help(
        1_000_000, "Held-out seeds start here; training seeds stay below."
    )
    checkpoint_every: int = _help(
        0, "Save a checkpoint every this many steps (0: only at the end)."
    )
    keep_checkpoints: int = _help(2, "Checkpoints kept on disk (the oldest are deleted).")
    resume: bool = _help(
        True, "Continue from the newest checkpoint in output_dir when there is one."
    )
    tensorboard: bool = _help(True, "Also write TensorBoard events when tensorboard is installed.")
    progress: bool = _help(True, "Show a live progress display on a terminal.")
    deterministic: bool = _help(False, "Ask torch for deterministic kernels (exact resume on GPU).")
    eval_suite: str | None = _help(
        None, "Evaluation suite (e.g. core-v1) played before the first step and after the last."
    )
    eval_suite_tier: str = _help("quick", "Tier of eval_suite: quick or full.")
    eval_suite_only: list[str] = _help([], "Entries of eval_suite to play (empty: all).")


@dataclass
class DataConfig(_Section):
    """Fixed data for the offline algorithms, instead of collecting episodes with the policy."""

    _section: ClassVar[str] = "data"

    episodes: str | None = _help(
        None, "Episodes file (JSON Lines, e.g. from envalign run --out) grouped by seed."
    )
    records: str | None = _help(
        None, "SocialSandbox interaction records (JSON Lines): rated answers per question."
    )
    shuffle: bool = _help(True, "Visit the groups in a seeded random order (else file order).")


@dataclass
class TrainConfig:
    """A training run: ``envalign train CONFIG.yaml`` reads one of these."""

    env: EnvConfig = field(default_factory=EnvConfig, metadata={"help": "The environment."})
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "The policy model."})
    rollout: RolloutConfig = field(default_factory=RolloutConfig, metadata={"help": "Rollouts."})
    algorithm: AlgorithmConfig = field(
        default_factory=AlgorithmConfig, metadata={"help": "Algorithm."}
    )
    optim: OptimConfig = field(default_factory=OptimConfig, metadata={"help": "Optimizer."})
    run: RunConfig = field(default_factory=RunConfig, metadata={"help": "Run length and outputs."})
    data: DataConfig = field(
        default_factory=DataConfig, metadata={"help": "Offline data (offline algorithms only)."}
    )

    def __post_init__(self) -> None:
        hints = _type_hints(TrainConfig)
        for item in dataclasses.fields(self):
            setattr(self, item.name, coerce(item.name, hints[item.name], getattr(self, item.name)))
        self.validate()

    def validate(self) -> None:
        """Check every field that can be checked without importing the environment.

        Raises:
            ConfigError: Naming the first field that cannot work and what to write instead.
        """
        for check in _CHECKS:
            check(self)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (what checkpoints store)."""
        return dataclasses.asdict(self)


def _require(condition: bool, name: str, value: Any, fix: str) -> None:
    if not condition:
        raise ConfigError(f"{name} = {value!r} cannot work: {fix}")


def _check_choices(config: TrainConfig) -> None:
    a, o = config.algorithm, config.optim
    _require(
        a.name in ALGORITHMS, "algorithm.name", a.name, f"choose one of {', '.join(ALGORITHMS)}."
    )
    _require(
        a.credit in ("episode", "turn"), "algorithm.credit", a.credit, "use 'episode' or 'turn'."
    )
    _require(
        a.loss_normalization in NORMALIZATIONS,
        "algorithm.loss_normalization",
        a.loss_normalization,
        f"use one of {', '.join(NORMALIZATIONS)}.",
    )
    _require(
        a.scale_rewards in SCALES,
        "algorithm.scale_rewards",
        a.scale_rewards,
        f"use one of {SCALES}.",
    )
    _require(a.baseline in BASELINES, "algorithm.baseline", a.baseline, f"use one of {BASELINES}.")
    _require(
        o.scheduler in ("constant", "linear", "cosine"),
        "optim.scheduler",
        o.scheduler,
        "use constant, linear or cosine.",
    )
    m = config.model
    _require(
        m.dtype in ("auto", "bfloat16", "float32", "float16"),
        "model.dtype",
        m.dtype,
        "use auto, bfloat16 or float32.",
    )
    _require(
        m.device == "auto" or m.device == "cpu" or m.device.startswith("cuda"),
        "model.device",
        m.device,
        "use auto, cpu, cuda or cuda:N.",
    )


def _check_numbers(config: TrainConfig) -> None:
    r, a, o, run = config.rollout, config.algorithm, config.optim, config.run
    for name, value in (
        ("rollout.prompts_per_step", r.prompts_per_step),
        ("rollout.group_size", r.group_size),
        ("rollout.max_new_tokens", r.max_new_tokens),
        ("rollout.max_prompt_tokens", r.max_prompt_tokens),
        ("rollout.max_batch_size", r.max_batch_size),
        ("algorithm.updates_per_batch", a.updates_per_batch),
        ("optim.micro_batch_size", o.micro_batch_size),
        ("run.steps", run.steps),
        ("run.keep_checkpoints", run.keep_checkpoints),
    ):
        _require(value >= 1, name, value, "it must be at least 1.")
    non_negative: tuple[tuple[str, float], ...] = (
        ("rollout.concurrency", r.concurrency),
        ("rollout.workers", r.workers),
        ("run.eval_every", run.eval_every),
        ("run.eval_episodes", run.eval_episodes),
        ("run.checkpoint_every", run.checkpoint_every),
        ("optim.warmup_steps", o.warmup_steps),
        ("algorithm.kl_coef", a.kl_coef),
        ("optim.max_grad_norm", o.max_grad_norm),
        ("optim.weight_decay", o.weight_decay),
    )
    for name, number in non_negative:
        _require(number >= 0, name, number, "it must not be negative.")
    _require(o.lr > 0, "optim.lr", o.lr, "the learning rate must be positive (e.g. 1e-5).")
    _require(
        len(o.betas) == 2 and all(0 <= b < 1 for b in o.betas),
        "optim.betas",
        o.betas,
        "give two numbers in [0, 1).",
    )
    _require(
        r.temperature > 0,
        "rollout.temperature",
        r.temperature,
        "on-policy RL samples; use e.g. 1.0.",
    )
    _require(r.history is None or r.history >= 0, "rollout.history", r.history, "use null or >= 0.")
    _require(0 < r.top_p <= 1, "rollout.top_p", r.top_p, "use a value in (0, 1].")
    _require(
        0 <= a.clip_low < 1, "algorithm.clip_low", a.clip_low, "use a value in [0, 1), e.g. 0.2."
    )
    _require(
        a.clip_high >= 0, "algorithm.clip_high", a.clip_high, "use a value >= 0, e.g. 0.2 or 0.28."
    )
    _require(0 <= a.gamma <= 1, "algorithm.gamma", a.gamma, "use a discount in [0, 1].")
    _require(0 <= a.lam <= 1, "algorithm.lam", a.lam, "use a value in [0, 1].")
    _require(
        0 <= a.label_smoothing < 0.5,
        "algorithm.label_smoothing",
        a.label_smoothing,
        "use [0, 0.5).",
    )
    _require(
        0 <= run.eval_temperature,
        "run.eval_temperature",
        run.eval_temperature,
        "use 0 (greedy) or more.",
    )


def _check_combinations(config: TrainConfig) -> None:
    a, r = config.algorithm, config.rollout
    needs_groups = a.name in ("grpo", "rloo", "dpo", "rejection_sampling", "stable_alignment")
    _require(
        not needs_groups or r.group_size >= 2,
        "rollout.group_size",
        r.group_size,
        f"{a.name} compares several episodes of one seed; use at least 2 (e.g. 8).",
    )
    _require(
        a.name in ONLINE or a.kl_coef == 0 or a.name == "dpo",
        "algorithm.kl_coef",
        a.kl_coef,
        f"{a.name} has no KL penalty; set it to 0.",
    )
    _require(
        not config.model.lora.enabled or config.model.lora.r >= 1,
        "model.lora.r",
        config.model.lora.r,
        "the adapter rank must be at least 1.",
    )
    agents = config.env.trained_agents
    _require(
        agents is None or len(agents) > 0,
        "env.trained_agents",
        agents,
        "name at least one agent, or null to train every agent.",
    )
    overlap = set(agents or []) & set(config.env.opponents)
    _require(
        not overlap,
        "env.opponents",
        config.env.opponents,
        f"{sorted(overlap)} are also trained agents.",
    )


def _check_data(config: TrainConfig) -> None:
    d, name = config.data, config.algorithm.name
    source = d.episodes or d.records
    _require(
        not (d.episodes and d.records),
        "data.records",
        d.records,
        "give data.episodes or data.records, not both.",
    )
    _require(
        not source or name not in ONLINE,
        "data.episodes" if d.episodes else "data.records",
        source,
        f"{name} learns from its own rollouts; use rejection_sampling, dpo or stable_alignment "
        "with fixed data, or remove the data section.",
    )


def _check_suite_seeds(config: TrainConfig) -> None:
    """Task and held-out seeds stay below the range evaluation suites reserve."""
    from envalign.training.eval.seeds import SUITE_SEEDS

    run = config.run
    _require(
        run.eval_seed_offset + run.eval_episodes <= SUITE_SEEDS.start,
        "run.eval_seed_offset",
        run.eval_seed_offset,
        f"training and held-out seeds must stay below {SUITE_SEEDS.start:,} (evaluation suites "
        "own the seeds above); use e.g. 1000000.",
    )
    _require(
        run.eval_suite_tier in ("quick", "full"),
        "run.eval_suite_tier",
        run.eval_suite_tier,
        "use quick or full.",
    )


_CHECKS = (_check_choices, _check_numbers, _check_combinations, _check_data, _check_suite_seeds)


def from_dict(data: dict[str, Any] | None) -> TrainConfig:
    """Build a config from nested plain data (the YAML file's content).

    Raises:
        ConfigError: On an unknown key (suggesting the closest one), a value of the wrong kind, or a
            value :meth:`TrainConfig.validate` rejects.
    """
    return _build(TrainConfig, data or {}, "")


def _build(cls: Any, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        where = prefix.rstrip(".") or "the config"
        raise ConfigError(f"{where} must be a mapping of keys to values, got {data!r}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.5)
            hint = f" Did you mean '{prefix}{close[0]}'?" if close else ""
            raise ConfigError(
                f"Unknown config key '{prefix}{key}'.{hint} Known: {', '.join(fields)}."
            )
        nested = _nested_type(cls, key)
        kwargs[key] = _build(nested, value, f"{prefix}{key}.") if nested else value
    try:
        return cls(**kwargs) if cls is not TrainConfig else _train_config(kwargs)
    except TypeError as error:
        raise ConfigError(f"Bad value in {prefix.rstrip('.') or 'config'}: {error}") from error


def _train_config(kwargs: dict[str, Any]) -> TrainConfig:
    return TrainConfig(**kwargs)


_NESTED = {
    (TrainConfig, "env"): EnvConfig,
    (TrainConfig, "model"): ModelConfig,
    (TrainConfig, "rollout"): RolloutConfig,
    (TrainConfig, "algorithm"): AlgorithmConfig,
    (TrainConfig, "optim"): OptimConfig,
    (TrainConfig, "run"): RunConfig,
    (TrainConfig, "data"): DataConfig,
    (ModelConfig, "lora"): LoraConfig,
}


_SECTION_TYPES: dict[Any, type] = {section: section for section in _NESTED.values()}


def _nested_type(cls: Any, key: str) -> Any:
    return _NESTED.get((cls, key))


def load_config(path: str | os.PathLike[str], overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config, apply ``section.key=value`` overrides, and validate it.

    Args:
        path: The YAML file.
        overrides: ``["run.steps=10", "optim.lr=1e-4"]``; values are parsed as YAML.

    Raises:
        ConfigError: If the file is missing, is not valid YAML, or holds an invalid config.
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml_load(handle.read()) or {}
    except FileNotFoundError as error:
        raise ConfigError(f"Config file '{path}' does not exist.") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"Config file '{path}' is not valid YAML: {error}") from error
    for override in overrides or []:
        _apply_override(data, override)
    return from_dict(data)


#: Floats as YAML 1.2 and people write them: PyYAML (YAML 1.1) reads ``2e-5`` as a string.
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.VERBOSE,
)


@functools.cache
def _yaml_loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader that reads ``2e-5``, ``1E-4`` and ``.5`` as floats."""

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
    return Loader


def yaml_load(text: str) -> Any:
    """Parse YAML safely, reading every usual float notation (``2e-5``, ``1E-4``, ``.5``) as a float."""
    import yaml

    return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass


def save_config(config: TrainConfig, path: str | os.PathLike[str]) -> None:
    """Write ``config`` as YAML that :func:`load_config` reads back (the run's own record)."""
    import yaml

    data = json.loads(json.dumps(config.to_dict(), default=str))  # Paths and tuples as plain data
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)


def _apply_override(data: dict[str, Any], override: str) -> None:
    import yaml

    key, separator, text = override.partition("=")
    if not separator or not key:
        raise ConfigError(
            f"Override '{override}' must look like section.key=value (e.g. run.steps=10)."
        )
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"Override '{override}': '{part}' is not a section.")
    try:
        node[leaf] = yaml_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(
            f"Override '{override}': the value is not valid YAML ({error})."
        ) from error


def check_env(config: TrainConfig) -> None:
    """Check at train time that the environment exists and has the agents the config names.

    Environments are checked here rather than when the config loads, so a config for an environment
    that a plugin registers later still loads.

    Raises:
        UnknownEnvironment: With the closest registered id.
        ConfigError: If the environment cannot be built with ``env.kwargs``, or
            ``env.trained_agents`` / ``env.opponents`` name an agent it does not have.
    """
    from envalign.envs.registry import make_raw, spec

    card = spec(config.env.id)
    try:
        probe = make_raw(card.id, **config.env.kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"env.kwargs = {config.env.kwargs!r} cannot build {card.id}: {error}"
        ) from error
    agents = [str(a) for a in getattr(probe, "possible_agents", ["agent"])]
    probe.close()
    named = [("env.trained_agents", a) for a in config.env.trained_agents or []]
    named += [("env.opponents", a) for a in config.env.opponents if a != "*"]
    for where, agent in named:
        if agent not in agents:
            close = difflib.get_close_matches(agent, agents, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{where} names '{agent}', but {card.id} has agents {agents}.{hint}")


def describe(cls: Any = TrainConfig, prefix: str = "") -> list[tuple[str, Any, str]]:
    """Every field as ``(dotted name, default, help)``, for documentation and ``--help``."""
    rows = []
    for item in dataclasses.fields(cls):
        nested = _nested_type(cls, item.name)
        if nested:
            rows += describe(nested, f"{prefix}{item.name}.")
            continue
        factory: Any = item.default_factory
        default = item.default if item.default is not dataclasses.MISSING else factory()
        rows.append((f"{prefix}{item.name}", default, item.metadata.get("help", "")))
    return rows
