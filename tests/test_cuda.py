"""lstmlib.nn on CUDA: everything follows the tensors' device; parity with torch.nn there.

Skipped cleanly where no CUDA device is present.
"""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lstmlib.nn as lnn

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

DEVICE = "cuda"
T, B, D, H = 6, 4, 3, 5
LENGTHS = [4, 6, 1, 6]
TOL = {torch.float64: 1e-10, torch.float32: 1e-4}


@pytest.fixture(autouse=True)
def no_tf32():
    """TF32 would make float32 cuDNN results differ in the 3rd digit: compare full precision."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def run(module, x, hx, packed):
    module.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    hx = tuple(s.clone().requires_grad_(True) for s in hx) if isinstance(hx, tuple) else hx.clone().requires_grad_(True)
    inp = pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False) if packed else x
    output, final = module(inp, hx)
    finals = final if isinstance(final, tuple) else (final,)
    out = output.data if packed else output
    gen = torch.Generator().manual_seed(1)
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype).to(t.device)).sum() for t in (out, *finals))
    loss.backward()
    states = hx if isinstance(hx, tuple) else (hx,)
    result = [out, *finals, x.grad, *(s.grad for s in states), *(p.grad for p in module.parameters())]
    return [t.detach().clone() for t in result]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("kind", ["LSTM", "RNN"])
def test_parity_with_torch_on_cuda(kind, dtype, packed):
    kwargs = dict(num_layers=2, bidirectional=True, dtype=dtype, device=DEVICE)
    theirs = getattr(torch.nn, kind)(D, H, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_(0, 0.5)
    ours = getattr(lnn, kind)(D, H, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    assert all(p.device.type == "cuda" for p in ours.parameters())

    x = torch.randn(T, B, D, dtype=dtype, device=DEVICE)
    states = tuple(torch.randn(4, B, H, dtype=dtype, device=DEVICE) for _ in range(2))
    hx = states if kind == "LSTM" else states[0]
    ours_result, theirs_result = run(ours, x, hx, packed), run(theirs, x, hx, packed)
    for a, b in zip(ours_result, theirs_result, strict=True):
        assert a.device.type == "cuda" and a.shape == b.shape
        assert (a - b).abs().max().item() <= TOL[dtype]

    # the same module moved to the CPU gives the same numbers
    cpu_result = run(ours.cpu(), x.cpu(), tuple(s.cpu() for s in hx) if kind == "LSTM" else hx.cpu(), packed)
    for a, b in zip(ours_result, cpu_result, strict=True):
        assert (a.cpu() - b).abs().max().item() <= TOL[dtype]


def test_cell_and_no_grad_on_cuda():
    cell = lnn.LSTMCell(D, H, device=DEVICE)
    h, c = cell(torch.randn(B, D, device=DEVICE))
    assert h.device.type == c.device.type == "cuda"
    with torch.no_grad():
        y, (h_n, c_n) = lnn.LSTM(D, H, device=DEVICE)(torch.randn(T, B, D, device=DEVICE))
    assert y.device.type == h_n.device.type == "cuda" and not y.requires_grad
