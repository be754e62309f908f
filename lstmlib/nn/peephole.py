"""Peephole LSTM (Gers & Schmidhuber 2000; Gers, Schraudolph & Schmidhuber 2002).

The LSTM of :mod:`lstmlib.nn.lstm` (gate order i, f, g, o) whose gates also
read the cell through diagonal ("peephole") weights, one per hidden unit:
``w_ci`` and ``w_cf`` take c_{t-1} into the input and forget gates, ``w_co``
takes the new c_t into the output gate::

    i = σ(W_ii x + b_ii + W_hi h + b_hi + w_ci ⊙ c_{t-1})
    f = σ(W_if x + b_if + W_hf h + b_hf + w_cf ⊙ c_{t-1})
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    o = σ(W_io x + b_io + W_ho h + b_ho + w_co ⊙ c_t)
    h_t = o ⊙ tanh(c_t)

Parameters: the LSTM's (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
``bias_hh_l{k}``, ``_reverse`` for the backward direction) plus
``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k}``, each ``(H,)``. With
the peepholes at zero, :class:`PeepholeLSTM` computes what ``torch.nn.LSTM``
with the same LSTM weights computes.

Initialisation: every parameter, peepholes included, ~ U(-1/sqrt(H), 1/sqrt(H)),
torch's rule for the LSTM's weights, drawn in registration order (layer by
layer: w_ih, w_hh, b_ih, b_hh, w_ci, w_cf, w_co). For the cell, the LSTM's four
tensors are drawn first, so with the same seed they equal ``torch.nn.LSTMCell``'s.

Speed: as the LSTM, one autograd node per layer-direction. The input
projection is hoisted out of the loop; :class:`PeepholeLSTMSequence` runs the
recurrence (the output gate and tanh(c_t) share one sigmoid on CPU) and its
backward is the LSTM's reversed-time loop (:func:`~lstmlib.nn.lstm.lstm_backward_loop`)
with the peephole paths folded into its precomputed factors.
"""

from __future__ import annotations

from typing import Any

import torch
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
from .lstm import gate_slopes, lstm_backward_loop, recurrent_weight_gradient
from .recurrent import RecurrentBase, RecurrentCellBase

__all__ = ["PeepholeLSTM", "PeepholeLSTMCell", "PeepholeLSTMSequence", "peephole_cell", "peephole_sequence"]

PEEPHOLE_STEMS = ("weight_ci", "weight_cf", "weight_co")  # c_{t-1} -> i, c_{t-1} -> f, c_t -> o


