"""Run by tests/training/test_distributed.py under ``torchrun``: train, and record what this rank did.

Usage: ``torchrun --nproc_per_node 2 tests/training/ddp_worker.py CONFIG.yaml OUT_DIR``. Each rank
writes into ``OUT_DIR``: ``initial-RANK.sha`` and ``final-RANK.sha`` (hashes of its model's state
dict before and after training), and for step 1 the samples it trained on (``samples-RANK.pkl``), its
parameters after the update (``step1-RANK.pt``) and the update's statistics (``stats-RANK.json``).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
from pathlib import Path
from typing import Any


def state_hash(model: Any) -> str:
    """SHA-256 of every tensor of ``model.state_dict()``, in name order."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(
            tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
        )
    return digest.hexdigest()


def main(config_path: str, out_dir: str) -> None:
    """Train as the config says, recording step 1 and the hashes."""
    import torch

    from envalign.training import distributed
    from envalign.training.config import load_config
    from envalign.training.trainer import Trainer

    out = Path(out_dir)
    trainer = Trainer(load_config(config_path))
    rank = trainer.dist.rank
    (out / f"initial-{rank}.sha").write_text(state_hash(trainer.model))
    update = trainer.update

    def recording(samples: list[Any], step: int = 0) -> dict[str, float]:
        stats = update(samples, step)
        if step == 1:
            (out / f"samples-{rank}.pkl").write_bytes(pickle.dumps(samples))
            weights = {k: v.detach().cpu().clone() for k, v in trainer.model.state_dict().items()}
            torch.save(weights, out / f"step1-{rank}.pt")
            (out / f"stats-{rank}.json").write_text(json.dumps(stats))
        return stats

    trainer.update = recording  # type: ignore[method-assign]
    try:
        trainer.train()
        (out / f"final-{rank}.sha").write_text(state_hash(trainer.model))
    finally:
        distributed.shutdown(trainer.dist)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
