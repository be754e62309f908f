"""The coupled input-forget gate LSTM (CIFG): the LSTM whose forget gate is one minus its input gate.

One of the eight variants that Greff et al. (2017) compared: the cell forgets
exactly as much as it writes, so the forget gate and its weights disappear::

    [a_i; a_g; a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    i = σ(a_i) ;  f = 1 - i ;  g = tanh(a_g) ;  o = σ(a_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g  =  c_{t-1} + i ⊙ (g - c_{t-1})
    h_t = o ⊙ tanh(c_t)

Parameters are named as the LSTM's (``weight_ih_l{k} (3H, D)``,
``weight_hh_l{k} (3H, H)``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H,), ``_reverse``
for the backward direction), with the blocks in the LSTM's order less f:
i, g, o. Since σ(-a) = 1 - σ(a), a CIFG equals the LSTM whose forget-gate
weights and biases are the negated input-gate ones: that is how
:meth:`CoupledLSTM.to_lstm_state_dict` turns one into the other.

Speed: as the LSTM, one autograd node per layer-direction, the input
projection hoisted out of the loop, and a hand-written backward that reuses
the LSTM's reversed-time loop (:func:`~lstmlib.nn.lstm.lstm_backward_loop`).
"""

from __future__ import annotations

from typing import Any

import torch
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
from .lstm import lstm_backward_loop, recurrent_weight_gradient
from .recurrent import RecurrentBase, RecurrentCellBase

__all__ = [
    "CoupledLSTM",
    "CoupledLSTMCell",
    "CoupledLSTMSequence",
    "coupled_cell",
    "coupled_sequence",
    "coupled_to_lstm_blocks",
]

GATES = 3  # i, g, o: the LSTM's blocks without f


