"""LSTM: drop-in twins of ``torch.nn.LSTM`` and ``torch.nn.LSTMCell``.

Notation of the book: gates ``i, f, g, o`` (``g`` is the candidate
:math:`\\tilde c_t`), states ``h, c``; PyTorch's gate order (i, f, g, o).

Speed: a layer runs as ONE autograd node per direction. The input
projection ``x W_ih^T + b_ih + b_hh`` is one big matmul outside the loop
(:func:`~lstmlib.nn.kernels.project_inputs`); :class:`LSTMSequence` runs the
recurrence, saving the gate activations, and its hand-written backward loops
over reversed time, computing ``dW_hh`` with one matmul over all steps. The
backward's three pieces (:func:`gate_slopes`, :func:`lstm_backward_loop`,
:func:`recurrent_weight_gradient`) also serve the peephole LSTM. With the fast
paths on, both time loops run in C++ (:mod:`lstmlib.nn.native`), filling the same caches.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .. import _checks
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

__all__ = [
    "LSTM", "LSTMCell", "LSTMSequence", "lstm_backward_loop", "lstm_cell", "lstm_sequence", "lstm_sequence_by_autograd",
]


def lstm_cell(
    x: torch.Tensor,
    h_prev: torch.Tensor,
    c_prev: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step, by the book's equations. ``x: (B, D)``, ``h_prev, c_prev: (B, H)`` -> ``h, c: (B, H)``.
    Book: :eq:`lstm-step` (chapter I.2, Anatomy of an LSTM unit).
    """
    # [i; f; g; o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, 1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    # c_t = f * c_{t-1} + i * g
    c = f * c_prev + i * g
    # h_t = o * tanh(c_t)
    h = o * c.tanh()
    return h, c


def _lstm_loop(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_hh: torch.Tensor,
    mask: torch.Tensor | None,
    keep: bool,
) -> tuple[torch.Tensor, ...]:
    """The recurrence, no autograd. ``xw: (T, B, 4H)`` projected inputs (biases included).

    Returns ``y: (T, B, H)`` (the state h_t of every step), ``c_n: (B, H)``
    and, with ``keep``, the caches: gate activations ``(T, B, 4, H)``,
    ``cs: (T+1, B, H)`` (``c_0`` then every c_t) and ``tanh(c_t): (T, B, H)``.
    Without ``keep`` one step's buffers are reused: a forward-only run saves nothing.
    """
    T, B, G = xw.shape
    H = G // 4
    n = T if keep else 1
    matmul = StepMatmul(weight_hh, B)  # h W_hh^T, T times with the same W_hh
    y = xw.new_empty((T, B, H))
    cs = xw.new_empty((n + 1 if keep else 1, B, H))
    cs[0] = c_0
    acts = xw.new_empty((n, B, 4, H))  # i, f, g, o after their nonlinearities
    tanh_cs = xw.new_empty((n, B, H))
    # Views made once: slicing inside the loop costs Python time at every step.
    xw_steps, y_steps, c_steps, tanh_c_steps = xw.unbind(0), y.unbind(0), cs.unbind(0), tanh_cs.unbind(0)
    act_steps = acts.view(n, B, G).unbind(0)  # (B, 4H) each
    i_steps, f_steps, g_steps, o_steps = (acts[:, :, k].unbind(0) for k in range(4))
    mask_steps = mask.unbind(0) if mask is not None else None  # (B, 1) each
    tanh, g_block = Tanh(xw), slice(2 * H, 3 * H)
    h, c = h_0, c_steps[0]
    for t in range(T):
        s = t if keep else 0
        c_out = c_steps[t + 1] if keep else c  # without keep, c is updated in place
        i, f, g, o = i_steps[s], f_steps[s], g_steps[s], o_steps[s]
        # [a_i; a_f; a_g; a_o] = xw_t + h_{t-1} W_hh^T
        gates = matmul(h, xw_steps[t])  # (B, 4H)
        # i, f, o = sigmoid(a_i, a_f, a_o) ; g = tanh(a_g)
        tanh.sigmoid_but_tanh_in(gates, g_block, out=act_steps[s])
        if mask_steps is None:
            # c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)
            torch.mul(f, c, out=c_out).addcmul_(i, g)
            tanh(c_out, out=tanh_c_steps[s])
            torch.mul(o, tanh_c_steps[s], out=y_steps[t])
        else:
            # past a sequence's end the state stays frozen: c_t = c_{t-1}, h_t = h_{t-1}
            torch.where(mask_steps[t], torch.addcmul(f * c, i, g), c, out=c_out)
            tanh(c_out, out=tanh_c_steps[s])
            torch.where(mask_steps[t], o * tanh_c_steps[s], h, out=y_steps[t])
        h, c = y_steps[t], c_out
    return y, c, acts, cs, tanh_cs


