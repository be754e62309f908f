"""The plain (Elman) RNN: drop-in twins of ``torch.nn.RNN`` and ``torch.nn.RNNCell``.

``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` with ``act`` tanh or relu.
Same design as :mod:`lstmlib.nn.lstm`: the input projection is hoisted out of
the loop, and :class:`RNNSequence` runs the recurrence with a hand-written
backward.
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

__all__ = ["RNN", "RNNCell", "RNNSequence", "rnn_cell", "rnn_sequence"]

NONLINEARITIES = ("tanh", "relu")


def rnn_cell(
    x: torch.Tensor,
    h_prev: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
) -> torch.Tensor:
    """One RNN step. ``x: (B, D)``, ``h_prev: (B, H)`` -> ``h: (B, H)``.
    Book: :eq:`rnn-step` (chapter I.1, From RNNs to LSTMs: the vanishing gradient).
    """
    # h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    pre = F.linear(x, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)  # (B, H)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def _rnn_loop(
    xw: torch.Tensor, h_0: torch.Tensor, weight_hh: torch.Tensor, mask: torch.Tensor | None, nonlinearity: str
) -> torch.Tensor:
    """The recurrence, no autograd: ``xw: (T, B, H)`` -> ``y: (T, B, H)``, the state h_t of every step."""
    T, B, H = xw.shape
    matmul = StepMatmul(weight_hh, B)  # h W_hh^T, T times with the same W_hh
    tanh = Tanh(xw)
    activate = tanh if nonlinearity == "tanh" else lambda a, out: torch.clamp_min(a, 0, out=out)  # out = act(a)
    y = torch.empty_like(xw)
    xw_steps, y_steps = xw.unbind(0), y.unbind(0)
    mask_steps = mask.unbind(0) if mask is not None else None  # (B, 1) each
    h = h_0
    for t in range(T):
        # h_t = act(xw_t + h_{t-1} W_hh^T)
        pre = matmul(h, xw_steps[t])  # (B, H)
        if mask_steps is None:
            activate(pre, out=y_steps[t])
        else:  # frozen past the sequence's end: h_t = h_{t-1}
            torch.where(mask_steps[t], activate(pre, out=pre), h, out=y_steps[t])
        h = y_steps[t]
    return y


def _run_rnn_loop(xw, h_0, weight_hh, mask, nonlinearity):
    """:func:`_rnn_loop`, in C++ where :func:`lstmlib.nn.native.usable` allows: same arguments and result."""
    if native.usable(xw, h_0, weight_hh, mask):
        return native.rnn_forward(xw, h_0, weight_hh, mask, nonlinearity)
    return _rnn_loop(xw, h_0, weight_hh, mask, nonlinearity)


def rnn_sequence_by_autograd(xw, h_0, weight_hh, mask, nonlinearity):
    """:class:`RNNSequence`'s outputs ``(y, h_n)`` with differentiable operations only."""

    def step(xw_t, h):
        pre = xw_t + h @ weight_hh.t()
        return (pre.tanh() if nonlinearity == "tanh" else pre.relu(),)

    y, (h_n,) = scan_by_autograd(step, xw, (h_0,), mask)
    return y, h_n


