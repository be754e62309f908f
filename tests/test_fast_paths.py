"""lstmlib.nn.fast_paths: the switch, the probes, and every module's plain path with the fast paths off."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings

import pytest
import torch
from twins import one_thread  # noqa: F401  (an autouse fixture)

import lstmlib.nn as lnn
from lstmlib.nn import fast_paths, native
from lstmlib.trees import random_tree

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- the switch --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [("0", False), ("off", False), (" False ", False), ("no", False),
                                                 ("1", True), ("on", True), ("TRUE", True), ("", True)])
def test_the_environment_variable_is_parsed(value, expected, monkeypatch):
    monkeypatch.setenv("LSTMLIB_FAST_PATHS", value)
    assert fast_paths._from_environment() is expected


def test_a_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("LSTMLIB_FAST_PATHS", "fast")
    with pytest.raises(ValueError, match=r"LSTMLIB_FAST_PATHS must be 1 \(fast paths on, the default\) or 0 \(off\); "
                                         r"got 'fast'"):
        fast_paths._from_environment()


def _import_in_fresh_python(value: str) -> subprocess.CompletedProcess:
    code = "import lstmlib.nn.fast_paths as f; print(f.enabled())"
    env = {**os.environ, "LSTMLIB_FAST_PATHS": value, "PYTHONPATH": REPO}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_the_environment_variable_is_read_at_import():
    off, bad = _import_in_fresh_python("0"), _import_in_fresh_python("2")
    assert off.returncode == 0 and off.stdout.strip() == "False", off.stderr
    assert bad.returncode != 0 and "ValueError: LSTMLIB_FAST_PATHS must be 1" in bad.stderr


def test_set_enabled_takes_a_bool_and_returns_the_previous_setting():
    before = fast_paths.enabled()
    try:
        for flag in (1, "0", None):
            with pytest.raises(TypeError, match=rf"flag must be a bool \(True: fast paths on\); got "
                                                rf"{type(flag).__name__} {flag!r}"):
                fast_paths.set_enabled(flag)
        assert fast_paths.set_enabled(False) is before
        assert fast_paths.enabled() is False
        assert fast_paths.set_enabled(True) is False
        assert fast_paths.enabled() is True
    finally:
        fast_paths.set_enabled(before)


def test_disabled_restores_the_setting_even_after_an_error():
    before = fast_paths.set_enabled(True)
    try:
        with pytest.raises(RuntimeError, match="inside"):
            with fast_paths.disabled():
                assert fast_paths.enabled() is False
                raise RuntimeError("inside")
        assert fast_paths.enabled() is True
    finally:
        fast_paths.set_enabled(before)


# ---- with the fast paths off, no private operation is called -----------------------------------

class PrivateOps:
    """Stand-ins for the private operations of the fast paths: they count calls and, when not
    ``allowed``, raise. ``torch.nn.grad``'s public functions may call the aten op (they are built on it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.allowed, self.calls = True, {}
        real_reorder = torch.ops.mkldnn._reorder_linear_weight
        real_linear = torch.ops.mkldnn._linear_pointwise
        real_conv_backward = torch.ops.aten.convolution_backward

        def guard(name, real, public_callers=()):
            def call(*args, **kwargs):
                caller = sys._getframe(1).f_globals.get("__name__")
                if caller not in public_callers:
                    if not self.allowed:
                        raise AssertionError(f"{name} called from {caller} with the fast paths off")
                    self.calls[name] = self.calls.get(name, 0) + 1
                return real(*args, **kwargs)
            return call

        class Linear:  # _linear_pointwise and its .binary overload
            __call__ = staticmethod(guard("_linear_pointwise", real_linear))
            binary = staticmethod(guard("_linear_pointwise.binary", real_linear.binary))

        monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", guard("_reorder_linear_weight", real_reorder))
        monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", Linear())
        monkeypatch.setattr(torch.ops.aten, "convolution_backward",
                            guard("convolution_backward", real_conv_backward, public_callers=("torch.nn.grad",)))
        # the C++ time loops of the LSTM family (lstmlib.nn.native)
        monkeypatch.setattr(native, "forward", guard("native", native.forward))
        monkeypatch.setattr(native, "backward", guard("native", native.backward))


@pytest.fixture
def fast_paths_on():
    previous = fast_paths.set_enabled(True)
    yield
    fast_paths.set_enabled(previous)


def _sequence_input(module, gen):
    if isinstance(module, lnn.ConvLSTM):
        return torch.randn(4, 3, 2, 6, 5, generator=gen)  # (T, B, C, H, W)
    return torch.randn(5, 3, 8, generator=gen)  # (T, B, D)


