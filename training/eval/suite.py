"""Evaluation suites: versioned YAML files of entries with enumerated, held-out seeds.

A suite (``suites/core-v1.yaml``) lists entries. Each entry names an environment and its kwargs, the
seat the evaluated policy plays, a panel of fixed partners for the other seats, the alignment
metrics it reports, and explicit lists of **test** and **dev** seeds. Every suite seed lies in
:data:`SUITE_SEEDS`, a range no trainer draws from (``training/config.py`` refuses settings that
would reach it), so no training run can see an evaluation seed.

:meth:`Entry.fingerprint` hashes everything that defines an entry in a tier — the environment's code,
kwargs, seeds, prompts, partners' code, the judge and the acting limits — so two results are only
compared when they measured the same thing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from envalign.envs.errors import ConfigError
from envalign.envs.registry import EnvCard, load_entry_point, spec
from envalign.training.eval.seeds import SUITE_SEEDS

SUITES_DIR = Path(__file__).with_name("suites")
Tier = Literal["quick", "full"]


class Acting(BaseModel):
    """How the evaluated policy acts (LLM policies; baselines ignore it)."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(default=48, ge=1, description="Cap on generated tokens per turn.")
    temperature: float = Field(default=0.0, ge=0, description="0 is greedy.")
    history: int | None = Field(
        default=2, ge=0, description="Earlier exchanges kept in each prompt."
    )
    system_prompt: str | None = Field(default=None, description="Override of the system message.")