def coupled_cell(
    x: torch.Tensor,
    h_prev: torch.Tensor,
    c_prev: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One CIFG step, by the equations. ``x: (B, D)``, ``h_prev, c_prev: (B, H)`` -> ``h, c: (B, H)``.

    Book: :eq:`cifg-step` (chapter II.6, Choosing a recurrent cell).
    """
    # [a_i; a_g; a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    a = F.linear(x, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)  # (B, 3H)
    a_i, a_g, a_o = a.chunk(GATES, 1)
    # i = σ(a_i) ;  f = 1 - i ;  g = tanh(a_g) ;  o = σ(a_o)
    i, g, o = a_i.sigmoid(), a_g.tanh(), a_o.sigmoid()
    f = 1 - i
    # c_t = f ⊙ c_{t-1} + i ⊙ g
    c = f * c_prev + i * g
    # h_t = o ⊙ tanh(c_t)
    h = o * c.tanh()
    return h, c


def _coupled_loop(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_hh: torch.Tensor,
    mask: torch.Tensor | None,
    keep: bool,
) -> tuple[torch.Tensor, ...]:
    """The recurrence, no autograd. ``xw: (T, B, 3H)`` projected inputs (biases included).

    Returns ``y: (T, B, H)``, ``c_n: (B, H)`` and, with ``keep``, the caches:
    gate activations ``(T, B, 3, H)`` (i, g, o), ``cs: (T+1, B, H)`` (c_0 then
    every c_t) and ``tanh(c_t): (T, B, H)``. Without ``keep`` one step's buffers
    are reused: a forward-only run saves nothing.
    """
    T, B, G = xw.shape
    H = G // GATES
    n = T if keep else 1
    matmul = StepMatmul(weight_hh, B)  # h W_hh^T, T times with the same W_hh
    y = xw.new_empty((T, B, H))
    cs = xw.new_empty((n + 1 if keep else 1, B, H))
    cs[0] = c_0
    acts = xw.new_empty((n, B, GATES, H))  # i, g, o after their nonlinearities
    tanh_cs = xw.new_empty((n, B, H))
    write = xw.new_empty((B, H))  # g - c_{t-1}: what the input gate writes over the old cell
    # Views made once: slicing inside the loop costs Python time at every step.
    xw_steps, y_steps, c_steps, tanh_c_steps = xw.unbind(0), y.unbind(0), cs.unbind(0), tanh_cs.unbind(0)
    act_steps = acts.view(n, B, G).unbind(0)  # (B, 3H) each
    i_steps, g_steps, o_steps = (acts[:, :, k].unbind(0) for k in range(GATES))
    mask_steps = mask.unbind(0) if mask is not None else None  # (B, 1) each
    tanh, g_block = Tanh(xw), slice(H, 2 * H)
    h, c = h_0, c_steps[0]
    for t in range(T):
        s = t if keep else 0
        c_out = c_steps[t + 1] if keep else c  # without keep, c is updated in place
        i, g, o = i_steps[s], g_steps[s], o_steps[s]
        # [a_i; a_g; a_o] = xw_t + h_{t-1} W_hh^T
        a = matmul(h, xw_steps[t])  # (B, 3H)
        # i, o = σ(a_i, a_o) ;  g = tanh(a_g)
        tanh.sigmoid_but_tanh_in(a, g_block, out=act_steps[s])
        # c_t = (1 - i) ⊙ c_{t-1} + i ⊙ g = c_{t-1} + i ⊙ (g - c_{t-1})
        torch.sub(g, c, out=write)
        if mask_steps is None:
            torch.addcmul(c, i, write, out=c_out)
            tanh(c_out, out=tanh_c_steps[s])
            # h_t = o ⊙ tanh(c_t)
            torch.mul(o, tanh_c_steps[s], out=y_steps[t])
        else:  # past a sequence's end the state stays frozen: c_t = c_{t-1}, h_t = h_{t-1}
            torch.where(mask_steps[t], torch.addcmul(c, i, write), c, out=c_out)
            tanh(c_out, out=tanh_c_steps[s])
            torch.where(mask_steps[t], o * tanh_c_steps[s], h, out=y_steps[t])
        h, c = y_steps[t], c_out
    return y, c, acts, cs, tanh_cs


def _run_coupled_loop(xw, h_0, c_0, weight_hh, mask, keep):
    """:func:`_coupled_loop`, in C++ where :func:`lstmlib.nn.native.usable` allows: same arguments and results."""
    if native.usable(xw, h_0, c_0, weight_hh, mask):
        return native.forward(native.COUPLED, xw, h_0, c_0, weight_hh, None, mask, keep)
    return _coupled_loop(xw, h_0, c_0, weight_hh, mask, keep)


def coupled_gate_slopes(acts: torch.Tensor, c_prev: torch.Tensor, tanh_c: torch.Tensor) -> torch.Tensor:
    """How each gate pre-activation moves the state, for all steps at once (outside the time loop).

    ``acts: (T, B, 3, H)`` the gates i, g, o after their nonlinearities,
    ``c_prev: (T, B, H)``, ``tanh_c: (T, B, H)``. Returns ``(T, B, 3H)``:
    dc_t/da_i = (g - c_{t-1}) σ'(a_i) (the input gate writes g and, through
    f = 1 - i, erases c_{t-1}), dc_t/da_g = i tanh'(a_g), dh_t/da_o = tanh(c_t) σ'(a_o).
    """
    T, B, _, H = acts.shape
    i, g = acts[:, :, 0], acts[:, :, 1]
    local = torch.addcmul(acts, acts, acts, value=-1)  # s (1 - s): (T, B, 3, H); g's slot replaced below
    local[:, :, 0] *= g - c_prev  # dc/da_i
    torch.addcmul(acts.new_ones(()), g, g, value=-1, out=local[:, :, 1]).mul_(i)  # dc/da_g = i (1 - g^2)
    local[:, :, 2] *= tanh_c  # dh/da_o
    return local.reshape(T, B, GATES * H)


def coupled_gates_backward(acts, cs, tanh_c, dy, dh_n, dc_n, weight_hh, mask):
    """dL/da for every step, and dL/dh_0, dL/dc_0, from the forward's caches; shapes as
    :func:`lstmlib.nn.lstm.lstm_gates_backward`'s with 3 gate blocks (i, g, o)."""
    i, o = acts[:, :, 0], acts[:, :, 2]  # (T, B, H) each
    local = coupled_gate_slopes(acts, cs[:-1], tanh_c)  # (T, B, 3H)
    dc_from_h = o * torch.addcmul(acts.new_ones(()), tanh_c, tanh_c, value=-1)  # dh/dc = o tanh'(c_t)
    dc_carry = 1 - i  # dc_t/dc_{t-1} = f = 1 - i
    return lstm_backward_loop(local, dc_from_h, dc_carry, dy, dh_n, dc_n, weight_hh, mask)


def coupled_to_lstm_blocks(weight: torch.Tensor) -> torch.Tensor:
    """A CIFG weight or bias ``(3H, ...)`` (blocks i, g, o) as the LSTM's ``(4H, ...)`` (i, f = -i, g, o)."""
    w_i, w_g, w_o = weight.chunk(GATES, 0)
    return torch.cat([w_i, -w_i, w_g, w_o], 0)


def coupled_sequence_by_autograd(xw, h_0, c_0, weight_hh, mask):
    """:class:`CoupledLSTMSequence`'s outputs ``(y, h_n, c_n)`` with differentiable operations only."""

    def step(xw_t, h, c):
        i, g, o = (xw_t + h @ weight_hh.t()).chunk(GATES, -1)
        c = c + i.sigmoid() * (g.tanh() - c)
        return o.sigmoid() * c.tanh(), c

    y, (h_n, c_n) = scan_by_autograd(step, xw, (h_0, c_0), mask)
    return y, h_n, c_n


