"""lstmlib.nn.ConvLSTM and ConvLSTMCell against the NumPy reference, the LSTM, and themselves.

The reference (lstmlib.reference.convlstm) is one layer in one direction; the
stacked and bidirectional runs it is compared with here are composed from it
in this file, forward and backward, in float64.
"""

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import lstmlib.nn as lnn
from lstmlib.reference import convlstm_backward, convlstm_forward
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

T, B, C, Hc, H, W = 3, 2, 2, 3, 4, 5
TOL = 1e-10
PEEPHOLE_STEMS = ("weight_ci", "weight_cf", "weight_co")


# ---- the reference, composed into a stack ---------------------------------------------------

def layer_params(params, layer, direction):
    """The reference dict (``_l0`` keys) of one layer-direction of a ConvLSTM state_dict."""
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    return {key[: -len(suffix)] + "_l0": value for key, value in params.items() if key.endswith(suffix)}


def reference_stack(params, num_layers, dirs, x, state, dy, dstate_n):
    """Forward and backward of a stacked (bidirectional) ConvLSTM from the reference layer.

    x: (T, B, C, H, W); state, dstate_n: (h, c) each (L*dirs, B, Hc, H, W) or None;
    dy: (T, B, dirs*Hc, H, W). Returns outputs and gradients keyed like ``run``.
    """
    caches, layer_input, h_n, c_n = {}, x, [], []
    for layer in range(num_layers):
        outputs = []
        for d in range(dirs):
            k = layer * dirs + d
            seq = layer_input[::-1] if d else layer_input
            y, (h, c), caches[k] = convlstm_forward(layer_params(params, layer, d), np.ascontiguousarray(seq),
                                                    None if state is None else (state[0][k], state[1][k]))
            outputs.append(y[::-1] if d else y)
            h_n.append(h), c_n.append(c)
        layer_input = np.concatenate(outputs, axis=2)
    result = {"output": layer_input, "h_n": np.stack(h_n), "c_n": np.stack(c_n)}
    grads, dh0, dc0 = {}, [None] * len(h_n), [None] * len(h_n)
    d_output = dy
    for layer in reversed(range(num_layers)):
        d_input = 0
        for d in range(dirs):
            k = layer * dirs + d
            dy_d = d_output[:, :, d * Hc:(d + 1) * Hc]
            dparams, dx, (dh0[k], dc0[k]) = convlstm_backward(
                layer_params(params, layer, d), caches[k], np.ascontiguousarray(dy_d[::-1] if d else dy_d),
                (dstate_n[0][k], dstate_n[1][k]))
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            grads.update({f"grad_{key[:-3]}{suffix}": value for key, value in dparams.items()})
            d_input = d_input + (dx[::-1] if d else dx)
        d_output = d_input
    result["grad_x"] = d_output
    if state is not None:
        result.update(grad_h0=np.stack(dh0), grad_c0=np.stack(dc0))
    return result | grads


def run(module, x, state, dy, dstate_n):
    """Forward and backward through a lstmlib.nn module (time-major x, even with batch_first)."""
    x = torch.from_numpy(x).requires_grad_()
    hx = None if state is None else tuple(torch.from_numpy(s).requires_grad_() for s in state)
    inp = x.transpose(0, 1) if module.batch_first else x
    output, (h_n, c_n) = module(inp, hx)
    output = output.transpose(0, 1) if module.batch_first else output
    dy, (dh, dc) = torch.from_numpy(dy), (torch.from_numpy(s) for s in dstate_n)
    ((output * dy).sum() + (h_n * dh).sum() + (c_n * dc).sum()).backward()
    result = {"output": output, "h_n": h_n, "c_n": c_n, "grad_x": x.grad}
    if hx is not None:
        result.update(grad_h0=hx[0].grad, grad_c0=hx[1].grad)
    result.update({f"grad_{name}": p.grad for name, p in module.named_parameters()})
    return {key: value.detach().numpy() for key, value in result.items()}