def _forward_backward(module, gen_seed):
    """Outputs, final states and the gradients of the input and every parameter, as one flat list."""
    gen = torch.Generator().manual_seed(gen_seed)
    if isinstance(module, (lnn.ChildSumTreeLSTM, lnn.NaryTreeLSTM)):
        parent = random_tree(12, rng=gen_seed, max_children=module.n_ary)
        x = torch.randn(len(parent), 8, generator=gen, requires_grad=True)
        outputs = list(module(x, parent))
    else:
        x = _sequence_input(module, gen).requires_grad_(True)
        output, final = module(x)
        outputs = [output, *(final if isinstance(final, tuple) else (final,))]
    weights = [torch.randn(o.shape, generator=gen) for o in outputs]
    loss = sum((o * w).sum() for o, w in zip(outputs, weights))
    return [o.detach() for o in outputs] + list(torch.autograd.grad(loss, [x, *module.parameters()]))


MODULES = {
    # hidden sizes large enough for the oneDNN step products ((G, H) weights of >= 2**17 entries)
    "LSTM": lambda: lnn.LSTM(8, 192, num_layers=2),
    "GRU": lambda: lnn.GRU(8, 224, bidirectional=True),
    "RNN": lambda: lnn.RNN(8, 384),
    "PeepholeLSTM": lambda: lnn.PeepholeLSTM(8, 192),
    "ConvLSTM": lambda: lnn.ConvLSTM(2, 4, 3, num_layers=2, peephole=True, frame_size=(6, 5)),
    "ChildSumTreeLSTM": lambda: lnn.ChildSumTreeLSTM(8, 16),
    "NaryTreeLSTM": lambda: lnn.NaryTreeLSTM(8, 16, n_ary=2),
}
PRIVATE_OPS_WHEN_ON = {
    "LSTM": "native", "GRU": "_reorder_linear_weight", "RNN": "_linear_pointwise.binary",
    "PeepholeLSTM": "native", "ConvLSTM": "convolution_backward",
}


def _fast_path_available(kind):
    if PRIVATE_OPS_WHEN_ON.get(kind) == "native":
        return native.usable(torch.zeros(1))  # False where the C++ loops could not be built: warned about
    return kind == "ConvLSTM" or torch.backends.mkldnn.is_available()


@pytest.mark.parametrize("kind", MODULES)
def test_with_the_fast_paths_off_no_private_op_is_called_and_results_agree(kind, monkeypatch, fast_paths_on):
    torch.manual_seed(0)
    module = MODULES[kind]()  # torch's initialisation (non-zero biases): unsaturated gates at these sizes
    ops = PrivateOps(monkeypatch)
    fast = _forward_backward(module, gen_seed=1)
    if kind in PRIVATE_OPS_WHEN_ON and _fast_path_available(kind):
        assert ops.calls.get(PRIVATE_OPS_WHEN_ON[kind], 0) > 0, f"the fast path was not taken: {ops.calls}"
    ops.allowed = False
    with fast_paths.disabled():
        plain = _forward_backward(module, gen_seed=1)
    assert len(fast) == len(plain)
    for k, (a, b) in enumerate(zip(fast, plain)):
        assert (a - b).abs().max() <= 2e-5 * max(1.0, b.abs().max().item()), k


def test_set_enabled_takes_effect_at_the_next_sequence(monkeypatch, fast_paths_on):
    module = lnn.LSTM(8, 192)
    x = torch.randn(3, 2, 8, generator=torch.Generator().manual_seed(0))
    ops = PrivateOps(monkeypatch)
    fast_paths.set_enabled(False)
    ops.allowed = False
    module(x)  # would raise if a private op were called
    fast_paths.set_enabled(True)
    ops.allowed = True
    module(x)
    if native.usable(torch.zeros(1)):
        assert ops.calls.get("native", 0) == 1  # the whole sequence in one call of the C++ loop


def test_the_tanh_trick_is_float32_only(fast_paths_on):
    assert fast_paths.Tanh(torch.empty(0, dtype=torch.float32)).via_sigmoid
    assert not fast_paths.Tanh(torch.empty(0, dtype=torch.float64)).via_sigmoid
    assert not fast_paths.Tanh(torch.empty(0, dtype=torch.float32, device="meta")).via_sigmoid
    with fast_paths.disabled():
        assert not fast_paths.Tanh(torch.empty(0, dtype=torch.float32)).via_sigmoid


