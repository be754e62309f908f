"""lstmlib.nn.PeepholeLSTM and PeepholeLSTMCell.

Three twins: with the peepholes at zero, ``torch.nn.LSTM`` (weights loaded both
ways); with non-zero peepholes, the same module stepped by autograd through
:func:`lstmlib.nn.peephole_cell` (for the stacked, bidirectional, packed grid)
and the NumPy reference (one layer, float64). Plus a gradcheck of the
hand-written backward, torch's output and ``h_n`` layout, bad input and CUDA.
"""

import itertools

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lstmlib.nn as lnn
from lstmlib.nn.peephole import PeepholeLSTMSequence
from lstmlib.reference import init_peephole_params, peephole_backward, peephole_forward
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
T, B, D, H = 5, 4, 3, 4
LENGTHS = [3, 5, 2, 5]  # unsorted, with a tie and a full-length sequence
PEEPHOLE_STEMS = ("weight_ci", "weight_cf", "weight_co")


def is_peephole(name):
    return name.split("_l")[0] in PEEPHOLE_STEMS


def zero_peepholes(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if is_peephole(name):
                p.zero_()
    return module


def lstm_part(state_dict):
    return {k: v for k, v in state_dict.items() if not is_peephole(k)}


class StepByStep(lnn.PeepholeLSTM):
    """The same composition with the cell stepped by autograd: the twin for non-zero peepholes."""

    def run_layer(self, x, state, params, mask):
        h, c = state
        peepholes = [params[stem] for stem in PEEPHOLE_STEMS]
        ys = []
        for t in range(x.shape[0]):
            h_t, c_t = lnn.peephole_cell(x[t], h, c, params["weight_ih"], params["weight_hh"], *peepholes,
                                         params.get("bias_ih"), params.get("bias_hh"))
            if mask is not None:  # frozen past each sequence's end
                h_t, c_t = torch.where(mask[t], h_t, h), torch.where(mask[t], c_t, c)
            h, c = h_t, c_t
            ys.append(h)
        return torch.stack(ys), (h, c)


def make_inputs(dtype, num_states, batch_first, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((B, T, D) if batch_first else (T, B, D), generator=gen, dtype=dtype)
    states = tuple(torch.randn(num_states, B, H, generator=gen, dtype=dtype) for _ in range(2))
    return x, states


def run(module, x, states, *, packed, batch_first, lengths=LENGTHS):
    """Forward + backward with a random linear read-out of the output and both final states."""
    module.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    hx = None if states is None else tuple(s.clone().requires_grad_(True) for s in states)
    inp = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False) \
        if packed else x
    output, (h_n, c_n) = module(inp, hx)
    out = output.data if packed else output
    gen = torch.Generator().manual_seed(1)
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype).to(t.device)).sum() for t in (out, h_n, c_n))
    loss.backward()
    result = {"output": out, "h_n": h_n, "c_n": c_n, "grad_x": x.grad}
    if hx is not None:
        result.update(grad_h0=hx[0].grad, grad_c0=hx[1].grad)
    result.update({f"grad_{name}": p.grad for name, p in module.named_parameters()})
    return result


def max_diffs(a, b, keys=None):
    keys = a.keys() if keys is None else keys
    diffs = {}
    for key in keys:
        assert a[key].shape == b[key].shape, key
        diffs[key] = (a[key].double() - b[key].double()).abs().max().item()
    return diffs


# num_layers 1-3 x bidirectional x batch_first x bias x packed; an initial state in every other case
GRID = list(itertools.product([1, 2, 3], [False, True], [False, True], [False, True], [False, True]))
IDS = [f"L{l}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tf'}-{'b' if b else 'nob'}-{'packed' if p else 'padded'}"
       for l, bi, bf, b, p in GRID]


