"""Data-parallel training: real launchers (torchrun, accelerate) with two CPU processes over gloo.

The central check: after step 1 the two ranks hold the parameters one process gets by updating on
the union of the two ranks' samples, and the gradient norm matches, so a wrong gradient reduction
(mean instead of sum) or a per-rank loss normalisation would fail it.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from envalign.training import distributed
from envalign.training.config import from_dict
from envalign.training.metrics import read_metrics

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

WORKER = Path(__file__).with_name("ddp_worker.py")
BIN = Path(sys.executable).parent
LAUNCH_TIMEOUT_S = 300


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def launch(command: list[str], cwd: Path) -> str:
    """Run a launcher in its own process group; kill the whole group on timeout or failure."""
    env = {k: v for k, v in os.environ.items() if k not in _RANK_VARIABLES}
    env["OMP_NUM_THREADS"] = "1"
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=LAUNCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        output = ""
    finally:
        _kill_group(process)
    assert process.returncode == 0, f"{' '.join(command)} failed:\n{_errors(output)}"
    return output


def _errors(output: str) -> str:
    """The ranks' own tracebacks first (the launcher's come last and say little)."""
    ranked = [line for line in output.splitlines() if line.startswith("[rank")]
    return "\n".join(ranked[-80:]) + "\n" + output[-4000:]


_RANK_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the launcher and its workers are gone already
    process.wait()


def write_config(path: Path, output_dir: Path, **sections: dict[str, Any]) -> Path:
    """A 2-step run of the tiny random model on Arithmetic (3 prompts: 2 on rank 0, 1 on rank 1)."""
    data: dict[str, Any] = {
        "env": {"id": "envalign/Arithmetic-v0", "kwargs": {"low": 0, "high": 1}},
        "model": {"name": "tiny-random", "device": "cpu", "seed": 0},
        "rollout": {"prompts_per_step": 3, "group_size": 8, "max_new_tokens": 2},
        "algorithm": {"name": "grpo", "loss_normalization": "token"},
        "optim": {"lr": 5e-3, "micro_batch_size": 5},
        "run": {
            "steps": 2,
            "seed": 8,  # step 1 has a group whose rewards differ, so GRPO has a gradient
            "output_dir": str(output_dir),
            "eval_every": 2,
            "eval_episodes": 3,
            "progress": False,
            "tensorboard": False,
        },
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(data))
    return path


def torchrun(processes: int, *args: str) -> list[str]:
    return [
        str(BIN / "torchrun"),
        f"--nproc_per_node={processes}",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        *args,
    ]


def run_worker(tmp_path: Path, processes: int = 2, **sections: dict[str, Any]) -> Path:
    """Train with the recording worker under torchrun; return the folder of its records."""
    records = tmp_path / "records"
    records.mkdir()
    config = write_config(tmp_path / "config.yaml", tmp_path / "run", **sections)
    launch(torchrun(processes, str(WORKER), str(config), str(records)), cwd=tmp_path)
    return records


def single_process_update(config_path: Path, samples: list[Any], output_dir: Path) -> Any:
    """One process: build the same initial trainer and update it on ``samples``."""
    from envalign.training.trainer import Trainer

    data = yaml.safe_load(config_path.read_text())
    data["run"]["output_dir"] = str(output_dir)
    trainer = Trainer(from_dict(data))
    stats = trainer.update(samples, 1)
    return trainer, stats


@pytest.mark.parametrize(
    "algorithm",
    [
        {"name": "grpo", "loss_normalization": "token", "scale_rewards": "batch"},
        {"name": "ppo", "loss_normalization": "token"},
    ],
    ids=lambda a: a["name"],
)
def test_two_processes_match_one_process_on_the_union_batch(
    tmp_path: Path, algorithm: dict[str, Any]
) -> None:
    records = run_worker(tmp_path, algorithm=algorithm)
    hashes = {name: (records / f"{name}.sha").read_text() for name in _HASH_FILES}
    assert hashes["initial-0"] == hashes["initial-1"]
    assert hashes["final-0"] == hashes["final-1"], "the ranks' parameters diverged"
    assert hashes["final-0"] != hashes["initial-0"], "training left the weights unchanged"

    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [row["step"] for row in rows] == [0, 1, 2]  # written once, by rank 0
    assert all(row["train/episodes"] == 3 * 8 for row in rows[1:])  # both ranks' episodes
    assert rows[0]["eval/episodes"] == rows[2]["eval/episodes"] == 3

    shards = [pickle.loads((records / f"samples-{r}.pkl").read_bytes()) for r in (0, 1)]
    assert {s.group for s in shards[0]} == {0, 2} and {s.group for s in shards[1]} == {1}
    union = shards[0] + shards[1]
    trainer, stats = single_process_update(tmp_path / "config.yaml", union, tmp_path / "one")
    ranked = json.loads((records / "stats-0.json").read_text())
    assert stats["grad_norm"] > 0
    assert ranked["grad_norm"] == pytest.approx(stats["grad_norm"], rel=1e-4)
    assert ranked["loss"] == pytest.approx(stats["loss"], rel=1e-4, abs=1e-7)
    assert rows[1]["train/grad_norm"] == pytest.approx(stats["grad_norm"], rel=1e-4)
    step1 = torch.load(records / "step1-0.pt")
    for name, value in trainer.model.state_dict().items():
        assert torch.allclose(step1[name], value, atol=1e-5), name

    # The check has teeth: rank 0's samples alone (no reduction over ranks) give another gradient.
    _, alone = single_process_update(tmp_path / "config.yaml", shards[0], tmp_path / "alone")
    assert alone["grad_norm"] != pytest.approx(stats["grad_norm"], rel=1e-3)


_HASH_FILES = ("initial-0", "initial-1", "final-0", "final-1")


def test_cli_under_accelerate_then_resumed_under_torchrun(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.yaml",
        tmp_path / "run",
        run={"steps": 1, "eval_every": 0},
    )
    accelerate = [
        str(BIN / "accelerate"),
        "launch",
        "--multi_gpu",  # starts 2 processes with torch's launcher; on CPU the trainer uses gloo
        "--num_processes=2",
        "--num_machines=1",
        "--mixed_precision=no",
        "--dynamo_backend=no",
        f"--main_process_port={free_port()}",
        "-m",
        "envalign",
        "train",
        str(config),
    ]
    first = launch(accelerate, cwd=tmp_path)
    assert "data-parallel training on 2 processes (gloo, cpu)" in first
    assert first.count("1 steps · metrics") == 1  # only rank 0 reports
    before = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [row["step"] for row in before] == [1]

    resumed = launch(
        torchrun(2, "-m", "envalign", "train", str(config), "--set", "run.steps=2"), cwd=tmp_path
    )
    assert resumed.count("2 steps · metrics") == 1
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [row["step"] for row in rows] == [1, 2]
    assert rows[0] == before[0]
    assert rows[1]["train/completions"] == 2 * 3 * 8  # counted over both ranks and both runs
    assert (tmp_path / "run" / "checkpoints" / "step-000002").is_dir()
    assert (tmp_path / "run" / "final" / "config.json").exists()
    assert (tmp_path / "run" / "reward_curve.png").exists()


def test_too_few_prompts_for_the_processes_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.yaml", tmp_path / "run", rollout={"prompts_per_step": 1, "group_size": 2}
    )
    command = torchrun(2, "-m", "envalign", "train", str(config))
    with pytest.raises(AssertionError, match="cannot be split over 2 processes"):
        launch(command, cwd=tmp_path)


@pytest.mark.gpu
def test_data_parallel_on_cuda(tmp_path: Path) -> None:
    processes = min(2, torch.cuda.device_count())  # nccl across 2 GPUs, else one CUDA process
    records = run_worker(
        tmp_path,
        processes=processes,
        model={"device": "cuda", "dtype": "float32"},
        rollout={"prompts_per_step": 4},
    )
    hashes = [(records / f"final-{rank}.sha").read_text() for rank in range(processes)]
    assert len(set(hashes)) == 1
    assert hashes[0] != (records / "initial-0.sha").read_text()
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [row["step"] for row in rows] == [0, 1, 2]
    assert rows[1]["train/episodes"] == 4 * 8


# ---------------------------------------------------------------------- one process: no-ops


def test_without_a_launcher_everything_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    place = distributed.setup("cpu")
    assert place.world_size == 1 and place.is_main and place.backend is None
    assert distributed.world() == (0, 1)
    assert distributed.shard([1, 2, 3]) == [1, 2, 3]
    assert distributed.rank_seed(1234) == 1234
    assert distributed.all_sum([1, 2.5]) == [1.0, 2.5]
    assert distributed.all_gather_objects({"a": 1}) == [{"a": 1}]
    distributed.shutdown(place)  # nothing to leave


def test_shards_are_disjoint_and_cover_the_items(monkeypatch: pytest.MonkeyPatch) -> None:
    items = list(range(7))
    parts = []
    for rank in range(3):
        monkeypatch.setattr(distributed, "world", lambda rank=rank: (rank, 3))
        parts.append(distributed.shard(items))
    assert parts == [[0, 3, 6], [1, 4], [2, 5]]
    seeds = set()
    for rank in range(3):
        monkeypatch.setattr(distributed, "world", lambda rank=rank: (rank, 3))
        seeds.add(distributed.rank_seed(99))
    assert len(seeds) == 3 and 99 in seeds


def test_gradient_buckets_keep_order_and_split_by_size_and_dtype(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(distributed, "BUCKET_ELEMENTS", 10)
    grads = [torch.zeros(4), torch.zeros(6), torch.zeros(3), torch.zeros(2, dtype=torch.float64)]
    buckets = distributed._buckets(grads)
    assert [[g.numel() for g in bucket] for bucket in buckets] == [[4, 6], [3], [2]]
    flat = [g for bucket in buckets for g in bucket]
    assert len(flat) == len(grads) and all(a is b for a, b in zip(flat, grads, strict=True))
