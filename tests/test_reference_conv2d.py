"""lstmlib.reference.conv2d: the "same"-padded convolution against a direct loop, torch, and central differences."""

import numpy as np
import pytest
import torch

from lstmlib.reference import conv2d_backward, conv2d_forward, gradient_errors

# (N, C, O, H, W, kh, kw): square and rectangular kernels and frames, a kernel wider than the frame
SHAPES = [(2, 3, 4, 5, 6, 3, 3), (1, 2, 3, 4, 4, 1, 1), (2, 1, 2, 3, 5, 5, 3), (1, 2, 2, 2, 3, 3, 5)]


def make_problem(N, C, O, H, W, kh, kw, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, C, H, W)), rng.standard_normal((O, C, kh, kw)), rng.standard_normal(O)


def direct_conv(x, weight, bias):
    """The definition, one output entry at a time, with the zero padding as an explicit bounds test."""
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    y = np.zeros((N, O, H, W))
    for n, o, r, s in np.ndindex(N, O, H, W):
        total = bias[o]
        for c, a, e in np.ndindex(C, kh, kw):
            row, col = r + a - kh // 2, s + e - kw // 2
            if 0 <= row < H and 0 <= col < W:
                total += weight[o, c, a, e] * x[n, c, row, col]
        y[n, o, r, s] = total
    return y


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_equals_the_direct_loop_and_torch(shape):
    x, weight, bias = make_problem(*shape)
    y = conv2d_forward(x, weight, bias)
    assert y.shape == (x.shape[0], weight.shape[0]) + x.shape[2:]  # the frame size is kept
    np.testing.assert_allclose(y, direct_conv(x, weight, bias), rtol=0, atol=1e-12)
    theirs = torch.nn.functional.conv2d(*(torch.from_numpy(a) for a in (x, weight, bias)), padding="same")
    np.testing.assert_allclose(y, theirs.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(conv2d_forward(x, weight), y - bias[:, None, None], rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_backward_matches_central_differences(shape):
    x, weight, bias = make_problem(*shape, seed=1)
    R = np.random.default_rng(2).standard_normal((x.shape[0], weight.shape[0]) + x.shape[2:])
    dx, dweight, dbias = conv2d_backward(x, weight, R)
    errors = gradient_errors(lambda: np.sum(conv2d_forward(x, weight, bias) * R),
                             {"x": x, "weight": weight, "bias": bias}, {"x": dx, "weight": dweight, "bias": dbias})
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("shape", SHAPES)
def test_backward_equals_torch_autograd(shape):
    x, weight, bias = make_problem(*shape, seed=3)
    dy = np.random.default_rng(4).standard_normal((x.shape[0], weight.shape[0]) + x.shape[2:])
    tensors = [torch.from_numpy(a).requires_grad_() for a in (x, weight, bias)]
    torch.nn.functional.conv2d(*tensors, padding="same").backward(torch.from_numpy(dy))
    for ours, theirs in zip(conv2d_backward(x, weight, dy), tensors, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=0, atol=1e-12)


def test_inputs_are_left_untouched_and_float32_stays_float32():
    x, weight, bias = make_problem(2, 2, 3, 4, 5, 3, 3)
    copies = [a.copy() for a in (x, weight, bias)]
    y = conv2d_forward(x, weight, bias)
    conv2d_backward(x, weight, y)
    assert all(np.array_equal(a, b) for a, b in zip((x, weight, bias), copies))
    y32 = conv2d_forward(x.astype(np.float32), weight.astype(np.float32), bias.astype(np.float32))
    assert y32.dtype == np.float32
    assert all(g.dtype == np.float32 for g in conv2d_backward(x.astype(np.float32), weight.astype(np.float32), y32))


X, WEIGHT, BIAS = make_problem(2, 3, 4, 5, 6, 3, 3)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: conv2d_forward(X, WEIGHT[:, :, :2]), ValueError,
         r"weight must have odd kernel sizes \(kh, kw\).*got weight of shape \(4, 3, 2, 3\) \(kh=2, kw=3\)"),
        (lambda: conv2d_forward(X[:, :2], WEIGHT), ValueError,
         r"x must have shape \(N, C, H, W\) = \(2, 3, 5, 6\); got \(2, 2, 5, 6\)"),
        (lambda: conv2d_forward(X[0], WEIGHT), ValueError, r"x must have 4 dimensions \(N, C, H, W\); got 3"),
        (lambda: conv2d_forward(X, WEIGHT[0]), ValueError, r"weight must have 4 dimensions \(O, C, kh, kw\)"),
        (lambda: conv2d_forward(X, WEIGHT, BIAS[:3]), ValueError, r"bias must have shape \(O,\) = \(4,\); got \(3,\)"),
        (lambda: conv2d_forward(X.astype(np.float32), WEIGHT), TypeError,
         r"x must have the dtype of weight \(float64\); got float32"),
        (lambda: conv2d_forward(torch.from_numpy(X), WEIGHT), TypeError, r"x must be a NumPy array"),
        (lambda: conv2d_backward(X, WEIGHT, np.zeros((2, 4, 5, 5))), ValueError,
         r"dy must have shape \(N, O, H, W\) = \(2, 4, 5, 6\); got \(2, 4, 5, 5\)"),
    ],
    ids=["even kernel", "channels", "x rank", "weight rank", "bias shape", "dtype", "torch tensor", "dy shape"],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
