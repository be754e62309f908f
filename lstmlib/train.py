"""One small training loop for every chapter: seeded, clipped, with a history.

The chapters train many small models; they all go through :func:`train`, so
that seeding, gradient clipping and what gets recorded are the same
everywhere and the loop is written once. The loss functions that carry
state between batches (:func:`truncated_bptt_loss`) live here too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from lstmlib._checks import check_choice, check_next_token_model, check_positive_int, check_positive_number

__all__ = ["History", "seed_everything", "train", "truncated_bptt_loss"]


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
    optimizer: str | torch.optim.Optimizer = "adam",
    on_step: Callable[[int, float], None] | None = None,
) -> History:
    """Optimise ``model`` for ``steps`` steps and return the :class:`History`.

    Args:
        model: the module whose parameters are trained.
        loss_fn: ``loss_fn(step) -> scalar loss``; it draws its own batch for
            that step (from a seeded generator) and runs the model on it.
        steps: number of optimisation steps.
        lr: learning rate.
        clip: maximum global gradient norm, or None for no clipping.
        optimizer: ``"adam"`` or ``"sgd"`` (a fresh one at ``lr``), or an optimiser
            over ``model``'s parameters that the caller keeps, e.g. to save its state
            in a checkpoint and resume (``lr`` is then the optimiser's own).
        on_step: called as ``on_step(step, loss)`` after each step, e.g. to
            move a progress bar; None for nothing.
    """
    steps = check_positive_int("steps", steps)
    lr = check_positive_number("lr", lr)
    if clip is not None:
        clip = check_positive_number("clip", clip)
    optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    if not isinstance(optimizer, torch.optim.Optimizer):
        check_choice("optimizer", optimizer, sorted(optimizers))
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be None or a function on_step(step, loss); got {type(on_step).__name__}")
    if isinstance(optimizer, torch.optim.Optimizer):
        opt = optimizer
    else:
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
        if on_step is not None:
            on_step(step, history.loss[-1])
    model.eval()
    return history


def truncated_bptt_loss(model: torch.nn.Module, batches: Iterator[tuple[np.ndarray, np.ndarray]]):
    """A ``loss_fn(step)`` for :func:`train` that carries the state across batches.

    ``batches`` yields consecutive ``(x, y)`` windows, each ``(T, B)`` int64
    (:func:`lstmlib.data.shakespeare.consecutive_windows`); ``model`` is a
    next-token model such as :class:`lstmlib.models.CharLSTM`. Each step starts
    from the state where the previous batch ended, detached: the values flow
    on, the gradient stops at the window's start (truncated backpropagation
    through time). The loss is the mean next-character cross-entropy in nats.
    """
    model = check_next_token_model("model", model)
    state = None

    def loss_fn(step: int) -> torch.Tensor:
        nonlocal state
        x, y = next(batches)  # (T, B) each
        if state is not None:
            state = tuple(s.detach() for s in state)  # keep the values, cut the graph
        logits, state = model(torch.from_numpy(x), state)  # (T, B, V)
        return F.cross_entropy(logits.flatten(0, 1), torch.from_numpy(y).flatten())

    return loss_fn
