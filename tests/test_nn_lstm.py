"""lstmlib.nn.LSTM against its trusted twin torch.nn.LSTM.

Weights are loaded both ways (ours <- torch and torch <- ours) and outputs,
final states and every gradient (input, initial state, parameters) compared,
over the whole grid of layers, directions, layouts, bias, initial state and
packed/padded input, in float64 and float32.
"""

import itertools
import math

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import lstmlib.nn as lnn
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
T, B, D, H = 5, 4, 3, 4
LENGTHS = [3, 5, 2, 5]  # unsorted, with a tie and a full-length sequence


def make_inputs(dtype, num_states, batch_first, seed=0, lengths=None):
    gen = torch.Generator().manual_seed(seed)
    shape = (B, T, D) if batch_first else (T, B, D)
    x = torch.randn(shape, generator=gen, dtype=dtype)
    states = [torch.randn(num_states, B, H, generator=gen, dtype=dtype) for _ in range(2)]
    return x, states


def run(module, x, states, *, packed, batch_first, enforce_sorted=False, lengths=LENGTHS, weights_seed=1):
    """Forward + backward with a random linear read-out of every output; returns values and grads."""
    x = x.clone().requires_grad_(True)
    hx = None if states is None else tuple(s.clone().requires_grad_(True) for s in states)
    inp = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted) \
        if packed else x
    output, (h_n, c_n) = module(inp, hx)
    out = output.data if packed else output
    gen = torch.Generator().manual_seed(weights_seed)
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in (out, h_n, c_n))
    loss.backward()
    result = {"output": out, "h_n": h_n, "c_n": c_n, "grad_x": x.grad}
    if hx is not None:
        result.update(grad_h0=hx[0].grad, grad_c0=hx[1].grad)
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


GRID = list(itertools.product([1, 2, 3], [False, True], [False, True], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "num_layers, bidirectional, batch_first, bias, given_state, packed", GRID,
    ids=[f"L{l}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tf'}-{'b' if b else 'nob'}-{'hx' if g else 'nohx'}-"
         f"{'packed' if p else 'padded'}" for l, bi, bf, b, g, p in GRID],
)
def test_parity_with_torch_both_ways(dtype, num_layers, bidirectional, batch_first, bias, given_state, packed):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias, dtype=dtype)
    num_states = num_layers * (2 if bidirectional else 1)
    x, states = make_inputs(dtype, num_states, batch_first)
    states = states if given_state else None
    call = dict(packed=packed, batch_first=batch_first)

    theirs = randomize(torch.nn.LSTM(D, H, **kwargs), seed=10)
    ours = lnn.LSTM(D, H, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    diffs = max_diffs(run(ours, x, states, **call), run(theirs, x, states, **call))
    assert max(diffs.values()) <= TOL[dtype], diffs

    ours = randomize(lnn.LSTM(D, H, **kwargs), seed=20)
    theirs = torch.nn.LSTM(D, H, **kwargs)
    theirs.load_state_dict(ours.state_dict())
    diffs = max_diffs(run(ours, x, states, **call), run(theirs, x, states, **call))
    assert max(diffs.values()) <= TOL[dtype], diffs


@pytest.mark.parametrize("num_layers, bidirectional, bias", [(1, False, True), (2, True, True), (3, True, False)])
def test_same_seed_gives_identical_state_dict(num_layers, bidirectional, bias):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    torch.manual_seed(123)
    ours = lnn.LSTM(5, 7, **kwargs)
    torch.manual_seed(123)
    theirs = torch.nn.LSTM(5, 7, **kwargs)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)  # same keys, same order
    for key in a:
        assert a[key].shape == b[key].shape and a[key].dtype == b[key].dtype, key
        assert torch.equal(a[key], b[key]), key


