"""Data-parallel training: the pieces a training script needs to run unchanged under ``torchrun``.

``torchrun --nproc_per_node N script.py`` starts N copies of a script and
tells each, through environment variables, its rank (0 … N-1) and the world
size N. Each copy holds a full replica of the model, trains on its own share
of every batch, and ``torch.nn.parallel.DistributedDataParallel`` averages
the gradients across copies during ``backward()``; since every replica then
takes the same optimiser step from the same weights, they stay identical.

With a global batch of B sequences split into N shares of B/N, and a loss
that is the mean over a share, the averaged gradient is exactly the
gradient of the mean loss over the whole batch: N workers at B/N follow the
curve of one worker at B, up to floating-point rounding (the order in which
the sums are taken differs).

* :func:`setup` -- join the process group torchrun describes (gloo on CPU,
  NCCL on GPUs), or run alone when the script is started without torchrun.
* :func:`shard` -- the slice of a batch's columns that belongs to a rank.
* :func:`mean_over_workers`, :func:`gather_columns` -- a number averaged over
  workers (for logging), and per-worker columns stitched back into the whole batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from lstmlib._checks import check_positive_int

__all__ = ["World", "gather_columns", "mean_over_workers", "setup", "shard", "teardown"]


@dataclass(frozen=True)
class World:
    """Where this process stands: ``rank`` in ``0 … size-1``, its ``device``, and the gradient ``backend``."""

    rank: int
    size: int
    device: torch.device
    backend: str | None  # None when running alone

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the one that prints and writes files."""
        return self.rank == 0


def setup() -> World:
    """Join the process group that ``torchrun`` set up in the environment, or run alone without it.

    torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous
    address; with them, this initialises ``torch.distributed`` with NCCL when
    CUDA is available (one GPU per local rank) and gloo otherwise. Without them
    (a plain ``python script.py``) it returns a world of one on the CPU, or on
    the first GPU if there is one.
    """
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1 or "RANK" not in os.environ:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return World(0, 1, device, None)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        backend, device = "nccl", torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        backend, device = "gloo", torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return World(dist.get_rank(), dist.get_world_size(), device, backend)


def teardown(world: World) -> None:
    """Leave the process group (a no-op when running alone)."""
    if world.backend is not None and dist.is_initialized():
        dist.destroy_process_group()


def shard(batch_size: int, world: World) -> slice:
    """The columns ``start:stop`` of a global batch of ``batch_size`` that rank ``world.rank`` trains on.

    The shares are contiguous and equal, so ``batch_size`` must be a multiple
    of the world size (unequal shares would weight some sequences more than
    others in the averaged gradient).
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if batch_size % world.size:
        raise ValueError(f"batch_size must be a multiple of the number of workers ({world.size}) so every worker "
                         f"gets an equal share; got {batch_size}")
    share = batch_size // world.size
    return slice(world.rank * share, (world.rank + 1) * share)


def mean_over_workers(value: float, world: World) -> float:
    """``value`` averaged over every worker (each passes its own), e.g. the loss of its share of the batch."""
    if world.backend is None:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64, device=world.device)
    dist.all_reduce(t)
    return float(t.item()) / world.size


def gather_columns(tensor: torch.Tensor, world: World, dim: int = 1) -> torch.Tensor:
    """Every worker's equal share of a batch, stitched back together along ``dim`` in rank order.

    tensor: this worker's share, e.g. an LSTM state ``(layers, B/N, H)``; returns ``(layers, B, H)``
    on every worker.
    """
    if world.backend is None:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(world.size)]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts, dim=dim)
