"""What is special about lstmlib.nn.ConvLSTM and ConvLSTMCell.

A 1x1 kernel on 1x1 frames is the LSTM; the initialisation bound has the
kernel's fan-in; kernels must be odd and peepholes need a frame size, which
every input must then have. Their contract with every recurrent module --
parity with the NumPy reference (lstmlib.reference.convlstm) in every layout,
float64 and float32, the no-grad path, errors, state_dict, CUDA -- is checked
in tests/contract/.
"""

import numpy as np
import pytest
import torch
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

import lstmlib.nn as lnn

T, B, C, Hc, H, W = 3, 2, 2, 3, 4, 5
TOL = 1e-10


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


# ---- initialisation, repr, arguments ----------------------------------------------------------

def test_init_keys_bound_and_seed():
    from lstmlib.reference import init_convlstm_params

    torch.manual_seed(0)
    module = lnn.ConvLSTM(C, Hc, (3, 5), num_layers=2, peephole=True, frame_size=(H, W))
    layer0 = {k: tuple(v.shape) for k, v in module.state_dict().items() if k.endswith("_l0")}
    reference = init_convlstm_params(C, Hc, (3, 5), rng=0, peephole=True, frame_size=(H, W))
    assert list(layer0) == list(reference) and all(layer0[k] == reference[k].shape for k in reference)
    assert module.weight_ih_l1.shape == (4 * Hc, Hc, 3, 5)
    bound = 1 / np.sqrt(Hc * 3 * 5)
    # every draw within the bound; pooled, the draws fill it (|U(-b, b)| has mean b/2; 2,000+ values)
    draws = torch.cat([p.detach().flatten() for p in module.parameters()]).abs()
    assert draws.max() <= bound and draws.max() > 0.99 * bound
    assert abs(draws.mean() / bound - 0.5) < 0.05
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


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(kernel_size=4), ValueError, r"kernel_size must be odd .*'same' padding keeps the frame size; got 4"),
        (dict(kernel_size=(3, 2)), ValueError, r"kernel_size must be odd .*got \(3, 2\)"),
        (dict(kernel_size=3.0), TypeError, r"kernel_size must be a positive int; got float 3.0"),
        (dict(peephole=True), ValueError, r"frame_size=\(H, W\) is required with peephole=True"),
        (dict(frame_size=(4, 5)), ValueError, r"frame_size is only used by the peephole weights"),
        (dict(peephole=1, frame_size=(4, 5)), TypeError, r"peephole must be a bool"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, error, match):
    args = dict(in_channels=C, hidden_channels=Hc, kernel_size=3) | kwargs
    with pytest.raises(error, match=match):
        lnn.ConvLSTM(**args)
    with pytest.raises(error, match=match):
        lnn.ConvLSTMCell(**args)


def test_frames_must_match_the_peepholes():
    module = lnn.ConvLSTM(C, Hc, 3, peephole=True, frame_size=(H, W))
    with pytest.raises(ValueError, match=r"input must have frames of size \(H, W\) = \(4, 5\), the frame_size of "
                                         r"the peephole weights; got shape \(3, 2, 2, 5, 4\) with frames \(5, 4\)"):
        module(torch.randn(T, B, C, W, H))
    with pytest.raises(ValueError, match=r"input must have frames of size \(H, W\) = \(4, 5\)"):
        lnn.ConvLSTMCell(C, Hc, 3, peephole=True, frame_size=(H, W))(torch.randn(B, C, H, H))