def problem(num_layers, dirs, given_state, seed, frame=(H, W)):
    rng = np.random.default_rng(seed)
    L = num_layers * dirs
    x = rng.standard_normal((T, B, C, *frame))
    state = tuple(rng.standard_normal((L, B, Hc, *frame)) for _ in range(2)) if given_state else None
    dy = rng.standard_normal((T, B, dirs * Hc, *frame))
    dstate_n = tuple(rng.standard_normal((L, B, Hc, *frame)) for _ in range(2))
    return x, state, dy, dstate_n


def assert_close(ours, theirs, tol=TOL):
    assert ours.keys() == theirs.keys()
    diffs = {key: np.abs(ours[key] - theirs[key]).max() for key in ours}
    assert all(ours[key].shape == theirs[key].shape for key in ours)
    assert max(diffs.values()) <= tol, diffs


# ---- parity with the reference ----------------------------------------------------------------

CONFIGS = [  # kernel_size, peephole, bias, num_layers, bidirectional, batch_first, given_state
    (1, False, True, 1, False, False, True),
    (3, False, True, 1, False, False, False),
    (3, True, True, 1, False, True, True),
    (5, True, False, 1, False, False, True),
    ((3, 1), False, False, 1, False, True, False),
    (3, True, True, 2, False, False, True),
    (3, False, True, 2, True, True, True),
    (5, True, True, 2, True, False, False),
]


@pytest.mark.parametrize("kernel_size, peephole, bias, num_layers, bidirectional, batch_first, given_state", CONFIGS)
def test_matches_the_reference_in_float64(kernel_size, peephole, bias, num_layers, bidirectional, batch_first,
                                          given_state):
    module = lnn.ConvLSTM(C, Hc, kernel_size, num_layers=num_layers, batch_first=batch_first, bias=bias,
                          peephole=peephole, frame_size=(H, W) if peephole else None, bidirectional=bidirectional,
                          dtype=torch.float64)
    randomize(module, seed=num_layers * 10 + int(peephole))
    params = {key: value.numpy() for key, value in module.state_dict().items()}
    dirs = 2 if bidirectional else 1
    x, state, dy, dstate_n = problem(num_layers, dirs, given_state, seed=3)
    assert_close(run(module, x, state, dy, dstate_n), reference_stack(params, num_layers, dirs, x, state, dy, dstate_n))


def test_float32_module_matches_the_float64_reference():
    module = randomize(lnn.ConvLSTM(C, Hc, 3, num_layers=2, peephole=True, frame_size=(H, W)), seed=4)
    params = {key: value.double().numpy() for key, value in module.state_dict().items()}
    x, state, dy, dstate_n = problem(2, 1, True, seed=5)
    ours = run(module, *(a.astype(np.float32) for a in (x,)), tuple(s.astype(np.float32) for s in state),
               dy.astype(np.float32), tuple(s.astype(np.float32) for s in dstate_n))
    theirs = reference_stack(params, 2, 1, x, state, dy, dstate_n)
    assert_close({k: v.astype(np.float64) for k, v in ours.items()}, theirs, tol=1e-4)


# ---- the LSTM as the 1x1 special case -----------------------------------------------------------

@pytest.mark.parametrize("make_lstm", [torch.nn.LSTM, lnn.LSTM], ids=["torch.nn.LSTM", "lstmlib.nn.LSTM"])
def test_a_1x1_kernel_on_1x1_frames_is_the_lstm(make_lstm):
    kwargs = dict(num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64)
    lstm = randomize(make_lstm(C, Hc, **kwargs), seed=6)
    conv = lnn.ConvLSTM(C, Hc, 1, **kwargs)
    conv.load_state_dict({k: v.view(v.shape + (1, 1)) if k.startswith("weight") else v
                          for k, v in lstm.state_dict().items()})
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(B, T, C, generator=gen, dtype=torch.float64)
    hx = tuple(torch.randn(4, B, Hc, generator=gen, dtype=torch.float64) for _ in range(2))
    results = []
    for module, pixel in ((lstm, ()), (conv, (1, 1))):
        inputs = [x.view(x.shape + pixel).requires_grad_(), *(s.view(s.shape + pixel).requires_grad_() for s in hx)]
        inputs = [t.detach().requires_grad_() for t in inputs]
        output, (h_n, c_n) = module(inputs[0], tuple(inputs[1:]))
        outs = [output, h_n, c_n]
        grads = torch.autograd.grad(sum((o * (k + 1)).sin().sum() for k, o in enumerate(outs)),
                                    [*inputs, *module.parameters()])
        results.append([t.reshape(-1) for t in (*outs, *grads)])
    for ours, theirs in zip(results[1], results[0], strict=True):
        assert (ours - theirs).abs().max() <= TOL


