"""What is special about lstmlib.nn.PeepholeLSTM and PeepholeLSTMCell.

With the peepholes at zero they are torch.nn.LSTM / LSTMCell (weights loaded
both ways); the hand-written backward passes gradcheck; the peepholes are
parameters of their own (names, initialisation, freezing, strict loading).
Their contract with every recurrent module -- parity with the NumPy reference
in every layout, float64 and float32, the no-grad path, errors, state_dict,
CUDA -- is checked in tests/contract/.
"""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

import lstmlib.nn as lnn
from lstmlib.nn.peephole import PeepholeLSTMSequence

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


# layers, directions, layouts, bias and packing: the layout grid itself is the contract's
GRID = [(1, False, False, True, False), (2, True, True, True, True), (3, True, False, False, False),
        (2, False, True, False, True), (1, True, False, True, True)]
IDS = [f"L{n}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tf'}-{'b' if b else 'nob'}-{'packed' if p else 'padded'}"
       for n, bi, bf, b, p in GRID]


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


# ---- parameters, initialisation ----------------------------------------------------------

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


def test_projections_are_rejected():
    with pytest.raises(ValueError, match=r"proj_size must be 0: LSTM projections .* not supported by "
                                         r"lstmlib.nn.PeepholeLSTM; got proj_size=2"):
        lnn.PeepholeLSTM(D, H, proj_size=2)


def test_lstm_state_dict_needs_the_peepholes():
    """Loading a plain LSTM's weights strictly fails, naming the missing peephole weights."""
    with pytest.raises(RuntimeError, match=r"Missing key\(s\).*weight_ci_l0.*weight_cf_l0.*weight_co_l0"):
        lnn.PeepholeLSTM(D, H).load_state_dict(torch.nn.LSTM(D, H).state_dict())
