"""The CTC lattice: the forward variables of :func:`lstmlib.reference.ctc.ctc_forward` drawn as a grid."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from lstmlib.reference.ctc import ctc_betas, ctc_forward, extended_targets

__all__ = ["plot_ctc_lattice"]


def plot_ctc_lattice(log_probs: np.ndarray, target, *, ax=None, blank: int = 0, label_names=None,
                     show_posterior: bool = True, min_share: float = 1e-12, title: str | None = None):
    """Draw the CTC lattice of one utterance: states ``l'`` (rows) against frames (columns).

    ``log_probs``: ``(T, C)`` log-probabilities of one utterance; ``target``:
    its label ids ``(S,)``. Each node ``(t, s)`` is shaded by the share of
    the total probability that passes through it, ``exp(alpha + beta -
    log y - log p)`` (``show_posterior``), or by ``alpha[t, s]`` alone
    (normalised per frame) otherwise; grey arrows are the moves the
    recursion allows (stay, next state, skip a blank between different
    labels), drawn where both ends carry more than ``min_share`` of the
    total (the default: where both can lie on a complete alignment; raise
    it to see only the paths that matter).
    ``label_names`` maps a class id to what the row shows (default: the id;
    the blank shows as ``-``). Returns the axes.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must have 2 dimensions (T, C); got shape {log_probs.shape}")
    target = np.asarray(target, dtype=np.int64).reshape(-1)
    T = log_probs.shape[0]
    loss, cache = ctc_forward(log_probs[:, None], target[None], np.array([T]), np.array([target.size]), blank=blank)
    if not np.isfinite(loss[0]):
        raise ValueError(f"target needs more frames than the T={T} given: no alignment fits")
    extended = extended_targets(target, blank)
    alpha, beta = cache["alphas"][0], ctc_betas(cache)[0]
    occupancy = np.exp(alpha + beta - log_probs[:, extended] + loss[0])  # (T, 2S + 1): sums to 1 per frame
    if show_posterior:
        shade = occupancy
    else:
        shade = np.exp(alpha - np.logaddexp.reduce(alpha, axis=1, keepdims=True))
    ax = ax if ax is not None else plt.figure(figsize=(max(4.0, 0.45 * T), 0.42 * extended.size + 1.0)).gca()
    reachable = occupancy > min_share
    for t in range(T - 1):
        for s in range(extended.size):
            if not reachable[t, s]:
                continue
            moves = [s, s + 1] + ([s + 2] if s + 2 < extended.size and extended[s + 2] != blank
                                  and extended[s + 2] != extended[s] else [])
            for to in moves:
                if to < extended.size and reachable[t + 1, to]:
                    ax.annotate("", xy=(t + 1, to), xytext=(t, s),
                                arrowprops=dict(arrowstyle="-|>", color="0.75", lw=0.6, shrinkA=5, shrinkB=5))
    tt, ss = np.meshgrid(np.arange(T), np.arange(extended.size), indexing="ij")
    ax.scatter(tt.ravel(), ss.ravel(), c=shade.ravel(), cmap="Blues", vmin=0, vmax=1, s=70, edgecolors="0.4",
               linewidths=0.5, zorder=3)
    names = [("-" if c == blank else str(label_names[c] if label_names is not None else c)) for c in extended]
    ax.set_yticks(range(extended.size), names)
    ax.set_ylim(extended.size - 0.5, -0.5)  # the first state at the top
    ax.set_xlabel("frame t")
    ax.set_ylabel("state of l'")
    if title:
        ax.set_title(title)
    return ax
