"""Episode records: the one input of trainers, the viewer and offline datasets.

An episode is one JSON object per line (JSON Lines) with ``schema_version``. The writer appends each
finished episode to ``PATH.partial`` with one ``write`` and a flush, and renames it to ``PATH`` on
close, so ``PATH`` only ever appears whole; an interrupted run leaves every finished episode behind
(in ``PATH`` after a clean close or Ctrl-C, in ``PATH.partial`` after a hard kill).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class TurnRecord:
    """One agent's turn.

    Attributes:
        agent: The agent's name.
        step: The environment step in which the agent acted.
        observation: The text the agent saw (the newest user message of its conversation).
        action: The action text it sent.
        reward: The reward it got for this step.
        reward_components: The reward's named parts.
        feedback: The environment's feedback text.
        token_ids: Generated token ids (LLM policies).
        logprobs: Per-token log-probabilities of ``token_ids`` under the sampling policy.
        prompt_token_ids: The exact prompt ids the action was generated from, when known.
        valid_actions: The admissible actions offered, when the environment lists them.
        metrics: The step's metrics.
        finish_reason: Why the policy's reply ended (``"stop"``, ``"length"``, ``"scripted"``,
            ``"likelihood"``); empty in records written before it existed.
        extras: The step's JSON-serialisable ``info`` entries beyond the schema (e.g.
            SocialSandbox's ``interaction``); empty in records written before it existed.
    """

    agent: str
    step: int
    observation: str
    action: str
    reward: float
    reward_components: dict[str, float]
    feedback: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] | None = None
    prompt_token_ids: list[int] | None = None
    valid_actions: list[str] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    finish_reason: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Episode:
    """One finished episode.

    Attributes:
        env_id: The environment id.
        seed: The seed passed to ``reset``.
        task_id: The environment's task id.
        agents: The agents in the episode.
        policies: Which policy played each agent.
        system_prompts: Each agent's system message (its conversation starts with it).
        turns: Every agent turn in order.
        returns: Each agent's summed reward, including rewards earned while not acting.
        success: Each agent's final ``metrics["success"]`` when the environment reports it.
        steps: Environment steps taken.
        terminated: Whether the episode ended by the rules (not a time limit).
        metrics: The final step's metrics per agent.
        wall_time_s: Seconds from reset to the end.
        env_kwargs: Keyword arguments the environment was built with.
        group: Index of the seed group (trainers sample several episodes per seed).
        schema_version: Version of this record's layout.
    """

    env_id: str
    seed: int
    task_id: str
    agents: list[str]
    policies: dict[str, str]
    system_prompts: dict[str, str]
    turns: list[TurnRecord]
    returns: dict[str, float]
    success: dict[str, bool | None]
    steps: int
    terminated: bool
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    wall_time_s: float = 0.0
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    group: int = 0
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        """Serialise to one line of JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"), default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        """Rebuild an episode from its JSON object.

        Raises:
            ValueError: If the record was written by a newer, unknown schema version.
        """
        version = data.get("schema_version", 0)
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"Episode schema version {version} is newer than this envalign understands "
                f"({SCHEMA_VERSION}); upgrade envalign."
            )
        fields = dict(data)
        fields["turns"] = [TurnRecord(**turn) for turn in data.get("turns", [])]
        return cls(**fields)

    def conversation(self, agent: str) -> list[dict[str, str]]:
        """Rebuild ``agent``'s chat conversation: system, then observation/action pairs."""
        messages = []
        if self.system_prompts.get(agent):
            messages.append({"role": "system", "content": self.system_prompts[agent]})
        for turn in self.turns:
            if turn.agent == agent:
                messages.append({"role": "user", "content": turn.observation})
                messages.append({"role": "assistant", "content": turn.action})
        return messages


class EpisodeWriter:
    """Append episodes to a JSON Lines file that appears atomically on close.

    Args:
        path: Final path of the file. Parent folders are created.

    Raises:
        ConfigError: If the file cannot be written (a folder, a read-only place).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from envalign.envs.errors import ConfigError

        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        try:
            if self.path.is_dir():
                raise IsADirectoryError(f"'{self.path}' is a folder")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.partial, "w", encoding="utf-8")  # noqa: SIM115 - see close()
        except OSError as error:  # checked before any episode runs, not after the last
            reason = error.strerror or str(error)
            raise ConfigError(
                f"Cannot write episodes to '{self.path}' ({reason}); pass a writable FILE.jsonl."
            ) from error
        self.count = 0

    def write(self, episode: Episode) -> None:
        """Append one episode (one write, flushed)."""
        self._file.write(episode.to_json() + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        """Flush to disk and move the file into place."""
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.path)

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_episodes(path: str | os.PathLike[str]) -> Iterator[Episode]:
    """Yield the episodes of a JSON Lines file; a truncated last line (hard kill) is skipped."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            if line.strip():
                yield Episode.from_dict(json.loads(line))
