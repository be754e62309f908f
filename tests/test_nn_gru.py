"""What is special about lstmlib.nn.GRU and GRUCell: the reset gate acts after the recurrent product.

Their contract with every recurrent module -- parity with torch.nn.GRU / GRUCell
(weights loaded both ways) and the NumPy reference in every layout, float64 and
float32, the no-grad path, errors, state_dict, CUDA -- is checked in tests/contract/.
"""

import math

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

import lstmlib.nn as lnn

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
T, B, D, H = 5, 4, 3, 4
LENGTHS = [3, 5, 2, 5]  # unsorted, with a tie and a full-length sequence


def make_inputs(dtype, num_states, batch_first, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((B, T, D) if batch_first else (T, B, D), generator=gen, dtype=dtype)
    return x, torch.randn(num_states, B, H, generator=gen, dtype=dtype)


def run(module, x, h_0, *, packed, batch_first, enforce_sorted=False, lengths=LENGTHS):
    """Forward + backward with a random linear read-out of the output and h_n; returns values and grads."""
    x = x.clone().requires_grad_(True)
    hx = None if h_0 is None else h_0.clone().requires_grad_(True)
    inp = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted) \
        if packed else x
    output, h_n = module(inp, hx)
    out = output.data if packed else output
    gen = torch.Generator().manual_seed(1)
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in (out, h_n))
    loss.backward()
    result = {"output": out, "h_n": h_n, "grad_x": x.grad, "grad_h0": None if hx is None else hx.grad}
    result.update({f"grad_{name}": p.grad for name, p in module.named_parameters()})
    if packed:
        result.update(batch_sizes=output.batch_sizes, sorted_indices=output.sorted_indices,
                      unsorted_indices=output.unsorted_indices)
    return result


def max_diffs(a, b):
    assert a.keys() == b.keys()
    diffs = {}
    for key in a:
        if a[key] is None or b[key] is None:
            assert a[key] is None and b[key] is None, key
            continue
        assert a[key].shape == b[key].shape, key
        diffs[key] = (a[key].double() - b[key].double()).abs().max().item()
    return diffs


def test_the_reset_gate_multiplies_the_recurrent_product_bias_included():
    """n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), torch's and cuDNN's form; not W_hn (r ⊙ h) + b_hn."""
    cell = randomize(lnn.GRUCell(D, H, dtype=torch.float64), seed=1)
    gen = torch.Generator().manual_seed(2)
    x, h = torch.randn(B, D, generator=gen, dtype=torch.float64), torch.randn(B, H, generator=gen, dtype=torch.float64)
    a_xr, a_xz, a_xn = (x @ cell.weight_ih.t() + cell.bias_ih).chunk(3, 1)
    (w_hr, w_hz, w_hn), (b_hr, b_hz, b_hn) = cell.weight_hh.chunk(3), cell.bias_hh.chunk(3)
    r, z = (a_xr + h @ w_hr.t() + b_hr).sigmoid(), (a_xz + h @ w_hz.t() + b_hz).sigmoid()
    after = (a_xn + r * (h @ w_hn.t() + b_hn)).tanh()
    before = (a_xn + (r * h) @ w_hn.t() + b_hn).tanh()
    new = cell(x, h)
    assert (new - ((1 - z) * after + z * h)).abs().max() <= 1e-12
    assert (new - ((1 - z) * before + z * h)).abs().max() > 1e-3  # the other form computes something else
    layer = lnn.GRU(D, H, dtype=torch.float64)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    assert (layer(x[None], h[None])[1][0] - new).abs().max() <= 1e-12  # the layer's fused loop too


def test_repr_and_layer_shapes():
    ours = lnn.GRU(3, 4, num_layers=2, bidirectional=True)
    assert ours.weight_ih_l0.shape == (12, 3) and ours.weight_hh_l1_reverse.shape == (12, 4)
    assert ours.weight_ih_l1.shape == (12, 8)  # layer 1 reads both directions of layer 0
    assert "3, 4, num_layers=2, bidirectional=True" in repr(ours)


# ---- the fast path on CPU: oneDNN for large float32 weights --------------------------------

@pytest.mark.parametrize("onednn", [True, False], ids=["onednn", "addmm"])
def test_large_float32_layer_matches_torch_with_and_without_onednn(onednn, monkeypatch):
    from lstmlib.nn import fast_paths

    hidden = 224  # W_hh (3H, H) of >= 2**17 entries
    if not onednn:
        monkeypatch.setattr(fast_paths, "_ONEDNN_MIN_WEIGHT_SIZE", math.inf)
    elif fast_paths.StepMatmul(torch.zeros(3 * hidden, hidden), batch=3).packed is None:
        pytest.skip("oneDNN step products not in use (LSTMLIB_FAST_PATHS=0, or no oneDNN linear ops)")
    theirs = torch.nn.GRU(8, hidden, bidirectional=True)
    ours = lnn.GRU(8, hidden, bidirectional=True)
    ours.load_state_dict(theirs.state_dict())
    assert (fast_paths.StepMatmul(ours.weight_hh_l0, batch=3).packed is not None) == onednn
    x, lengths = torch.randn(4, 3, 8, generator=torch.Generator().manual_seed(0)), [4, 2, 3]
    for packed in (False, True):
        a, b = (run(m, x, None, packed=packed, batch_first=False, lengths=lengths) for m in (ours, theirs))
        for key, diff in max_diffs(a, b).items():
            assert diff <= 1e-5 * max(1.0, b[key].abs().max().item()), key
        ours.zero_grad(), theirs.zero_grad()


def test_plain_tanh_path_matches_torch():
    """With the fast paths off the float32 loop calls torch.tanh instead of the sigmoid identity."""
    from lstmlib.nn import fast_paths

    theirs = randomize(torch.nn.GRU(D, H, bidirectional=True, dtype=torch.float32), seed=12)
    ours = lnn.GRU(D, H, bidirectional=True, dtype=torch.float32)
    ours.load_state_dict(theirs.state_dict())
    x, h_0 = make_inputs(torch.float32, 2, batch_first=False)
    for packed in (False, True):
        with fast_paths.disabled():
            a = run(ours, x, h_0, packed=packed, batch_first=False)
        b = run(theirs, x, h_0, packed=packed, batch_first=False)
        assert max(max_diffs(a, b).values()) <= 1e-5
        ours.zero_grad(), theirs.zero_grad()


def test_step_matmul_add_to_accumulates_in_place():
    from lstmlib.nn.fast_paths import StepMatmul

    gen = torch.Generator().manual_seed(0)
    for size, dtype in ((256, torch.float32), (8, torch.float64)):
        weight = torch.randn(3 * size, size, generator=gen, dtype=dtype)
        x, acc = torch.randn(5, size, generator=gen, dtype=dtype), torch.randn(5, 3 * size, generator=gen, dtype=dtype)
        expected = acc + x @ weight.t()
        assert StepMatmul(weight, batch=5).add_to(x, acc) is acc
        assert (acc - expected).abs().max() <= 1e-4
