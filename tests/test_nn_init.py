"""set_forget_bias: the forget gate's total bias, every layer and direction, torch's layout."""

import pytest
import torch

import lstmlib.nn
from lstmlib.nn.init import set_forget_bias


def _forget_totals(module):
    """{layer suffix: b_ih + b_hh forget block} for every bias pair of the module."""
    params = dict(module.named_parameters())
    totals = {}
    for name, b_ih in params.items():
        if name.startswith("bias_ih"):
            b_hh = params["bias_hh" + name[len("bias_ih"):]]
            H = b_ih.shape[0] // 4
            totals[name] = (b_ih + b_hh)[H:2 * H]
    return totals


@pytest.mark.parametrize("make", [
    lambda: lstmlib.nn.LSTM(3, 5, num_layers=2, bidirectional=True),
    lambda: torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True),
    lambda: lstmlib.nn.LSTMCell(3, 5),
    lambda: torch.nn.LSTMCell(3, 5),
])
def test_forget_block_total_is_value_and_other_gates_untouched(make):
    torch.manual_seed(0)
    module = make()
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    assert set_forget_bias(module, 2.5) is module
    totals = _forget_totals(module)
    assert len(totals) == (4 if isinstance(module, (torch.nn.LSTM, lstmlib.nn.LSTM)) else 1)
    for total in totals.values():
        assert torch.equal(total, torch.full_like(total, 2.5))
    for name, p in module.named_parameters():
        H = p.shape[0] // 4
        keep = torch.ones(p.shape[0], dtype=torch.bool)
        if name.startswith("bias"):
            keep[H:2 * H] = False
        assert torch.equal(p[keep], before[name][keep]), name


def test_gates_open_as_expected():
    torch.manual_seed(0)
    cell = set_forget_bias(lstmlib.nn.LSTMCell(2, 4), 3.0)
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.weight_hh.zero_()
        h, c = cell(torch.zeros(1, 2), (torch.zeros(1, 4), torch.ones(1, 4)))
    i = torch.sigmoid(cell.bias_ih[:4] + cell.bias_hh[:4])
    g = torch.tanh(cell.bias_ih[8:12] + cell.bias_hh[8:12])
    expected = torch.sigmoid(torch.tensor(3.0)) * 1.0 + i * g  # c = f c_prev + i g
    assert torch.allclose(c[0], expected, atol=1e-6)


def test_bad_input():
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        set_forget_bias("lstm", 1.0)
    with pytest.raises(TypeError, match="value must be a real number"):
        set_forget_bias(torch.nn.LSTM(2, 3), "1")
    with pytest.raises(ValueError, match="bias=False"):
        set_forget_bias(torch.nn.LSTM(2, 3, bias=False), 1.0)
    with pytest.raises(ValueError, match=r"shape \(4H,\)"):
        set_forget_bias(torch.nn.GRU(2, 4), 1.0)  # 3H = 12 rows: divisible by 4, still refused
    with pytest.raises(TypeError, match="hidden_size attribute"):
        set_forget_bias(torch.nn.Linear(2, 8), 1.0)
