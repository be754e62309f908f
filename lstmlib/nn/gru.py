"""GRU: drop-in twins of ``torch.nn.GRU`` and ``torch.nn.GRUCell``.

Gates in PyTorch's order (r, z, n)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

The reset gate multiplies ``W_hn h + b_hn``, bias included, as torch and cuDNN do.

Speed: as :mod:`lstmlib.nn.lstm`, a layer runs as ONE autograd node per
direction. The input projection is one big matmul outside the loop
(:func:`~lstmlib.nn.kernels.project_inputs`), with ``b_hr`` and ``b_hz`` folded
in; ``b_hn`` cannot be (``r_t`` multiplies it), so :class:`GRUSequence` adds it
inside the per-step product ``h W_hh^T``, saves the gate values and runs a
hand-written backward whose per-step work is two element-wise products and one
matmul; ``dW_hh`` is one matmul over all steps.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from . import native
from .fast_paths import StepMatmul, Tanh
from .higher_order import (
    differentiable_backward_wanted,
    materialize,
    scan_by_autograd,
    vjp_by_autograd,
    vmap_by_samples,
)
from .kernels import project_inputs
from .recurrent import RecurrentBase, RecurrentCellBase

__all__ = ["GRU", "GRUCell", "GRUSequence", "gru_cell", "gru_sequence"]


def gru_cell(
    x: torch.Tensor,
    h_prev: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> torch.Tensor:
    """One GRU step, by the equations above. ``x: (B, D)``, ``h_prev: (B, H)`` -> ``h: (B, H)``.
    Book: :eq:`gru-step` (chapter II.5, Gated recurrent units).
    """
    # [a_xr; a_xz; a_xn] = W_ih x_t + b_ih ;  [a_hr; a_hz; a_hn] = W_hh h_{t-1} + b_hh
    a_xr, a_xz, a_xn = F.linear(x, weight_ih, bias_ih).chunk(3, 1)  # (B, H) each
    a_hr, a_hz, a_hn = F.linear(h_prev, weight_hh, bias_hh).chunk(3, 1)
    r = (a_xr + a_hr).sigmoid()
    z = (a_xz + a_hz).sigmoid()
    # n_t = tanh(a_xn + r_t * a_hn)
    n = torch.addcmul(a_xn, r, a_hn).tanh()
    # h_t = (1 - z_t) * n_t + z_t * h_{t-1} = n_t + z_t * (h_{t-1} - n_t)
    return torch.addcmul(n, z, h_prev - n)


def _gru_loop(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_hn: torch.Tensor | None,
    mask: torch.Tensor | None,
    keep: bool,
) -> tuple[torch.Tensor, ...]:
    """The recurrence, no autograd. ``xw: (T, B, 3H)`` = x W_ih^T + b_ih + [b_hr, b_hz, 0].

    Returns ``y: (T, B, H)`` (the state h_t of every step) and, with ``keep``,
    the caches: ``acts: (T, B, 3H)`` holding ``[r, z, a_hn]`` (``a_hn = W_hn
    h_{t-1} + b_hn``), the candidates ``ns: (T, B, H)`` and ``h_{t-1} - n_t: (T, B, H)``.
    Without ``keep`` one step's buffers are reused: a forward-only run saves nothing.
    """
    T, B, G = xw.shape
    H = G // 3
    n_kept = T if keep else 1
    matmul = StepMatmul(weight_hh, B)  # h W_hh^T, T times with the same W_hh
    tanh = Tanh(xw)
    # Step t adds h_{t-1} W_hh^T to acts[t] = [xw_r, xw_z, b_hn] in place, which gives
    # [a_r, a_z, a_hn] in one call; the sigmoid then turns acts[t] into [r, z, a_hn].
    acts = torch.empty_like(xw)
    acts[:, :, : 2 * H] = xw[:, :, : 2 * H]
    acts[:, :, 2 * H :] = 0 if bias_hn is None else bias_hn
    # With the fast path tanh(u) = 2 sigmoid(2u) - 1 (fast_paths.Tanh), the 2 is folded into xw_n here
    # and into the addcmul below, so the step needs only a sigmoid and one affine map.
    scale = tanh.input_scale
    xn = xw[:, :, 2 * H :] * scale  # (T, B, H)
    y = xw.new_empty((T, B, H))
    ns, h_minus_ns = xw.new_empty((n_kept, B, H)), xw.new_empty((n_kept, B, H))
    # Views made once: slicing inside the loop costs Python time at every step.
    act_steps, rz_steps = acts.unbind(0), acts[:, :, : 2 * H].unbind(0)
    r_steps, z_steps, a_hn_steps = (acts[:, :, k * H : (k + 1) * H].unbind(0) for k in range(3))
    xn_steps, y_steps, n_steps, h_minus_n_steps = xn.unbind(0), y.unbind(0), ns.unbind(0), h_minus_ns.unbind(0)
    mask_steps = mask.unbind(0) if mask is not None else None  # (B, 1) each
    h = h_0
    for t in range(T):
        s = t if keep else 0
        n, h_minus_n, z = n_steps[s], h_minus_n_steps[s], z_steps[t]
        # [a_r, a_z, a_hn] = [xw_r, xw_z, b_hn] + h_{t-1} W_hh^T
        matmul.add_to(h, act_steps[t])
        # r, z = sigmoid(a_r, a_z)
        rz_steps[t].sigmoid_()
        # n_t = tanh(xw_n + r * a_hn)
        torch.addcmul(xn_steps[t], r_steps[t], a_hn_steps[t], value=scale, out=n)
        tanh.tanh_of_scaled_(n)
        # h_t = n_t + z * (h_{t-1} - n_t)
        torch.sub(h, n, out=h_minus_n)
        if mask_steps is None:
            torch.addcmul(n, z, h_minus_n, out=y_steps[t])
        else:  # past a sequence's end the state stays frozen: h_t = h_{t-1}
            torch.where(mask_steps[t], torch.addcmul(n, z, h_minus_n), h, out=y_steps[t])
        h = y_steps[t]
    return y, (acts if keep else None), ns, h_minus_ns


def _run_gru_loop(xw, h_0, weight_hh, bias_hn, mask, keep):
    """:func:`_gru_loop`, in C++ where :func:`lstmlib.nn.native.usable` allows: same arguments and results."""
    if native.usable(xw, h_0, weight_hh, bias_hn, mask):
        return native.gru_forward(xw, h_0, weight_hh, bias_hn, mask, keep)
    return _gru_loop(xw, h_0, weight_hh, bias_hn, mask, keep)


# The backward keeps the gradients of the four pre-activations of a step side by side in the
# order [a_hn, a_r, a_z, a_n] (a_n = xw_n + r a_hn): the first three blocks are what multiplies
# W_hh (its rows permuted to match), the last three are dL/dxw in xw's order: both are views.
_HN, _R, _Z, _N = range(4)


def gru_sequence_by_autograd(xw, h_0, weight_hh, bias_hn, mask):
    """:class:`GRUSequence`'s outputs ``(y, h_n)`` with differentiable operations only."""

    def step(xw_t, h):
        xw_r, xw_z, xw_n = xw_t.chunk(3, -1)
        a_hr, a_hz, a_hn = (h @ weight_hh.t()).chunk(3, -1)
        r, z = (xw_r + a_hr).sigmoid(), (xw_z + a_hz).sigmoid()
        n = (xw_n + r * (a_hn if bias_hn is None else a_hn + bias_hn)).tanh()
        return (n + z * (h - n),)

    y, (h_n,) = scan_by_autograd(step, xw, (h_0,), mask)
    return y, h_n