class RNNSequence(torch.autograd.Function):
    """One layer, one direction, whole sequence: ``(xw, h_0, W_hh, mask, nonlinearity) -> (y, h_n)``.

    ``xw: (T, B, H)`` projected inputs, ``h_0: (B, H)``, ``W_hh: (H, H)``,
    ``mask: (T, B, 1)`` bool or None, ``nonlinearity`` 'tanh' or 'relu'.
    Second derivatives and torch.func: as :class:`~lstmlib.nn.lstm.LSTMSequence`.
    """

    @staticmethod
    def forward(xw, h_0, weight_hh, mask, nonlinearity):  # type: ignore[override]
        y = _run_rnn_loop(xw, h_0, weight_hh, mask, nonlinearity)
        return y, y[-1].clone()

    @staticmethod
    def setup_context(ctx: Any, inputs, output) -> None:
        xw, h_0, weight_hh, mask, ctx.nonlinearity = inputs
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(output[0], xw, h_0, weight_hh, mask)

    @staticmethod
    def vmap(info: Any, in_dims, *args):  # type: ignore[override]
        return vmap_by_samples(RNNSequence.forward, info.batch_size, in_dims, args)

    @staticmethod
    def backward(ctx: Any, dy, dh_n):  # type: ignore[override]
        y, xw, h_0, weight_hh, mask = ctx.saved_tensors
        if differentiable_backward_wanted(dy, dh_n):  # a graph of the gradient, or vmap
            return vjp_by_autograd(rnn_sequence_by_autograd, (xw, h_0, weight_hh, mask, ctx.nonlinearity),
                                   ctx.needs_input_grad, (dy, dh_n))
        dy, dh_n = materialize((dy, dh_n), (y, h_0))
        T, B, H = y.shape
        # act'(pre) from the output, for all steps at once: tanh' = 1 - h^2, relu' = [h > 0]
        slope = torch.addcmul(y.new_ones(()), y, y, value=-1) if ctx.nonlinearity == "tanh" else (y > 0).to(y.dtype)
        if mask is not None:
            valid = mask.to(y.dtype)  # (T, B, 1)
            slope = slope * valid  # a frozen step has no pre-activation gradient
            frozen_steps = (1 - valid).unbind(0)
        matmul = StepMatmul(weight_hh.t(), B)  # dpre W_hh, T times with the same W_hh
        dpre = torch.empty_like(y)  # dL/d(pre-activation): (T, B, H)
        dpre_steps, slope_steps, dy_steps = dpre.unbind(0), slope.unbind(0), dy.unbind(0)
        dh = dh_n + dy_steps[T - 1]  # dL/dh_T (via y_T and h_n)
        for t in reversed(range(T)):
            dy_prev = dy_steps[t - 1] if t > 0 else None  # h_{t-1} also feeds y_{t-1}
            torch.mul(dh, slope_steps[t], out=dpre_steps[t])  # backprop through act
            if mask is None:
                dh = matmul(dpre_steps[t], dy_prev)  # dh_{t-1} = dpre W_hh + dy_{t-1}
            else:  # + the gradient a frozen step hands straight back
                carry = dh * frozen_steps[t]
                dh = matmul(dpre_steps[t], carry if dy_prev is None else carry + dy_prev)
        dweight_hh = None
        if ctx.needs_input_grad[2]:
            # dW_hh = sum_t dpre_t^T h_{t-1}: one matmul over steps 1..T-1, plus step 0's h_0
            dweight_hh = torch.addmm(dpre[0].t() @ h_0, dpre[1:].reshape(-1, H).t(), y[:-1].reshape(-1, H))
        return dpre, dh, dweight_hh, None, None


def rnn_sequence(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    weight_hh: torch.Tensor,
    mask: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the RNN recurrence over projected inputs ``xw: (T, B, H)`` -> ``y: (T, B, H), h_n: (B, H)``."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in (xw, h_0, weight_hh)):
        return RNNSequence.apply(xw, h_0, weight_hh, mask, nonlinearity)
    with torch.no_grad():
        y = _run_rnn_loop(xw, h_0, weight_hh, mask, nonlinearity)
        return y, y[-1]


class RNN(RecurrentBase):
    """Multi-layer Elman RNN, a drop-in for ``torch.nn.RNN`` (``nonlinearity`` 'tanh' or 'relu').

    ``forward(input, hx=None) -> (output, h_n)``; shapes as :class:`lstmlib.nn.LSTM`.
    """

    gate_multiplier = 1
    state_names = ("h_0",)
    torch_twin = nn.RNN
    twin_arguments = RecurrentBase.twin_arguments + ("nonlinearity",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        chosen = _checks.check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias, batch_first=batch_first,
                         dropout=dropout, bidirectional=bidirectional, device=device, dtype=dtype)
        self.nonlinearity = chosen

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity!r}"

    def run_layer(self, x, state, params, mask):
        (h_0,) = state
        xw = project_inputs(x, params["weight_ih"], params.get("bias_ih"), params.get("bias_hh"))  # (T, B, H)
        y, h_n = rnn_sequence(xw, h_0, params["weight_hh"], mask, self.nonlinearity)
        return y, (h_n,)

    def cell(self, x, state, params):
        return (rnn_cell(x, *state, params["weight_ih"], params["weight_hh"], params.get("bias_ih"),
                         params.get("bias_hh"), self.nonlinearity),)


class RNNCell(RecurrentCellBase):
    """One RNN step, a drop-in for ``torch.nn.RNNCell``: ``forward(input, hx=None) -> h``."""

    gate_multiplier = 1
    state_names = ("h_0",)
    torch_twin = nn.RNNCell
    twin_arguments = RecurrentCellBase.twin_arguments + ("nonlinearity",)

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
        device: Any = None, dtype: Any = None,
    ) -> None:
        chosen = _checks.check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.nonlinearity = chosen

    def step(self, x, state):
        (h_prev,) = state
        return (rnn_cell(x, h_prev, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity),)