def test_state_dict_keys_follow_torch_names():
    keys = list(lnn.LSTM(3, 4, num_layers=2, bidirectional=True).state_dict())
    assert keys[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert lnn.LSTM(3, 4, num_layers=2, bidirectional=True).weight_ih_l1.shape == (16, 8)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("given_state", [False, True])
def test_unbatched_input(dtype, given_state):
    theirs = randomize(torch.nn.LSTM(D, H, num_layers=2, bidirectional=True, dtype=dtype), seed=3)
    ours = lnn.LSTM(D, H, num_layers=2, bidirectional=True, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(T, D, generator=gen, dtype=dtype)
    hx = tuple(torch.randn(4, H, generator=gen, dtype=dtype) for _ in range(2)) if given_state else None
    (y1, (h1, c1)), (y2, (h2, c2)) = ours(x, hx), theirs(x, hx)
    assert y1.shape == (T, 2 * H) and h1.shape == c1.shape == (4, H)
    for a, b in ((y1, y2), (h1, h2), (c1, c2)):
        assert (a - b).abs().max() <= TOL[dtype]


@pytest.mark.parametrize("packed", [False, True])
def test_forward_without_grad_equals_torch(packed):
    """The no-grad path (a loop that saves nothing) is a separate code path: check it too."""
    theirs = randomize(torch.nn.LSTM(D, H, num_layers=2, bidirectional=True, dtype=torch.float64), seed=4)
    ours = lnn.LSTM(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x, states = make_inputs(torch.float64, 4, batch_first=False)
    inp = pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False) if packed else x
    with torch.no_grad():
        (y1, (h1, c1)), (y2, (h2, c2)) = ours(inp, tuple(states)), theirs(inp, tuple(states))
    if packed:
        y1, y2 = y1.data, y2.data
    assert not y1.requires_grad
    for a, b in ((y1, y2), (h1, h2), (c1, c2)):
        assert (a - b).abs().max() <= 1e-12


@pytest.mark.parametrize("enforce_sorted", [False, True])
@pytest.mark.parametrize("lengths", [[5, 4, 4, 1], [5, 5, 5, 5]], ids=["varied", "all-full"])
def test_packed_output_matches_torch_structure(enforce_sorted, lengths):
    if not enforce_sorted:
        lengths = lengths[::-1]
    theirs = randomize(torch.nn.LSTM(D, H, bidirectional=True, dtype=torch.float64), seed=5)
    ours = lnn.LSTM(D, H, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x, states = make_inputs(torch.float64, 2, batch_first=False)
    call = dict(packed=True, batch_first=False, enforce_sorted=enforce_sorted, lengths=lengths)
    a, b = run(ours, x, states, **call), run(theirs, x, states, **call)
    for key in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert (a[key] is None) == (b[key] is None) and (a[key] is None or torch.equal(a[key], b[key]))
    assert max(max_diffs(a, b).values()) <= 1e-10


def test_packed_output_is_a_packed_sequence():
    ours = lnn.LSTM(D, H)
    x = torch.randn(T, B, D)
    output, (h_n, c_n) = ours(pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False))
    assert isinstance(output, PackedSequence) and output.data.shape == (sum(LENGTHS), H)
    assert h_n.shape == c_n.shape == (1, B, H)


def test_frozen_parameters_still_give_input_gradients():
    theirs = randomize(torch.nn.LSTM(D, H, dtype=torch.float64), seed=6).requires_grad_(False)
    ours = lnn.LSTM(D, H, dtype=torch.float64).requires_grad_(False)
    ours.load_state_dict(theirs.state_dict())
    x, states = make_inputs(torch.float64, 1, batch_first=False)
    a, b = (run(m, x, states, packed=False, batch_first=False) for m in (ours, theirs))
    assert max(max_diffs(a, b).values()) <= 1e-10 and a["grad_weight_hh_l0"] is None


def test_dropout_is_like_torch_in_eval_and_drops_in_training():
    kwargs = dict(num_layers=3, dropout=0.5, dtype=torch.float64)
    theirs = randomize(torch.nn.LSTM(D, H, **kwargs), seed=7).eval()
    ours = lnn.LSTM(D, H, **kwargs).eval()
    ours.load_state_dict(theirs.state_dict())
    x, _ = make_inputs(torch.float64, 3, batch_first=False)
    y_eval = ours(x)[0]
    assert (y_eval - theirs(x)[0]).abs().max() <= 1e-10
    ours.train()
    torch.manual_seed(0)
    y_train = ours(x)[0]
    assert (y_train - y_eval).abs().max() > 1e-3  # something was dropped
    ours_no_dropout = lnn.LSTM(D, H, num_layers=3, dtype=torch.float64).train()
    ours_no_dropout.load_state_dict(theirs.state_dict())
    assert torch.equal(ours_no_dropout(x)[0], y_eval)  # no dropout: training mode changes nothing


@pytest.mark.parametrize("kind", ["LSTM", "RNN"])
def test_single_time_step(kind):
    theirs = randomize(getattr(torch.nn, kind)(D, H, num_layers=2, bidirectional=True, dtype=torch.float64), seed=8)
    ours = getattr(lnn, kind)(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(1, B, D, dtype=torch.float64, requires_grad=True)
    results = []
    for module in (ours, theirs):
        output, final = module(x)
        finals = final if isinstance(final, tuple) else (final,)
        grads = torch.autograd.grad(output.sum() + sum(f.sum() for f in finals), [x, *module.parameters()])
        results.append([output, *finals, *grads])
    for a, b in zip(*results, strict=True):
        assert (a - b).abs().max() <= 1e-10


def test_shapes_batch_first_and_bidirectional():
    ours = lnn.LSTM(D, H, num_layers=2, bidirectional=True, batch_first=True)
    output, (h_n, c_n) = ours(torch.randn(B, T, D))
    assert output.shape == (B, T, 2 * H) and h_n.shape == c_n.shape == (4, B, H)


def test_repr_and_torch_compat_attributes():
    ours = lnn.LSTM(3, 4, num_layers=2, batch_first=True)
    assert "3, 4, num_layers=2, batch_first=True" in repr(ours)
    assert ours.proj_size == 0 and len(ours.all_weights) == 2
    ours.flatten_parameters()  # a no-op, kept for drop-in use


def test_inplace_change_of_output_is_detected():
    """The kernel saves its outputs; editing them in place must not silently corrupt gradients."""
    ours = lnn.LSTM(D, H)
    output, _ = ours(torch.randn(T, B, D, requires_grad=True))
    output.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        output.sum().backward()


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