@pytest.mark.parametrize("num_layers, bidirectional, batch_first, bias, packed", GRID, ids=IDS)
def test_zero_peepholes_equal_torch_lstm_both_ways(num_layers, bidirectional, batch_first, bias, packed):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias,
                  dtype=torch.float64)
    num_states = num_layers * (2 if bidirectional else 1)
    x, states = make_inputs(torch.float64, num_states, batch_first)
    states = states if GRID.index((num_layers, bidirectional, batch_first, bias, packed)) % 2 else None
    call = dict(packed=packed, batch_first=batch_first)

    theirs = randomize(torch.nn.LSTM(D, H, **kwargs), seed=10)
    ours = zero_peepholes(lnn.PeepholeLSTM(D, H, **kwargs))
    ours.load_state_dict(theirs.state_dict(), strict=False)
    a, b = run(ours, x, states, **call), run(theirs, x, states, **call)
    assert set(a) - set(b) == {f"grad_{k}" for k in ours.state_dict() if is_peephole(k)}
    diffs = max_diffs(a, b, b.keys())
    assert max(diffs.values()) <= 1e-10, diffs

    ours = zero_peepholes(randomize(lnn.PeepholeLSTM(D, H, **kwargs), seed=20))
    theirs = torch.nn.LSTM(D, H, **kwargs)
    theirs.load_state_dict(lstm_part(ours.state_dict()))
    a, b = run(ours, x, states, **call), run(theirs, x, states, **call)
    diffs = max_diffs(a, b, b.keys())
    assert max(diffs.values()) <= 1e-10, diffs


@pytest.mark.parametrize("num_layers, bidirectional, batch_first, bias, packed", GRID, ids=IDS)
def test_nonzero_peepholes_equal_the_cell_stepped_by_autograd(num_layers, bidirectional, batch_first, bias, packed):
    """Every gradient, the peepholes' included, against autograd through the plain equations."""
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias,
                  dtype=torch.float64)
    x, states = make_inputs(torch.float64, num_layers * (2 if bidirectional else 1), batch_first, seed=2)
    states = states if GRID.index((num_layers, bidirectional, batch_first, bias, packed)) % 2 == 0 else None
    ours = randomize(lnn.PeepholeLSTM(D, H, **kwargs), seed=30)
    twin = StepByStep(D, H, **kwargs)
    twin.load_state_dict(ours.state_dict())
    call = dict(packed=packed, batch_first=batch_first)
    a, b = run(ours, x, states, **call), run(twin, x, states, **call)
    assert sum(is_peephole(k.removeprefix("grad_")) for k in a) == 3 * len(ours.all_weights)
    diffs = max_diffs(a, b)
    assert max(diffs.values()) <= 1e-10, diffs


@pytest.mark.parametrize("num_layers, bidirectional, packed", [(1, False, False), (2, True, True), (3, True, False)])
def test_float32(num_layers, bidirectional, packed):
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, dtype=torch.float32)
    x, states = make_inputs(torch.float32, num_layers * (2 if bidirectional else 1), False, seed=3)
    theirs = randomize(torch.nn.LSTM(D, H, **kwargs), seed=11)
    ours = zero_peepholes(lnn.PeepholeLSTM(D, H, **kwargs))
    ours.load_state_dict(theirs.state_dict(), strict=False)
    a, b = (run(m, x, states, packed=packed, batch_first=False) for m in (ours, theirs))
    assert max(max_diffs(a, b, b.keys()).values()) <= TOL[torch.float32]

    ours = randomize(lnn.PeepholeLSTM(D, H, **kwargs), seed=12)
    twin = StepByStep(D, H, **kwargs)
    twin.load_state_dict(ours.state_dict())
    a, b = (run(m, x, states, packed=packed, batch_first=False) for m in (ours, twin))
    assert max(max_diffs(a, b).values()) <= TOL[torch.float32]


# ---- the NumPy reference on one shared params dict ---------------------------------------

