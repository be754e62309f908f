"""Draw a tree (or a whole forest) given as ``(tokens, parent)`` with matplotlib."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmlib.trees.structure import check_parent, children_lists, node_depths

__all__ = ["draw_tree", "tree_layout"]


def tree_layout(parent: Any) -> np.ndarray:
    """Positions ``(N, 2)`` for drawing: x from the leaves' left-to-right order, y = -depth.

    Leaves sit at x = 0, 1, 2, ... in depth-first order (children by index);
    an internal node sits midway between its first and last child. The trees
    of a forest follow each other left to right, in the order of their roots.
    """
    parent = check_parent(parent)
    children = children_lists(parent)
    x = np.zeros(parent.shape[0])
    next_leaf = 0.0
    for root in np.flatnonzero(parent < 0).tolist():
        stack = [(root, False)]
        while stack:  # post-order, so children are placed before their parent
            node, expanded = stack.pop()
            if not children[node]:
                x[node], next_leaf = next_leaf, next_leaf + 1
            elif expanded:
                x[node] = (x[children[node][0]] + x[children[node][-1]]) / 2
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(children[node]))
        next_leaf += 0.5  # a little gap between trees
    return np.stack([x, -node_depths(parent).astype(float)], axis=1)


def draw_tree(tokens: Sequence[Any] | None, parent: Any, *, ax=None, show_index: bool = False,
              colors: Sequence[Any] | None = None, fontsize: float = 11, title: str | None = None):
    """Draw the tree (or forest) ``parent`` with each node's token as its label.

    tokens: one label per node, or None to label nodes by their index;
    show_index: add each node's index under its label (``"+\\n#0"``), to
    read the parent array off the figure; colors: one matplotlib colour per
    node (e.g. by height), default a light blue. Returns the Axes.
    """
    import matplotlib.pyplot as plt  # here, so that importing lstmlib.trees does not load pyplot

    parent = check_parent(parent)
    N = parent.shape[0]
    if tokens is None:
        labels = [str(j) for j in range(N)]
    else:
        if len(tokens) != N:
            raise ValueError(f"tokens must have one label per node (N={N} in parent); got {len(tokens)}")
        labels = [f"{token}\n#{j}" if show_index else str(token) for j, token in enumerate(tokens)]
    if colors is not None and len(colors) != N:
        raise ValueError(f"colors must have one colour per node (N={N} in parent); got {len(colors)}")
    xy = tree_layout(parent)
    width, height = np.ptp(xy[:, 0]) + 1, np.ptp(xy[:, 1]) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(min(1.0 + 0.7 * width, 16), 0.6 + 0.9 * height))
    for child in np.flatnonzero(parent >= 0):
        (x0, y0), (x1, y1) = xy[parent[child]], xy[child]
        ax.plot([x0, x1], [y0, y1], color="0.55", lw=1.2, zorder=1)
    for j in range(N):
        ax.text(xy[j, 0], xy[j, 1], labels[j], ha="center", va="center", fontsize=fontsize, zorder=2,
                bbox=dict(boxstyle="round,pad=0.3", fc=colors[j] if colors is not None else "#dbe9f6",
                          ec="0.35", lw=0.8))
    ax.set_xlim(xy[:, 0].min() - 0.6, xy[:, 0].max() + 0.6)
    ax.set_ylim(xy[:, 1].min() - 0.6, xy[:, 1].max() + 0.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