# ---- a failing probe warns once, naming the trick, and the plain path is used -------------------

def _raise(*args, **kwargs):
    raise RuntimeError("no such operator in this build")


def _run_twice_recording_warnings(module, x):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [module(x)[0] for _ in range(2)]
    return results, [w for w in caught if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("failure", ["missing", "wrong"])
def test_a_failing_onednn_probe_warns_once_and_the_plain_path_is_used(failure, monkeypatch, fast_paths_on):
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this torch build has no oneDNN: the probe is never run")
    monkeypatch.setattr(fast_paths, "_probe_results", {})
    if failure == "missing":
        monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", _raise)
    else:  # an operation that runs but gives a wrong result
        real = torch.ops.mkldnn._linear_pointwise

        class Wrong:
            __call__ = staticmethod(real)
            binary = staticmethod(lambda *args: real.binary(*args) + 1)

        monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", Wrong())
    monkeypatch.setattr(native, "usable", lambda *tensors: False)  # the Python loops, whose products use oneDNN
    module = lnn.LSTM(8, 192)
    x = torch.randn(3, 2, 8, generator=torch.Generator().manual_seed(0))
    (first, second), caught = _run_twice_recording_warnings(module, x)
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert fast_paths.ONEDNN_LINEAR in message and f"torch {torch.__version__}" in message
    assert "uses the plain PyTorch path instead" in message
    assert ("no such operator" if failure == "missing" else "wrong result") in message
    monkeypatch.setattr(fast_paths, "_ONEDNN_MIN_WEIGHT_SIZE", math.inf)  # addmm, the other fast paths on
    plain = module(x)[0]
    assert torch.equal(first, plain) and torch.equal(second, plain)


def test_a_failing_convolution_probe_warns_once_and_gradients_stay_right(monkeypatch, fast_paths_on):
    monkeypatch.setattr(fast_paths, "_probe_results", {})
    real = torch.ops.aten.convolution_backward

    def public_only(*args):
        if sys._getframe(1).f_globals.get("__name__") != "torch.nn.grad":
            raise RuntimeError("convolution_backward() got an unexpected argument")
        return real(*args)

    module = lnn.ConvLSTM(2, 4, 3)
    x = torch.randn(4, 3, 2, 6, 5, generator=torch.Generator().manual_seed(0), requires_grad=True)
    with fast_paths.disabled():
        expected = torch.autograd.grad(module(x)[0].sum(), [x, *module.parameters()])
    monkeypatch.setattr(torch.ops.aten, "convolution_backward", public_only)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            got = torch.autograd.grad(module(x)[0].sum(), [x, *module.parameters()])
            assert all(torch.allclose(g, e, atol=1e-6) for g, e in zip(got, expected))
    caught = [w for w in caught if issubclass(w.category, UserWarning)]
    assert len(caught) == 1 and fast_paths.CONVOLUTION_BACKWARD in str(caught[0].message)


def test_probes_do_not_advance_the_random_generators(monkeypatch):
    monkeypatch.setattr(fast_paths, "_probe_results", {})
    state = torch.get_rng_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a build without the operations warns: not what this test is about
        fast_paths._probe(fast_paths.ONEDNN_LINEAR, fast_paths._onednn_linear_works)
        fast_paths._probe(fast_paths.CONVOLUTION_BACKWARD, fast_paths._convolution_backward_works)
    assert torch.equal(torch.get_rng_state(), state)
    assert set(fast_paths._probe_results) == {fast_paths.ONEDNN_LINEAR, fast_paths.CONVOLUTION_BACKWARD}


def test_the_conv_gradients_of_both_paths_follow_the_definition():
    """conv2d_input_grads, fast and plain, against autograd through F.conv2d."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 6, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(8, 2, 3, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(8, generator=gen, dtype=torch.float64, requires_grad=True)
    dout = torch.randn(3, 8, 6, 5, generator=gen, dtype=torch.float64)
    out = torch.nn.functional.conv2d(x, weight, bias, padding=(1, 2))
    expected = torch.autograd.grad(out, [x, weight, bias], dout)
    for on in (True, False):
        previous = fast_paths.set_enabled(on)
        try:
            for needs in ((True, True, True), (False, True, True), (False, True, False)):
                got = fast_paths.conv2d_input_grads(dout, x.detach(), weight.detach(), (1, 2), needs)
                for need, g, e in zip(needs, got, expected):
                    assert (g is None) if not need else torch.allclose(g, e, atol=1e-12)
        finally:
            fast_paths.set_enabled(previous)