# ---- shapes, packing, paths --------------------------------------------------------------------

@pytest.mark.parametrize("frame", [(1, 1), (2, 7), (5, 4)])
@pytest.mark.parametrize("kernel_size", [1, 3, 5, (5, 3)])
def test_frame_size_is_kept(frame, kernel_size):
    module = lnn.ConvLSTM(C, Hc, kernel_size, num_layers=2, bidirectional=True)
    output, (h_n, c_n) = module(torch.randn(T, B, C, *frame))
    assert output.shape == (T, B, 2 * Hc, *frame)
    assert h_n.shape == c_n.shape == (4, B, Hc, *frame)


def test_packed_sequences_equal_each_sequence_run_alone():
    lengths = [2, 4, 1, 4]
    module = randomize(lnn.ConvLSTM(C, Hc, 3, num_layers=2, bidirectional=True, peephole=True, frame_size=(H, W),
                                    dtype=torch.float64), seed=8)
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(4, len(lengths), C, H, W, generator=gen, dtype=torch.float64, requires_grad=True)
    packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    output, (h_n, c_n) = module(packed)
    output, _ = pad_packed_sequence(output)
    (output.square().sum() + h_n.sum() + c_n.sum()).backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters()}
    module.zero_grad()
    for b, length in enumerate(lengths):
        x_b = x[:length, b:b + 1].detach().requires_grad_()
        y_b, (h_b, c_b) = module(x_b)
        assert (y_b[:, 0] - output[:length, b]).abs().max() <= TOL
        assert (output[length:, b] == 0).all()  # padding, as torch pads
        assert (h_b[:, 0] - h_n[:, b]).abs().max() <= TOL and (c_b[:, 0] - c_n[:, b]).abs().max() <= TOL
        (y_b.square().sum() + h_b.sum() + c_b.sum()).backward()
        assert (x_b.grad - x.grad[:length, b:b + 1]).abs().max() <= TOL
    for name, p in module.named_parameters():  # accumulated over the separate runs
        assert (p.grad - grads[name]).abs().max() <= TOL, name


@pytest.mark.parametrize("peephole", [False, True])
def test_forward_without_grad_equals_forward_with_grad(peephole):
    module = lnn.ConvLSTM(C, Hc, 3, num_layers=2, bidirectional=True, peephole=peephole,
                          frame_size=(H, W) if peephole else None, dtype=torch.float64)
    x = torch.randn(T, B, C, H, W, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor([3, 1]))
    for inp in (x, packed):
        with torch.no_grad():
            fast = module(inp)
        slow = module(inp)  # the parameters require grad: the saving path
        (y_fast, y_slow) = (y.data if isinstance(y, PackedSequence) else y for y in (fast[0], slow[0]))
        assert y_slow.requires_grad and not y_fast.requires_grad
        for a, b in ((y_fast, y_slow), (fast[1][0], slow[1][0]), (fast[1][1], slow[1][1])):
            assert (a - b).abs().max() <= 1e-14


