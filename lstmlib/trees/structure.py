"""A forest as a parent array: validation, children, traversal order, heights, levels.

A batch of trees is ONE forest of ``N`` nodes, numbered ``0 .. N-1``, given by
``parent: (N,)`` integers: ``parent[j]`` is the index of node ``j``'s parent,
or ``-1`` when ``j`` is a root. The children of a node are ordered by their
node index (the N-ary Tree-LSTM's child positions 0, 1, ... follow that order).

The *height* of a node is the length of the longest path down to a leaf
(leaves 0); a node's children all have smaller heights, so all the nodes of one
height can be computed together once the lower heights are done: that is the
level batching of :mod:`lstmlib.nn.tree_lstm`. The *depth* of a node is its
distance from its root (roots 0), used to draw trees.

The checks here are vectorised (pointer doubling instead of a walk per node),
because :mod:`lstmlib.nn` validates the forest at every forward pass.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmlib._checks import check_positive_int, check_rank, check_rng

__all__ = [
    "check_parent",
    "children_lists",
    "merge_trees",
    "node_depths",
    "node_heights",
    "levels",
    "postorder",
    "random_tree",
]


def _as_integer_array(name: str, parent: Any) -> np.ndarray:
    """A NumPy integer array or a torch integer tensor as an int64 NumPy array (a copy)."""
    torch = sys.modules.get("torch")  # accept tensors without making NumPy code import torch
    if torch is not None and isinstance(parent, torch.Tensor):
        parent = parent.detach().cpu().numpy()
    if not isinstance(parent, np.ndarray):
        raise TypeError(
            f"{name} must be a NumPy array or torch tensor of integers (N,), -1 for a root; "
            f"got {type(parent).__name__}"
        )
    if parent.dtype == np.bool_ or not np.issubdtype(parent.dtype, np.integer):
        raise TypeError(f"{name} must have an integer dtype (e.g. int64, torch.long); got {parent.dtype}")
    check_rank(name, parent, (1,), "(N,)")
    if parent.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one node (N >= 1); got an empty array")
    return parent.astype(np.int64)


def _cycle_from(parent: np.ndarray, start: int) -> list[int]:
    """Follow parent pointers from ``start`` until a node repeats; return the cycle (slow path of errors)."""
    seen: dict[int, int] = {}
    path = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = int(parent[node])
    return path[seen[node]:] + [node]


def check_parent(parent: Any, n_ary: int | None = None, name: str = "parent") -> np.ndarray:
    """Validate a forest given as a parent array; return it as an int64 NumPy array (a copy).

    parent: (N,) NumPy integer array or torch integer tensor, ``parent[j]`` the
    parent of node ``j`` or ``-1`` for a root. n_ary: if given, the most
    children a node may have (an N-ary Tree-LSTM's ``n_ary``).

    Raises ``TypeError`` for a wrong type or dtype and ``ValueError`` for a
    wrong rank, an empty forest, an index out of range, a node that is its own
    parent, a cycle or, with ``n_ary``, a node with too many children.
    """
    parent = _as_integer_array(name, parent)
    N = parent.shape[0]
    bad = np.flatnonzero((parent < -1) | (parent >= N))
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"{name}[{j}] = {parent[j]} is out of range: a parent must be -1 (a root) or a node index "
            f"in 0 .. {N - 1} (N={N})"
        )
    loops = np.flatnonzero(parent == np.arange(N))
    if loops.size:
        j = int(loops[0])
        raise ValueError(f"{name}[{j}] = {j}: node {j} is its own parent (a self-loop); a root has parent -1")
    # Pointer doubling: after k rounds up[j] is the ancestor 2**k steps above j, or
    # the sentinel N once the walk has left the tree through a root. A node whose
    # walk never reaches the sentinel lies on a cycle or leads into one.
    up = np.append(np.where(parent < 0, N, parent), N)
    for _ in range(int(np.ceil(np.log2(N + 1))) + 1):
        up = up[up]
    stuck = np.flatnonzero(up[:N] != N)
    if stuck.size:
        cycle = _cycle_from(parent, int(stuck[0]))
        raise ValueError(
            f"{name} has a cycle: {' -> '.join(str(j) for j in cycle)} (each arrow goes to the node's parent); "
            f"a forest has none, every chain of parents must end at a root (-1)"
        )
    if n_ary is not None:
        n_ary = check_positive_int("n_ary", n_ary)
        counts = np.bincount(parent[parent >= 0], minlength=N)
        crowded = np.flatnonzero(counts > n_ary)
        if crowded.size:
            j = int(crowded[0])
            kids = np.flatnonzero(parent == j).tolist()
            raise ValueError(
                f"{name}: node {j} has {counts[j]} children {kids}, but an N-ary tree with n_ary={n_ary} "
                f"allows at most {n_ary} per node"
            )
    return parent


def children_lists(parent: Any) -> list[list[int]]:
    """``children[j]``: the children of node ``j`` in increasing index order (lists of ints)."""
    parent = check_parent(parent)
    children: list[list[int]] = [[] for _ in range(parent.shape[0])]
    for child, p in enumerate(parent.tolist()):
        if p >= 0:
            children[p].append(child)
    return children


def postorder(parent: Any) -> np.ndarray:
    """Every node once, each after all its children: (N,) int64.

    Trees come in the order of their roots' indices, children in index order,
    so the order is deterministic (a depth-first traversal, iterative: no
    recursion limit for deep trees).
    """
    parent = check_parent(parent)
    children = children_lists(parent)
    order = []
    for root in np.flatnonzero(parent < 0).tolist():
        # Each stack entry: a node and whether its children are already on the stack.
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(children[node]))
    return np.asarray(order, dtype=np.int64)


def _depths(parent: np.ndarray) -> np.ndarray:
    """Depths of a validated forest by pointer doubling: O(N log N) however deep the trees are."""
    N = parent.shape[0]
    # up[j]: an ancestor of j (N, a sentinel, above the roots); dist[j]: how many edges up it is
    up = np.append(np.where(parent < 0, N, parent), N)
    dist = np.append((parent >= 0).astype(np.int64), 0)
    while (up[:N] != N).any():
        dist, up = dist + dist[up], up[up]
    return dist[:N]


def node_heights(parent: Any) -> np.ndarray:
    """Height of every node, the longest path down to a leaf (leaves 0): (N,) int64."""
    parent = check_parent(parent)
    depth = _depths(parent)
    height = np.zeros(parent.shape[0], dtype=np.int64)
    by_depth = np.argsort(-depth, kind="stable")
    bounds = np.searchsorted(-depth[by_depth], -np.arange(depth.max(), 0, -1) + 1)
    # deepest nodes first: when a depth is done, its parents' heights are final
    # height[p] = max over the children k of p of (height[k] + 1)
    for nodes in np.split(by_depth, bounds)[:-1]:
        np.maximum.at(height, parent[nodes], height[nodes] + 1)
    return height


def node_depths(parent: Any) -> np.ndarray:
    """Depth of every node, its distance from its root (roots 0): (N,) int64."""
    return _depths(check_parent(parent))


def levels(parent: Any) -> list[np.ndarray]:
    """The nodes grouped by height: ``levels[k]`` holds the nodes of height k, in index order.

    Every child of a node in ``levels[k]`` lies in an earlier level, so the
    levels can be evaluated one after another, each in one batched step.
    """
    height = node_heights(parent)
    order = np.argsort(height, kind="stable")
    bounds = np.searchsorted(height[order], np.arange(height.max() + 2))
    return [order[bounds[k]:bounds[k + 1]] for k in range(height.max() + 1)]


def random_tree(n_nodes: int, rng=None, max_children: int | None = None) -> np.ndarray:
    """A random tree of ``n_nodes`` nodes: ``parent: (n_nodes,)`` int64, node 0 the root.

    Each node ``k >= 1`` picks its parent uniformly among the nodes ``0 .. k-1``
    that have fewer than ``max_children`` children (any node if None), a
    random recursive tree: its height grows like ``log(n_nodes)``. With
    ``max_children=1`` it is a chain. rng: None, an int seed or a Generator.
    """
    n_nodes = check_positive_int("n_nodes", n_nodes)
    if max_children is not None:
        max_children = check_positive_int("max_children", max_children)
    gen = check_rng("rng", rng)
    parent = np.full(n_nodes, -1, dtype=np.int64)
    open_nodes = [0]  # nodes that can still take a child
    counts = np.zeros(n_nodes, dtype=np.int64)
    for k in range(1, n_nodes):
        slot = int(gen.integers(len(open_nodes)))
        p = open_nodes[slot]
        parent[k] = p
        counts[p] += 1
        if max_children is not None and counts[p] == max_children:
            open_nodes[slot] = open_nodes[-1]  # remove p in O(1)
            open_nodes.pop()
        open_nodes.append(k)
    return parent


def merge_trees(trees: Sequence[tuple[Sequence[Any], Any]]) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Merge several trees (or forests) into one forest by offsetting their node indices.

    trees: a sequence of ``(tokens, parent)`` pairs, ``tokens`` one label per
    node. Returns ``tokens`` (one list), ``parent: (N,)`` int64 and
    ``offsets: (len(trees) + 1,)`` int64: tree ``t`` is nodes
    ``offsets[t] .. offsets[t+1] - 1`` of the forest.
    """
    if not isinstance(trees, (list, tuple)) or len(trees) == 0:
        got = f"an empty {type(trees).__name__}" if isinstance(trees, (list, tuple)) else type(trees).__name__
        raise ValueError(f"trees must be a non-empty list of (tokens, parent) pairs; got {got}")
    all_tokens: list[Any] = []
    parents = []
    offsets = [0]
    for t, pair in enumerate(trees):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"trees[{t}] must be a (tokens, parent) pair; got {type(pair).__name__}")
        tokens, parent = pair
        parent = check_parent(parent, name=f"trees[{t}] parent")
        if len(tokens) != parent.shape[0]:
            raise ValueError(
                f"trees[{t}] must have one token per node: parent has N={parent.shape[0]} nodes, "
                f"tokens has {len(tokens)}"
            )
        # shift every parent index by the nodes before this tree; roots stay -1
        parents.append(np.where(parent >= 0, parent + offsets[-1], -1))
        all_tokens.extend(tokens)
        offsets.append(offsets[-1] + parent.shape[0])
    return all_tokens, np.concatenate(parents), np.asarray(offsets, dtype=np.int64)
