"""Time the Tree-LSTMs' level batching against per-node recursion; print a Markdown table.

    python benchmarks/bench_tree_lstm.py               # 1 thread and torch's default thread count
    python benchmarks/bench_tree_lstm.py --threads 1   # one thread only

The forest: 128 random trees of 20-40 nodes each (uniform sizes; random
recursive trees with at most 2 children per node, so the same forest feeds the
child-sum and the binary N-ary cell), D = H = 64, float32. "level batching" is
``lstmlib.nn.ChildSumTreeLSTM`` / ``NaryTreeLSTM``: one batched step per node
height across the whole forest. "recursion" is the straightforward
implementation written below: a recursive function that computes a node's
children, then the node, with the same parameters (the module's). "forward"
runs under ``torch.no_grad()``; "forward+backward" back-propagates
``h.sum() + c.sum()`` over every node to the parameters. Timing as in
``bench_recurrent.py`` (whose helpers this script imports): the two sides
alternate for a number of rounds after one warm-up round, and the fastest
round of each is reported. The recursion's forward+backward takes seconds per
round, so the whole run takes a few minutes on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime
import os

import numpy as np
import torch
from torch.nn import functional as F

import lstmlib.nn as lnn
from lstmlib.benchmarking import cpu_name, cpu_pressure, time_pair
from lstmlib.trees import children_lists, merge_trees, node_heights, random_tree

N_TREES, MIN_NODES, MAX_NODES, D, H, N_ARY = 128, 20, 40, 64, 64, 2


def random_forest(seed: int = 0) -> np.ndarray:
    """128 random trees of 20-40 nodes (at most N_ARY children each), merged: parent (N,)."""
    rng = np.random.default_rng(seed)
    trees = []
    for _ in range(N_TREES):
        n = int(rng.integers(MIN_NODES, MAX_NODES + 1))
        trees.append(([None] * n, random_tree(n, rng=rng, max_children=N_ARY)))
    return merge_trees(trees)[1]


def recursive_tree_lstm(module: torch.nn.Module, x: torch.Tensor, parent: np.ndarray):
    """The straightforward Tree-LSTM: recurse into the children, then compute the node. -> h, c: (N, H)."""
    children = children_lists(parent)
    n_ary = getattr(module, "n_ary", None)
    W_ih, W_hh = module.weight_ih, module.weight_hh
    b = module.bias_ih + module.bias_hh
    h: list = [None] * len(children)
    c: list = [None] * len(children)

    def visit(j: int) -> None:
        for k in children[j]:
            visit(k)
        a_i, a_f, a_g, a_o = F.linear(x[j], W_ih, b).chunk(4)
        kids = children[j]
        if n_ary is None:  # child-sum
            h_kids = torch.stack([h[k] for k in kids]) if kids else x.new_zeros((0, H))
            c_kids = torch.stack([c[k] for k in kids]) if kids else x.new_zeros((0, H))
            z_i, _, z_g, z_o = (W_hh @ h_kids.sum(0)).chunk(4)
            f = torch.sigmoid(a_f + h_kids @ W_hh[H:2 * H].t())
        else:  # N-ary: missing children are zero states
            zero = x.new_zeros(H)
            h_kids = torch.stack([h[k] for k in kids] + [zero] * (n_ary - len(kids)))
            c_kids = torch.stack([c[k] for k in kids] + [zero] * (n_ary - len(kids)))
            z_i, z_f, z_g, z_o = (W_hh @ h_kids.reshape(-1)).split([H, n_ary * H, H, H])
            f = torch.sigmoid(a_f + z_f.view(n_ary, H))
        i, g, o = torch.sigmoid(a_i + z_i), torch.tanh(a_g + z_g), torch.sigmoid(a_o + z_o)
        c[j] = i * g + (f * c_kids).sum(0)
        h[j] = o * torch.tanh(c[j])

    for root in np.flatnonzero(parent < 0).tolist():
        visit(root)
    return torch.stack(h), torch.stack(c)


def make_steps(module, x, parent, backward: bool):
    parent_t = torch.from_numpy(parent)

    def run(fn):
        if not backward:
            with torch.no_grad():
                fn()
            return
        module.zero_grad(set_to_none=True)
        h, c = fn()
        (h.sum() + c.sum()).backward()

    return (lambda: run(lambda: recursive_tree_lstm(module, x, parent)),
            lambda: run(lambda: module(x, parent_t)))


def bench(device: str, threads: int, rounds: int, parent: np.ndarray) -> list[tuple]:
    rows = []
    for name, module_cls, args in (("child-sum", lnn.ChildSumTreeLSTM, ()), (f"N-ary (n={N_ARY})",
                                                                             lnn.NaryTreeLSTM, (N_ARY,))):
        torch.manual_seed(0)
        module = module_cls(D, H, *args, device=device)
        x = torch.randn(parent.shape[0], D, device=device)
        with torch.no_grad():  # same weights, same answer: check before timing
            h_rec, c_rec = recursive_tree_lstm(module, x, parent)
            h_lvl, c_lvl = module(x, torch.from_numpy(parent))
        gap = max((h_rec - h_lvl).abs().max().item(), (c_rec - c_lvl).abs().max().item())
        assert gap < 1e-4, f"{name}: level batching and recursion disagree by {gap}"
        for backward in (False, True):
            t_rec, t_lvl = time_pair(*make_steps(module, x, parent, backward), device, rounds, warmup=1)
            label = "forward+backward" if backward else "forward (no_grad)"
            rows.append((device, threads, name, label, t_rec * 1e3, t_lvl * 1e3, t_rec / t_lvl))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_threads = sorted({1, torch.get_num_threads()})
    parser.add_argument("--threads", type=int, nargs="+", default=default_threads,
                        help="intra-op CPU thread counts to time (default: 1 and torch's default, %(default)s)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per measurement (default 7)")
    args = parser.parse_args()

    parent = random_forest()
    heights = node_heights(parent)
    roots = np.flatnonzero(parent < 0)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"date: {datetime.date.today().isoformat()}; torch {torch.__version__}; CPU: {cpu_name()}, "
          f"{torch.get_num_threads()} default threads of {os.cpu_count()} logical CPUs")
    if "cuda" in devices:
        print(f"GPU: {torch.cuda.get_device_name()}")
    print(f"forest: {len(roots)} trees, N={parent.shape[0]} nodes, tree heights {heights[roots].min()}-"
          f"{heights[roots].max()} ({heights.max() + 1} levels); D={D}, H={H}, float32; "
          f"fastest of {args.rounds} alternating rounds")
    print(f"CPU pressure before the run (time tasks waited for a CPU): {cpu_pressure()}\n")
    rows = []
    for device in devices:
        for threads in (args.threads if device == "cpu" else [torch.get_num_threads()]):
            torch.set_num_threads(threads)
            print(f"timing on {device} with torch.set_num_threads({threads}) ...", flush=True)
            rows += bench(device, threads, args.rounds, parent)
    print(f"\nCPU pressure after the run: {cpu_pressure()}\n")
    print("| device | threads | cell | pass | recursion (ms) | level batching (ms) | speed-up |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: |")
    for device, threads, name, label, t_rec, t_lvl, speedup in rows:
        print(f"| {device} | {threads} | {name} | {label} | {t_rec:.1f} | {t_lvl:.2f} | {speedup:.1f}x |")


if __name__ == "__main__":
    main()
