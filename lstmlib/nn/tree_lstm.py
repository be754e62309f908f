"""Tree-LSTMs (Tai et al. 2015) in PyTorch: child-sum and N-ary, with level batching.

A batch of trees is one forest: ``x: (N, D)`` node inputs and ``parent: (N,)``
integers (a ``torch.long`` tensor or a NumPy array), ``-1`` for a root; the
N-ary cell's child ``ℓ`` is a node's ℓ-th child by node index. ``forward(x,
parent) -> (h, c)``, each ``(N, H)``: the state of every node. Equations,
parameter names and shapes are those of :mod:`lstmlib.reference.tree_lstm`,
so one ``state_dict`` loads into both.

Speed: **level batching**. A node can be computed once all its children are,
and all the nodes of one height (the longest path down to a leaf) depend only
on lower heights. So the forward makes one pass per height, each evaluating
every node of that height in the whole forest at once: a forest of 128 trees
of height 8 takes 9 batched steps instead of thousands of per-node ones. The
input projection ``W x + b`` of all nodes is one matmul before the loop. The
states live in one buffer, sorted by height, with a zero row in front (row 0),
the state of a missing child; children are gathered by row index, and the
child-sum's sums are ``index_add``. The level loop is one autograd node with
a hand-written backward that walks the heights downwards, keeping one
gradient buffer per state (the mirror of the reference's per-node backward);
plain autograd through the loop would materialise a full-size gradient for
every gather of children at every level, several times slower.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import _checks
from ..trees import check_parent, node_heights
from .deploy import TorchInterop, refuse_jit_trace
from .fast_paths import Tanh
from .higher_order import differentiable_backward_wanted, materialize, vjp_by_autograd, vmap_by_samples
from .init import reset_uniform_

__all__ = ["ChildSumLevels", "ChildSumTreeLSTM", "NaryLevels", "NaryTreeLSTM", "nary_levels"]


class LevelPlan:
    """Which buffer rows each height reads and writes, computed once per forest (NumPy, then one copy to the device).

    ``rows[j]``: buffer row of node j (1 + its rank when sorted by height, row 0
    the zero state); ``perm``: the nodes in that order; level k is rows
    ``bounds[k] + 1 .. bounds[k+1]``. For a child-sum cell, level k's children
    ``child_rows[k]`` and the within-level index ``slot[k]`` of each one's parent;
    for an N-ary cell, ``table[k]``: ``(n_k * n,)`` rows of every node's n child
    slots (0 where a child is missing).
    """

    def __init__(self, parent: np.ndarray, n_ary: int | None, device: torch.device) -> None:
        N = parent.shape[0]
        height = node_heights(parent)
        perm = np.argsort(height, kind="stable")
        self.bounds = np.concatenate([[0], np.cumsum(np.bincount(height))]).tolist()
        rows = np.empty(N, dtype=np.int64)
        rows[perm] = np.arange(1, N + 1)
        # the children, grouped by their parent's row (so by the parent's level), in index order
        kids = np.flatnonzero(parent >= 0)
        kids = kids[np.argsort(rows[parent[kids]], kind="stable")]
        parent_rows = rows[parent[kids]]
        kid_bounds = np.searchsorted(parent_rows, np.asarray(self.bounds) + 1).tolist()
        pieces = {"perm": perm, "rows": rows}
        for k in range(1, len(self.bounds) - 1):
            lo, hi = kid_bounds[k], kid_bounds[k + 1]
            if n_ary is None:
                pieces[f"child_rows{k}"] = rows[kids[lo:hi]]
                pieces[f"slot{k}"] = parent_rows[lo:hi] - 1 - self.bounds[k]
        if n_ary is not None:
            # rank of each child among its siblings: its distance from the first child of its parent
            first = np.flatnonzero(np.r_[True, parent_rows[1:] != parent_rows[:-1]])
            rank = np.arange(len(kids)) - np.repeat(first, np.diff(np.r_[first, len(kids)]))
            table = np.zeros((N, n_ary), dtype=np.int64)
            table[parent_rows - 1, rank] = rows[kids]
            for k in range(1, len(self.bounds) - 1):
                pieces[f"table{k}"] = table[self.bounds[k]:self.bounds[k + 1]].reshape(-1)
        # one host-to-device copy for all the index arrays, then views into it
        flat = torch.from_numpy(np.concatenate(list(pieces.values()))).to(device)
        self._index = dict(zip(pieces, flat.split([len(p) for p in pieces.values()])))

    def __getitem__(self, key: str) -> torch.Tensor:
        return self._index[key]

    @property
    def num_levels(self) -> int:
        return len(self.bounds) - 1

    def span(self, k: int) -> slice:
        """Buffer rows of level k."""
        return slice(self.bounds[k] + 1, self.bounds[k + 1] + 1)


class _TreeLSTMBase(TorchInterop, nn.Module):
    """Parameters (registered like ``torch.nn.LSTMCell``'s), initialisation and input checks.

    ``n_ary``: the N-ary cell's number of child positions, None for the child-sum cell.
    """

    def __init__(self, input_size: int, hidden_size: int, n_ary: int | None, bias: bool, device: Any,
                 dtype: Any) -> None:
        super().__init__()
        self.n_ary = n_ary
        self.input_size = _checks.check_positive_int("input_size", input_size)
        self.hidden_size = _checks.check_positive_int("hidden_size", hidden_size)
        self.bias = _checks.check_bool("bias", bias)
        H, n = self.hidden_size, self.n_ary or 1
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty((4 * H, self.input_size), **factory))
        # child-sum: (4H, H); N-ary: ((n+3)H, nH), the forget block holding one row block per child
        self.weight_hh = nn.Parameter(torch.empty(((n + 3) * H if self.n_ary else 4 * H, n * H), **factory))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(4 * H, **factory))
            self.bias_hh = nn.Parameter(torch.empty(4 * H, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), as torch's LSTM."""
        reset_uniform_(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.n_ary is not None:
            s += f", n_ary={self.n_ary}"
        return s + ("" if self.bias else ", bias=False")

    def _prepare(self, x: Any, parent: Any) -> tuple[torch.Tensor, LevelPlan]:
        """Validate ``x: (N, D)`` and ``parent: (N,)``; return every node's input projection and the plan."""
        refuse_jit_trace(self)
        _checks.check_array_type("x", x, torch.Tensor, "a torch.Tensor (N, D) of node inputs")
        _checks.check_features("x", x, (2,), "(N, D)", self.input_size, self.weight_ih)
        if x.shape[0] == 0:
            raise ValueError(f"x must hold at least one node (N >= 1); got shape {tuple(x.shape)}")
        parent = check_parent(parent, n_ary=self.n_ary)
        if parent.shape[0] != x.shape[0]:
            raise ValueError(f"parent must have one entry per node, the N={x.shape[0]} rows of x (N, D); "
                             f"got shape {parent.shape}")
        bias = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        # a_j = W x_j + b for every node at once, then sorted by height   (N, 4H)
        plan = LevelPlan(parent, self.n_ary, x.device)
        xw = F.linear(x, self.weight_ih, bias).index_select(0, plan["perm"])
        return xw, plan


def _child_sum_levels(xw: torch.Tensor, weight_hh: torch.Tensor, plan: LevelPlan, keep: bool):
    """The child-sum recurrence, one batched step per height; no autograd.
    Book: :eq:`child-sum-tree-lstm` (chapter II.4, Tree-LSTMs: child-sum and N-ary).

    ``xw: (N, 4H)`` every node's ``W x + b``, in height order. Returns the
    buffers ``h, c: (N+1, H)`` (row 0 zero, node rows in height order) and,
    with ``keep``, what the backward needs: ``acts: (N, 4, H)``, each node's
    i, f, g, o, where its f is the forget gate its *parent* applies to its
    cell (0 for a root), ``tanh_c: (N, H)`` and ``h_sum: (N, H)``, each node's h̃.
    """
    N, H = xw.shape[0], xw.shape[1] // 4
    h, c = xw.new_zeros((N + 1, H)), xw.new_zeros((N + 1, H))
    acts = xw.new_zeros((N, 4, H)) if keep else None
    tanh_c = xw.new_empty((N, H)) if keep else None
    h_sum_all = xw.new_zeros((N, H)) if keep else None
    U_f_t, tanh = weight_hh[H:2 * H].t(), Tanh(xw)
    for k in range(plan.num_levels):
        rows = plan.span(k)
        lo, hi = rows.start - 1, rows.stop - 1
        gates = xw[lo:hi]  # a_j = W x_j + b   (n_k, 4H)
        if k > 0:  # leaves (k = 0) have no children: no recurrent term, nothing to forget
            child_rows, slot = plan[f"child_rows{k}"], plan[f"slot{k}"]
            h_kids = h.index_select(0, child_rows)  # (children, H)
            # h̃_j = Σ_k h_k
            h_sum = h.new_zeros((hi - lo, H)).index_add_(0, slot, h_kids)
            # a_j + U h̃_j (its f block unused: each forget gate sees its own child's h_k)
            gates = torch.addmm(gates, h_sum, weight_hh.t())
            # f_jk = σ(W_f x_j + U_f h_k + b_f), one row per child
            f_kids = torch.addmm(xw[lo:hi, H:2 * H].index_select(0, slot), h_kids, U_f_t).sigmoid_()
            if keep:
                h_sum_all[lo:hi] = h_sum
                acts[:, 1].index_copy_(0, child_rows - 1, f_kids)
        # i = σ(a_i + U_i h̃), g = tanh(a_g + U_g h̃), o = σ(a_o + U_o h̃)
        i, o = gates[:, :H].sigmoid(), gates[:, 3 * H:].sigmoid()
        g = tanh(gates[:, 2 * H:3 * H], out=torch.empty_like(i))
        # c_j = i_j ⊙ g_j + Σ_k f_jk ⊙ c_k
        c_level = i * g
        if k > 0:
            c_level.index_add_(0, slot, f_kids * c.index_select(0, child_rows))
        # h_j = o_j ⊙ tanh(c_j)
        tanh_c_level = tanh(c_level, out=tanh_c[lo:hi] if keep else torch.empty_like(c_level))
        c[rows], h[rows] = c_level, o * tanh_c_level
        if keep:
            acts[lo:hi, 0], acts[lo:hi, 2], acts[lo:hi, 3] = i, g, o
    return h, c, acts, tanh_c, h_sum_all


def child_sum_levels_by_autograd(xw: torch.Tensor, weight_hh: torch.Tensor, plan: LevelPlan):
    """:class:`ChildSumLevels`'s outputs, the ``h, c: (N+1, H)`` buffers, with differentiable operations only.

    The buffers grow level by level (row 0 the zero state), in the row order of the plan.
    """
    H = weight_hh.shape[1]
    h = c = xw.new_zeros((1, H))
    for k in range(plan.num_levels):
        rows = plan.span(k)
        lo, hi = rows.start - 1, rows.stop - 1
        gates = xw[lo:hi]  # a_j = W x_j + b   (n_k, 4H)
        if k > 0:
            child_rows, slot = plan[f"child_rows{k}"], plan[f"slot{k}"]
            h_kids = h.index_select(0, child_rows)  # (children, H)
            h_sum = h_kids.new_zeros((hi - lo, H)).index_add(0, slot, h_kids)  # h̃_j = Σ_k h_k
            gates = gates + h_sum @ weight_hh.t()
            # f_jk = σ(W_f x_j + U_f h_k + b_f), one row per child
            f_kids = (xw[lo:hi, H:2 * H].index_select(0, slot) + h_kids @ weight_hh[H:2 * H].t()).sigmoid()
        a_i, _, a_g, a_o = gates.chunk(4, -1)
        c_level = a_i.sigmoid() * a_g.tanh()
        if k > 0:  # c_j = i_j ⊙ g_j + Σ_k f_jk ⊙ c_k
            c_level = c_level.index_add(0, slot, f_kids * c.index_select(0, child_rows))
        h, c = torch.cat([h, a_o.sigmoid() * c_level.tanh()]), torch.cat([c, c_level])
    return h, c


class ChildSumLevels(torch.autograd.Function):
    """``(xw, W_hh, plan) -> (h, c, *caches)``, buffers ``(N+1, H)``: the child-sum recurrence with a hand-written
    backward; the caches are non-differentiable.

    The backward walks the heights downwards with ONE gradient buffer per
    state; autograd through the level loop would instead materialise a
    full-size gradient for every gather of children, every level. A backward
    asked for a graph of the gradient differentiates :func:`child_sum_levels_by_autograd`
    instead (see :mod:`lstmlib.nn.higher_order`).
    """

    @staticmethod
    def forward(xw, weight_hh, plan):  # type: ignore[override]
        return _child_sum_levels(xw, weight_hh, plan, keep=True)

    @staticmethod
    def setup_context(ctx: Any, inputs, output) -> None:
        xw, weight_hh, ctx.plan = inputs
        h, c, acts, tanh_c, h_sum = output
        ctx.mark_non_differentiable(acts, tanh_c, h_sum)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(xw, weight_hh, h, c, acts, tanh_c, h_sum)

    @staticmethod
    def vmap(info: Any, in_dims, *args):  # type: ignore[override]
        return vmap_by_samples(ChildSumLevels.forward, info.batch_size, in_dims, args)

    @staticmethod
    def backward(ctx: Any, dh_out, dc_out, *_):  # type: ignore[override]
        xw, weight_hh, h, c, acts, tanh_c, h_sum = ctx.saved_tensors
        if differentiable_backward_wanted(dh_out, dc_out):  # a graph of the gradient, or vmap
            return vjp_by_autograd(child_sum_levels_by_autograd, (xw, weight_hh, ctx.plan), ctx.needs_input_grad,
                                   (dh_out, dc_out))
        dh_out, dc_out = materialize((dh_out, dc_out), (h, c))
        plan, (N, _, H) = ctx.plan, acts.shape
        i, f, g, o = acts.unbind(1)  # (N, H) each; f: the forget gate of each node's parent for it
        # a node's gradient = the loss's + its parent's; parents are done first (higher levels)
        dh, dc = dh_out.clone(), dc_out.clone()  # (N+1, H), indexed by buffer row
        dxw = acts.new_empty((N, 4 * H))  # dL/da, every node's gate pre-activations
        da_f_kids = acts.new_zeros((N, H))  # dL/da_fk: each node's forget gate in its parent
        U_f = weight_hh[H:2 * H]
        for k in reversed(range(plan.num_levels)):
            rows = plan.span(k)
            lo, hi = rows.start - 1, rows.stop - 1
            dh_l, i_l, g_l, o_l, tanh_l = dh[rows], i[lo:hi], g[lo:hi], o[lo:hi], tanh_c[lo:hi]
            # h_j = o_j ⊙ tanh(c_j): to o_j, and to c_j on top of what the parent sent
            dc_l = torch.addcmul(dc[rows], dh_l, o_l * (1 - tanh_l * tanh_l))
            da = dxw[lo:hi].view(-1, 4, H)
            # c_j = i_j ⊙ g_j + ...; i = σ(a_i + ...), g = tanh(a_g + ...), o = σ(a_o + ...)
            torch.mul(dc_l * g_l, i_l * (1 - i_l), out=da[:, 0])
            torch.mul(dc_l * i_l, 1 - g_l * g_l, out=da[:, 2])
            torch.mul(dh_l * tanh_l, o_l * (1 - o_l), out=da[:, 3])
            da[:, 1].zero_()
            if k == 0:
                continue
            child_rows, slot = plan[f"child_rows{k}"], plan[f"slot{k}"]
            kids = child_rows - 1
            # [a_i, a_g, a_o] += U h̃_j: dh̃_j (the f block of da is still zero here)
            dh_sum = da.view(-1, 4 * H) @ weight_hh  # (n_k, H)
            # c_j = ... + Σ_k f_jk ⊙ c_k: to c_k, and to f_jk = σ(a_f + U_f h_k)
            dc_parent, f_k = dc_l.index_select(0, slot), f.index_select(0, kids)
            dc.index_add_(0, child_rows, dc_parent * f_k)
            da_fk = dc_parent * c.index_select(0, child_rows) * f_k * (1 - f_k)  # (children, H)
            da_f_kids.index_copy_(0, kids, da_fk)
            # h̃_j = Σ_k h_k sends dh̃_j to every child; a_fk = a_f + U_f h_k sends da_fk U_f
            dh.index_add_(0, child_rows, torch.addmm(dh_sum.index_select(0, slot), da_fk, U_f))
            # the forget gates of all children share a_f = W_f x_j + b_f
            da[:, 1].index_add_(0, slot, da_fk)
        dweight_hh = None
        if ctx.needs_input_grad[1]:
            # dU = Σ_j da_j^T h̃_j for i, g, o; dU_f = Σ_k da_fk^T h_k, over every child k
            dweight_hh = dxw.t() @ h_sum
            dweight_hh[H:2 * H] = da_f_kids.t() @ h[1:]
        return dxw, dweight_hh, None


def nary_levels(xw: torch.Tensor, weight_hh: torch.Tensor, plan: LevelPlan, n: int, keep: bool):
    """The N-ary recurrence, one batched step per height; no autograd.
    Book: :eq:`nary-tree-lstm` (chapter II.4, Tree-LSTMs: child-sum and N-ary).

    ``xw: (N, 4H)`` in height order. Returns ``h, c: (N+1, H)`` buffers and,
    with ``keep``, ``acts: (N, 3, H)`` (i, g, o), ``f: (N, n, H)`` (each
    node's forget gates for its n child slots) and ``tanh_c: (N, H)``.
    """
    N, H = xw.shape[0], xw.shape[1] // 4
    h, c = xw.new_zeros((N + 1, H)), xw.new_zeros((N + 1, H))
    acts = xw.new_empty((N, 3, H)) if keep else None
    f_all = xw.new_zeros((N, n, H)) if keep else None
    tanh_c = xw.new_empty((N, H)) if keep else None
    tanh = Tanh(xw)
    for k in range(plan.num_levels):
        rows = plan.span(k)
        lo, hi = rows.start - 1, rows.stop - 1
        a_i, a_f, a_g, a_o = xw[lo:hi].split(H, 1)  # a_j = W x_j + b, each (n_k, H)
        if k > 0:  # leaves (k = 0): every child slot is empty, only W x + b counts
            table = plan[f"table{k}"]  # (n_k * n,) buffer rows of the child slots (0: missing)
            h_cat = h.index_select(0, table).view(-1, n * H)  # [h_j0; ...; h_j,n-1]   (n_k, nH)
            c_kids = c.index_select(0, table).view(-1, n, H)
            # u = U h_cat, the recurrent part of the pre-activations: [u_i; u_f0 .. u_f,n-1; u_g; u_o]   (n_k, (n+3)H)
            u_i, u_f, u_g, u_o = (h_cat @ weight_hh.t()).split([H, n * H, H, H], 1)
            # f_jk = σ(W_f x_j + Σ_ℓ U_fkℓ h_jℓ + b_f)   (n_k, n, H)
            f = (a_f.unsqueeze(1) + u_f.view(-1, n, H)).sigmoid_()
            a_i, a_g, a_o = a_i + u_i, a_g + u_g, a_o + u_o
            if keep:
                f_all[lo:hi] = f
        # i = σ(W_i x_j + Σ_ℓ U_iℓ h_jℓ + b_i), g = tanh(...), o = σ(...)
        i, o = a_i.sigmoid(), a_o.sigmoid()
        g = tanh(a_g, out=torch.empty_like(i))
        # c_j = i_j ⊙ g_j + Σ_ℓ f_jℓ ⊙ c_jℓ
        c_level = i * g
        if k > 0:
            c_level += (f * c_kids).sum(1)
        # h_j = o_j ⊙ tanh(c_j)
        tanh_c_level = tanh(c_level, out=tanh_c[lo:hi] if keep else torch.empty_like(c_level))
        c[rows], h[rows] = c_level, o * tanh_c_level
        if keep:
            acts[lo:hi, 0], acts[lo:hi, 1], acts[lo:hi, 2] = i, g, o
    return h, c, acts, f_all, tanh_c


def nary_levels_by_autograd(xw: torch.Tensor, weight_hh: torch.Tensor, plan: LevelPlan, n: int):
    """:class:`NaryLevels`'s outputs, the ``h, c: (N+1, H)`` buffers, with differentiable operations only."""
    H = xw.shape[-1] // 4
    h = c = xw.new_zeros((1, H))
    for k in range(plan.num_levels):
        rows = plan.span(k)
        lo, hi = rows.start - 1, rows.stop - 1
        a_i, a_f, a_g, a_o = xw[lo:hi].split(H, -1)  # a_j = W x_j + b, each (n_k, H)
        if k > 0:
            table = plan[f"table{k}"]  # (n_k * n,) buffer rows of the child slots (0: missing)
            h_cat = h.index_select(0, table).reshape(-1, n * H)  # (n_k, nH)
            c_kids = c.index_select(0, table).reshape(-1, n, H)
            u_i, u_f, u_g, u_o = (h_cat @ weight_hh.t()).split([H, n * H, H, H], -1)
            f = (a_f.unsqueeze(-2) + u_f.reshape(-1, n, H)).sigmoid()  # (n_k, n, H)
            a_i, a_g, a_o = a_i + u_i, a_g + u_g, a_o + u_o
        c_level = a_i.sigmoid() * a_g.tanh()
        if k > 0:  # c_j = i_j ⊙ g_j + Σ_ℓ f_jℓ ⊙ c_jℓ
            c_level = c_level + (f * c_kids).sum(-2)
        h, c = torch.cat([h, a_o.sigmoid() * c_level.tanh()]), torch.cat([c, c_level])
    return h, c


class NaryLevels(torch.autograd.Function):
    """``(xw, W_hh, plan, n) -> (h, c, *caches)``, buffers ``(N+1, H)``: the N-ary recurrence with a hand-written
    backward; the caches are non-differentiable; second derivatives as :class:`ChildSumLevels`."""

    @staticmethod
    def forward(xw, weight_hh, plan, n):  # type: ignore[override]
        return nary_levels(xw, weight_hh, plan, n, keep=True)

    @staticmethod
    def setup_context(ctx: Any, inputs, output) -> None:
        xw, weight_hh, ctx.plan, ctx.n = inputs
        h, c, acts, f, tanh_c = output
        ctx.mark_non_differentiable(acts, f, tanh_c)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(xw, weight_hh, h, c, acts, f, tanh_c)

    @staticmethod
    def vmap(info: Any, in_dims, *args):  # type: ignore[override]
        return vmap_by_samples(NaryLevels.forward, info.batch_size, in_dims, args)

    @staticmethod
    def backward(ctx: Any, dh_out, dc_out, *_):  # type: ignore[override]
        xw, weight_hh, h, c, acts, f, tanh_c = ctx.saved_tensors
        if differentiable_backward_wanted(dh_out, dc_out):  # a graph of the gradient, or vmap
            return vjp_by_autograd(nary_levels_by_autograd, (xw, weight_hh, ctx.plan, ctx.n), ctx.needs_input_grad,
                                   (dh_out, dc_out))
        dh_out, dc_out = materialize((dh_out, dc_out), (h, c))
        plan, n, (N, _, H) = ctx.plan, ctx.n, acts.shape
        i, g, o = acts.unbind(1)
        # Gradients by buffer row; row 0 (missing children) collects junk that is never read.
        dh, dc = dh_out.clone(), dc_out.clone()
        dxw = acts.new_empty((N, 4 * H))
        dweight_hh = torch.zeros_like(weight_hh)
        for k in reversed(range(plan.num_levels)):
            rows = plan.span(k)
            lo, hi = rows.start - 1, rows.stop - 1
            dh_l, i_l, g_l, o_l, tanh_l = dh[rows], i[lo:hi], g[lo:hi], o[lo:hi], tanh_c[lo:hi]
            # h_j = o_j ⊙ tanh(c_j)
            dc_l = torch.addcmul(dc[rows], dh_l, o_l * (1 - tanh_l * tanh_l))
            da_i, da_f, da_g, da_o = dxw[lo:hi].split(H, 1)
            # c_j = i_j ⊙ g_j + ...; i = σ(.), g = tanh(.), o = σ(.)
            torch.mul(dc_l * g_l, i_l * (1 - i_l), out=da_i)
            torch.mul(dc_l * i_l, 1 - g_l * g_l, out=da_g)
            torch.mul(dh_l * tanh_l, o_l * (1 - o_l), out=da_o)
            if k == 0:
                da_f.zero_()
                continue
            table, f_l = plan[f"table{k}"], f[lo:hi]  # (n_k * n,), (n_k, n, H)
            # c_j = ... + Σ_ℓ f_jℓ ⊙ c_jℓ: to each child's c, and to f_jℓ = σ(a_fℓ)
            dc_l = dc_l.unsqueeze(1)  # (n_k, 1, H)
            dc.index_add_(0, table, (dc_l * f_l).view(-1, H))
            da_fl = dc_l * c.index_select(0, table).view(-1, n, H) * f_l * (1 - f_l)  # (n_k, n, H)
            # u = U h_cat: dL/du is dL/da, row by row [da_i; da_f0 .. da_f,n-1; da_g; da_o]
            du = torch.cat([da_i, da_fl.view(-1, n * H), da_g, da_o], 1)  # (n_k, (n+3)H)
            dh.index_add_(0, table, (du @ weight_hh).view(-1, H))
            dweight_hh.addmm_(du.t(), h.index_select(0, table).view(-1, n * H))
            # the n forget gates share a_f = W_f x_j + b_f
            torch.sum(da_fl, 1, out=da_f)
        return dxw, (dweight_hh if ctx.needs_input_grad[1] else None), None, None


def _needs_grad(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


class ChildSumTreeLSTM(_TreeLSTMBase):
    """Child-sum Tree-LSTM: any number of children, a forget gate per child, blind to child order.

    ``ChildSumTreeLSTM(input_size, hidden_size, *, bias=True)``; parameters
    ``weight_ih (4H, D)``, ``weight_hh (4H, H)``, ``bias_ih``, ``bias_hh (4H,)``,
    gates stacked i, f, g, o. ``forward(x, parent) -> (h, c)``: ``x: (N, D)``,
    ``parent: (N,)`` (-1 for a root) -> ``h, c: (N, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, None, bias, device, dtype)

    def forward(self, x: torch.Tensor, parent: Any) -> tuple[torch.Tensor, torch.Tensor]:
        xw, plan = self._prepare(x, parent)  # (N, 4H) in height order
        if _needs_grad(xw, self.weight_hh):
            h, c = ChildSumLevels.apply(xw, self.weight_hh, plan)[:2]
        else:
            with torch.no_grad():
                h, c = _child_sum_levels(xw, self.weight_hh, plan, keep=False)[:2]
        return h.index_select(0, plan["rows"]), c.index_select(0, plan["rows"])  # back to node order


class NaryTreeLSTM(_TreeLSTMBase):
    """N-ary Tree-LSTM: at most ``n_ary`` ordered children, per-position U matrices, full U_f.

    ``NaryTreeLSTM(input_size, hidden_size, n_ary, *, bias=True)``; parameters
    ``weight_ih (4H, D)``, ``weight_hh ((n+3)H, nH)`` (rows i, f_0 .. f_{n-1},
    g, o; columns one block per child position), ``bias_ih``, ``bias_hh (4H,)``.
    A node's ℓ-th child by index fills position ℓ; missing children are zero
    states. ``forward(x, parent) -> (h, c)``, each ``(N, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int, n_ary: int, *, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, _checks.check_positive_int("n_ary", n_ary), bias, device, dtype)

    def forward(self, x: torch.Tensor, parent: Any) -> tuple[torch.Tensor, torch.Tensor]:
        xw, plan = self._prepare(x, parent)  # (N, 4H) in height order
        if _needs_grad(xw, self.weight_hh):
            h, c = NaryLevels.apply(xw, self.weight_hh, plan, self.n_ary)[:2]
        else:
            with torch.no_grad():
                h, c = nary_levels(xw, self.weight_hh, plan, self.n_ary, keep=False)[:2]
        return h.index_select(0, plan["rows"]), c.index_select(0, plan["rows"])  # back to node order