def _run_lstm_loop(xw, h_0, c_0, weight_hh, mask, keep):
    """:func:`_lstm_loop`, in C++ where :func:`lstmlib.nn.native.usable` allows: same arguments and results."""
    if native.usable(xw, h_0, c_0, weight_hh, mask):
        return native.forward(native.LSTM, xw, h_0, c_0, weight_hh, None, mask, keep)
    return _lstm_loop(xw, h_0, c_0, weight_hh, mask, keep)


def lstm_sequence_by_autograd(xw, h_0, c_0, weight_hh, mask):
    """:class:`LSTMSequence`'s outputs ``(y, h_n, c_n)`` with differentiable operations only.

    Shapes as :class:`LSTMSequence`'s; what its backward differentiates when a graph of the gradient is wanted.
    """

    def step(xw_t, h, c):
        i, f, g, o = (xw_t + h @ weight_hh.t()).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c

    y, (h_n, c_n) = scan_by_autograd(step, xw, (h_0, c_0), mask)
    return y, h_n, c_n


class LSTMSequence(torch.autograd.Function):
    """One layer, one direction, whole sequence: ``(xw, h_0, c_0, W_hh, mask) -> (y, h_n, c_n, *caches)``.

    ``xw: (T, B, 4H)`` projected inputs, ``h_0, c_0: (B, H)``, ``W_hh: (4H, H)``,
    ``mask: (T, B, 1)`` bool or None; ``y: (T, B, H)``. The caches (gate
    activations, cells, tanh of the cells) are returned for the backward, non-differentiable.
    A backward asked for a graph of the gradient (second derivatives, torch.func.grad)
    differentiates :func:`lstm_sequence_by_autograd` instead (see :mod:`lstmlib.nn.higher_order`).
    """

    @staticmethod
    def forward(xw, h_0, c_0, weight_hh, mask):  # type: ignore[override]
        y, c_n, acts, cs, tanh_cs = _run_lstm_loop(xw, h_0, c_0, weight_hh, mask, keep=True)
        return y, y[-1].clone(), c_n.clone(), acts, cs, tanh_cs

    @staticmethod
    def setup_context(ctx: Any, inputs, output) -> None:
        xw, h_0, c_0, weight_hh, mask = inputs
        y, _, _, acts, cs, tanh_cs = output
        ctx.mark_non_differentiable(acts, cs, tanh_cs)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(acts, cs, tanh_cs, y, xw, h_0, c_0, weight_hh, mask)

    @staticmethod
    def vmap(info: Any, in_dims, *args):  # type: ignore[override]
        return vmap_by_samples(LSTMSequence.forward, info.batch_size, in_dims, args)

    @staticmethod
    def backward(ctx: Any, dy, dh_n, dc_n, *_):  # type: ignore[override]
        acts, cs, tanh_c, y, xw, h_0, c_0, weight_hh, mask = ctx.saved_tensors
        if differentiable_backward_wanted(dy, dh_n, dc_n):  # a graph of the gradient, or vmap
            return vjp_by_autograd(lstm_sequence_by_autograd, (xw, h_0, c_0, weight_hh, mask), ctx.needs_input_grad,
                                   (dy, dh_n, dc_n))
        dy, dh_n, dc_n = materialize((dy, dh_n, dc_n), (y, h_0, c_0))
        args = (acts, cs, tanh_c, dy, dh_n, dc_n, weight_hh, mask)
        if native.usable(*args):  # the loop below in C++, the local derivatives fused into it
            dgates, dh, dc = native.backward(native.LSTM, acts, cs, tanh_c, None, *args[3:])
        else:
            dgates, dh, dc = lstm_gates_backward(*args)
        # dW_hh: one product over all steps, after the loop
        dweight_hh = recurrent_weight_gradient(dgates, h_0, y) if ctx.needs_input_grad[3] else None
        return dgates, dh, dc, dweight_hh, None


