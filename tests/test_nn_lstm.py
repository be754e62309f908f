"""What is special about lstmlib.nn.LSTM.

Its contract with every recurrent module -- parity with torch.nn.LSTM (weights
loaded both ways) and the NumPy reference in every layout, float64 and
float32, the no-grad path, errors, state_dict, CUDA -- is checked in tests/contract/.
"""

import math

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from twins import one_thread  # noqa: F401  (one_thread is an autouse fixture)

import lstmlib.nn as lnn


def test_projections_are_rejected():
    with pytest.raises(ValueError, match=r"proj_size must be 0: LSTM projections .* not supported.*got proj_size=3"):
        lnn.LSTM(4, 6, num_layers=2, proj_size=3)


def test_repr_and_torch_compat_attributes():
    ours = lnn.LSTM(3, 4, num_layers=2, batch_first=True)
    assert "3, 4, num_layers=2, batch_first=True" in repr(ours)
    assert ours.proj_size == 0 and len(ours.all_weights) == 2
    ours.flatten_parameters()  # a no-op, kept for drop-in use


# ---- the fast paths (lstmlib.nn.fast_paths) ---------------------------------------------

@pytest.mark.parametrize("onednn", [True, False], ids=["onednn", "addmm"])
@pytest.mark.parametrize("kind", ["LSTM", "RNN"])
def test_large_float32_layers_match_torch_with_and_without_onednn(kind, onednn, monkeypatch):
    """H large enough for StepMatmul to take oneDNN's path on CPU; and the same with it switched off."""
    from lstmlib.nn import fast_paths

    hidden = 192 if kind == "LSTM" else 384  # weights of >= 2**17 entries
    if not onednn:
        monkeypatch.setattr(fast_paths, "_ONEDNN_MIN_WEIGHT_SIZE", math.inf)
    elif fast_paths.StepMatmul(torch.zeros(4 * 192, 192), batch=3).packed is None:
        pytest.skip("oneDNN step products not in use (LSTMLIB_FAST_PATHS=0, or no oneDNN linear ops)")
    theirs = getattr(torch.nn, kind)(8, hidden, bidirectional=True)
    ours = getattr(lnn, kind)(8, hidden, bidirectional=True)
    ours.load_state_dict(theirs.state_dict())
    assert (fast_paths.StepMatmul(ours.weight_hh_l0, batch=3).packed is not None) == onednn
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 8, generator=gen)
    lengths = torch.tensor([4, 2, 3])
    for packed in (False, True):
        results = []
        for module in (ours, theirs):
            inp = pack_padded_sequence(x, lengths, enforce_sorted=False) if packed else x
            x.requires_grad_(True)
            output, final = module(inp)
            out = output.data if packed else output
            finals = final if isinstance(final, tuple) else (final,)
            w = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
            grads = torch.autograd.grad((out * w).sum() + sum(f.sum() for f in finals), [x, *module.parameters()])
            results.append([out, *finals, *grads])
        for a, b in zip(*results, strict=True):
            assert (a - b).abs().max() <= 1e-5 * max(1.0, b.abs().max().item())


def test_step_matmul_and_tanh_follow_their_definitions():
    from lstmlib.nn.fast_paths import StepMatmul, Tanh

    gen = torch.Generator().manual_seed(0)
    for size, dtype in ((256, torch.float32), (8, torch.float32), (8, torch.float64)):
        weight = torch.randn(4 * size, size, generator=gen, dtype=dtype)
        x = torch.randn(5, size, generator=gen, dtype=dtype)
        other = torch.randn(5, 4 * size, generator=gen, dtype=dtype)
        matmul = StepMatmul(weight, batch=5)
        assert (matmul(x) - x @ weight.t()).abs().max() <= 1e-4
        assert (matmul(x, other) - (other + x @ weight.t())).abs().max() <= 1e-4
    # float32 on CPU: via sigmoid (a few ulps of 1); float64, or off the CPU: torch.tanh itself
    for dtype, tolerance in ((torch.float32, 5e-7), (torch.float64, 0.0)):
        a = torch.linspace(-30, 30, 1001, dtype=dtype)
        for like in (a, torch.empty(0, device="meta", dtype=dtype)):
            tanh = Tanh(like)
            assert (tanh(a, out=torch.empty_like(a)) - torch.tanh(a)).abs().max() <= tolerance
            gates, out = torch.stack([a, a, a]).t().contiguous(), torch.empty(1001, 3, dtype=dtype)
            tanh.sigmoid_but_tanh_in(gates.clone(), slice(1, 2), out=out)
            assert (out[:, 1] - torch.tanh(a)).abs().max() <= tolerance and torch.equal(out[:, 0], torch.sigmoid(a))
            scaled = a * tanh.input_scale
            assert (tanh.tanh_of_scaled_(scaled) - torch.tanh(a)).abs().max() <= tolerance