def test_unbatched_input_is_a_batch_of_one():
    module = lnn.ConvLSTM(C, Hc, 3, num_layers=2, dtype=torch.float64)
    x = torch.randn(T, C, H, W, dtype=torch.float64)
    hx = tuple(torch.randn(2, Hc, H, W, dtype=torch.float64) for _ in range(2))
    output, (h_n, c_n) = module(x, hx)
    output_b, (h_b, c_b) = module(x.unsqueeze(1), tuple(s.unsqueeze(1) for s in hx))
    assert output.shape == (T, Hc, H, W) and h_n.shape == (2, Hc, H, W)
    assert torch.equal(output, output_b[:, 0]) and torch.equal(h_n, h_b[:, 0]) and torch.equal(c_n, c_b[:, 0])


def test_dropout_between_layers():
    module = lnn.ConvLSTM(C, Hc, 3, num_layers=2, dropout=0.5, dtype=torch.float64)
    plain = lnn.ConvLSTM(C, Hc, 3, num_layers=2, dtype=torch.float64)
    plain.load_state_dict(module.state_dict())
    x = torch.randn(T, B, C, H, W, dtype=torch.float64)
    assert torch.equal(module.eval()(x)[0], plain(x)[0])
    torch.manual_seed(0)
    assert (module.train()(x)[0] - plain(x)[0]).abs().max() > 1e-3


# ---- the cell, init, repr ---------------------------------------------------------------------

