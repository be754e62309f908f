"""Training curves and per-unit traces over time."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from lstmlib._checks import check_rank
from lstmlib.train import History


def plot_loss(history: History, *, ax=None, label: str | None = None, baseline: float | None = None,
              baseline_label: str = "baseline", window: int = 20, title: str | None = None):
    """Plot a training loss, raw (faint) and as a running mean over ``window`` steps.

    ``baseline`` draws a horizontal reference line, e.g. the loss of guessing.
    Returns the axes.
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a lstmlib.train.History; got {type(history).__name__}")
    ax = ax if ax is not None else plt.figure(figsize=(6, 3.2)).gca()
    steps = np.arange(1, len(history.loss) + 1)
    (line,) = ax.plot(steps, history.smoothed_loss(window), label=label, lw=2)
    ax.plot(steps, history.loss, color=line.get_color(), alpha=0.25, lw=0.8)
    if baseline is not None:
        ax.axhline(baseline, color="0.5", ls="--", lw=1, label=baseline_label)
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if label is not None or baseline is not None:
        ax.legend(frameon=False)
    return ax


def plot_over_time(values, *, ax=None, title: str | None = None, ylabel: str = "value", highlight=None):
    """Plot each column of ``values`` (shape ``(T, H)``: one line per unit) against the time step.

    ``highlight`` is a unit index (or list of them) drawn thick; the others are drawn thin.
    Returns the axes.
    """
    values = np.asarray(values)
    check_rank("values", values, (2,), "(T, H)")
    ax = ax if ax is not None else plt.figure(figsize=(6, 3.2)).gca()
    marked = set(np.atleast_1d(highlight).tolist()) if highlight is not None else set()
    for unit in range(values.shape[1]):
        thick = unit in marked
        ax.plot(values[:, unit], lw=2.2 if thick else 0.8, alpha=1.0 if thick or not marked else 0.45,
                label=f"unit {unit}" if thick else None)
    ax.set_xlabel("time step t")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if marked:
        ax.legend(frameon=False)
    return ax
