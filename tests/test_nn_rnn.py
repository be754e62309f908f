"""lstmlib.nn.RNN against its twin torch.nn.RNN (tanh and relu), weights loaded both ways."""

import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lstmlib.nn as lnn
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
T, B, D, H = 5, 4, 3, 4
LENGTHS = [3, 5, 2, 5]


def run(module, x, h_0, packed, batch_first):
    x = x.clone().requires_grad_(True)
    hx = None if h_0 is None else h_0.clone().requires_grad_(True)
    inp = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=batch_first, enforce_sorted=False) \
        if packed else x
    output, h_n = module(inp, hx)
    out = output.data if packed else output
    gen = torch.Generator().manual_seed(1)
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in (out, h_n))
    loss.backward()
    result = {"output": out, "h_n": h_n, "grad_x": x.grad, "grad_h0": None if hx is None else hx.grad}
    result.update({f"grad_{name}": p.grad for name, p in module.named_parameters()})
    return result


def assert_close(a, b, tol):
    assert a.keys() == b.keys()
    for key in a:
        if a[key] is None:
            assert b[key] is None, key
            continue
        assert a[key].shape == b[key].shape, key
        assert (a[key] - b[key]).abs().max().item() <= tol, key


GRID = list(itertools.product([1, 2], [False, True], ["tanh", "relu"], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("num_layers, bidirectional, nonlinearity, batch_first, given_state, packed", GRID)
def test_parity_with_torch_both_ways(dtype, num_layers, bidirectional, nonlinearity, batch_first, given_state, packed):
    kwargs = dict(num_layers=num_layers, nonlinearity=nonlinearity, bidirectional=bidirectional,
                  batch_first=batch_first, dtype=dtype)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((B, T, D) if batch_first else (T, B, D), generator=gen, dtype=dtype)
    h_0 = torch.randn(num_layers * (2 if bidirectional else 1), B, H, generator=gen, dtype=dtype) \
        if given_state else None

    theirs = randomize(torch.nn.RNN(D, H, **kwargs), seed=10)
    ours = lnn.RNN(D, H, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    assert_close(run(ours, x, h_0, packed, batch_first), run(theirs, x, h_0, packed, batch_first), TOL[dtype])

    ours = randomize(lnn.RNN(D, H, **kwargs), seed=20)
    theirs = torch.nn.RNN(D, H, **kwargs)
    theirs.load_state_dict(ours.state_dict())
    assert_close(run(ours, x, h_0, packed, batch_first), run(theirs, x, h_0, packed, batch_first), TOL[dtype])


@pytest.mark.parametrize("nonlinearity, bias", [("tanh", True), ("relu", False)])
def test_same_seed_gives_identical_state_dict(nonlinearity, bias):
    kwargs = dict(num_layers=2, nonlinearity=nonlinearity, bias=bias, bidirectional=True)
    torch.manual_seed(5)
    ours = lnn.RNN(3, 6, **kwargs)
    torch.manual_seed(5)
    theirs = torch.nn.RNN(3, 6, **kwargs)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_unbatched_and_no_grad():
    theirs = randomize(torch.nn.RNN(D, H, num_layers=2, bidirectional=True, dtype=torch.float64), seed=3)
    ours = lnn.RNN(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x, h_0 = torch.randn(T, D, dtype=torch.float64), torch.randn(4, H, dtype=torch.float64)
    with torch.no_grad():
        (y1, h1), (y2, h2) = ours(x, h_0), theirs(x, h_0)
    assert y1.shape == (T, 2 * H) and h1.shape == (4, H)
    assert (y1 - y2).abs().max() <= 1e-12 and (h1 - h2).abs().max() <= 1e-12


def test_repr_names_nonlinearity():
    assert "nonlinearity='relu'" in repr(lnn.RNN(2, 3, nonlinearity="relu"))