@pytest.mark.parametrize("peephole, bias", [(False, True), (True, True), (True, False)])
def test_cell_is_one_step_of_the_layer(peephole, bias):
    kwargs = dict(bias=bias, peephole=peephole, frame_size=(H, W) if peephole else None, dtype=torch.float64)
    cell = randomize(lnn.ConvLSTMCell(C, Hc, (3, 5), **kwargs), seed=10)
    layer = lnn.ConvLSTM(C, Hc, (3, 5), **kwargs)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(B, C, H, W, generator=gen, dtype=torch.float64, requires_grad=True)
    hx = tuple(torch.randn(B, Hc, H, W, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(2))
    results = []
    def one_layer_step():
        _, (h_n, c_n) = layer(x[None], tuple(s[None] for s in hx))  # T = 1, one layer
        return h_n[0], c_n[0]

    for module, step in ((cell, lambda: cell(x, hx)), (layer, one_layer_step)):
        h, c = step()
        results.append([h, c, *torch.autograd.grad((h * 2).sum() + c.square().sum(), [x, *hx, *module.parameters()])])
    for ours, theirs in zip(*results, strict=True):
        assert (ours - theirs).abs().max() <= TOL
    h1, c1 = cell(x[0], tuple(s[0] for s in hx))  # unbatched
    assert h1.shape == (Hc, H, W) and (h1 - results[0][0][0]).abs().max() <= TOL
    h0, _ = cell(x)  # zeros
    assert (h0 - cell(x, tuple(torch.zeros_like(s) for s in hx))[0]).abs().max() == 0


def test_init_keys_bound_and_seed():
    from lstmlib.reference import init_convlstm_params

    module = lnn.ConvLSTM(C, Hc, (3, 5), num_layers=2, peephole=True, frame_size=(H, W))
    layer0 = {k: tuple(v.shape) for k, v in module.state_dict().items() if k.endswith("_l0")}
    reference = init_convlstm_params(C, Hc, (3, 5), rng=0, peephole=True, frame_size=(H, W))
    assert list(layer0) == list(reference) and all(layer0[k] == reference[k].shape for k in reference)
    assert module.weight_ih_l1.shape == (4 * Hc, Hc, 3, 5)
    bound = 1 / np.sqrt(Hc * 3 * 5)
    assert all(0.8 * bound < p.abs().max() <= bound for p in module.parameters())
    torch.manual_seed(1)
    a = lnn.ConvLSTM(C, Hc, 3).state_dict()
    torch.manual_seed(1)
    b = lnn.ConvLSTM(C, Hc, 3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_repr():
    assert repr(lnn.ConvLSTM(1, 16, 5, num_layers=2, peephole=True, frame_size=(8, 8))) == \
        "ConvLSTM(1, 16, kernel_size=(5, 5), num_layers=2, peephole=True, frame_size=(8, 8))"
    assert repr(lnn.ConvLSTMCell(1, 16, 3, bias=False)) == "ConvLSTMCell(1, 16, kernel_size=(3, 3), bias=False)"
    module = lnn.ConvLSTM(2, 4, 3)
    assert module.in_channels == 2 and module.hidden_channels == 4


# ---- bad input -------------------------------------------------------------------------------

@pytest.fixture
def conv():
    return lnn.ConvLSTM(C, Hc, 3, num_layers=2)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(kernel_size=4), ValueError, r"kernel_size must be odd .*'same' padding keeps the frame size; got 4"),
        (dict(kernel_size=(3, 2)), ValueError, r"kernel_size must be odd .*got \(3, 2\)"),
        (dict(kernel_size=3.0), TypeError, r"kernel_size must be a positive int; got float 3.0"),
        (dict(peephole=True), ValueError, r"frame_size=\(H, W\) is required with peephole=True"),
        (dict(frame_size=(4, 5)), ValueError, r"frame_size is only used by the peephole weights"),
        (dict(peephole=1, frame_size=(4, 5)), TypeError, r"peephole must be a bool"),
        (dict(in_channels=0), ValueError, r"in_channels must be a positive int \(>= 1\); got 0"),
        (dict(hidden_channels=2.5), TypeError, r"hidden_channels must be a positive int; got float 2.5"),
        (dict(num_layers=0), ValueError, r"num_layers must be a positive int"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, error, match):
    args = dict(in_channels=C, hidden_channels=Hc, kernel_size=3) | kwargs
    with pytest.raises(error, match=match):
        lnn.ConvLSTM(**args)
    if not {"num_layers"} & set(kwargs):
        with pytest.raises(error, match=match):
            lnn.ConvLSTMCell(**args)


def test_wrong_rank(conv):
    with pytest.raises(ValueError, match=r"input must have 5 or 4 dimensions \(T, B, C, H, W\), or \(T, C, H, W\) "
                                         r"unbatched; got 3 dimensions with shape \(3, 2, 2\)"):
        conv(torch.randn(T, B, C))
    with pytest.raises(ValueError, match=r"input must have 5 or 4 dimensions \(B, T, C, H, W\)"):
        lnn.ConvLSTM(C, Hc, 3, batch_first=True)(torch.randn(1, T, B, C, H, W))


def test_wrong_channel_count(conv):
    with pytest.raises(ValueError, match=r"input must have C=2 along axis 2 of \(T, B, C, H, W\); "
                                         r"got shape \(3, 2, 3, 4, 5\) \(C=3\)"):
        conv(torch.randn(T, B, 3, H, W))
    with pytest.raises(ValueError, match=r"input must have C=2 along axis 1 of \(T, C, H, W\)"):
        conv(torch.randn(T, 1, H, W))
    packed = pack_padded_sequence(torch.randn(T, B, 1, H, W), torch.tensor([3, 2]))
    with pytest.raises(ValueError, match=r"input.data must have C=2 along axis 1 of \(sum of lengths, C, H, W\)"):
        conv(packed)


def test_frames_must_match_the_peepholes():
    module = lnn.ConvLSTM(C, Hc, 3, peephole=True, frame_size=(H, W))
    with pytest.raises(ValueError, match=r"input must have frames of size \(H, W\) = \(4, 5\), the frame_size of "
                                         r"the peephole weights; got shape \(3, 2, 2, 5, 4\) with frames \(5, 4\)"):
        module(torch.randn(T, B, C, W, H))
    with pytest.raises(ValueError, match=r"input must have frames of size \(H, W\) = \(4, 5\)"):
        lnn.ConvLSTMCell(C, Hc, 3, peephole=True, frame_size=(H, W))(torch.randn(B, C, H, H))


@pytest.mark.parametrize(
    "shapes, got",
    [(((2, B, Hc, H, W + 1), (2, B, Hc, H, W)), r"hx\[0\] \(h_0\) .*got \(2, 2, 3, 4, 6\)"),
     (((2, B, Hc, H, W), (1, B, Hc, H, W)), r"hx\[1\] \(c_0\) .*got \(1, 2, 3, 4, 5\)"),
     (((2, B, Hc + 1, H, W), (2, B, Hc, H, W)), r"hx\[0\] \(h_0\) .*got \(2, 2, 4, 4, 5\)"),
     (((2, B, Hc), (2, B, Hc, H, W)), r"hx\[0\] \(h_0\) .*got \(2, 2, 3\)")],
    ids=["width", "layers", "channels", "lstm-shaped"],
)
def test_wrong_state_shapes(conv, shapes, got):
    with pytest.raises(ValueError, match=r"must have shape \(num_layers \* num_directions, B, Hc, H, W\) = "
                                         r"\(2, 2, 3, 4, 5\); " + got.split(".*")[1]):
        conv(torch.randn(T, B, C, H, W), tuple(torch.zeros(s) for s in shapes))
    with pytest.raises(ValueError, match=got):
        conv(torch.randn(T, B, C, H, W), tuple(torch.zeros(s) for s in shapes))


def test_state_type_and_dtype(conv):
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\) of 2 tensors; got Tensor"):
        conv(torch.randn(T, B, C, H, W), torch.zeros(2, B, Hc, H, W))
    with pytest.raises(TypeError, match=r"input must have the dtype of the parameters \(float32\); got float64"):
        conv(torch.randn(T, B, C, H, W, dtype=torch.float64))