@pytest.mark.parametrize("T_, B_, D_, H_", [(1, 1, 1, 1), (5, 3, 4, 6), (9, 2, 7, 3)])
@pytest.mark.parametrize("with_state, bias", [(False, True), (True, True), (True, False)])
def test_reference_and_nn_agree(T_, B_, D_, H_, with_state, bias):
    rng = np.random.default_rng(T_ * 100 + D_)
    params = init_peephole_params(D_, H_, rng=rng)
    for key in ("weight_ci_l0", "weight_cf_l0", "weight_co_l0"):
        params[key] *= 3  # peepholes of order 1
    if not bias:
        del params["bias_ih_l0"], params["bias_hh_l0"]
    x = rng.standard_normal((T_, B_, D_))
    state = (rng.standard_normal((B_, H_)), rng.standard_normal((B_, H_))) if with_state else None
    dy, dh_T, dc_T = (rng.standard_normal(s) for s in [(T_, B_, H_), (B_, H_), (B_, H_)])
    y, (h_T, c_T), cache = peephole_forward(params, x, state)
    dparams, dx, (dh0, dc0) = peephole_backward(params, cache, dy, (dh_T, dc_T))

    module = lnn.PeepholeLSTM(D_, H_, bias=bias, dtype=torch.float64)
    module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
    xt = torch.from_numpy(x).requires_grad_()
    hx = tuple(torch.from_numpy(s[None]).requires_grad_() for s in state) if with_state else None
    yt, (ht, ct) = module(xt, hx)
    loss = (yt * torch.from_numpy(dy)).sum() + (ht[0] * torch.from_numpy(dh_T)).sum()
    (loss + (ct[0] * torch.from_numpy(dc_T)).sum()).backward()

    for ours, theirs in [(yt, y), (ht[0], h_T), (ct[0], c_T), (xt.grad, dx)]:
        assert np.abs(ours.detach().numpy() - theirs).max() <= 1e-10
    assert {name for name, _ in module.named_parameters()} == set(dparams)
    for name, p in module.named_parameters():
        assert np.abs(p.grad.numpy() - dparams[name]).max() <= 1e-10, name
    if with_state:
        assert np.abs(hx[0].grad[0].numpy() - dh0).max() <= 1e-10
        assert np.abs(hx[1].grad[0].numpy() - dc0).max() <= 1e-10


# ---- the hand-written backward -----------------------------------------------------------

@pytest.mark.parametrize("masked", [False, True])
def test_autograd_function_passes_gradcheck(masked):
    T_, B_, H_ = 3, 3, 2
    gen = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64).requires_grad_()

    xw, h_0, c_0, weight_hh = rand(T_, B_, 4 * H_), rand(B_, H_), rand(B_, H_), rand(4 * H_, H_)
    peepholes = rand(H_), rand(H_), rand(H_)
    mask = (torch.arange(T_)[:, None] < torch.tensor([3, 2, 1])).unsqueeze(2) if masked else None  # (T, B, 1)
    inputs = (xw, h_0, c_0, weight_hh, *peepholes, mask)
    assert torch.autograd.gradcheck(PeepholeLSTMSequence.apply, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_forward_without_grad_equals_forward_with_grad():
    """The no-grad path (a loop that saves nothing) is a separate code path."""
    ours = randomize(lnn.PeepholeLSTM(D, H, num_layers=2, bidirectional=True, dtype=torch.float64), seed=4)
    x, states = make_inputs(torch.float64, 4, batch_first=False)
    for inp in (x, pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False)):
        y1, (h1, c1) = ours(inp, states)
        with torch.no_grad():
            y2, (h2, c2) = ours(inp, states)
        y1, y2 = (y if isinstance(y, torch.Tensor) else y.data for y in (y1, y2))
        assert y1.requires_grad and not y2.requires_grad
        for a, b in ((y1, y2), (h1, h2), (c1, c2)):
            assert torch.equal(a, b)


def test_the_plain_path_with_the_fast_paths_off():
    """With the fast paths off, Tanh takes torch.tanh instead of 2 sigmoid(2a) - 1 (as on CUDA, or in float64)."""
    from lstmlib.nn import fast_paths

    ours = randomize(lnn.PeepholeLSTM(D, H, num_layers=2, bidirectional=True, dtype=torch.float32), seed=15)
    twin = StepByStep(D, H, num_layers=2, bidirectional=True, dtype=torch.float32)
    twin.load_state_dict(ours.state_dict())
    x, states = make_inputs(torch.float32, 4, batch_first=False, seed=5)
    for packed in (False, True):
        with fast_paths.disabled():
            a = run(ours, x, states, packed=packed, batch_first=False)
        b = run(twin, x, states, packed=packed, batch_first=False)
        assert max(max_diffs(a, b).values()) <= 1e-5


