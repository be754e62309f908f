"""lstmlib.nn in the tools around a model: torch.compile, quantization, ONNX, and the errors client code catches.

The per-module deployment contract (safe loading, ``torch.export``,
TorchScript's refusal, ``to_torch`` / ``from_torch``) is in
``tests/contract/test_deployment.py``; here is what needs a whole model or is
checked for the drop-in twins only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import lstmlib.nn as lnn
from lstmlib.data import shakespeare
from lstmlib.nn import deploy
from lstmlib.text import CharVocab

TWINS = ["LSTM", "GRU", "RNN"]


@pytest.mark.parametrize("name", TWINS)
def test_torch_compile_traces_the_forward_without_a_graph_break(name):
    module = getattr(lnn, name)(3, 5, 2, bidirectional=True)
    x = torch.randn(6, 2, 3)
    torch._dynamo.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        explanation = torch._dynamo.explain(module)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1
    assert not [w for w in caught if "lstmlib" in str(w.message) or "lru_cache" in str(w.message)]


@pytest.mark.parametrize("name", TWINS)
def test_a_compiled_module_trains_as_the_eager_one(name):
    """Outputs and every parameter's gradient through ``torch.compile`` (AOT autograd, no inductor: fast to build)."""
    torch.manual_seed(0)
    module = getattr(lnn, name)(3, 5, 2)
    x = torch.randn(6, 2, 3)
    compiled = torch.compile(module, backend="aot_eager", fullgraph=True)
    results = []
    for run in (module, compiled):
        module.zero_grad()
        output, _ = run(x)
        output.square().sum().backward()
        results.append([output.detach()] + [p.grad.clone() for p in module.parameters()])
    torch._dynamo.reset()
    for eager, traced in zip(*results, strict=True):
        torch.testing.assert_close(traced, eager, rtol=1e-5, atol=1e-6)


def test_quantize_dynamic_skips_our_lstm_and_quantizes_its_torch_twin():
    """``quantize_dynamic`` replaces modules by class: ours is not a ``torch.nn.LSTM``, so it stays float.

    ``deploy.to_torch_modules`` (or ``LSTM.to_torch()``) first gives torch's class,
    which it quantizes; the quantized model's outputs stay near the float ones.
    """
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), lnn.LSTM(16, 16)).eval()
    assert not isinstance(model[1], nn.LSTM)
    spec = {nn.LSTM, nn.Linear}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.ao.quantization is deprecated in torch 2.13
        warnings.simplefilter("ignore", UserWarning)
        as_is = torch.ao.quantization.quantize_dynamic(model, spec)
        converted = torch.ao.quantization.quantize_dynamic(deploy.to_torch_modules(model), spec)
    assert type(as_is[1]) is lnn.LSTM and as_is[1].weight_hh_l0.dtype == torch.float32  # left in float
    assert type(as_is[0]) is torch.ao.nn.quantized.dynamic.Linear
    assert type(converted[1]) is torch.ao.nn.quantized.dynamic.LSTM
    assert type(model[1]) is lnn.LSTM  # to_torch_modules copies: the user's model is untouched
    x = torch.randn(7, 3, 8)
    with torch.no_grad():
        full, quantized = model(x)[0], converted(x)[0]
    assert 0 < (full - quantized).abs().max() < 0.05  # int8 weights: close, not equal


@pytest.mark.parametrize("name", TWINS)
def test_bad_input_raises_what_torch_client_code_catches(name):
    """torch raises RuntimeError for a wrong feature size, state shape or dtype; ours are RuntimeErrors too."""
    module = getattr(lnn, name)(3, 4)
    with pytest.raises(RuntimeError, match=r"input must have D=3 along axis 2 of \(T, B, D\); got shape \(5, 2, 7\)"):
        module(torch.randn(5, 2, 7))
    with pytest.raises(ValueError):  # still the ValueError it always was
        module(torch.randn(5, 2, 7))
    state = torch.randn(1, 3, 4)
    hx = (state, state) if name == "LSTM" else state
    with pytest.raises(RuntimeError, match="must have shape"):
        module(torch.randn(5, 2, 3), hx)
    with pytest.raises(RuntimeError, match="must have the dtype of the parameters"):
        module(torch.randn(5, 2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="must have the dtype of the parameters"):
        module(torch.randn(5, 2, 3, dtype=torch.float64))


class CharLM(nn.Module):
    """A small model of the kind one deploys: embedding -> :class:`lstmlib.nn.LSTM` -> linear."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 16)
        self.lstm = lnn.LSTM(16, 32, 2)
        self.head = nn.Linear(32, vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens: (T, B)`` -> logits ``(T, B, V)``."""
        return self.head(self.lstm(self.embed(tokens))[0])


def test_a_trained_model_exported_to_onnx_runs_in_onnx_runtime(tmp_path):
    """``torch.onnx.export(..., dynamo=True)`` and ONNX Runtime agree with the model to float32 rounding.

    The graph is exported at one sequence length (torch's own exporter does the same for its LSTM).
    """
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a pinned test dependency (requirements.txt)")
    pytest.importorskip("onnxscript", reason="onnxscript is a pinned test dependency (requirements.txt)")
    text = shakespeare.load_play("macbeth")[:20000]
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    torch.manual_seed(0)
    model = CharLM(len(vocab))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    windows = shakespeare.consecutive_windows(ids, 8, 32, rng=0)
    losses = []
    for _ in range(20):
        x, y = (torch.from_numpy(a) for a in next(windows))
        loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5  # trained, not at its initial weights
    model.eval()
    tokens = torch.from_numpy(next(windows)[0])  # (32, 8)
    path = tmp_path / "charlm.onnx"
    torch.onnx.export(model, (tokens,), str(path), dynamo=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: tokens.numpy()})
    with torch.no_grad():
        want = model(tokens).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * max(1.0, float(np.abs(want).max())))
