"""Data-parallel training over several processes (one per GPU, or CPU processes with gloo).

A launcher (``torchrun``, ``accelerate launch``) starts one process per device and sets
``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`setup` reads
them and joins the process group (``nccl`` on CUDA with device ``cuda:LOCAL_RANK``, ``gloo`` on CPU).
Without them every function here is a cheap no-op, so one process trains exactly as before.

What each rank does:

- it plays its own share of the step's prompts (:func:`shard`: prompt ``i`` goes to rank
  ``i % world_size``; group ids stay global) and samples with its own seed (:func:`rank_seed`);
- advantages, token counts and other batch-wide numbers are computed over every rank's samples
  (:func:`all_gather_objects`, :func:`all_sum`), so each rank's loss is its exact share of the loss
  of the union batch;
- gradients are then **summed** over ranks (:func:`all_reduce_gradients`), which gives the gradient
  of the union batch's loss, and every rank applies the same optimizer step, so parameters stay
  identical without ever being sent again.

Why not ``DistributedDataParallel`` or ``accelerate.Accelerator``: both synchronise inside
``backward()`` and so need every rank to run the same number of backward passes. Here a rank can
hold more micro-batches than another, or none at all (GRPO dropping groups whose rewards are all
equal), PPO's value head and fp32 master weights are separate from the model, and generation runs on
the bare model. One bucketed all-reduce of the optimizer's gradients just before the optimizer step
works for all of them; what it gives up is DDP's overlap of communication with the backward pass.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from envalign.envs.errors import ConfigError

T = TypeVar("T")

#: Gradients are all-reduced in flat buckets of at most this many elements.
BUCKET_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class Distributed:
    """Where this process stands in a data-parallel run.

    Attributes:
        world_size: Processes in the run (1: not distributed).
        rank: This process's index, 0 to ``world_size - 1``.
        local_rank: Its index on this machine (picks the GPU).
        backend: ``"nccl"``, ``"gloo"`` or ``None`` when not distributed.
        device: The device this rank trains on (``None``: as the config says).
        owns_group: Whether :func:`setup` created the process group (and :func:`shutdown` ends it).
    """

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str | None = None
    device: str | None = None
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """Whether this rank writes metrics, checkpoints and the final model."""
        return self.rank == 0


def setup(device: str = "auto") -> Distributed:
    """Join the process group a launcher prepared (a no-op for a single process).

    Args:
        device: The config's ``model.device``: ``auto`` or ``cuda*`` use ``cuda:LOCAL_RANK`` with
            nccl when CUDA is available; ``cpu`` (or no CUDA) uses gloo.

    Returns:
        This process's place in the run.

    Raises:
        ConfigError: If the config asks for CUDA on a machine without it.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    import torch
    import torch.distributed as dist

    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"model.device = '{device}' but this machine has no CUDA; use model.device: cpu "
            "(and launch with --cpu for accelerate)."
        )
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local_rank)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if cuda else "gloo")
    return Distributed(
        world_size=world_size,
        rank=rank,
        local_rank=local_rank,
        backend=dist.get_backend(),
        device=f"cuda:{local_rank}" if cuda else "cpu",
        owns_group=owns,
    )


def shutdown(place: Distributed) -> None:
    """Wait for every rank, then leave the process group if :func:`setup` made it."""
    if not place.owns_group:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _group() -> Any:
    """``torch.distributed`` when a group of more than one process is running, else ``None``."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return None
    return dist


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the running group; ``(0, 1)`` without one."""
    dist = _group()
    return (dist.get_rank(), dist.get_world_size()) if dist is not None else (0, 1)


def shard(items: Sequence[T]) -> list[T]:
    """This rank's share of ``items``: every ``world_size``-th item, starting at its rank."""
    rank, size = world()
    return list(items[rank::size])


def rank_seed(seed: int) -> int:
    """A sampling seed for this rank: ``seed`` itself on rank 0, derived from (seed, rank) else."""
    rank, _ = world()
    return seed if rank == 0 else random.Random(f"{seed}:rank:{rank}").randrange(2**31)


def all_gather_objects(value: T) -> list[T]:
    """Every rank's ``value`` (picklable), in rank order; ``[value]`` for one process."""
    dist = _group()
    if dist is None:
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def all_sum(values: Sequence[float]) -> list[float]:
    """Element-wise sums of ``values`` over ranks (float64); ``values`` for one process."""
    dist = _group()
    if dist is None:
        return [float(v) for v in values]
    import torch

    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=_device(dist))
    dist.all_reduce(tensor)
    return [float(v) for v in tensor.cpu()]


def barrier() -> None:
    """Wait until every rank gets here."""
    dist = _group()
    if dist is not None:
        dist.barrier()


def _device(dist: Any) -> Any:
    import torch

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_gradients(params: Sequence[Any]) -> None:
    """Sum every parameter's gradient over ranks, in place (a missing gradient counts as zeros).

    Each rank's loss is already its share of the union batch's loss, so the sum is that loss's
    gradient. Every rank must call this with the same parameters in the same order.
    """
    dist = _group()
    if dist is None:
        return
    import torch

    # A parameter no rank computed a gradient for keeps None, so the optimizer skips it as one
    # process would; one with a gradient on some ranks gets zeros on the others.
    flags = all_sum([0.0 if p.grad is None else 1.0 for p in params])
    used = [p for p, flag in zip(params, flags, strict=True) if flag > 0]
    for param in used:
        if param.grad is None:
            param.grad = torch.zeros_like(param)
    for bucket in _buckets([p.grad for p in used]):
        flat = torch.cat([g.reshape(-1) for g in bucket])
        dist.all_reduce(flat)
        offset = 0
        for grad in bucket:
            grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
            offset += grad.numel()


def _buckets(grads: list[Any]) -> list[list[Any]]:
    """Consecutive gradients of one dtype and device, at most :data:`BUCKET_ELEMENTS` per bucket."""
    buckets: list[list[Any]] = []
    size = 0
    for grad in grads:
        current = buckets[-1] if buckets else None
        fits = current is not None and size + grad.numel() <= BUCKET_ELEMENTS
        if (
            fits
            and current is not None
            and (grad.dtype, grad.device)
            == (
                current[0].dtype,
                current[0].device,
            )
        ):
            current.append(grad)
            size += grad.numel()
        else:
            buckets.append([grad])
            size = grad.numel()
    return buckets


def broadcast_state(modules: Sequence[Any]) -> None:
    """Copy rank 0's parameters and buffers into every rank (as DDP does at the start)."""
    dist = _group()
    if dist is None:
        return
    import torch

    with torch.no_grad():
        for module in modules:
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)