def test_frozen_peepholes_still_train_the_rest():
    ours = randomize(lnn.PeepholeLSTM(D, H, dtype=torch.float64), seed=6)
    for stem in PEEPHOLE_STEMS:
        getattr(ours, f"{stem}_l0").requires_grad_(False)
    twin = StepByStep(D, H, dtype=torch.float64)
    twin.load_state_dict(ours.state_dict())
    x, states = make_inputs(torch.float64, 1, batch_first=False)
    a, b = run(ours, x, states, packed=False, batch_first=False), run(twin, x, states, packed=False, batch_first=False)
    assert a["grad_weight_ci_l0"] is None
    keys = [k for k in a if a[k] is not None and b[k] is not None]
    assert max(max_diffs(a, b, keys).values()) <= 1e-10


# ---- layout, parameters, initialisation --------------------------------------------------

def test_bidirectional_stacked_layout_is_torchs():
    """output = [forward, backward] halves on the last axis; h_n rows layer-major, direction-minor."""
    ours = randomize(lnn.PeepholeLSTM(D, H, num_layers=2, bidirectional=True, dtype=torch.float64), seed=7)
    x = make_inputs(torch.float64, 4, batch_first=False)[0]
    output, (h_n, c_n) = ours(x)
    assert output.shape == (T, B, 2 * H) and h_n.shape == c_n.shape == (4, B, H)
    assert torch.equal(h_n[2], output[-1, :, :H])  # last layer, forward direction: its last step
    assert torch.equal(h_n[3], output[0, :, H:])  # last layer, backward direction: its last step is t = 0
    # layer 0 is a bidirectional one-layer module; each of its directions a one-layer module run forward
    layer0 = lnn.PeepholeLSTM(D, H, bidirectional=True, dtype=torch.float64)
    layer0.load_state_dict({k: v for k, v in ours.state_dict().items() if "_l0" in k})
    y0, (h0, c0) = layer0(x)
    assert torch.equal(h0, h_n[:2]) and torch.equal(c0, c_n[:2])
    for direction, suffix in ((0, ""), (1, "_reverse")):
        single = lnn.PeepholeLSTM(D, H, dtype=torch.float64)
        single.load_state_dict({k.removesuffix(suffix): v for k, v in layer0.state_dict().items()
                                if k.endswith("_l0" + suffix)})
        y, (h, c) = single(x if direction == 0 else x.flip(0))
        y = y if direction == 0 else y.flip(0)
        assert (y0[:, :, direction * H:(direction + 1) * H] - y).abs().max() <= 1e-12
        assert (h0[direction] - h[0]).abs().max() <= 1e-12 and (c0[direction] - c[0]).abs().max() <= 1e-12


def test_parameters_names_shapes_and_initialisation():
    ours = lnn.PeepholeLSTM(3, 4, num_layers=2, bidirectional=True)
    keys = list(ours.state_dict())
    assert keys[:14] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ci_l0", "weight_cf_l0", "weight_co_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
        "weight_ci_l0_reverse", "weight_cf_l0_reverse", "weight_co_l0_reverse",
    ]
    assert len(keys) == 28 and ours.weight_ih_l1.shape == (16, 8) and ours.weight_co_l1_reverse.shape == (4,)
    assert set(lnn.PeepholeLSTM(3, 4, bias=False).state_dict()) == {
        "weight_ih_l0", "weight_hh_l0", "weight_ci_l0", "weight_cf_l0", "weight_co_l0"}
    assert all(p.abs().max() <= 0.5 and p.abs().min() > 0 for p in ours.parameters())  # U(±1/sqrt(4))
    torch.manual_seed(0)
    ours = lnn.PeepholeLSTM(3, 4)
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 4)
    assert all(torch.equal(ours.state_dict()[k], v) for k, v in theirs.state_dict().items())  # drawn first
    assert "3, 4, num_layers=2" in repr(lnn.PeepholeLSTM(3, 4, num_layers=2)) and ours.proj_size == 0


