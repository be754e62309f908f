"""lstmlib.nn.native: the recurrent time loops in C++ against the Python loops they replace.

The LSTM, peephole LSTM and CIFG run forward and backward in C++; the GRU and the RNN their forward
(their backward stays the Python loop, fed by the C++ forward's caches).

Each module runs twice on the same weights and inputs, once with the fast paths on (the C++ loops)
and once off (the Python loops of tensor operations), and every output, final state and gradient is
compared: to 1e-12 in float64, where the two differ only by the order of additions, and to 2e-5 in
float32, where the C++ loop also uses its own exp (about 2 ulp). The sizes cover batch 1 (the
matrix-vector products), batches that do not fill a block of 8 rows, hidden sizes whose gate count
is not a whole number of 32-column panels, masks (packed sequences) and both directions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from twins import one_thread  # noqa: F401  (an autouse fixture)

import lstmlib.nn as lnn
from lstmlib.nn import fast_paths, native

pytestmark = pytest.mark.skipif(not native.usable(torch.zeros(1)),
                                reason="the C++ loops could not be built here (lstmlib warned why)")

KINDS = {"LSTM": lnn.LSTM, "PeepholeLSTM": lnn.PeepholeLSTM, "CoupledLSTM": lnn.CoupledLSTM, "GRU": lnn.GRU,
         "RNN": lnn.RNN, "RNN-relu": lambda *args, **kwargs: lnn.RNN(*args, nonlinearity="relu", **kwargs)}


def _run(module, x, lengths, seed):
    """Outputs, final states and gradients of the input and every parameter, as one flat list."""
    gen = torch.Generator().manual_seed(seed)
    x = x.clone().requires_grad_(True)
    inp = pack_padded_sequence(x, lengths, enforce_sorted=False) if lengths is not None else x
    output, final = module(inp)
    out = output.data if lengths is not None else output
    outputs = [out, *(final if isinstance(final, tuple) else (final,))]
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum() for o in outputs)
    return [o.detach() for o in outputs] + list(torch.autograd.grad(loss, [x, *module.parameters()]))


def _both_paths(module, x, lengths):
    previous = fast_paths.set_enabled(True)
    try:
        fast = _run(module, x, lengths, seed=1)
        with fast_paths.disabled():
            plain = _run(module, x, lengths, seed=1)
    finally:
        fast_paths.set_enabled(previous)
    return fast, plain


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("B, H, packed", [(1, 5, False), (3, 3, True), (1, 16, True), (9, 37, True), (32, 40, False)])
@pytest.mark.parametrize("kind", KINDS)
def test_the_cpp_loops_compute_what_the_python_loops_compute(kind, B, H, packed, dtype):
    torch.manual_seed(0)
    module = KINDS[kind](6, H, num_layers=2, bidirectional=True, dtype=dtype)
    x = torch.randn(7, B, 6, dtype=dtype)
    lengths = torch.randint(1, 8, (B,)) if packed else None
    if lengths is not None:
        lengths[0] = 7
    fast, plain = _both_paths(module, x, lengths)
    tolerance = 1e-12 if dtype == torch.float64 else 2e-5
    for k, (a, b) in enumerate(zip(fast, plain, strict=True)):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        assert (a - b).abs().max() <= tolerance * max(1.0, b.abs().max().item()), (k, (a - b).abs().max())


def _count_forward_calls(monkeypatch):
    """A list that gets one entry per call of ``native.forward`` (which still runs) from now on."""
    calls, real = [], native.forward
    monkeypatch.setattr(native, "forward", lambda *args: calls.append(1) or real(*args))
    return calls


def test_the_cpp_loops_are_taken_and_differ_from_the_python_loops_in_float32_rounding_only(monkeypatch):
    """Not a vacuous comparison: the two float32 paths do differ (the C++ exp), by rounding only."""
    torch.manual_seed(0)
    module = lnn.LSTM(6, 24)
    x = torch.randn(9, 4, 6)
    calls = _count_forward_calls(monkeypatch)
    fast, plain = _both_paths(module, x, None)
    assert calls == [1]  # one call per layer-direction and sequence, with the fast paths on only
    assert not torch.equal(fast[0], plain[0])
    assert (fast[0] - plain[0]).abs().max() < 1e-6


@pytest.mark.parametrize("B, H", [(1, 256), (32, 64)])
def test_threads_split_the_work_but_not_the_sums(B, H):
    """With 2 threads each output of the C++ loops is still summed by one thread in one order: bitwise
    the 1-thread result (torch's own products around them, e.g. dW_hh, may differ between thread counts)."""
    gen = torch.Generator().manual_seed(0)
    T = 6
    xw, dy = torch.randn(T, B, 4 * H, generator=gen), torch.randn(T, B, H, generator=gen)
    h_0, c_0 = torch.randn(B, H, generator=gen), torch.randn(B, H, generator=gen)
    weight_hh = torch.randn(4 * H, H, generator=gen) / H**0.5
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        y, c_n, acts, cs, tanh_cs = native.forward(native.LSTM, xw, h_0, c_0, weight_hh, None, None, True)
        grads = native.backward(native.LSTM, acts, cs, tanh_cs, None, dy, h_0, c_0, weight_hh, None)
        results.append([y, c_n, acts, cs, tanh_cs, *grads])
    torch.set_num_threads(1)
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)


