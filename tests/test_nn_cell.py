"""lstmlib.nn.LSTMCell and RNNCell against torch.nn.LSTMCell / RNNCell, and the cell against the layer."""

import pytest
import torch

import lstmlib.nn as lnn
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
B, D, H = 3, 4, 5


def run(cell, x, hx):
    """One step forward and backward; returns the new state(s) and every gradient."""
    x = x.clone().requires_grad_(True)
    if isinstance(hx, tuple):
        hx = tuple(s.clone().requires_grad_(True) for s in hx)
    elif hx is not None:
        hx = hx.clone().requires_grad_(True)
    new = cell(x, hx)
    new = new if isinstance(new, tuple) else (new,)
    gen = torch.Generator().manual_seed(1)
    sum((s * torch.randn(s.shape, generator=gen, dtype=s.dtype)).sum() for s in new).backward()
    grads = [x.grad] + [s.grad for s in (hx if isinstance(hx, tuple) else (hx,)) if s is not None]
    return list(new) + grads + [p.grad for p in cell.parameters()]


CASES = [(batched, bias, given) for batched in (True, False) for bias in (True, False) for given in (True, False)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("batched, bias, given_state", CASES)
@pytest.mark.parametrize("kind", ["LSTMCell", "RNNCell"])
def test_cell_parity_with_torch_both_ways(kind, dtype, batched, bias, given_state):
    gen = torch.Generator().manual_seed(0)
    lead = (B,) if batched else ()
    x = torch.randn(lead + (D,), generator=gen, dtype=dtype)
    states = tuple(torch.randn(lead + (H,), generator=gen, dtype=dtype) for _ in range(2))
    hx = (states if kind == "LSTMCell" else states[0]) if given_state else None
    make_ours, make_theirs = getattr(lnn, kind), getattr(torch.nn, kind)

    theirs = randomize(make_theirs(D, H, bias=bias, dtype=dtype), seed=2)
    ours = make_ours(D, H, bias=bias, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    for a, b in zip(run(ours, x, hx), run(theirs, x, hx), strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= TOL[dtype]

    ours = randomize(make_ours(D, H, bias=bias, dtype=dtype), seed=3)
    theirs = make_theirs(D, H, bias=bias, dtype=dtype)
    theirs.load_state_dict(ours.state_dict())
    for a, b in zip(run(ours, x, hx), run(theirs, x, hx), strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= TOL[dtype]


@pytest.mark.parametrize("kind", ["LSTMCell", "RNNCell"])
def test_cell_same_seed_gives_identical_state_dict(kind):
    torch.manual_seed(9)
    ours = getattr(lnn, kind)(D, H)
    torch.manual_seed(9)
    theirs = getattr(torch.nn, kind)(D, H)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_relu_cell_matches_torch():
    theirs = randomize(torch.nn.RNNCell(D, H, nonlinearity="relu", dtype=torch.float64), seed=4)
    ours = lnn.RNNCell(D, H, nonlinearity="relu", dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x, h = torch.randn(B, D, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    assert (ours(x, h) - theirs(x, h)).abs().max() <= 1e-12


def test_lstm_cell_unrolled_equals_lstm_layer():
    """cell -> layer: stepping the cell over time gives the layer's output and final state."""
    layer = randomize(lnn.LSTM(D, H, dtype=torch.float64), seed=5)
    cell = lnn.LSTMCell(D, H, dtype=torch.float64)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = torch.randn(6, B, D, dtype=torch.float64)
    h, c = torch.zeros(B, H, dtype=torch.float64), torch.zeros(B, H, dtype=torch.float64)
    outputs = []
    for x_t in x:
        h, c = cell(x_t, (h, c))
        outputs.append(h)
    y, (h_n, c_n) = layer(x)
    assert (torch.stack(outputs) - y).abs().max() <= 1e-12
    assert (h - h_n[0]).abs().max() <= 1e-12 and (c - c_n[0]).abs().max() <= 1e-12