class GRUSequence(torch.autograd.Function):
    """One layer, one direction, whole sequence: ``(xw, h_0, W_hh, b_hn, mask) -> (y, h_n, *caches)``.

    ``xw: (T, B, 3H)`` projected inputs with ``b_ih`` and ``b_hr, b_hz`` added (not
    ``b_hn``), ``h_0: (B, H)``, ``W_hh: (3H, H)``, ``b_hn: (H,)`` or None,
    ``mask: (T, B, 1)`` bool or None; ``y: (T, B, H)``; the caches are non-differentiable.
    Second derivatives and torch.func: as :class:`~lstmlib.nn.lstm.LSTMSequence`.
    """

    @staticmethod
    def forward(xw, h_0, weight_hh, bias_hn, mask):  # type: ignore[override]
        y, acts, ns, h_minus_ns = _run_gru_loop(xw, h_0, weight_hh, bias_hn, mask, keep=True)
        return y, y[-1].clone(), acts, ns, h_minus_ns

    @staticmethod
    def setup_context(ctx: Any, inputs, output) -> None:
        y, _, acts, ns, h_minus_ns = output
        ctx.mark_non_differentiable(acts, ns, h_minus_ns)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(acts, ns, h_minus_ns, y, *inputs)

    @staticmethod
    def vmap(info: Any, in_dims, *args):  # type: ignore[override]
        return vmap_by_samples(GRUSequence.forward, info.batch_size, in_dims, args)

    @staticmethod
    def backward(ctx: Any, dy, dh_n, *_):  # type: ignore[override]
        acts, n, h_minus_n, y, xw, h_0, weight_hh, bias_hn, mask = ctx.saved_tensors
        if differentiable_backward_wanted(dy, dh_n):  # a graph of the gradient, or vmap
            return vjp_by_autograd(gru_sequence_by_autograd, (xw, h_0, weight_hh, bias_hn, mask),
                                   ctx.needs_input_grad, (dy, dh_n))
        dy, dh_n = materialize((dy, dh_n), (y, h_0))
        T, B, G = acts.shape
        H = G // 3
        r, z, a_hn = acts.split(H, 2)  # (T, B, H) each
        # Local derivatives of all steps at once, outside the loop. With dh = dL/dh_t:
        #   da_n = dh (1 - z) (1 - n^2)          (n = tanh(a_n), h_t = n + z (h_{t-1} - n))
        #   da_hn = da_n r ;  da_r = da_n a_hn r (1 - r) ;  da_z = dh (h_{t-1} - n) z (1 - z)
        one = acts.new_ones(())
        local = acts.new_empty((T, B, 4, H))  # d(pre-activation)/dh_t, blocks as _HN, _R, _Z, _N
        one_minus_z = one - z
        torch.mul(one_minus_z, torch.addcmul(one, n, n, value=-1), out=local[:, :, _N])
        torch.mul(local[:, :, _N], r, out=local[:, :, _HN])
        torch.mul(local[:, :, _N], a_hn, out=local[:, :, _R]).mul_(torch.addcmul(r, r, r, value=-1))
        torch.mul(h_minus_n, z, out=local[:, :, _Z]).mul_(one_minus_z)
        carry = z  # dh_{t-1} = dh z + [da_hn, da_r, da_z] W_hh + dy_{t-1}
        if mask is not None:
            # a frozen step (t >= length) has no gate gradients and hands dh straight back
            local *= mask.unsqueeze(2)
            carry = torch.where(mask, z, one)
        weight_hh_perm = torch.cat([weight_hh[2 * H :], weight_hh[: 2 * H]])  # rows n, r, z
        matmul = StepMatmul(weight_hh_perm.t(), B)  # [da_hn, da_r, da_z] W_hh, T times
        dpre = acts.new_empty((T, B, 4 * H))  # dL/d(pre-activations), blocks as local's
        dpre_steps, local_steps = dpre.view(T, B, 4, H).unbind(0), local.unbind(0)  # (B, 4, H) each
        dhidden = dpre[:, :, : 3 * H]  # [da_hn, da_r, da_z]: (T, B, 3H)
        dhidden_steps, dy_steps, carry_steps = dhidden.unbind(0), dy.unbind(0), carry.unbind(0)
        dh = dh_n + dy_steps[T - 1]  # dL/dh_T (via y_T and h_n)
        for t in reversed(range(T)):
            torch.mul(dh.unsqueeze(1), local_steps[t], out=dpre_steps[t])
            direct = dh * carry_steps[t] if t == 0 else torch.addcmul(dy_steps[t - 1], dh, carry_steps[t])
            dh = matmul(dhidden_steps[t], direct)  # dh_{t-1}
        dweight_hh = dbias_hn = None
        if ctx.needs_input_grad[2]:
            # dW_hh = sum_t da_t^T h_{t-1}: one matmul over steps 1..T-1, plus step 0's h_0
            perm = torch.addmm(dhidden[0].t() @ h_0, dhidden[1:].reshape(-1, G).t(), y[:-1].reshape(-1, H))
            dweight_hh = torch.cat([perm[H:], perm[:H]])  # rows back to r, z, n
        if ctx.needs_input_grad[3]:
            dbias_hn = dpre[:, :, :H].sum((0, 1))
        # dL/dxw = [da_r, da_z, da_n], the last three blocks
        return dpre[:, :, H:], dh, dweight_hh, dbias_hn, None