def lstm_gates_backward(acts, cs, tanh_c, dy, dh_n, dc_n, weight_hh, mask):
    """dL/da for every step, and dL/dh_0, dL/dc_0, from the forward's caches (see :class:`LSTMSequence`).

    ``acts: (T, B, 4, H)``, ``cs: (T+1, B, H)``, ``tanh_c, dy: (T, B, H)``, ``dh_n, dc_n: (B, H)``,
    ``weight_hh: (4H, H)``, ``mask: (T, B, 1)`` or None -> ``dgates: (T, B, 4H)``, ``dh, dc: (B, H)``.
    """
    f, o = acts[:, :, 1], acts[:, :, 3]  # (T, B, H) each
    # Local derivatives of all steps at once, before the loop
    local = gate_slopes(acts, cs[:-1], tanh_c)  # (T, B, 4H)
    dc_from_h = o * torch.addcmul(acts.new_ones(()), tanh_c, tanh_c, value=-1)  # dh/dc = o * tanh'(c_t)
    # The loop over reversed time: one product with W_hh per step; dc_{t-1} = dc_t * f
    return lstm_backward_loop(local, dc_from_h, f, dy, dh_n, dc_n, weight_hh, mask)


def gate_slopes(acts: torch.Tensor, c_prev: torch.Tensor, tanh_c: torch.Tensor) -> torch.Tensor:
    """How each gate pre-activation moves the state, for all steps at once (outside the time loop).

    ``acts: (T, B, 4, H)`` the gates i, f, g, o after their nonlinearities,
    ``c_prev: (T, B, H)`` the cells c_{t-1}, ``tanh_c: (T, B, H)``. Returns
    ``(T, B, 4H)``: dc_t/da_i, dc_t/da_f, dc_t/da_g and dh_t/da_o (holding the
    other of c_t, h_t fixed). With a = the gate pre-activations,
    sigmoid'(a) = s (1 - s) and tanh'(a) = 1 - g^2.
    """
    T, B, _, H = acts.shape
    i, g = acts[:, :, 0], acts[:, :, 2]
    one = acts.new_ones(())
    local = torch.addcmul(acts, acts, acts, value=-1)  # s (1 - s): (T, B, 4, H); g's slot replaced below
    local[:, :, 0] *= g  # dc/da_i = g * sigmoid'(a_i)
    local[:, :, 1] *= c_prev  # dc/da_f = c_{t-1} * sigmoid'(a_f)
    torch.addcmul(one, g, g, value=-1, out=local[:, :, 2]).mul_(i)  # dc/da_g = i * tanh'(a_g)
    local[:, :, 3] *= tanh_c  # dh/da_o = tanh(c_t) * sigmoid'(a_o)
    return local.reshape(T, B, 4 * H)


