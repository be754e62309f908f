"""lstmlib.nn.GRU and GRUCell against their twins torch.nn.GRU / GRUCell, and against the NumPy reference.

Weights are loaded both ways (ours <- torch and torch <- ours) and outputs,
final states and every gradient (input, initial state, parameters) compared
over layers x directions x layouts x bias x initial state x packed input, in
float64 and float32.
"""

import itertools
import math

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import lstmlib.nn as lnn
from lstmlib.reference import gru_backward, gru_forward, init_gru_params
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

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


GRID = list(itertools.product([1, 2, 3], [False, True], [False, True], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "num_layers, bidirectional, batch_first, bias, given_state, packed", GRID,
    ids=[f"L{l}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tf'}-{'b' if b else 'nob'}-{'hx' if g else 'nohx'}-"
         f"{'packed' if p else 'padded'}" for l, bi, bf, b, g, p in GRID],
)
def test_parity_with_torch_both_ways(dtype, num_layers, bidirectional, batch_first, bias, given_state, packed):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias, dtype=dtype)
    x, h_0 = make_inputs(dtype, num_layers * (2 if bidirectional else 1), batch_first)
    h_0 = h_0 if given_state else None
    call = dict(packed=packed, batch_first=batch_first)

    theirs = randomize(torch.nn.GRU(D, H, **kwargs), seed=10)
    ours = lnn.GRU(D, H, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    diffs = max_diffs(run(ours, x, h_0, **call), run(theirs, x, h_0, **call))
    assert max(diffs.values()) <= TOL[dtype], diffs

    ours = randomize(lnn.GRU(D, H, **kwargs), seed=20)
    theirs = torch.nn.GRU(D, H, **kwargs)
    theirs.load_state_dict(ours.state_dict())
    diffs = max_diffs(run(ours, x, h_0, **call), run(theirs, x, h_0, **call))
    assert max(diffs.values()) <= TOL[dtype], diffs


@pytest.mark.parametrize("num_layers, bidirectional, bias", [(1, False, True), (2, True, True), (3, True, False)])
def test_same_seed_gives_identical_state_dict(num_layers, bidirectional, bias):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    torch.manual_seed(123)
    ours = lnn.GRU(5, 7, **kwargs)
    torch.manual_seed(123)
    theirs = torch.nn.GRU(5, 7, **kwargs)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)  # same keys, same order
    for key in a:
        assert a[key].shape == b[key].shape and a[key].dtype == b[key].dtype, key
        assert torch.equal(a[key], b[key]), key


def test_state_dict_keys_and_shapes_follow_torch():
    ours = lnn.GRU(3, 4, num_layers=2, bidirectional=True)
    assert list(ours.state_dict())[:8] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert ours.weight_ih_l0.shape == (12, 3) and ours.weight_hh_l1_reverse.shape == (12, 4)
    assert ours.weight_ih_l1.shape == (12, 8)  # layer 1 reads both directions of layer 0
    assert "3, 4, num_layers=2, bidirectional=True" in repr(ours)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("given_state", [False, True])