def peephole_cell(
    x: torch.Tensor,
    h_prev: torch.Tensor,
    c_prev: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    weight_ci: torch.Tensor,
    weight_cf: torch.Tensor,
    weight_co: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One peephole-LSTM step, by the equations. ``x: (B, D)``, ``h_prev, c_prev: (B, H)``, peepholes ``(H,)``.
    Book: :eq:`peephole-step` (chapter II.2, The forget gate and peephole connections).
    """
    # [a_i; a_f; a_g; a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)  # (B, 4H)
    a_i, a_f, a_g, a_o = gates.chunk(4, 1)
    # i = σ(a_i + w_ci ⊙ c_{t-1}) ;  f = σ(a_f + w_cf ⊙ c_{t-1}) ;  g = tanh(a_g)
    i, f, g = (a_i + weight_ci * c_prev).sigmoid(), (a_f + weight_cf * c_prev).sigmoid(), a_g.tanh()
    # c_t = f ⊙ c_{t-1} + i ⊙ g
    c = f * c_prev + i * g
    # o = σ(a_o + w_co ⊙ c_t) ;  h_t = o ⊙ tanh(c_t)
    o = (a_o + weight_co * c).sigmoid()
    return o * c.tanh(), c


def _peephole_loop(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_hh: torch.Tensor,
    peepholes: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    mask: torch.Tensor | None,
    keep: bool,
) -> tuple[torch.Tensor, ...]:
    """The recurrence, no autograd. ``xw: (T, B, 4H)`` projected inputs (biases included).

    Returns ``y: (T, B, H)``, ``c_n: (B, H)`` and, with ``keep``, the caches:
    ``acts: (T, B, 5, H)`` holding i, f, g, o and tanh(c_t) (o and tanh(c_t)
    side by side: on CPU one sigmoid computes both), and ``cs: (T+1, B, H)``
    (c_0 then every c_t). Without ``keep`` one step's buffers are reused.
    """
    T, B, G = xw.shape
    H = G // 4
    n = T if keep else 1
    weight_ci, weight_cf, weight_co = peepholes
    w_cif = torch.stack([weight_ci, weight_cf])  # (2, H): the i and f peepholes, one op per step
    matmul = StepMatmul(weight_hh, B)  # h W_hh^T, T times with the same W_hh
    y = xw.new_empty((T, B, H))
    cs = xw.new_empty((n + 1 if keep else 1, B, H))
    cs[0] = c_0
    acts = xw.new_empty((n, B, 5, H))  # i, f, g, o, tanh(c_t)
    # Views made once: slicing inside the loop costs Python time at every step.
    xw_steps, y_steps, c_steps = xw.unbind(0), y.unbind(0), cs.unbind(0)
    c_rows = cs.unsqueeze(2).unbind(0)  # (B, 1, H) each: c to broadcast over the i and f blocks
    gate_steps = acts.view(n, B, 5 * H)[:, :, :G].unbind(0)  # (B, 4H) each: i, f, g and (for now) o
    pair_steps = acts[:, :, 3:].unbind(0)  # (B, 2, H) each: o, tanh(c_t)
    half_steps = [pair.unbind(1) for pair in pair_steps]  # its two halves, o and tanh(c_t)
    i_steps, f_steps, g_steps, o_steps, tanh_c_steps = (acts[:, :, k].unbind(0) for k in range(5))
    mask_steps = mask.unbind(0) if mask is not None else None  # (B, 1) each
    tanh, g_block = Tanh(xw), slice(2 * H, 3 * H)
    h, c = h_0, c_steps[0]
    for t in range(T):
        s = t if keep else 0
        c_out = c_steps[t + 1] if keep else c  # without keep, c is updated in place
        i, f, g, o, tanh_c = i_steps[s], f_steps[s], g_steps[s], o_steps[s], tanh_c_steps[s]
        # [a_i; a_f; a_g; a_o] = xw_t + h_{t-1} W_hh^T
        gates = matmul(h, xw_steps[t])  # (B, 4H)
        blocks = gates.view(B, 4, H)
        # a_i += w_ci * c_{t-1} ;  a_f += w_cf * c_{t-1}
        blocks[:, :2].addcmul_(w_cif, c_rows[t if keep else 0])
        # i, f = sigmoid(a_i, a_f) ; g = tanh(a_g)   (o's slot gets sigmoid(a_o), replaced below)
        tanh.sigmoid_but_tanh_in(gates, g_block, out=gate_steps[s])
        if mask_steps is None:
            # c_t = f * c_{t-1} + i * g
            torch.mul(f, c, out=c_out).addcmul_(i, g)
        else:  # past a sequence's end the state stays frozen: c_t = c_{t-1}, h_t = h_{t-1}
            torch.where(mask_steps[t], torch.addcmul(f * c, i, g), c, out=c_out)
        # o = sigmoid(a_o + w_co * c_t) and tanh(c_t), in one go
        torch.addcmul(blocks[:, 3], weight_co, c_out, out=o)
        tanh.sigmoid_and_tanh(pair_steps[s], c_out, half_steps[s])
        # h_t = o * tanh(c_t)
        if mask_steps is None:
            torch.mul(o, tanh_c, out=y_steps[t])
        else:
            torch.where(mask_steps[t], o * tanh_c, h, out=y_steps[t])
        h, c = y_steps[t], c_out
    return y, c, acts, cs


def _run_peephole_loop(xw, h_0, c_0, weight_hh, peepholes, mask, keep):
    """:func:`_peephole_loop`, in C++ where :func:`lstmlib.nn.native.usable` allows: same arguments and results."""
    if native.usable(xw, h_0, c_0, weight_hh, *peepholes, mask):
        return native.forward(native.PEEPHOLE, xw, h_0, c_0, weight_hh, peepholes, mask, keep)
    return _peephole_loop(xw, h_0, c_0, weight_hh, peepholes, mask, keep)


def peephole_sequence_by_autograd(xw, h_0, c_0, weight_hh, weight_ci, weight_cf, weight_co, mask):
    """:class:`PeepholeLSTMSequence`'s outputs ``(y, h_n, c_n)`` with differentiable operations only."""

    def step(xw_t, h, c):
        a_i, a_f, a_g, a_o = (xw_t + h @ weight_hh.t()).chunk(4, -1)
        i, f = (a_i + weight_ci * c).sigmoid(), (a_f + weight_cf * c).sigmoid()
        c = f * c + i * a_g.tanh()
        return (a_o + weight_co * c).sigmoid() * c.tanh(), c

    y, (h_n, c_n) = scan_by_autograd(step, xw, (h_0, c_0), mask)
    return y, h_n, c_n


class PeepholeLSTMSequence(torch.autograd.Function):
    """One layer, one direction, whole sequence:
    ``(xw, h_0, c_0, W_hh, w_ci, w_cf, w_co, mask) -> (y, h_n, c_n, *caches)``.

    ``xw: (T, B, 4H)`` projected inputs, ``h_0, c_0: (B, H)``, ``W_hh: (4H, H)``,
    peepholes ``(H,)`` each, ``mask: (T, B, 1)`` bool or None; ``y: (T, B, H)``;
    the caches are non-differentiable. Second derivatives and torch.func: as
    :class:`~lstmlib.nn.lstm.LSTMSequence`.
    """

    @staticmethod
    def forward(xw, h_0, c_0, weight_hh, weight_ci, weight_cf, weight_co, mask):  # type: ignore[override]
        peepholes = (weight_ci, weight_cf, weight_co)
        y, c_n, acts, cs = _run_peephole_loop(xw, h_0, c_0, weight_hh, peepholes, mask, keep=True)
        return y, y[-1].clone(), c_n.clone(), acts, cs

    @staticmethod
    def setup_context(ctx: Any, inputs, output) -> None:
        y, _, _, acts, cs = output
        ctx.mark_non_differentiable(acts, cs)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(acts, cs, y, *inputs)

    @staticmethod
    def vmap(info: Any, in_dims, *args):  # type: ignore[override]
        return vmap_by_samples(PeepholeLSTMSequence.forward, info.batch_size, in_dims, args)

    @staticmethod
    def backward(ctx: Any, dy, dh_n, dc_n, *_):  # type: ignore[override]
        acts, cs, y, *inputs = ctx.saved_tensors
        if differentiable_backward_wanted(dy, dh_n, dc_n):  # a graph of the gradient, or vmap
            return vjp_by_autograd(peephole_sequence_by_autograd, inputs, ctx.needs_input_grad, (dy, dh_n, dc_n))
        xw, h_0, c_0, weight_hh, weight_ci, weight_cf, weight_co, mask = inputs
        dy, dh_n, dc_n = materialize((dy, dh_n, dc_n), (y, h_0, c_0))
        peepholes = (weight_ci, weight_cf, weight_co)
        args = (acts, cs, dy, dh_n, dc_n, weight_hh, peepholes, mask)
        needs = ctx.needs_input_grad
        if native.usable(acts, cs, dy, dh_n, dc_n, weight_hh, *peepholes, mask):  # in C++, derivatives fused
            dgates, dh, dc, dpeep = native.backward(native.PEEPHOLE, acts, cs, None, peepholes, dy, dh_n, dc_n,
                                                    weight_hh, mask)
            dweight_ci, dweight_cf, dweight_co = (d if need else None for d, need in zip(dpeep, needs[4:7]))
        else:
            dgates, dh, dc = peephole_gates_backward(*args)
            da_i, da_f, _, da_o = dgates.view(dgates.shape[:2] + (4, -1)).unbind(2)
            # dw_ci = sum_t,b da_i c_{t-1} ;  dw_cf = sum da_f c_{t-1} ;  dw_co = sum da_o c_t
            c_prev, c = cs[:-1], cs[1:]
            product = torch.empty_like(c)  # holds each product in turn
            dweight_ci = torch.mul(da_i, c_prev, out=product).sum((0, 1)) if needs[4] else None
            dweight_cf = torch.mul(da_f, c_prev, out=product).sum((0, 1)) if needs[5] else None
            dweight_co = torch.mul(da_o, c, out=product).sum((0, 1)) if needs[6] else None
        dweight_hh = recurrent_weight_gradient(dgates, h_0, y) if needs[3] else None
        return dgates, dh, dc, dweight_hh, dweight_ci, dweight_cf, dweight_co, None


def peephole_gates_backward(acts, cs, dy, dh_n, dc_n, weight_hh, peepholes, mask):
    """dL/da for every step, and dL/dh_0, dL/dc_0, from the forward's caches (acts ``(T, B, 5, H)`` with
    tanh(c_t) as block 5, cs ``(T+1, B, H)``) and the peepholes ``(w_ci, w_cf, w_co)``; shapes otherwise
    as :func:`lstmlib.nn.lstm.lstm_gates_backward`'s."""
    weight_ci, weight_cf, weight_co = peepholes
    f, o, tanh_c = acts[:, :, 1], acts[:, :, 3], acts[:, :, 4]  # (T, B, H) each
    # dc_t/da_i, dc_t/da_f, dc_t/da_g, dh_t/da_o: exactly the LSTM's, the peepholes only add paths
    local = gate_slopes(acts[:, :, :4], cs[:-1], tanh_c)  # (T, B, 4H)
    slope_i, slope_f, _, slope_o = local.view(local.shape[:2] + (4, -1)).unbind(2)
    # dh_t/dc_t = o tanh'(c_t) + (dh_t/da_o) w_co: c_t also reaches h_t through o
    dc_from_h = torch.addcmul(acts.new_ones(()), tanh_c, tanh_c, value=-1).mul_(o).addcmul_(slope_o, weight_co)
    # dc_t/dc_{t-1} = f + (dc_t/da_i) w_ci + (dc_t/da_f) w_cf: c_{t-1} also reaches c_t through i and f
    dc_carry = torch.addcmul(f, slope_i, weight_ci).addcmul_(slope_f, weight_cf)
    return lstm_backward_loop(local, dc_from_h, dc_carry, dy, dh_n, dc_n, weight_hh, mask)


def peephole_sequence(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_hh: torch.Tensor,
    weight_ci: torch.Tensor,
    weight_cf: torch.Tensor,
    weight_co: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the peephole recurrence over projected inputs ``xw: (T, B, 4H)`` -> ``y: (T, B, H), h_n, c_n``.

    Uses :class:`PeepholeLSTMSequence` when a gradient is needed, else a loop that saves nothing.
    """
    inputs = (xw, h_0, c_0, weight_hh, weight_ci, weight_cf, weight_co)
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return PeepholeLSTMSequence.apply(*inputs, mask)[:3]
    with torch.no_grad():
        y, c_n = _run_peephole_loop(xw, h_0, c_0, weight_hh, (weight_ci, weight_cf, weight_co), mask, keep=False)[:2]
        return y, y[-1], c_n


class PeepholeLSTM(RecurrentBase):
    """Multi-layer peephole LSTM with the arguments and outputs of ``torch.nn.LSTM``.

    ``forward(input, hx=None) -> (output, (h_n, c_n))`` with ``input: (T, B, D)``
    (``(B, T, D)`` if ``batch_first``), unbatched ``(T, D)`` or a
    ``PackedSequence``; ``hx = (h_0, c_0)``, each ``(num_layers * dirs, B, H)``;
    ``output: (T, B, dirs * H)``. Parameters: the LSTM's plus ``weight_ci_l{k}``,
    ``weight_cf_l{k}``, ``weight_co_l{k}`` (``_reverse`` suffix for the backward
    direction), each ``(H,)``. ``proj_size`` must be 0. Every argument after the
    sizes is keyword-only (there is no torch twin whose positional order to keep).
    """

    gate_multiplier = 4
    state_names = ("h_0", "c_0")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _checks.check_no_projection(proj_size, "lstmlib.nn.PeepholeLSTM")
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias, batch_first=batch_first,
                         dropout=dropout, bidirectional=bidirectional, device=device, dtype=dtype)
        self.proj_size = 0

    def parameter_shapes(self, layer_input_size: int) -> dict[str, tuple[int, ...]]:
        """The LSTM's parameters of one layer-direction, then the three peephole vectors ``(H,)``."""
        shapes = super().parameter_shapes(layer_input_size)
        return shapes | {stem: (self.hidden_size,) for stem in PEEPHOLE_STEMS}

    def run_layer(self, x, state, params, mask):
        h_0, c_0 = state
        xw = project_inputs(x, params["weight_ih"], params.get("bias_ih"), params.get("bias_hh"))  # (T, B, 4H)
        peepholes = (params["weight_ci"], params["weight_cf"], params["weight_co"])
        y, h_n, c_n = peephole_sequence(xw, h_0, c_0, params["weight_hh"], *peepholes, mask)
        return y, (h_n, c_n)

    def cell(self, x, state, params):
        return peephole_cell(x, *state, params["weight_ih"], params["weight_hh"], params["weight_ci"],
                             params["weight_cf"], params["weight_co"], params.get("bias_ih"), params.get("bias_hh"))


class PeepholeLSTMCell(RecurrentCellBase):
    """One peephole-LSTM step, with the arguments and outputs of ``torch.nn.LSTMCell``.

    ``forward(input, hx=None) -> (h, c)``; ``input: (B, D)`` or ``(D,)``;
    ``hx = (h_0, c_0)``, each ``(B, H)`` or ``(H,)``. Parameters: the LSTM
    cell's plus ``weight_ci``, ``weight_cf``, ``weight_co``, each ``(H,)``, drawn
    after the LSTM's four. Every argument after the sizes is keyword-only.
    """

    gate_multiplier = 4
    state_names = ("h_0", "c_0")

    def __init__(
        self, input_size: int, hidden_size: int, *, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The LSTM cell's parameters, then the three peephole vectors ``(H,)``."""
        return super().parameter_shapes() | {stem: (self.hidden_size,) for stem in PEEPHOLE_STEMS}

    def step(self, x, state):
        h_prev, c_prev = state
        return peephole_cell(x, h_prev, c_prev, self.weight_ih, self.weight_hh, self.weight_ci, self.weight_cf,
                             self.weight_co, self.bias_ih, self.bias_hh)