def gru_sequence(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_hn: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the GRU recurrence over projected inputs ``xw: (T, B, 3H)`` -> ``y: (T, B, H), h_n: (B, H)``.

    ``xw`` holds ``x W_ih^T + b_ih + [b_hr, b_hz, 0]``; ``bias_hn: (H,)`` or None.
    Uses :class:`GRUSequence` when a gradient is needed, else a loop that saves nothing.
    """
    inputs = (xw, h_0, weight_hh) + (() if bias_hn is None else (bias_hn,))
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return GRUSequence.apply(xw, h_0, weight_hh, bias_hn, mask)[:2]
    with torch.no_grad():
        y = _run_gru_loop(xw, h_0, weight_hh, bias_hn, mask, keep=False)[0]
        return y, y[-1]


class GRU(RecurrentBase):
    """Multi-layer GRU, a drop-in for ``torch.nn.GRU`` (same arguments, names, init, shapes).

    ``forward(input, hx=None) -> (output, h_n)`` with ``input: (T, B, D)``
    (``(B, T, D)`` if ``batch_first``), unbatched ``(T, D)`` or a
    ``PackedSequence``; ``hx = h_0: (num_layers * dirs, B, H)``;
    ``output: (T, B, dirs * H)``.
    """

    gate_multiplier = 3
    state_names = ("h_0",)
    torch_twin = nn.GRU

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias, batch_first=batch_first,
                         dropout=dropout, bidirectional=bidirectional, device=device, dtype=dtype)

    def run_layer(self, x, state, params, mask):
        (h_0,) = state
        H = self.hidden_size
        bias_ih, bias_hh = params.get("bias_ih"), params.get("bias_hh")
        bias_hn = None
        if bias_hh is not None:
            # b_hr, b_hz join the input projection; b_hn stays inside the reset gate's product
            bias_hh, bias_hn = F.pad(bias_hh[: 2 * H], (0, H)), bias_hh[2 * H :]
        xw = project_inputs(x, params["weight_ih"], bias_ih, bias_hh)  # (T, B, 3H)
        y, h_n = gru_sequence(xw, h_0, params["weight_hh"], bias_hn, mask)
        return y, (h_n,)

    def cell(self, x, state, params):
        return (gru_cell(x, *state, params["weight_ih"], params["weight_hh"], params.get("bias_ih"),
                         params.get("bias_hh")),)


class GRUCell(RecurrentCellBase):
    """One GRU step, a drop-in for ``torch.nn.GRUCell``: ``forward(input, hx=None) -> h``.

    ``input: (B, D)`` or ``(D,)``; ``hx = h_0: (B, H)`` or ``(H,)``.
    """

    gate_multiplier = 3
    state_names = ("h_0",)
    torch_twin = nn.GRUCell

    def step(self, x, state):
        (h_prev,) = state
        return (gru_cell(x, h_prev, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh),)