def test_unbatched_input():
    ours = randomize(lnn.PeepholeLSTM(D, H, num_layers=2, bidirectional=True, dtype=torch.float64), seed=8)
    x, states = make_inputs(torch.float64, 4, batch_first=False)
    y, (h, c) = ours(x[:, 1], tuple(s[:, 1] for s in states))
    y_b, (h_b, c_b) = ours(x[:, 1:2], tuple(s[:, 1:2] for s in states))
    assert y.shape == (T, 2 * H) and h.shape == c.shape == (4, H)
    assert torch.equal(y, y_b[:, 0]) and torch.equal(h, h_b[:, 0]) and torch.equal(c, c_b[:, 0])


# ---- the cell ----------------------------------------------------------------------------

@pytest.mark.parametrize("batched", [True, False])
def test_cell_with_zero_peepholes_equals_torch_lstm_cell(batched):
    theirs = randomize(torch.nn.LSTMCell(D, H, dtype=torch.float64), seed=9)
    ours = zero_peepholes(lnn.PeepholeLSTMCell(D, H, dtype=torch.float64))
    ours.load_state_dict(theirs.state_dict(), strict=False)
    gen = torch.Generator().manual_seed(0)
    lead = (B,) if batched else ()
    x = torch.randn(lead + (D,), generator=gen, dtype=torch.float64)
    hx = tuple(torch.randn(lead + (H,), generator=gen, dtype=torch.float64) for _ in range(2))
    for a, b in zip(ours(x, hx), theirs(x, hx), strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= 1e-12


def test_cell_unrolled_equals_the_layer():
    """cell -> layer, with non-zero peepholes: stepping the cell gives the layer's outputs and gradients."""
    layer = randomize(lnn.PeepholeLSTM(D, H, dtype=torch.float64), seed=13)
    cell = lnn.PeepholeLSTMCell(D, H, dtype=torch.float64)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = torch.randn(6, B, D, dtype=torch.float64)
    y, (h_n, c_n) = layer(x)
    state, ys = None, []
    for t in range(6):
        state = cell(x[t], state)
        ys.append(state[0])
    assert (torch.stack(ys) - y).abs().max() <= 1e-12 and (state[1] - c_n[0]).abs().max() <= 1e-12
    (y.sum() + c_n.sum()).backward()
    (torch.stack(ys).sum() + state[1].sum()).backward()
    for name, p in cell.named_parameters():
        assert (p.grad - getattr(layer, f"{name}_l0").grad).abs().max() <= 1e-10, name


def test_cell_parameters_and_initialisation():
    torch.manual_seed(3)
    ours = lnn.PeepholeLSTMCell(D, H)
    torch.manual_seed(3)
    theirs = torch.nn.LSTMCell(D, H)
    assert list(ours.state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh", *PEEPHOLE_STEMS]
    assert all(torch.equal(ours.state_dict()[k], v) for k, v in theirs.state_dict().items())  # drawn first
    assert all(getattr(ours, s).shape == (H,) and getattr(ours, s).abs().max() <= 0.5 for s in PEEPHOLE_STEMS)
    ours.reset_parameters()  # redraws all seven, peepholes included
    assert all(getattr(ours, s).abs().max() <= 0.5 for s in PEEPHOLE_STEMS)
    assert list(lnn.PeepholeLSTMCell(D, H, bias=False).state_dict()) == ["weight_ih", "weight_hh", *PEEPHOLE_STEMS]


# ---- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: lnn.PeepholeLSTM(D, H, proj_size=2), ValueError,
         r"proj_size must be 0: LSTM projections .* not supported by lstmlib.nn.PeepholeLSTM; got proj_size=2"),
        (lambda: lnn.PeepholeLSTM(D, 0), ValueError, r"hidden_size must be a positive int \(>= 1\); got 0"),
        (lambda: lnn.PeepholeLSTM(D, H, bidirectional=1), TypeError, r"bidirectional must be a bool"),
        (lambda: lnn.PeepholeLSTMCell(D, H, bias="yes"), TypeError, r"bias must be a bool"),
        (lambda: lnn.PeepholeLSTM(D, H)(torch.randn(T, B, D + 1)), ValueError,
         r"input must have D=3 along axis 2 of \(T, B, D\); got shape \(5, 4, 4\)"),
        (lambda: lnn.PeepholeLSTM(D, H)(torch.randn(T, B, D, dtype=torch.float64)), TypeError,
         r"input must have the dtype of the parameters \(float32\); got float64"),
        (lambda: lnn.PeepholeLSTM(D, H)(torch.randn(T, B, D), torch.zeros(1, B, H)), TypeError,
         r"hx must be a tuple \(h_0, c_0\) of 2 tensors; got Tensor"),
        (lambda: lnn.PeepholeLSTM(D, H, num_layers=2)(torch.randn(T, B, D), (torch.zeros(1, B, H),) * 2),
         ValueError, r"hx\[0\] \(h_0\) must have shape \(num_layers \* num_directions, B, H\) = \(2, 4, 4\); "
                     r"got \(1, 4, 4\)"),
        (lambda: lnn.PeepholeLSTMCell(D, H)(torch.randn(B, D), (torch.zeros(B, H), torch.zeros(B, H + 1))),
         ValueError, r"hx\[1\] \(c_0\) must have shape \(B, H\) = \(4, 4\); got \(4, 5\)"),
        (lambda: lnn.PeepholeLSTMCell(D, H)(torch.randn(T, B, D)), ValueError,
         r"input must have 2 or 1 dimensions \(B, D\), or \(D,\) unbatched; got 3"),
    ],
    ids=["proj_size", "hidden_size", "bidirectional", "cell bias", "feature size", "dtype", "hx tensor",
         "hx shape", "cell c_0 shape", "cell rank"],
)
def test_bad_input_is_rejected_with_a_message_naming_it(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_lstm_state_dict_needs_the_peepholes():
    """Loading a plain LSTM's weights strictly fails, naming the missing peephole weights."""
    with pytest.raises(RuntimeError, match=r"Missing key\(s\).*weight_ci_l0.*weight_cf_l0.*weight_co_l0"):
        lnn.PeepholeLSTM(D, H).load_state_dict(torch.nn.LSTM(D, H).state_dict())


# ---- CUDA --------------------------------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("packed", [False, True])
def test_cuda_matches_cpu_and_torch(packed):
    kwargs = dict(num_layers=2, bidirectional=True, dtype=torch.float64)
    cpu = randomize(lnn.PeepholeLSTM(D, H, **kwargs), seed=14)
    gpu = lnn.PeepholeLSTM(D, H, device="cuda", **kwargs)
    gpu.load_state_dict(cpu.state_dict())
    assert all(p.device.type == "cuda" for p in gpu.parameters())
    x, states = make_inputs(torch.float64, 4, batch_first=False)
    a = run(cpu, x, states, packed=packed, batch_first=False)
    b = run(gpu, x.cuda(), tuple(s.cuda() for s in states), packed=packed, batch_first=False)
    assert all(v.device.type == "cuda" for v in b.values())
    assert max(max_diffs(a, {k: v.cpu() for k, v in b.items()}).values()) <= 1e-10

    theirs = torch.nn.LSTM(D, H, device="cuda", **kwargs)
    theirs.load_state_dict(lstm_part(zero_peepholes(gpu).state_dict()))
    a = run(gpu, x.cuda(), tuple(s.cuda() for s in states), packed=packed, batch_first=False)
    b = run(theirs, x.cuda(), tuple(s.cuda() for s in states), packed=packed, batch_first=False)
    assert max(max_diffs(a, b, b.keys()).values()) <= 1e-10
