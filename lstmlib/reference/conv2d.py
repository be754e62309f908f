"""A "same"-padded 2-D convolution in NumPy: forward and hand-written backward.

The building block of the ConvLSTM (:mod:`lstmlib.reference.convlstm`). As in
``torch.nn.functional.conv2d`` (stride 1, no dilation, one group) it is a
cross-correlation: for a kernel ``w: (O, C, kh, kw)`` with odd ``kh, kw``,
zero padding ``ph = kh // 2``, ``pw = kw // 2`` on each side keeps the frame
size, and

    y[n, o, r, s] = b[o] + Σ_{c, a, e} w[o, c, a, e] · x_pad[n, c, r + a, s + e].

Read as a sum over the kernel offsets ``(a, e)``, each offset is one small
matrix product between ``w[:, :, a, e]`` (O, C) and the padded input shifted
by ``(a, e)``; the backward pass runs the same loop and sends each product's
gradient to both of its factors.
"""

import numpy as np

from lstmlib._checks import check_array_type, check_rank
from lstmlib.reference.params import NUMPY_ARRAY, check_array, checked_by


def _check_conv_inputs(x, weight, bias):
    """Validate x, weight (odd kernel) and bias; return ``(kh, kw)``."""
    check_array_type("weight", weight, np.ndarray, NUMPY_ARRAY)
    check_rank("weight", weight, (4,), "(O, C, kh, kw)")
    O, C, kh, kw = weight.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(
            f"weight must have odd kernel sizes (kh, kw): only then does 'same' padding keep the frame "
            f"size; got weight of shape {weight.shape} (kh={kh}, kw={kw})"
        )
    check_array("weight", weight, weight.shape, "(O, C, kh, kw)", like=("weight", weight))
    check_array_type("x", x, np.ndarray, NUMPY_ARRAY)
    check_rank("x", x, (4,), "(N, C, H, W)")
    check_array("x", x, (None, C, None, None), "(N, C, H, W)", like=("weight", weight))
    if bias is not None:
        check_array("bias", bias, (O,), "(O,)", like=("weight", weight))
    return kh, kw


def _check_conv_backward_inputs(x, weight, dy):
    _check_conv_inputs(x, weight, None)
    check_array("dy", dy, (x.shape[0], weight.shape[0], *x.shape[2:]), "(N, O, H, W)", like=("x", x))


@checked_by(_check_conv_inputs)
def conv2d_forward(x, weight, bias=None):
    """``y = conv(x, weight) + bias`` with "same" zero padding, stride 1.

    x: (N, C, H, W), weight: (O, C, kh, kw) with odd kh and kw, bias: (O,) or
    None -> y: (N, O, H, W), the frame size of ``x``.
    """
    kh, kw = weight.shape[2:]
    N, C, H, W = x.shape
    x_pad = _pad(x, kh // 2, kw // 2)  # (N, C, H + kh - 1, W + kw - 1)
    y = np.zeros((N, weight.shape[0], H, W), x.dtype)
    for a in range(kh):
        for e in range(kw):
            # y[n, o, r, s] += Σ_c w[o, c, a, e] x_pad[n, c, r + a, s + e]
            y += np.einsum("oc,nchw->nohw", weight[:, :, a, e], x_pad[:, :, a : a + H, e : e + W])
    if bias is not None:
        y += bias[:, None, None]
    return y


@checked_by(_check_conv_backward_inputs)
def conv2d_backward(x, weight, dy):
    """Backward of :func:`conv2d_forward`: ``dy = ∂L/∂y`` -> ``(dx, dweight, dbias)``.

    x: (N, C, H, W) and weight: (O, C, kh, kw), as given to the forward;
    dy: (N, O, H, W). Returns dx: (N, C, H, W), dweight: (O, C, kh, kw) and
    dbias: (O,) (what the bias would receive; ignore it for a conv without bias).
    """
    kh, kw = weight.shape[2:]
    N, C, H, W = x.shape
    ph, pw = kh // 2, kw // 2
    x_pad = _pad(x, ph, pw)
    dx_pad = np.zeros_like(x_pad)
    dweight = np.empty_like(weight)
    for a in range(kh):
        for e in range(kw):
            window = x_pad[:, :, a : a + H, e : e + W]
            # ∂/∂w[o, c, a, e] = Σ_{n, r, s} dy[n, o, r, s] x_pad[n, c, r + a, s + e]
            dweight[:, :, a, e] = np.einsum("nohw,nchw->oc", dy, window)
            # ∂/∂x_pad[n, c, r + a, s + e] += Σ_o dy[n, o, r, s] w[o, c, a, e]
            dx_pad[:, :, a : a + H, e : e + W] += np.einsum("oc,nohw->nchw", weight[:, :, a, e], dy)
    # the padding is constant zeros: its gradient goes nowhere
    dx = dx_pad[:, :, ph : ph + H, pw : pw + W]
    # y[n, o, r, s] = ... + b[o]
    dbias = dy.sum(axis=(0, 2, 3))
    return dx, dweight, dbias


def _pad(x, ph, pw):
    """Zero-pad the two spatial axes of ``x: (N, C, H, W)`` by ``ph`` rows and ``pw`` columns on each side."""
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
