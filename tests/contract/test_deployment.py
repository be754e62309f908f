"""The deployment contract of every recurrent module: safe loading, torch.export, TorchScript's refusal, torch twins.

* a whole module saved with ``torch.save(module, f)`` loads with ``torch.load(f)``
  and its default ``weights_only=True`` (every entry: layers, cells, Tree-LSTMs),
  and computes exactly what it computed before;
* ``torch.export.export`` works for every layer; the exported program's outputs,
  final states and gradients equal the eager module's up to rounding (the
  program runs the plain step-by-step path, eager the fast kernels);
* ``torch.jit.script`` and ``torch.jit.trace`` raise ``TorchScriptUnsupported``,
  which names ``torch.export``;
* ``to_torch()`` / ``from_torch()`` convert a module with a ``torch.nn`` twin,
  outputs equal; the others refuse with a ``TypeError``.

A ``PackedSequence`` input does not export: ``pad_packed_sequence`` reads its
``batch_sizes`` as data (torch's own layers cannot be exported with packed input
either); export with padded input and the final states of full-length sequences.
The Tree-LSTMs take a forest whose parent array is turned into a level plan in
NumPy, a shape that depends on the data: ``torch.export`` cannot trace that, so
they are checked for loading and TorchScript only.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from twins import randomize

from lstmlib.nn import TorchScriptUnsupported, fast_paths

from .harness import assert_close, run
from .registry import CELLS, LAYERS, TREES
from .test_cells import build as build_cell
from .test_cells import run_cell
from .test_layers import CONFIGS, TOL_TWIN, oracles
from .test_layers import build as build_layer
from .test_trees import build as build_tree
from .test_trees import run_tree

LAYER_ENTRIES = pytest.mark.parametrize("entry", LAYERS, ids=str)
TWINNED = [e for e in LAYERS + CELLS if e.torch_twin is not None]
UNTWINNED = [e for e in LAYERS + CELLS if e.torch_twin is None]


def saved_and_loaded(module: torch.nn.Module) -> torch.nn.Module:
    """``torch.save`` the whole module, then ``torch.load`` it with the default arguments."""
    buffer = io.BytesIO()
    torch.save(module, buffer)
    buffer.seek(0)
    return torch.load(buffer)


def assert_equal(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor]) -> None:
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


@LAYER_ENTRIES
@pytest.mark.parametrize("config", ["L2-bi-bf-packed-hx", "L1-bf-unbatched"])
def test_a_saved_layer_loads_with_the_default_torch_load(entry, config):
    module, problem, _, _, call = build_layer(entry, config, torch.float64)
    loaded = saved_and_loaded(module)
    assert type(loaded) is type(module)
    assert_equal(run(loaded, problem, entry.state_names, **call), run(module, problem, entry.state_names, **call))


@pytest.mark.parametrize("entry", CELLS, ids=str)
def test_a_saved_cell_loads_with_the_default_torch_load(entry):
    cell, problem, _, _, call = build_cell(entry, "batched-hx", torch.float64)
    loaded = saved_and_loaded(cell)
    assert type(loaded) is type(cell)
    assert_equal(run_cell(loaded, problem, entry.state_names, **call), run_cell(cell, problem, entry.state_names,
                                                                                 **call))


@pytest.mark.parametrize("entry", TREES, ids=str)
def test_a_saved_tree_lstm_loads_with_the_default_torch_load(entry):
    module, x, parent, dh, dc = build_tree(entry, "forest", True, torch.float64)
    loaded = saved_and_loaded(module)
    assert type(loaded) is type(module)
    assert_equal(run_tree(loaded, x, parent, dh, dc), run_tree(module, x, parent, dh, dc))


@LAYER_ENTRIES
@pytest.mark.parametrize("config", list(CONFIGS))
def test_the_path_that_tracers_see_keeps_the_contract(entry, config, monkeypatch):
    """The plain step-by-step path (``run_layer_by_steps``), run eagerly in every layout, against the oracles.

    ``torch.compile`` and ``torch.export`` trace that path; here it is forced
    without a tracer, so packed and padded batches (the state frozen past each
    length) are checked as thoroughly as the fast kernels are in test_layers.py.
    """
    monkeypatch.setattr(fast_paths, "tracing", lambda: True)
    module, problem, shapes, kwargs, call = build_layer(entry, config, torch.float64)
    ours = run(module, problem, entry.state_names, **call)
    for theirs, tol in oracles(entry, module, problem, shapes, kwargs, call, torch.float64):
        assert_close(ours, theirs, tol)


def call_arguments(problem, entry, batch_first: bool, unbatched: bool) -> tuple:
    """The ``(input, hx)`` that ``harness.run`` passes to the module for ``problem`` (padded layouts only)."""
    x, hx = problem.x, problem.states
    if unbatched:
        x, hx = x[:, 0], None if hx is None else tuple(s[:, 0] for s in hx)
    elif batch_first:
        x = x.transpose(0, 1)
    if hx is not None and len(hx) == 1:
        hx = hx[0]
    return x, hx


@LAYER_ENTRIES
@pytest.mark.parametrize("config", ["L3-bi-nobias-hx", "L1-bf-unbatched"])
def test_torch_export_gives_the_eager_outputs_and_gradients(entry, config):
    """In float32, the dtype one deploys; padded input (see the module docstring for packed input)."""
    dtype = torch.float32
    module, problem, _, _, call = build_layer(entry, config, dtype)
    exported = torch.export.export(module, call_arguments(problem, entry, call["batch_first"], call["unbatched"]))
    program = exported.module()
    assert_close(run(program, problem, entry.state_names, **call), run(module, problem, entry.state_names, **call),
                 TOL_TWIN[dtype])


def test_an_exported_program_holds_no_fast_path_or_out_kernel():
    """What a deployment runtime (ONNX, ExecuTorch) gets: public aten operations, none with ``out=``."""
    module, problem, _, _, call = build_layer(LAYERS[0], "L3-bi-nobias-hx", torch.float32)
    exported = torch.export.export(module, call_arguments(problem, LAYERS[0], False, False))
    targets = {str(node.target) for node in exported.graph.nodes if node.op == "call_function"}
    assert not any("mkldnn" in t or ".out" in t for t in targets), sorted(targets)


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")  # torch's own word on it
@pytest.mark.parametrize("entry", LAYERS + CELLS + TREES, ids=str)
def test_torchscript_is_refused_pointing_to_torch_export(entry):
    if entry in TREES:
        module, x, parent = build_tree(entry, "chain", True, torch.float64)[:3]
        example = (x, torch.from_numpy(parent))
    elif entry in CELLS:
        module, problem = build_cell(entry, "batched", torch.float64)[:2]
        example = (problem.x[0],)
    else:
        module, problem = build_layer(entry, "L1-padded", torch.float64)[:2]
        example = (problem.x,)
    with pytest.raises(TorchScriptUnsupported, match=r"deprecated in torch 2\.13.*torch\.export\.export"):
        torch.jit.script(module)
    with pytest.raises(TorchScriptUnsupported, match=r"deprecated in torch 2\.13.*torch\.export\.export"):
        torch.jit.script(torch.nn.Sequential(module))  # also as a submodule of the user's model
    with pytest.raises(TorchScriptUnsupported, match=r"torch\.jit\.trace.*torch\.export\.export"):
        torch.jit.trace(module, example)


@pytest.mark.parametrize("entry", TWINNED, ids=str)
def test_to_torch_and_from_torch_keep_the_outputs(entry):
    if entry in CELLS:
        ours, problem, _, _, call = build_cell(entry, "batched-hx", torch.float64)
        execute = run_cell
    else:
        ours, problem, _, _, call = build_layer(entry, "L2-bi-bf-packed-hx", torch.float64)
        execute = run
    twin = ours.eval().to_torch()
    assert type(twin) is getattr(entry.torch_twin, "func", entry.torch_twin)  # the class, or the partial's
    assert not twin.training and all(p.dtype == torch.float64 for p in twin.parameters())
    assert_close(execute(twin, problem, entry.state_names, **call), execute(ours, problem, entry.state_names, **call),
                 TOL_TWIN[torch.float64])
    back = type(ours).from_torch(randomize(twin, seed=5))
    assert type(back) is type(ours) and repr(back) == repr(ours)
    assert_equal(back.state_dict(), twin.state_dict())
    assert_close(execute(back, problem, entry.state_names, **call), execute(twin, problem, entry.state_names, **call),
                 TOL_TWIN[torch.float64])


@pytest.mark.parametrize("entry", UNTWINNED, ids=str)
def test_a_module_without_a_torch_twin_refuses_to_convert(entry):
    module = (build_cell if entry in CELLS else build_layer)(entry, "batched-hx" if entry in CELLS else "L1-padded",
                                                            torch.float64)[0]
    with pytest.raises(TypeError, match=f"{type(module).__name__} has no torch.nn twin"):
        module.to_torch()
    with pytest.raises(TypeError, match="has no torch.nn twin"):
        type(module).from_torch(torch.nn.LSTM(2, 3))


def test_from_torch_names_the_class_it_needs():
    from lstmlib.nn import GRU, LSTM

    with pytest.raises(TypeError, match=r"module must be a torch\.nn\.modules\.rnn\.GRU .*; got LSTM"):
        GRU.from_torch(torch.nn.LSTM(2, 3))
    with pytest.raises(ValueError, match="proj_size must be 0"):
        LSTM.from_torch(torch.nn.LSTM(2, 3, proj_size=2))
    assert np.isclose(LSTM.from_torch(torch.nn.LSTM(2, 3, dropout=0.5, num_layers=2)).dropout, 0.5)
