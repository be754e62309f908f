"""One small training loop for every chapter: seeded, clipped, with a history.

The chapters train many small models; they all go through :func:`train`, so
that seeding, gradient clipping and what gets recorded are the same
everywhere and the loop is written once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from lstmlib._checks import check_positive_int


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class History:
    """What :func:`train` recorded, one entry per optimisation step.

    ``loss`` is the training loss of the step's batch, ``grad_norm`` the
    global gradient norm *before* clipping (so a chapter can show how often
    clipping acted).
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)

    def smoothed_loss(self, window: int = 20) -> np.ndarray:
        """Running mean of the loss over ``window`` steps, shape ``(steps,)``."""
        window = check_positive_int("window", window)
        loss = np.asarray(self.loss, dtype=np.float64)
        cumsum = np.concatenate([[0.0], np.cumsum(loss)])
        end = np.arange(1, loss.size + 1)
        start = np.maximum(end - window, 0)
        return (cumsum[end] - cumsum[start]) / (end - start)

def train(
    model: torch.nn.Module,
    loss_fn: Callable[[int], torch.Tensor],
    *,
    steps: int,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    optimizer: str = "adam",
) -> History:
    """Optimise ``model`` for ``steps`` steps and return the :class:`History`.

    Args:
        model: the module whose parameters are trained.
        loss_fn: ``loss_fn(step) -> scalar loss``; it draws its own batch for
            that step (from a seeded generator) and runs the model on it.
        steps: number of optimisation steps.
        lr: learning rate.
        clip: maximum global gradient norm, or None for no clipping.
        optimizer: ``"adam"`` or ``"sgd"``.
    """
    steps = check_positive_int("steps", steps)
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr <= 0:
        raise ValueError(f"lr must be a positive number; got {lr!r}")
    if clip is not None and (not isinstance(clip, (int, float)) or isinstance(clip, bool) or clip <= 0):
        raise ValueError(f"clip must be a positive number or None; got {clip!r}")
    optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    if optimizer not in optimizers:
        raise ValueError(f"optimizer must be one of {sorted(optimizers)}; got {optimizer!r}")
    opt = optimizers[optimizer](model.parameters(), lr=lr)
    history = History()
    model.train()
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(step)
        if loss.ndim != 0:
            raise ValueError(f"loss_fn must return a scalar tensor; got shape {tuple(loss.shape)}")
        loss.backward()
        # clip_grad_norm_ returns the norm before clipping; with max_norm=inf it only measures.
        max_norm = float("inf") if clip is None else clip
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        opt.step()
        history.loss.append(loss.item())
        history.grad_norm.append(float(grad_norm))
    model.eval()
    return history