class Entry(BaseModel):
    """One line of the scorecard: an environment, a seat, partners, metrics and pinned seeds."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$", description="Stable id, e.g. ultimatum-proposer.")
    env: str = Field(description="Registered environment id.")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Environment kwargs.")
    seat: str = Field(default="agent", description="The agent the evaluated policy plays.")
    partners: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Panel of fixed partner configurations: name -> {agent: baseline policy}.",
    )
    alignment_metrics: dict[str, Literal["higher", "lower"] | None] = Field(
        default_factory=dict, description="Metrics reported, and which direction is more aligned."
    )
    score: Literal["own", "group"] = Field(
        default="own",
        description="own: the seat's return; group: the mean return of every agent (welfare).",
    )
    max_steps: int | None = Field(
        default=None, ge=1, description="Truncate episodes after this many environment steps."
    )
    judge: str | None = Field(
        default=None, description="Who scores the episodes when it is not the env."
    )
    acting: Acting | None = Field(
        default=None, description="Per-entry override of the suite's acting."
    )
    tiers: dict[str, int] = Field(
        default_factory=dict, description="Per-entry override of the suite's seeds per tier."
    )
    test_seeds: list[int] = Field(min_length=1, description="Held-out seeds, in order.")
    dev_seeds: list[int] = Field(default_factory=list, description="Seeds for development.")

    @field_validator("test_seeds", "dev_seeds")
    @classmethod
    def _reserved(cls, seeds: list[int]) -> list[int]:
        outside = [seed for seed in seeds if seed not in SUITE_SEEDS]
        if outside:
            raise ValueError(
                f"seeds must lie in [{SUITE_SEEDS.start}, {SUITE_SEEDS.stop}) (reserved for "
                f"evaluation), got {outside[:3]}"
            )
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must not repeat")
        return seeds

    @model_validator(mode="after")
    def _disjoint(self) -> Entry:
        if set(self.test_seeds) & set(self.dev_seeds):
            raise ValueError(f"entry '{self.id}': test and dev seeds overlap")
        return self

    @property
    def card(self) -> EnvCard:
        """The environment's catalog card."""
        return spec(self.env)

    @property
    def panel(self) -> dict[str, dict[str, str]]:
        """The partner configurations; one empty configuration named ``""`` when there are none."""
        return self.partners or {"": {}}

    def score_of(self, returns: dict[str, float]) -> float:
        """The entry's score of one episode's returns (see :attr:`score`)."""
        if self.score == "group":
            return sum(returns.values()) / max(1, len(returns))
        return float(returns.get(self.seat, 0.0))

    def seeds(self, tier: str, tiers: dict[str, int]) -> list[int]:
        """The test seeds a tier plays: the first ``tiers[tier]`` of :attr:`test_seeds`."""
        return self.test_seeds[: self.tiers.get(tier, tiers[tier])]

    def fingerprint(self, tier: str, tiers: dict[str, int], acting: Acting) -> str:
        """Hash of everything that defines this entry's measurement in ``tier``."""
        card = self.card
        partner_code = {
            policy: _code_hash(card.policies.get(policy, "random"))
            for panel in self.panel.values()
            for policy in panel.values()
        }
        defining = {
            "env": self.env,
            "env_code": _code_hash(card.entry_point),
            "kwargs": {**card.kwargs, **self.kwargs},
            "seat": self.seat,
            "score": self.score,
            "partners": self.panel,
            "partner_code": partner_code,
            "judge": self.judge,
            "max_steps": self.max_steps,
            "acting": acting.model_dump(),
            "seeds": self.seeds(tier, tiers),
        }
        blob = json.dumps(defining, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class Suite(BaseModel):
    """A versioned evaluation suite."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = Field(ge=1)
    description: str = ""
    tiers: dict[str, int] = Field(description="Tier name -> test seeds per entry it plays.")
    acting: Acting = Field(default_factory=Acting)
    entries: list[Entry] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Suite:
        ids = [entry.id for entry in self.entries]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"entry ids repeat: {', '.join(repeated)}")
        if set(self.tiers) != {"quick", "full"}:
            raise ValueError(f"tiers must be exactly quick and full, got {sorted(self.tiers)}")
        for entry in self.entries:
            counts = {**self.tiers, **entry.tiers}
            short = [
                t for t, n in counts.items() if t not in self.tiers or len(entry.test_seeds) < n
            ]
            if short:
                raise ValueError(
                    f"entry '{entry.id}': tier {short[0]} is unknown or has more seeds than "
                    "test_seeds lists"
                )
        return self

    def entry(self, entry_id: str) -> Entry:
        """The entry named ``entry_id``.

        Raises:
            ConfigError: If there is none, with the closest id.
        """
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        import difflib

        ids = [entry.id for entry in self.entries]
        close = difflib.get_close_matches(entry_id, ids, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else f" Entries: {', '.join(ids)}."
        raise ConfigError(f"Suite '{self.name}' has no entry '{entry_id}'.{hint}")

    def acting_for(self, entry: Entry) -> Acting:
        """The acting settings of ``entry`` (its override, else the suite's)."""
        return entry.acting or self.acting

    def select(self, only: list[str] | None) -> list[Entry]:
        """The entries named in ``only`` (all when empty), in suite order."""
        if not only:
            return list(self.entries)
        wanted = {self.entry(entry_id).id for entry_id in only}
        return [entry for entry in self.entries if entry.id in wanted]


def available_suites() -> list[str]:
    """Names of the suites shipped in the package."""
    return sorted(path.stem for path in SUITES_DIR.glob("*.yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a shipped suite by name (``core-v1``) or a suite file by path.

    Raises:
        ConfigError: If no such suite exists or the file is not a valid suite (every problem named).
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = SUITES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(available_suites())
        raise ConfigError(f"No evaluation suite '{name_or_path}'. Shipped suites: {known}.")
    return _parse(path)


@functools.lru_cache(maxsize=8)
def _parse(path: Path) -> Suite:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Suite.model_validate(data)
    except yaml.YAMLError as error:
        raise ConfigError(f"Suite file '{path}' is not valid YAML: {error}") from error
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"Suite file '{path}' is invalid: {problems}") from error


def _code_hash(entry_point: Any) -> str:
    """Hash of the source file that defines ``entry_point`` (``"module:attr"`` or a callable)."""
    try:
        target = load_entry_point(entry_point) if isinstance(entry_point, str) else entry_point
        module = importlib.import_module(target.__module__)
        source = inspect.getsource(module)
    except (ImportError, OSError, TypeError, AttributeError):
        return "unknown"
    return hashlib.sha256(source.encode()).hexdigest()[:16]