def test_usable_only_for_plain_cpu_float_tensors():
    x = torch.zeros(2, 3)
    assert native.usable(x, None, x.double().float())
    assert not native.usable(x, x.double())  # mixed dtypes
    assert not native.usable(x.half())
    assert not native.usable(torch.zeros(2, device="meta"))
    assert not native.usable(x.to_sparse())
    with fast_paths.disabled():
        assert not native.usable(x)
    seen = []
    torch.func.grad(lambda t: seen.append(native.usable(t)) or t.sum())(torch.zeros(3))
    assert seen == [False]  # tensors that torch.func wraps take the Python loops


def test_disabled_runs_the_python_loops_and_restores_the_switch(monkeypatch):
    """native.disabled() reproduces the Python loops (with the other fast paths on) to the last bit."""
    torch.manual_seed(0)
    module = lnn.LSTM(6, 24)
    x = torch.randn(9, 4, 6)
    calls = _count_forward_calls(monkeypatch)
    with native.disabled():
        assert not native.usable(x)
        inside = module(x)[0]
    assert native.usable(x)
    fast = module(x)[0]
    assert calls == [1]  # only outside the block
    from lstmlib.nn.kernels import project_inputs
    from lstmlib.nn.lstm import _lstm_loop
    with torch.no_grad():
        xw = project_inputs(x, module.weight_ih_l0, module.bias_ih_l0, module.bias_hh_l0)
        zeros = x.new_zeros(4, 24)
        assert torch.equal(inside, _lstm_loop(xw, zeros, zeros, module.weight_hh_l0, None, keep=False)[0])
    assert not torch.equal(inside, fast)
    with pytest.raises(TypeError, match="flag must be a bool"):
        native.set_enabled(0)


def test_the_library_is_named_after_its_source_and_rebuilt_when_that_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMLIB_NATIVE_CACHE", str(tmp_path))
    first = native.library_path()
    assert first.parent == tmp_path and first.name.startswith("native_loops-")
    source = tmp_path / "native_loops.cpp"
    source.write_text(native.SOURCE.read_text() + "\n// changed\n")
    monkeypatch.setattr(native, "SOURCE", source)
    assert native.library_path() != first
    built = native.build()
    assert built == native.library_path() and built.exists()
    assert native.build() == built  # built once


def test_without_a_compiler_lstmlib_warns_once_and_runs_the_python_loops(tmp_path):
    """A fresh process whose compiler is missing: one warning naming the trick and the reason, then the
    Python loops (with the other fast paths: within float32 rounding of a run with all of them off)."""
    code = (
        "import warnings, torch, lstmlib.nn as lnn\n"
        "from lstmlib.nn import fast_paths\n"
        "torch.manual_seed(0); m = lnn.LSTM(4, 8); x = torch.randn(5, 2, 4)\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    a = m(x)[0]; b = m(x)[0]\n"
        "with fast_paths.disabled():\n"
        "    c = m(x)[0]\n"
        "print(len(caught)); print(caught[0].message if caught else '')\n"
        "print(torch.equal(a, b) and torch.allclose(a, c, rtol=0, atol=1e-6))\n"
    )
    env = dict(os.environ, CXX=str(tmp_path / "no-such-compiler"), LSTMLIB_NATIVE_CACHE=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    count, message, same = done.stdout.strip().splitlines()
    assert count == "1"
    assert native.TRICK in message and "could not run the C++ compiler" in message
    assert "uses the plain PyTorch path instead" in message
    assert same == "True"


def test_a_library_that_computes_wrongly_is_refused(monkeypatch):
    """The probe compares the C++ loops with the Python ones before first use: a wrong result means a
    warning and the Python loops, never wrong numbers."""
    monkeypatch.setattr(fast_paths, "_probe_results", {})
    real = native.forward

    def wrong(*args):
        outputs = real(*args)
        return (outputs[0] + 1,) + outputs[1:]

    monkeypatch.setattr(native, "forward", wrong)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not native.usable(torch.zeros(1))
    assert len(caught) == 1 and "gave a wrong result" in str(caught[0].message)
