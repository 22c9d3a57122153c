"""Checkpoints that resume exactly: model, optimizer, scheduler, every RNG, the step and the config.

A checkpoint is a folder ``output_dir/checkpoints/step-000120/``. It is written under a temporary
name and renamed into place, so a process killed while saving leaves the previous checkpoint intact
and never a half-written one. Only the newest ``keep`` checkpoints are kept.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_NAME = re.compile(r"^step-(\d+)$")


@dataclass
class TrainingState:
    """What is restored on resume besides the weights.

    Attributes:
        step: Steps completed.
        extra: Algorithm state (e.g. REINFORCE's moving-average baseline) and counters.
    """

    step: int
    extra: dict[str, Any]


def rng_state() -> dict[str, Any]:
    """The state of Python's, NumPy's and torch's global generators (CUDA's too when present)."""
    import torch

    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    directory: str | os.PathLike[str],
    *,
    step: int,
    modules: dict[str, Any],
    config: dict[str, Any],
    extra: dict[str, Any] | None = None,
    keep: int = 2,
) -> Path:
    """Write a checkpoint atomically and delete all but the newest ``keep``.

    Args:
        directory: The checkpoints folder.
        step: Steps completed.
        modules: Objects with ``state_dict()`` (model, value head, optimizer, scheduler).
        config: The run's config as plain data.
        extra: Algorithm state and counters to restore.
        keep: How many checkpoints to keep.

    Returns:
        The checkpoint's folder.
    """
    import torch

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:06d}"
    temporary = root / f".step-{step:06d}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    payload = {name: module.state_dict() for name, module in modules.items()}
    _save(torch, payload, temporary / "state.pt")
    _save(
        torch,
        {"step": step, "config": config, "extra": extra or {}, "rng": rng_state()},
        temporary / "meta.pt",
    )
    if final.exists():
        shutil.rmtree(final)
    os.replace(temporary, final)
    _fsync_dir(root)
    for old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _save(torch: Any, obj: Any, path: Path) -> None:
    with open(path, "wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def list_checkpoints(directory: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoints in ``directory``, oldest first."""
    root = Path(directory)
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name)) and p.is_dir()
    ]
    return [path for _, path in sorted(found)]


def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint, or ``None``."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def load_checkpoint(path: str | os.PathLike[str], modules: dict[str, Any]) -> TrainingState:
    """Load weights and optimizer state into ``modules`` and restore every RNG.

    Args:
        path: A checkpoint folder.
        modules: The same names as when saving, already built.

    Returns:
        The step and the extra state.

    Raises:
        ValueError: If the checkpoint lacks one of ``modules``.
    """
    import torch

    folder = Path(path)
    payload = torch.load(folder / "state.pt", map_location="cpu", weights_only=False)
    meta = torch.load(folder / "meta.pt", map_location="cpu", weights_only=False)
    for name, module in modules.items():
        if name not in payload:
            raise ValueError(
                f"Checkpoint {folder} has no '{name}' state (it has {sorted(payload)})."
            )
        module.load_state_dict(payload[name])
    set_rng_state(meta["rng"])
    return TrainingState(step=int(meta["step"]), extra=dict(meta["extra"]))
