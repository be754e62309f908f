"""What is special about the coupled input-forget gate LSTM (CIFG).

Parity with its reference twin, packing, errors and the rest of the module
contract come from its entry in the contract suite (tests/contract/); here:
its parameter count, that it IS our LSTM with the forget gate tied to the
negated input gate (σ(-a) = 1 - σ(a)), and its forget bias.
"""

from __future__ import annotations

import pytest
import torch
from twins import one_thread, randomize  # noqa: F401  (one_thread: an autouse fixture)

import lstmlib.nn as lnn
from lstmlib.nn.coupled import coupled_to_lstm_blocks


@pytest.mark.parametrize("bias", [True, False])
def test_three_quarters_of_the_lstm_parameters(bias):
    D, H, L = 5, 7, 2
    ours = sum(p.numel() for p in lnn.CoupledLSTM(D, H, num_layers=L, bias=bias).parameters())
    lstm = sum(p.numel() for p in lnn.LSTM(D, H, num_layers=L, bias=bias).parameters())
    # per layer: 3H(D_layer + H) + 6H, the LSTM's 4H(D_layer + H) + 8H without the forget block
    expected = sum(3 * H * (d + H) + (6 * H if bias else 0) for d in (D, H))
    assert ours == expected == 3 * lstm // 4


def test_names_and_shapes_are_the_lstms_with_three_blocks():
    module = lnn.CoupledLSTM(4, 6, num_layers=2, bidirectional=True)
    lstm = lnn.LSTM(4, 6, num_layers=2, bidirectional=True)
    ours, theirs = module.state_dict(), lstm.state_dict()
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name].shape[0] * 4 == theirs[name].shape[0] * 3, name
        assert ours[name].shape[1:] == theirs[name].shape[1:], name


def _lstm_gradient_as_coupled(grad):
    """dL/dθ of the CIFG from the LSTM's: the f block is -i, so dL/dθ_i = dL/dθ_i - dL/dθ_f."""
    g_i, g_f, g_g, g_o = grad.chunk(4, 0)
    return torch.cat([g_i - g_f, g_g, g_o], 0)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_equals_torch_lstm_with_negated_input_gate_as_forget_gate(dtype, tol, bidirectional):
    torch.manual_seed(0)
    ours = randomize(lnn.CoupledLSTM(5, 7, num_layers=2, bidirectional=bidirectional, dtype=dtype), seed=1)
    twin = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=bidirectional, dtype=dtype)
    twin.load_state_dict(ours.to_lstm_state_dict())
    x = torch.randn(9, 3, 5, dtype=dtype, requires_grad=True)
    state = tuple(torch.randn(2 * (1 + bidirectional), 3, 7, dtype=dtype) for _ in range(2))
    results = []
    for module in (ours, twin):
        y, (h, c) = module(x, state)
        loss = (y**2).sum() + (h * 0.5).sum() + (c**3).sum()  # every output carries a gradient
        results.append((y, h, c, *torch.autograd.grad(loss, [x, *module.parameters()])))
    (y, h, c, dx, *dparams), (y2, h2, c2, dx2, *dparams2) = results
    for got, want in [(y, y2), (h, h2), (c, c2), (dx, dx2)]:
        torch.testing.assert_close(got, want, atol=tol, rtol=tol)
    for got, want in zip(dparams, dparams2):
        torch.testing.assert_close(got, _lstm_gradient_as_coupled(want), atol=tol, rtol=tol)


def test_cell_equals_torch_lstm_cell():
    torch.manual_seed(0)
    cell = randomize(lnn.CoupledLSTMCell(4, 6, dtype=torch.float64), seed=2)
    twin = torch.nn.LSTMCell(4, 6, dtype=torch.float64)
    twin.load_state_dict({k: coupled_to_lstm_blocks(v) for k, v in cell.state_dict().items()})
    x = torch.randn(3, 4, dtype=torch.float64)
    h, c = torch.randn(2, 3, 6, dtype=torch.float64)
    for got, want in zip(cell(x, (h, c)), twin(x, (h, c))):
        torch.testing.assert_close(got, want, atol=1e-13, rtol=0)


def test_forget_gate_is_one_minus_input_gate():
    """With zero recurrent weights and input, i = σ(b_i) and f = σ(-b_i): c_1 = f c_0 + i g."""
    cell = lnn.CoupledLSTMCell(1, 1, dtype=torch.float64)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih[0] = 0.7  # b_i
    c0 = torch.tensor([[2.0]], dtype=torch.float64)
    _, c1 = cell(torch.zeros(1, 1, dtype=torch.float64), (torch.zeros_like(c0), c0))  # g = tanh(0) = 0
    i = torch.sigmoid(torch.tensor(0.7, dtype=torch.float64))
    torch.testing.assert_close(c1, (1 - i) * c0)


def test_set_forget_bias_opens_the_coupled_forget_gate():
    module = lnn.set_forget_bias(lnn.CoupledLSTM(3, 4, num_layers=2), 1.0)
    twin = torch.nn.LSTM(3, 4, num_layers=2)
    twin.load_state_dict(module.to_lstm_state_dict())
    for k in range(2):
        b_f = (getattr(twin, f"bias_ih_l{k}") + getattr(twin, f"bias_hh_l{k}"))[4:8]
        torch.testing.assert_close(b_f, torch.ones(4))
    cell = lnn.set_forget_bias(lnn.CoupledLSTMCell(3, 4), 2.0)
    torch.testing.assert_close(cell.bias_ih[:4] + cell.bias_hh[:4], torch.full((4,), -2.0))


@pytest.mark.parametrize("make", [
    lambda: lnn.CoupledLSTM(3, 4, 2),
    lambda: lnn.CoupledLSTMCell(3, 4, False),
])
def test_arguments_after_the_sizes_are_keyword_only(make):
    with pytest.raises(TypeError, match="positional argument"):
        make()