def test_unbatched_input(dtype, given_state):
    theirs = randomize(torch.nn.GRU(D, H, num_layers=2, bidirectional=True, dtype=dtype), seed=3)
    ours = lnn.GRU(D, H, num_layers=2, bidirectional=True, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(T, D, generator=gen, dtype=dtype)
    hx = torch.randn(4, H, generator=gen, dtype=dtype) if given_state else None
    (y1, h1), (y2, h2) = ours(x, hx), theirs(x, hx)
    assert y1.shape == (T, 2 * H) and h1.shape == (4, H)
    assert (y1 - y2).abs().max() <= TOL[dtype] and (h1 - h2).abs().max() <= TOL[dtype]


@pytest.mark.parametrize("packed", [False, True])
def test_forward_without_grad_equals_torch(packed):
    """The no-grad path (a loop that saves nothing) is a separate code path: check it too."""
    theirs = randomize(torch.nn.GRU(D, H, num_layers=2, bidirectional=True, dtype=torch.float64), seed=4)
    ours = lnn.GRU(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x, h_0 = make_inputs(torch.float64, 4, batch_first=False)
    inp = pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False) if packed else x
    with torch.no_grad():
        (y1, h1), (y2, h2) = ours(inp, h_0), theirs(inp, h_0)
    if packed:
        y1, y2 = y1.data, y2.data
    assert not y1.requires_grad
    assert (y1 - y2).abs().max() <= 1e-12 and (h1 - h2).abs().max() <= 1e-12


@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_output_matches_torch_structure(enforce_sorted):
    lengths = [5, 4, 4, 1] if enforce_sorted else [1, 4, 5, 4]
    theirs = randomize(torch.nn.GRU(D, H, bidirectional=True, dtype=torch.float64), seed=5)
    ours = lnn.GRU(D, H, bidirectional=True, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x, h_0 = make_inputs(torch.float64, 2, batch_first=False)
    call = dict(packed=True, batch_first=False, enforce_sorted=enforce_sorted, lengths=lengths)
    a, b = run(ours, x, h_0, **call), run(theirs, x, h_0, **call)
    for key in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert (a[key] is None) == (b[key] is None) and (a[key] is None or torch.equal(a[key], b[key]))
    assert max(max_diffs(a, b).values()) <= 1e-10
    output, h_n = ours(pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=enforce_sorted))
    assert isinstance(output, PackedSequence) and output.data.shape == (sum(lengths), 2 * H) and h_n.shape == (2, B, H)


def test_frozen_parameters_still_give_input_gradients():
    theirs = randomize(torch.nn.GRU(D, H, dtype=torch.float64), seed=6).requires_grad_(False)
    ours = lnn.GRU(D, H, dtype=torch.float64).requires_grad_(False)
    ours.load_state_dict(theirs.state_dict())
    x, h_0 = make_inputs(torch.float64, 1, batch_first=False)
    a, b = (run(m, x, h_0, packed=False, batch_first=False) for m in (ours, theirs))
    assert max(max_diffs(a, b).values()) <= 1e-10 and a["grad_weight_hh_l0"] is None


def test_single_time_step_and_dropout_in_eval():
    kwargs = dict(num_layers=2, bidirectional=True, dropout=0.5, dtype=torch.float64)
    theirs = randomize(torch.nn.GRU(D, H, **kwargs), seed=8).eval()
    ours = lnn.GRU(D, H, **kwargs).eval()
    ours.load_state_dict(theirs.state_dict())
    x, h_0 = make_inputs(torch.float64, 4, batch_first=False)
    call = dict(packed=False, batch_first=False)
    assert max(max_diffs(run(ours, x[:1], h_0, **call), run(theirs, x[:1], h_0, **call)).values()) <= 1e-10


def test_inplace_change_of_output_is_detected():
    """The kernel saves its outputs; editing them in place must not silently corrupt gradients."""
    output, _ = lnn.GRU(D, H)(torch.randn(T, B, D, requires_grad=True))
    output.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        output.sum().backward()


# ---- the cell ----------------------------------------------------------------------------

def run_cell(cell, x, h):
    x = x.clone().requires_grad_(True)
    h = None if h is None else h.clone().requires_grad_(True)
    new = cell(x, h)
    (new * torch.randn(new.shape, generator=torch.Generator().manual_seed(1), dtype=new.dtype)).sum().backward()
    return [new, x.grad] + ([] if h is None else [h.grad]) + [p.grad for p in cell.parameters()]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("batched, bias, given_state", list(itertools.product([True, False], repeat=3)))
def test_cell_parity_with_torch_both_ways(dtype, batched, bias, given_state):
    gen = torch.Generator().manual_seed(0)
    lead = (B,) if batched else ()
    x = torch.randn(lead + (D,), generator=gen, dtype=dtype)
    h = torch.randn(lead + (H,), generator=gen, dtype=dtype) if given_state else None
    theirs = randomize(torch.nn.GRUCell(D, H, bias=bias, dtype=dtype), seed=2)
    ours = lnn.GRUCell(D, H, bias=bias, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    for a, b in zip(run_cell(ours, x, h), run_cell(theirs, x, h), strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= TOL[dtype]
    ours = randomize(lnn.GRUCell(D, H, bias=bias, dtype=dtype), seed=3)
    theirs = torch.nn.GRUCell(D, H, bias=bias, dtype=dtype)
    theirs.load_state_dict(ours.state_dict())
    for a, b in zip(run_cell(ours, x, h), run_cell(theirs, x, h), strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= TOL[dtype]


def test_cell_same_seed_gives_identical_state_dict():
    torch.manual_seed(9)
    ours = lnn.GRUCell(D, H)
    torch.manual_seed(9)
    theirs = torch.nn.GRUCell(D, H)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a) and a["weight_ih"].shape == (3 * H, D)


def test_cell_unrolled_equals_layer_and_functional_cell():
    """cell -> layer: stepping the cell over time gives the layer's output and final state."""
    layer = randomize(lnn.GRU(D, H, dtype=torch.float64), seed=5)
    cell = lnn.GRUCell(D, H, dtype=torch.float64)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x, h_0 = make_inputs(torch.float64, 1, batch_first=False)
    h, outputs = h_0[0], []
    for x_t in x:
        h_fn = lnn.gru_cell(x_t, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        h = cell(x_t, h)
        assert torch.equal(h, h_fn)
        outputs.append(h)
    y, h_n = layer(x, h_0)
    assert (torch.stack(outputs) - y).abs().max() <= 1e-12 and (h - h_n[0]).abs().max() <= 1e-12


# ---- the NumPy reference on the same parameters --------------------------------------------

@pytest.mark.parametrize("T_, B_, D_, H_", [(1, 1, 1, 1), (6, 3, 4, 5), (9, 2, 7, 3)])
@pytest.mark.parametrize("with_state, bias", [(False, True), (True, True), (True, False)])
def test_reference_and_nn_agree(T_, B_, D_, H_, with_state, bias):
    rng = np.random.default_rng(T_ * 100 + D_)
    params = init_gru_params(D_, H_, rng=rng)
    if not bias:
        del params["bias_ih_l0"], params["bias_hh_l0"]
    x = rng.standard_normal((T_, B_, D_))
    h0 = rng.standard_normal((B_, H_)) if with_state else None
    dy, dh_T = rng.standard_normal((T_, B_, H_)), rng.standard_normal((B_, H_))

    y, h_T, cache = gru_forward(params, x, h0)
    dparams, dx, dh0 = gru_backward(params, cache, dy, dh_T)

    module = lnn.GRU(D_, H_, bias=bias, dtype=torch.float64)
    module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None]).requires_grad_() if with_state else None
    yt, ht = module(xt, h0t)
    ((yt * torch.from_numpy(dy)).sum() + (ht[0] * torch.from_numpy(dh_T)).sum()).backward()

    for ours, theirs in [(yt, y), (ht[0], h_T), (xt.grad, dx)] + ([(h0t.grad[0], dh0)] if with_state else []):
        assert np.abs(ours.detach().numpy() - theirs).max() <= 1e-10
    assert {name for name, _ in module.named_parameters()} == set(dparams)
    for name, p in module.named_parameters():
        assert np.abs(p.grad.numpy() - dparams[name]).max() <= 1e-10, name


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


# ---- bad input -----------------------------------------------------------------------------

def test_bad_input_is_rejected_with_a_message_naming_it():
    gru = lnn.GRU(D, H, num_layers=2)
    x = torch.randn(T, B, D)
    with pytest.raises(TypeError, match=r"hx must be a torch.Tensor h_0; got tuple"):
        gru(x, (torch.zeros(2, B, H), torch.zeros(2, B, H)))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(num_layers \* num_directions, B, H\) = \(2, 4, 4\); "
                                         r"got \(1, 4, 4\)"):
        gru(x, torch.zeros(1, B, H))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(num_layers \* num_directions, H\) = \(2, 4\); "
                                         r"got \(2, 1, 4\)"):
        gru(x[:, 0], torch.zeros(2, 1, H))
    with pytest.raises(TypeError, match=r"h_0 must have the dtype of input \(float32\); got float64"):
        gru(x, torch.zeros(2, B, H, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"input must have D=3 along axis 2 of \(T, B, D\); got shape \(5, 4, 7\)"):
        gru(torch.randn(T, B, 7))
    with pytest.raises(TypeError, match=r"input must have the dtype of the parameters \(float32\); got float64"):
        gru(x.double())
    with pytest.raises(ValueError, match=r"input must hold at least one time step"):
        gru(x[:0])
    with pytest.raises(TypeError, match=r"bias must be a bool \(True or False\); got int 1"):
        lnn.GRU(D, H, bias=1)


def test_cell_bad_input_is_rejected():
    cell = lnn.GRUCell(D, H)
    with pytest.raises(TypeError, match=r"hx must be a torch.Tensor h_0; got tuple"):
        cell(torch.randn(B, D), (torch.zeros(B, H),))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(B, H\) = \(4, 4\); got \(3, 4\)"):
        cell(torch.randn(B, D), torch.zeros(3, H))
    with pytest.raises(ValueError, match=r"input must have D=3 along axis 1 of \(B, D\); got shape \(4, 5\)"):
        cell(torch.randn(B, 5))
    with pytest.raises(TypeError, match=r"input must have the dtype of the parameters \(float32\); got float64"):
        cell(torch.randn(B, D, dtype=torch.float64))


# ---- CUDA ----------------------------------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("packed", [False, True])
def test_parity_with_torch_on_cuda(dtype, packed):
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # compare full precision
    try:
        kwargs = dict(num_layers=2, bidirectional=True, dtype=dtype)
        theirs = randomize(torch.nn.GRU(D, H, **kwargs), seed=11).cuda()
        ours = lnn.GRU(D, H, **kwargs).cuda()
        ours.load_state_dict(theirs.state_dict())
        x, h_0 = make_inputs(dtype, 4, batch_first=False)
        lengths = LENGTHS
        results = []
        for module in (ours, theirs):
            xc = x.cuda().requires_grad_(True)
            hc = h_0.cuda().requires_grad_(True)
            inp = pack_padded_sequence(xc, torch.tensor(lengths), enforce_sorted=False) if packed else xc
            output, h_n = module(inp, hc)
            out = output.data if packed else output
            gen = torch.Generator().manual_seed(1)
            loss = sum((t * torch.randn(t.shape, generator=gen, dtype=dtype).cuda()).sum() for t in (out, h_n))
            grads = torch.autograd.grad(loss, [xc, hc, *module.parameters()])
            results.append([out, h_n, *grads])
        for a, b in zip(*results, strict=True):
            assert a.device.type == "cuda" and a.shape == b.shape
            assert (a - b).abs().max().item() <= (1e-10 if dtype == torch.float64 else 1e-4)
        cell = lnn.GRUCell(D, H, device="cuda")
        assert cell(torch.randn(B, D, device="cuda")).device.type == "cuda"
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
