"""The convolutional LSTM (Shi et al., 2015): :class:`ConvLSTM` and :class:`ConvLSTMCell`.

An LSTM over sequences of frames whose matrix products are "same"-padded
convolutions, so states keep the frame size (the equations, with their
optional Hadamard peepholes, are in :mod:`lstmlib.reference.convlstm`, the
NumPy twin these modules are tested against). :class:`ConvLSTM` plugs into
the shared composition :class:`~lstmlib.nn.recurrent.RecurrentBase`, which
brings stacking, bidirectional runs, ``batch_first``, unbatched input and
packed sequences of frames.

Speed (:class:`ConvLSTMSequence`, one layer-direction): the input convolution
of all T steps is one convolution over T·B frames (both biases folded in); the
loop runs one convolution of ``h_{t-1}`` per step and the gate arithmetic in
place; the hand-written backward takes each weight gradient (``W_ih``,
``W_hh``) as one convolution gradient over all T·B frames instead of T small
ones. benchmarks/bench_convlstm.py compares it with the per-step pattern.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn import grad as conv_grad

from .. import _checks
from . import fast_paths
from .deploy import TorchInterop, refuse_jit_trace
from .fast_paths import Tanh
from .higher_order import (
    differentiable_backward_wanted,
    materialize,
    scan_by_autograd,
    vjp_by_autograd,
    vmap_by_samples,
)
from .init import reset_uniform_
from .recurrent import RecurrentBase

__all__ = ["ConvLSTM", "ConvLSTMCell", "ConvLSTMSequence", "convlstm_cell", "convlstm_sequence"]

PEEPHOLES = ("weight_ci", "weight_cf", "weight_co")


def _padding(weight: torch.Tensor) -> tuple[int, int]:
    """The zero padding ``(kh // 2, kw // 2)`` that keeps the frame size for an odd kernel ``(..., kh, kw)``."""
    kh, kw = weight.shape[-2:]
    return kh // 2, kw // 2


def conv_same(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``weight * x + bias`` with zero padding that keeps the frame size (odd kernels).

    ``x: (N, C, H, W)``, ``weight: (O, C, kh, kw)``, ``bias: (O,)`` or None -> ``(N, O, H, W)``.
    """
    return F.conv2d(x, weight, bias, padding=_padding(weight))


def convlstm_cell(
    x: torch.Tensor,
    h_prev: torch.Tensor,
    c_prev: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
    peepholes: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One ConvLSTM step, by the equations (autograd differentiates it).
    Book: :eq:`convlstm-step` (chapter II.3, Convolutional LSTMs).

    ``x: (B, C, H, W)``, ``h_prev, c_prev: (B, Hc, H, W)`` -> ``h, c: (B, Hc, H, W)``;
    peepholes: ``(w_ci, w_cf, w_co)``, each ``(Hc, H, W)``, or None.
    """
    # a = W_ih * x_t + b_ih + W_hh * h_{t-1} + b_hh   (B, 4Hc, H, W)
    a = conv_same(x, weight_ih, bias_ih) + conv_same(h_prev, weight_hh, bias_hh)
    a_i, a_f, a_g, a_o = a.chunk(4, 1)
    if peepholes is not None:
        w_ci, w_cf, w_co = peepholes  # (Hc, H, W) each
        # i_t = σ(a_i + w_ci ⊙ c_{t-1}),  f_t = σ(a_f + w_cf ⊙ c_{t-1})
        a_i, a_f = torch.addcmul(a_i, w_ci, c_prev), torch.addcmul(a_f, w_cf, c_prev)
    # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    c = torch.addcmul(a_f.sigmoid() * c_prev, a_i.sigmoid(), a_g.tanh())
    if peepholes is not None:
        # o_t = σ(a_o + w_co ⊙ c_t)
        a_o = torch.addcmul(a_o, w_co, c)
    # h_t = o_t ⊙ tanh(c_t)
    h = a_o.sigmoid() * c.tanh()
    return h, c


def _convlstm_loop(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_hh: torch.Tensor,
    peepholes: tuple[torch.Tensor, ...] | None,
    mask: torch.Tensor | None,
    keep: bool,
) -> tuple[torch.Tensor, ...]:
    """The recurrence, no autograd. ``xw: (T, B, 4Hc, H, W)`` convolved inputs (biases included).

    ``xw`` is overwritten, step by step, with the gate activations i, f, g, o
    (stacked on the channels, as the pre-activations were): it becomes the
    ``acts`` cache, and the loop allocates no second buffer of that size.
    Returns ``y: (T, B, Hc, H, W)`` (h_t of every step), ``c_n: (B, Hc, H, W)``
    and, with ``keep``, the other caches ``cs: (T+1, B, Hc, H, W)`` (``c_0``
    then every c_t) and ``tanh(c_t): (T, B, Hc, H, W)``; without ``keep`` one
    step's buffers are reused.
    """
    T, B, G, H, W = xw.shape
    Hc, n, padding = G // 4, T if keep else 1, _padding(weight_hh)
    y = xw.new_empty((T, B, Hc, H, W))
    cs = xw.new_empty((n + 1, B, Hc, H, W))
    cs[0] = c_0
    tanh_cs = xw.new_empty((n, B, Hc, H, W))
    i_blk, f_blk, g_blk, o_blk = (slice(k * Hc, (k + 1) * Hc) for k in range(4))
    tanh = Tanh(xw)
    h, c = h_0, cs[0]
    for t in range(T):
        s = t if keep else 0
        act, c_out, tanh_c = xw[t], cs[s + 1] if keep else c, tanh_cs[s]  # without keep, c is updated in place
        i, f, g, o = act[:, i_blk], act[:, f_blk], act[:, g_blk], act[:, o_blk]
        # a = xw_t + W_hh * h_{t-1}   (B, 4Hc, H, W)
        a = F.conv2d(h, weight_hh, padding=padding).add_(act)
        if peepholes is None:
            # i, f, o = σ(a_i, a_f, a_o) ;  g = tanh(a_g)
            tanh.sigmoid_but_tanh_in(a, g_blk, out=act)
        else:
            w_ci, w_cf, w_co = peepholes
            # i = σ(a_i + w_ci ⊙ c_{t-1}) ;  f = σ(a_f + w_cf ⊙ c_{t-1}) ;  g = tanh(a_g)
            a[:, i_blk].addcmul_(w_ci, c)
            a[:, f_blk].addcmul_(w_cf, c)
            torch.sigmoid(a[:, : 2 * Hc], out=act[:, : 2 * Hc])
            tanh(a[:, g_blk], out=g)
        new_c = torch.mul(f, c, out=c_out if mask is None else None).addcmul_(i, g)  # c_t = f ⊙ c_{t-1} + i ⊙ g
        if mask is not None:  # past a sequence's end the state stays frozen: c_t = c_{t-1}
            torch.where(mask[t], new_c, c, out=c_out)
        if peepholes is not None:
            # o = σ(a_o + w_co ⊙ c_t)
            torch.sigmoid(a[:, o_blk].addcmul_(w_co, c_out), out=o)
        # h_t = o ⊙ tanh(c_t)
        tanh(c_out, out=tanh_c)
        if mask is None:
            torch.mul(o, tanh_c, out=y[t])
        else:  # ... and h_t = h_{t-1}
            torch.where(mask[t], o * tanh_c, h, out=y[t])
        h, c = y[t], c_out
    return y, c, cs, tanh_cs


def convlstm_sequence_by_autograd(x, weight_ih, bias, h_0, c_0, weight_hh, w_ci, w_cf, w_co, mask):
    """:class:`ConvLSTMSequence`'s outputs ``(y, h_n, c_n)`` with differentiable operations only:
    :func:`convlstm_cell` stepped over time."""
    peepholes = None if w_ci is None else (w_ci, w_cf, w_co)

    def step(x_t, h, c):
        return convlstm_cell(x_t, h, c, weight_ih, weight_hh, bias, None, peepholes)

    y, (h_n, c_n) = scan_by_autograd(step, x, (h_0, c_0), mask)
    return y, h_n, c_n


class ConvLSTMSequence(torch.autograd.Function):
    """One layer, one direction, whole sequence, input convolution included.

    ``(x, W_ih, bias, h_0, c_0, W_hh, w_ci, w_cf, w_co, mask) -> (y, h_n, c_n, *caches)`` with
    ``x: (T, B, C, H, W)``, ``W_ih: (4Hc, C, kh, kw)``, ``bias = b_ih + b_hh: (4Hc,)``
    or None, ``h_0, c_0: (B, Hc, H, W)``, ``W_hh: (4Hc, Hc, kh, kw)``, peepholes
    ``(Hc, H, W)`` each or all None, ``mask: (T, B, 1, 1, 1)`` bool or None;
    ``y: (T, B, Hc, H, W)``; the caches are non-differentiable.
    Second derivatives and torch.func: as :class:`~lstmlib.nn.lstm.LSTMSequence`.
    """

    @staticmethod
    def forward(x, weight_ih, bias, h_0, c_0, weight_hh, w_ci, w_cf, w_co, mask):  # type: ignore[override]
        T, B = x.shape[:2]
        # W_ih * x_t + b_ih + b_hh for every step at once: one convolution over T*B frames
        xw = conv_same(x.flatten(0, 1), weight_ih, bias).unflatten(0, (T, B))  # (T, B, 4Hc, H, W)
        peepholes = None if w_ci is None else (w_ci, w_cf, w_co)
        y, c_n, cs, tanh_cs = _convlstm_loop(xw, h_0, c_0, weight_hh, peepholes, mask, keep=True)
        acts = xw  # now holding the gate activations
        return y, y[-1].clone(), c_n.clone(), acts, cs, tanh_cs

    @staticmethod
    def setup_context(ctx: Any, inputs, output) -> None:
        y, _, _, acts, cs, tanh_cs = output
        ctx.mark_non_differentiable(acts, cs, tanh_cs)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(acts, cs, tanh_cs, y, *inputs)

    @staticmethod
    def vmap(info: Any, in_dims, *args):  # type: ignore[override]
        return vmap_by_samples(ConvLSTMSequence.forward, info.batch_size, in_dims, args)

    @staticmethod
    def backward(ctx: Any, dy, dh_n, dc_n, *_):  # type: ignore[override]
        acts, cs, tanh_c, y, *inputs = ctx.saved_tensors
        if differentiable_backward_wanted(dy, dh_n, dc_n):  # a graph of the gradient, or vmap
            return vjp_by_autograd(convlstm_sequence_by_autograd, inputs, ctx.needs_input_grad, (dy, dh_n, dc_n))
        x, weight_ih, _, h_0, c_0, weight_hh, w_ci, w_cf, w_co, mask = inputs
        dy, dh_n, dc_n = materialize((dy, dh_n, dc_n), (y, h_0, c_0))
        T, B, G, H, W = acts.shape
        padding, peephole = _padding(weight_hh), w_ci is not None
        i, f, g, o = acts.chunk(4, 2)  # (T, B, Hc, H, W) each
        c_prev, c = cs[:-1], cs[1:]
        # Local derivatives of all steps at once, outside the loop (σ' = s (1 - s), tanh' = 1 - t²):
        #   da_i = dc * g σ'(a_i),  da_f = dc * c_{t-1} σ'(a_f),
        #   da_g = dc * i tanh'(a_g),  da_o = dh * tanh(c_t) σ'(a_o)
        one = acts.new_ones(())
        local = torch.addcmul(acts, acts, acts, value=-1)  # s (1 - s); g's slot replaced below
        local_i, local_f, local_g, local_o = local.chunk(4, 2)
        local_i *= g
        local_f *= c_prev
        torch.mul(i, torch.addcmul(one, g, g, value=-1), out=local_g)
        local_o *= tanh_c
        # dc_t += dh_t * ∂c-path of h_t = o ⊙ tanh(c_t) (and of the peephole w_co ⊙ c_t inside o)
        dc_from_h = o * torch.addcmul(one, tanh_c, tanh_c, value=-1)
        # dc_{t-1} = dc_t * (f + the peepholes w_ci ⊙ c_{t-1}, w_cf ⊙ c_{t-1} inside i and f)
        carry = f
        if peephole:
            dc_from_h.addcmul_(local_o, w_co)
            carry = torch.addcmul(torch.addcmul(f, local_i, w_ci), local_f, w_cf)
        da = local  # dL/da for every step, written over the local derivatives step by step: (T, B, 4Hc, H, W)
        if mask is not None:
            valid = mask.to(da.dtype)  # (T, B, 1, 1, 1): 1 while t < length
            frozen = 1 - valid
        dh, dc = dh_n + dy[T - 1], dc_n  # dL/dh_T (via y_T and h_n), dL/dc_T
        for t in reversed(range(T)):
            if mask is not None:
                # a frozen step hands its gradient straight to step t-1
                dh_frozen, dh = dh * frozen[t], dh * valid[t]
                dc_frozen, dc = dc * frozen[t], dc * valid[t]
            dc = torch.addcmul(dc, dh, dc_from_h[t])
            # [da_i, da_f, da_g, da_o] = [dc, dc, dc, dh] * local
            da[t] *= torch.cat([dc, dc, dc, dh], 1)
            # dh_{t-1} = W_hh^T ⋆ da_t (the transposed convolution) + dy_{t-1}
            dh = F.conv_transpose2d(da[t], weight_hh, padding=padding)
            if t > 0:
                dh += dy[t - 1]
            if mask is None:
                dc = dc * carry[t]
            else:
                dh += dh_frozen
                dc = torch.addcmul(dc_frozen, dc, carry[t])
        needs = ctx.needs_input_grad
        da_frames = da.flatten(0, 1)  # (T*B, 4Hc, H, W)
        # a_t = W_ih * x_t + b + ...: the input convolution's gradients over all T*B frames at once
        x_frames = x.flatten(0, 1)  # (T*B, C, H, W)
        padding_ih = _padding(weight_ih)
        dx, dweight_ih, dbias = fast_paths.conv2d_input_grads(da_frames, x_frames, weight_ih, padding_ih, needs[:3])
        grads = [None if dx is None else dx.view(x.shape), dweight_ih, dbias, dh, dc, None, None, None, None, None]
        if needs[5]:
            # dW_hh = Σ_t da_t ⋆ h_{t-1}: one weight gradient over all T*B frames
            h_prev = torch.cat([h_0.unsqueeze(0), y[:-1]]).flatten(0, 1)  # (T*B, Hc, H, W)
            grads[5] = conv_grad.conv2d_weight(h_prev, weight_hh.shape, da_frames, padding=padding)
        if peephole:
            da_i, da_f, _, da_o = da.chunk(4, 2)
            # dw_ci = Σ_{t,b} da_i ⊙ c_{t-1},  dw_cf = Σ da_f ⊙ c_{t-1},  dw_co = Σ da_o ⊙ c_t
            grads[6:9] = [(da_i * c_prev).sum((0, 1)), (da_f * c_prev).sum((0, 1)), (da_o * c).sum((0, 1))]
        return tuple(grads)


def convlstm_sequence(
    x: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
    peepholes: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run one ConvLSTM layer over ``x: (T, B, C, H, W)`` -> ``y: (T, B, Hc, H, W)``, ``h_n``, ``c_n``.

    ``h_0, c_0: (B, Hc, H, W)``; ``mask: (T, B, 1)`` bool or None: where False
    (past a sequence's end) the state stays frozen. Uses :class:`ConvLSTMSequence`
    when a gradient is needed, else a loop that saves nothing.
    """
    T, B = x.shape[:2]
    bias = None if bias_ih is None else bias_ih + bias_hh
    if mask is not None:
        mask = mask.view(T, B, 1, 1, 1)
    w_ci, w_cf, w_co = peepholes if peepholes is not None else (None, None, None)
    inputs = (x, weight_ih, bias, h_0, c_0, weight_hh, w_ci, w_cf, w_co)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in inputs):
        return ConvLSTMSequence.apply(*inputs, mask)[:3]
    with torch.no_grad():
        xw = conv_same(x.flatten(0, 1), weight_ih, bias).unflatten(0, (T, B))  # (T, B, 4Hc, H, W)
        y, c_n = _convlstm_loop(xw, h_0, c_0, weight_hh, peepholes, mask, keep=False)[:2]
        return y, y[-1], c_n




class ConvLSTM(RecurrentBase):
    """Multi-layer convolutional LSTM (Shi et al., 2015), with optional Hadamard peepholes.

    ``forward(input, hx=None) -> (output, (h_n, c_n))`` with ``input: (T, B, C, H, W)``
    (``(B, T, C, H, W)`` if ``batch_first``), unbatched ``(T, C, H, W)`` or a
    ``PackedSequence`` of frames; ``hx = (h_0, c_0)``, each
    ``(num_layers * dirs, B, Hc, H, W)``; ``output: (T, B, dirs * Hc, H, W)``,
    the frame size kept ("same" padding). With ``peephole=True``, ``frame_size=(H, W)``
    is required (the peephole weights are ``(Hc, H, W)``) and every input must have it.
    The sizes ``in_channels, hidden_channels, kernel_size`` are positional; every
    other argument is keyword-only.

    Parameters per layer ``k`` (and ``_reverse``): ``weight_ih_l{k} (4Hc, C_k, kh, kw)``,
    ``weight_hh_l{k} (4Hc, Hc, kh, kw)``, ``bias_ih_l{k}``, ``bias_hh_l{k} (4Hc,)``,
    ``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k} (Hc, H, W)``; gates
    i, f, g, o; layer 0 has the keys of :func:`lstmlib.reference.init_convlstm_params`.
    """

    gate_multiplier = 4
    state_names = ("h_0", "c_0")
    input_axes = ("C", "H", "W")
    state_axes = ("Hc", "H", "W")
    setting_names = ("kernel_size", "peephole", "frame_size")

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        peephole: bool = False,
        frame_size: tuple[int, int] | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        # checked here to name them as the caller did (RecurrentBase calls them input_size, hidden_size)
        _checks.check_positive_int("in_channels", in_channels)
        _checks.check_positive_int("hidden_channels", hidden_channels)
        peephole = _checks.check_bool("peephole", peephole)
        super().__init__(in_channels, hidden_channels, num_layers=num_layers, bias=bias, batch_first=batch_first,
                         dropout=dropout, bidirectional=bidirectional, device=device, dtype=dtype,
                         kernel_size=_checks.check_kernel_size(kernel_size), peephole=peephole,
                         frame_size=_checks.check_frame_size(frame_size, peephole))

    @property
    def in_channels(self) -> int:
        return self.input_size

    @property
    def hidden_channels(self) -> int:
        return self.hidden_size

    def parameter_shapes(self, layer_input_size: int) -> dict[str, tuple[int, ...]]:
        G, Hc, (kh, kw) = 4 * self.hidden_size, self.hidden_size, self.kernel_size
        shapes: dict[str, tuple[int, ...]] = {"weight_ih": (G, layer_input_size, kh, kw), "weight_hh": (G, Hc, kh, kw)}
        if self.bias:
            shapes.update(bias_ih=(G,), bias_hh=(G,))
        if self.peephole:
            shapes.update({stem: (Hc, *self.frame_size) for stem in PEEPHOLES})
        return shapes

    def reset_parameters(self) -> None:
        """Every parameter ~ U(±1/sqrt(Hc·kh·kw)), in registration order (for a 1×1 kernel the LSTM's 1/sqrt(H)).

        torch's LSTM bound 1/sqrt(H), with the recurrent fan-in Hc·kh·kw for H.
        """
        reset_uniform_(self, self.hidden_size * self.kernel_size[0] * self.kernel_size[1])

    def state_dims(self, x: torch.Tensor) -> tuple[int, ...]:
        return (self.hidden_size, *x.shape[-2:])  # (Hc, H, W)

    def _time_major_input(self, input: Any) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        x, lengths, is_batched = super()._time_major_input(input)
        _checks.check_frames("input", input.data if lengths is not None else input, self.frame_size)
        return x, lengths, is_batched

    def run_layer(self, x, state, params, mask):
        h_0, c_0 = state
        peepholes = tuple(params[stem] for stem in PEEPHOLES) if self.peephole else None
        y, h_n, c_n = convlstm_sequence(x, h_0, c_0, params["weight_ih"], params["weight_hh"],
                                        params.get("bias_ih"), params.get("bias_hh"), peepholes, mask)
        return y, (h_n, c_n)

    def cell(self, x, state, params):
        peepholes = tuple(params[stem] for stem in PEEPHOLES) if self.peephole else None
        return convlstm_cell(x, *state, params["weight_ih"], params["weight_hh"], params.get("bias_ih"),
                             params.get("bias_hh"), peepholes)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, kernel_size={self.kernel_size}"
        for name, default in (("num_layers", 1), ("batch_first", False), ("bias", True), ("peephole", False),
                              ("frame_size", None), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class ConvLSTMCell(TorchInterop, nn.Module):
    """One ConvLSTM step: ``forward(input, hx=None) -> (h, c)``.

    ``input: (B, C, H, W)`` or unbatched ``(C, H, W)``; ``hx = (h_0, c_0)``, each
    ``(B, Hc, H, W)`` (``(Hc, H, W)`` unbatched), zeros if None. Parameters as
    :class:`ConvLSTM`'s without the ``_l0`` suffix: ``weight_ih``, ``weight_hh``,
    ``bias_ih``, ``bias_hh`` and, with ``peephole=True``, ``weight_ci``,
    ``weight_cf``, ``weight_co``. Every argument after ``kernel_size`` is keyword-only.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        bias: bool = True,
        peephole: bool = False,
        frame_size: tuple[int, int] | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_channels = _checks.check_positive_int("in_channels", in_channels)
        self.hidden_channels = _checks.check_positive_int("hidden_channels", hidden_channels)
        self.kernel_size = _checks.check_kernel_size(kernel_size)
        self.bias = _checks.check_bool("bias", bias)
        self.peephole = _checks.check_bool("peephole", peephole)
        self.frame_size = _checks.check_frame_size(frame_size, self.peephole)
        G, Hc, (kh, kw) = 4 * self.hidden_channels, self.hidden_channels, self.kernel_size
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty((G, self.in_channels, kh, kw), **factory))
        self.weight_hh = nn.Parameter(torch.empty((G, Hc, kh, kw), **factory))
        for name in ("bias_ih", "bias_hh"):
            self.register_parameter(name, nn.Parameter(torch.empty(G, **factory)) if self.bias else None)
        for name in PEEPHOLES:
            self.register_parameter(name, nn.Parameter(torch.empty((Hc, *self.frame_size), **factory))
                                    if self.peephole else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(±1/sqrt(Hc·kh·kw)), as :class:`ConvLSTM`."""
        reset_uniform_(self, self.hidden_channels * self.kernel_size[0] * self.kernel_size[1])

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}"
        if not self.bias:
            s += ", bias=False"
        if self.peephole:
            s += f", peephole=True, frame_size={self.frame_size}"
        return s

    def forward(self, input: Any, hx: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        refuse_jit_trace(self)
        _checks.check_array_type("input", input, torch.Tensor, "a torch.Tensor")
        _checks.check_rank("input", input, (4, 3), "(B, C, H, W), or (C, H, W) unbatched")
        layout = "(B, C, H, W)" if input.ndim == 4 else "(C, H, W)"
        _checks.check_features("input", input, (4, 3), layout, self.in_channels, self.weight_ih, ("C", "H", "W"))
        _checks.check_frames("input", input, self.frame_size)
        is_batched = input.ndim == 4
        x = input if is_batched else input.unsqueeze(0)  # (B, C, H, W)
        dims = (self.hidden_channels, *x.shape[-2:])  # (Hc, H, W)
        if hx is None:
            zeros = x.new_zeros((x.shape[0], *dims))
            states = (zeros, zeros)
        else:
            expected = (x.shape[0], *dims) if is_batched else dims
            layout = "(B, Hc, H, W)" if is_batched else "(Hc, H, W)"
            states = _checks.check_states(("h_0", "c_0"), hx, expected, layout, x, torch.Tensor)
            if not is_batched:
                states = tuple(s.unsqueeze(0) for s in states)
        peepholes = (self.weight_ci, self.weight_cf, self.weight_co) if self.peephole else None
        h, c = convlstm_cell(x, *states, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, peepholes)
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))