def lstm_backward_loop(
    local: torch.Tensor,
    dc_from_h: torch.Tensor,
    dc_carry: torch.Tensor,
    dy: torch.Tensor,
    dh_n: torch.Tensor,
    dc_n: torch.Tensor,
    weight_hh: torch.Tensor,
    mask: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Backpropagation through time of an LSTM-like cell, no autograd; shared with the peephole LSTM.
    Book: :eq:`bptt`, :eq:`lstm-step-backward` (chapter I.3, How an LSTM unit works, step by step).

    Everything that does not depend on the incoming gradient is computed before:
    ``local: (T, B, 4H)`` from :func:`gate_slopes` (``(T, B, kH)`` for a cell of k
    gate blocks whose last is the output gate, e.g. the CIFG's i, g, o), ``dc_from_h: (T, B, H)`` =
    dh_t/dc_t and ``dc_carry: (T, B, H)`` = dc_t/dc_{t-1} (for the LSTM o tanh'(c_t)
    and f; the peephole LSTM adds its peephole paths to both). dy: (T, B, H),
    dh_n, dc_n: (B, H), mask: (T, B, 1) or None. Returns ``dgates: (T, B, 4H)``
    = dL/da at every step, and dL/dh_0, dL/dc_0.
    """
    T, B, G = local.shape
    cell_blocks = G // dh_n.shape[1] - 1  # every gate block but the last (o) moves c_t; o moves h_t
    matmul = StepMatmul(weight_hh.t(), B)  # da W_hh, T times with the same W_hh
    dgates = torch.empty_like(local)  # dL/da for every step
    dgate_steps, local_steps = dgates.unbind(0), local.unbind(0)
    dy_steps, carry_steps, dc_from_h_steps = dy.unbind(0), dc_carry.unbind(0), dc_from_h.unbind(0)
    if mask is not None:
        valid = mask.to(dgates.dtype)  # (T, B, 1): 1 while t < length
        valid_steps, frozen_steps = valid.unbind(0), (1 - valid).unbind(0)
    dh, dc = dh_n + dy_steps[T - 1], dc_n  # dL/dh_T (via y_T and h_n), dL/dc_T
    for t in reversed(range(T)):
        dy_prev = dy_steps[t - 1] if t > 0 else None  # h_{t-1} also feeds y_{t-1}
        if mask is not None:
            # a frozen step hands its gradient straight to step t-1
            dh_frozen, dh = dh * frozen_steps[t], dh * valid_steps[t]
            dc_frozen, dc = dc * frozen_steps[t], dc * valid_steps[t]
        dc = torch.addcmul(dc, dh, dc_from_h_steps[t])  # + backprop through h_t
        # [da_i, da_f, da_g, da_o] = [dc, dc, dc, dh] * local  (the CIFG's [da_i, da_g, da_o] = [dc, dc, dh] * local)
        torch.mul(torch.cat([dc] * cell_blocks + [dh], 1), local_steps[t], out=dgate_steps[t])
        if mask is None:
            dh = matmul(dgate_steps[t], dy_prev)  # dh_{t-1} = da W_hh + dy_{t-1}
            dc = dc * carry_steps[t]  # dc_{t-1} = dc * dc_t/dc_{t-1}
        else:
            dh = matmul(dgate_steps[t], dh_frozen if dy_prev is None else dh_frozen + dy_prev)
            dc = torch.addcmul(dc_frozen, dc, carry_steps[t])
    return dgates, dh, dc


def recurrent_weight_gradient(dgates: torch.Tensor, h_0: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """dW_hh = sum_t da_t^T h_{t-1}: one matmul over steps 1..T-1, plus step 0's h_0.

    ``dgates: (T, B, G)``, ``h_0: (B, H)``, ``y: (T, B, H)`` (h_1 .. h_T) -> ``(G, H)``.
    """
    G, H = dgates.shape[2], y.shape[2]
    return torch.addmm(dgates[0].t() @ h_0, dgates[1:].reshape(-1, G).t(), y[:-1].reshape(-1, H))


def lstm_sequence(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_hh: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the LSTM recurrence over projected inputs ``xw: (T, B, 4H)`` -> ``y: (T, B, H), h_n, c_n``.

    Uses :class:`LSTMSequence` when a gradient is needed, else a loop that saves nothing.
    """
    if torch.is_grad_enabled() and any(t.requires_grad for t in (xw, h_0, c_0, weight_hh)):
        return LSTMSequence.apply(xw, h_0, c_0, weight_hh, mask)[:3]
    with torch.no_grad():
        y, c_n = _run_lstm_loop(xw, h_0, c_0, weight_hh, mask, keep=False)[:2]
        return y, y[-1], c_n


class LSTM(RecurrentBase):
    """Multi-layer LSTM, a drop-in for ``torch.nn.LSTM`` (same arguments, names, init, shapes).

    ``forward(input, hx=None) -> (output, (h_n, c_n))`` with ``input: (T, B, D)``
    (``(B, T, D)`` if ``batch_first``), unbatched ``(T, D)`` or a
    ``PackedSequence``; ``hx = (h_0, c_0)``, each ``(num_layers * dirs, B, H)``;
    ``output: (T, B, dirs * H)``. Projections (``proj_size > 0``) are not supported.
    """

    gate_multiplier = 4
    state_names = ("h_0", "c_0")
    torch_twin = nn.LSTM
    twin_arguments = RecurrentBase.twin_arguments + ("proj_size",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _checks.check_no_projection(proj_size, "lstmlib.nn.LSTM")
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias, batch_first=batch_first,
                         dropout=dropout, bidirectional=bidirectional, device=device, dtype=dtype)
        self.proj_size = 0

    def run_layer(self, x, state, params, mask):
        h_0, c_0 = state
        xw = project_inputs(x, params["weight_ih"], params.get("bias_ih"), params.get("bias_hh"))  # (T, B, 4H)
        y, h_n, c_n = lstm_sequence(xw, h_0, c_0, params["weight_hh"], mask)
        return y, (h_n, c_n)

    def cell(self, x, state, params):
        return lstm_cell(x, *state, params["weight_ih"], params["weight_hh"], params.get("bias_ih"),
                         params.get("bias_hh"))


class LSTMCell(RecurrentCellBase):
    """One LSTM step, a drop-in for ``torch.nn.LSTMCell``.

    ``forward(input, hx=None) -> (h, c)``; ``input: (B, D)`` or ``(D,)``;
    ``hx = (h_0, c_0)``, each ``(B, H)`` or ``(H,)``.
    """

    gate_multiplier = 4
    state_names = ("h_0", "c_0")
    torch_twin = nn.LSTMCell

    def step(self, x, state):
        h_prev, c_prev = state
        return lstm_cell(x, h_prev, c_prev, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