class CoupledLSTMSequence(torch.autograd.Function):
    """One layer, one direction, whole sequence: ``(xw, h_0, c_0, W_hh, mask) -> (y, h_n, c_n, *caches)``.

    ``xw: (T, B, 3H)`` projected inputs, ``h_0, c_0: (B, H)``, ``W_hh: (3H, H)``,
    ``mask: (T, B, 1)`` bool or None; ``y: (T, B, H)``; the caches are non-differentiable.
    Second derivatives and torch.func: as :class:`~lstmlib.nn.lstm.LSTMSequence`.
    """

    @staticmethod
    def forward(xw, h_0, c_0, weight_hh, mask):  # type: ignore[override]
        y, c_n, acts, cs, tanh_cs = _run_coupled_loop(xw, h_0, c_0, weight_hh, mask, keep=True)
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
        return vmap_by_samples(CoupledLSTMSequence.forward, info.batch_size, in_dims, args)

    @staticmethod
    def backward(ctx: Any, dy, dh_n, dc_n, *_):  # type: ignore[override]
        acts, cs, tanh_c, y, xw, h_0, c_0, weight_hh, mask = ctx.saved_tensors
        if differentiable_backward_wanted(dy, dh_n, dc_n):  # a graph of the gradient, or vmap
            return vjp_by_autograd(coupled_sequence_by_autograd, (xw, h_0, c_0, weight_hh, mask),
                                   ctx.needs_input_grad, (dy, dh_n, dc_n))
        dy, dh_n, dc_n = materialize((dy, dh_n, dc_n), (y, h_0, c_0))
        args = (acts, cs, tanh_c, dy, dh_n, dc_n, weight_hh, mask)
        if native.usable(*args):  # the loop in C++, the local derivatives fused into it
            dgates, dh, dc = native.backward(native.COUPLED, acts, cs, tanh_c, None, *args[3:])
        else:
            dgates, dh, dc = coupled_gates_backward(*args)
        dweight_hh = recurrent_weight_gradient(dgates, h_0, y) if ctx.needs_input_grad[3] else None
        return dgates, dh, dc, dweight_hh, None


def coupled_sequence(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_hh: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the CIFG recurrence over projected inputs ``xw: (T, B, 3H)`` -> ``y: (T, B, H), h_n, c_n``.

    Uses :class:`CoupledLSTMSequence` when a gradient is needed, else a loop that saves nothing.
    """
    if torch.is_grad_enabled() and any(t.requires_grad for t in (xw, h_0, c_0, weight_hh)):
        return CoupledLSTMSequence.apply(xw, h_0, c_0, weight_hh, mask)[:3]
    with torch.no_grad():
        y, c_n = _run_coupled_loop(xw, h_0, c_0, weight_hh, mask, keep=False)[:2]
        return y, y[-1], c_n


class CoupledLSTM(RecurrentBase):
    """Multi-layer coupled input-forget gate LSTM (CIFG), with ``torch.nn.LSTM``'s outputs.

    ``forward(input, hx=None) -> (output, (h_n, c_n))`` with ``input: (T, B, D)``
    (``(B, T, D)`` if ``batch_first``), unbatched ``(T, D)`` or a
    ``PackedSequence``; ``hx = (h_0, c_0)``, each ``(num_layers * dirs, B, H)``;
    ``output: (T, B, dirs * H)``. Parameters as the LSTM's with 3H rows (i, g, o).
    No torch twin: every argument after the sizes is keyword-only (``RecurrentBase``'s own signature).
    """

    gate_multiplier = GATES
    state_names = ("h_0", "c_0")

    def to_lstm_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights of the LSTM that computes exactly this CIFG: a ``state_dict`` for ``torch.nn.LSTM``.

        Each 3H block stack (i, g, o) becomes the LSTM's 4H stack (i, f, g, o)
        with the forget block the negated input block: σ(-a_i) = 1 - σ(a_i) = f.
        Load it into ``torch.nn.LSTM`` (or :class:`lstmlib.nn.LSTM`) built with
        this module's ``input_size, hidden_size, num_layers, bias, bidirectional``.
        """
        return {name: coupled_to_lstm_blocks(weight.detach()) for name, weight in self.state_dict().items()}

    def run_layer(self, x, state, params, mask):
        h_0, c_0 = state
        xw = project_inputs(x, params["weight_ih"], params.get("bias_ih"), params.get("bias_hh"))  # (T, B, 3H)
        y, h_n, c_n = coupled_sequence(xw, h_0, c_0, params["weight_hh"], mask)
        return y, (h_n, c_n)

    def cell(self, x, state, params):
        return coupled_cell(x, *state, params["weight_ih"], params["weight_hh"], params.get("bias_ih"),
                            params.get("bias_hh"))


class CoupledLSTMCell(RecurrentCellBase):
    """One CIFG step, with the outputs of ``torch.nn.LSTMCell``: ``forward(input, hx=None) -> (h, c)``.

    ``input: (B, D)`` or ``(D,)``; ``hx = (h_0, c_0)``, each ``(B, H)`` or ``(H,)``.
    Parameters ``weight_ih (3H, D)``, ``weight_hh (3H, H)``, ``bias_ih``, ``bias_hh`` (3H,),
    blocks i, g, o. Every argument after the sizes is keyword-only.
    """

    gate_multiplier = GATES
    state_names = ("h_0", "c_0")

    def __init__(
        self, input_size: int, hidden_size: int, *, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias=bias, device=device, dtype=dtype)

    def step(self, x, state):
        h_prev, c_prev = state
        return coupled_cell(x, h_prev, c_prev, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