def test_cell_bad_input():
    cell = lnn.ConvLSTMCell(C, Hc, 3)
    with pytest.raises(ValueError, match=r"input must have 4 or 3 dimensions \(B, C, H, W\), or \(C, H, W\) unbatched"):
        cell(torch.randn(T, B, C, H, W))
    with pytest.raises(ValueError, match=r"input must have C=2 along axis 1 of \(B, C, H, W\)"):
        cell(torch.randn(B, 1, H, W))
    with pytest.raises(ValueError, match=r"hx\[1\] \(c_0\) must have shape \(B, Hc, H, W\) = \(2, 3, 4, 5\); "
                                         r"got \(2, 3, 5, 4\)"):
        cell(torch.randn(B, C, H, W), (torch.zeros(B, Hc, H, W), torch.zeros(B, Hc, W, H)))


# ---- CUDA ------------------------------------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    module = randomize(lnn.ConvLSTM(C, Hc, 3, num_layers=2, bidirectional=True, peephole=True, frame_size=(H, W),
                                    dtype=torch.float64), seed=12)
    x, state, dy, dstate_n = problem(2, 2, True, seed=13)
    cpu = run(module, x, state, dy, dstate_n)
    module.zero_grad()
    module.cuda()
    assert all(p.device.type == "cuda" for p in module.parameters())
    x_cuda = torch.from_numpy(x).cuda().requires_grad_()
    hx = tuple(torch.from_numpy(s).cuda().requires_grad_() for s in state)
    output, (h_n, c_n) = module(x_cuda, hx)
    assert output.device.type == "cuda"
    dy, (dh, dc) = torch.from_numpy(dy).cuda(), (torch.from_numpy(s).cuda() for s in dstate_n)
    ((output * dy).sum() + (h_n * dh).sum() + (c_n * dc).sum()).backward()
    cuda = {"output": output, "h_n": h_n, "c_n": c_n, "grad_x": x_cuda.grad, "grad_h0": hx[0].grad,
            "grad_c0": hx[1].grad, **{f"grad_{n}": p.grad for n, p in module.named_parameters()}}
    assert_close({k: v.detach().cpu().numpy() for k, v in cuda.items()}, cpu)
    with torch.no_grad():  # the forward-only path and the cell, too
        assert (module(x_cuda)[0].cpu() - module.cpu()(torch.from_numpy(x))[0]).abs().max() <= TOL
    cell = lnn.ConvLSTMCell(C, Hc, 3, device="cuda")
    h, c = cell(torch.randn(B, C, H, W, device="cuda"))
    assert h.device.type == c.device.type == "cuda"
