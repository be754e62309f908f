"""The registry: one entry per recurrent module of lstmlib.nn (what an entry needs: see the package docstring)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import lstmlib.nn as lnn
from lstmlib import reference as ref


@dataclass(frozen=True)
class Shapes:
    """One random draw of sizes.

    args: the constructor's positional sizes; options: keywords every module of
    this draw needs; step: one time step's input per sequence; state: one state per sequence.
    """

    args: tuple[Any, ...]
    options: dict[str, Any]
    step: tuple[int, ...]
    state: tuple[int, ...]

    @property
    def hidden(self) -> int:
        """The size of a state's first axis, along which directions are concatenated (H or Hc)."""
        return self.state[0]


@dataclass(frozen=True)
class Reference:
    """A NumPy reference layer (one layer, one direction, time-major), states as tuples.

    forward(params, x: (T, B, *step), states | None) -> (y: (T, B, *state), finals, cache);
    backward(params, cache, dy, dfinals) -> (dparams, dx, dstates); init(shapes) -> params,
    with exactly the keys of layer 0 of the module's state_dict.
    """

    forward: Callable[..., Any]
    backward: Callable[..., Any]
    init: Callable[[Shapes], dict[str, np.ndarray]]


def one_state(forward: Callable[..., Any], backward: Callable[..., Any], init: Callable[[Shapes], Any]) -> Reference:
    """A :class:`Reference` from a reference layer whose state is a bare ``h`` (RNN, GRU)."""

    def forward_tuple(params, x, states):
        y, h, cache = forward(params, x, None if states is None else states[0])
        return y, (h,), cache

    def backward_tuple(params, cache, dy, dfinals):
        dparams, dx, dh0 = backward(params, cache, dy, dfinals[0])
        return dparams, dx, (dh0,)

    return Reference(forward_tuple, backward_tuple, init)


@dataclass(frozen=True)
class Entry:
    """One recurrent module and everything the contract suites need to check it."""

    name: str
    module: Callable[..., torch.nn.Module]
    draw: Callable[[np.random.Generator], Shapes]
    state_names: tuple[str, ...]
    torch_twin: Callable[..., torch.nn.Module] | None = None
    reference: Reference | None = None
    step_axes: tuple[str, ...] = ("D",)
    state_axes: tuple[str, ...] = ("H",)
    size_names: tuple[str, ...] = ("input_size", "hidden_size")
    constructor_checks: bool = True  # False for a variant of another entry (its constructor is checked there)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.torch_twin is not None or self.reference is not None, f"{self.name} needs an oracle"

    @property
    def keyword_only(self) -> bool:
        """No torch twin: every argument after the sizes is keyword-only."""
        return self.torch_twin is None

    def __str__(self) -> str:  # the test ids
        return self.name


# ---- random sizes ---------------------------------------------------------------------------

def draw_vector(rng: np.random.Generator) -> Shapes:
    """``(D, H)`` for a module over vectors: D in 1..4, H in 1..5."""
    D, H = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    return Shapes((D, H), {}, (D,), (H,))


def draw_frames(rng: np.random.Generator, peephole: bool = False) -> Shapes:
    """``(C, Hc, kernel_size)`` and small frames for a ConvLSTM; odd kernels, square or not."""
    C, Hc = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    kernel = [1, 3, 5, (3, 1), (1, 3), (5, 3)][int(rng.integers(0, 6))]
    frame = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    options = {"peephole": True, "frame_size": frame} if peephole else {}
    return Shapes((C, Hc, kernel), options, (C, *frame), (Hc, *frame))


# ---- the reference twins --------------------------------------------------------------------

def _vector_init(init: Callable[..., dict]) -> Callable[[Shapes], dict]:
    return lambda shapes: init(*shapes.args, rng=0)


LSTM_REFERENCE = Reference(ref.lstm_forward, ref.lstm_backward, _vector_init(ref.init_lstm_params))
PEEPHOLE_REFERENCE = Reference(ref.peephole_forward, ref.peephole_backward, _vector_init(ref.init_peephole_params))
COUPLED_REFERENCE = Reference(ref.coupled_forward, ref.coupled_backward, _vector_init(ref.init_coupled_params))
RNN_REFERENCE = one_state(ref.rnn_forward, ref.rnn_backward, _vector_init(ref.init_rnn_params))
GRU_REFERENCE = one_state(ref.gru_forward, ref.gru_backward, _vector_init(ref.init_gru_params))
CONVLSTM_REFERENCE = Reference(
    ref.convlstm_forward, ref.convlstm_backward, lambda shapes: ref.init_convlstm_params(*shapes.args, rng=0,
                                                                                         **shapes.options))

CONV_AXES = dict(step_axes=("C", "H", "W"), state_axes=("Hc", "H", "W"),
                 size_names=("in_channels", "hidden_channels", "kernel_size"))

# ---- layers -----------------------------------------------------------------------------------

LAYERS = [
    Entry("LSTM", lnn.LSTM, draw_vector, ("h_0", "c_0"), torch_twin=torch.nn.LSTM, reference=LSTM_REFERENCE),
    Entry("GRU", lnn.GRU, draw_vector, ("h_0",), torch_twin=torch.nn.GRU, reference=GRU_REFERENCE),
    Entry("RNN", lnn.RNN, draw_vector, ("h_0",), torch_twin=torch.nn.RNN, reference=RNN_REFERENCE,
          extra={"positional": (2, "relu", False, True, 0.25, True)}),  # torch's order: nonlinearity 4th
    Entry("RNN-relu", functools.partial(lnn.RNN, nonlinearity="relu"), draw_vector, ("h_0",),
          torch_twin=functools.partial(torch.nn.RNN, nonlinearity="relu"), constructor_checks=False),
    Entry("PeepholeLSTM", lnn.PeepholeLSTM, draw_vector, ("h_0", "c_0"), reference=PEEPHOLE_REFERENCE),
    Entry("CoupledLSTM", lnn.CoupledLSTM, draw_vector, ("h_0", "c_0"), reference=COUPLED_REFERENCE),
    Entry("ConvLSTM", lnn.ConvLSTM, draw_frames, ("h_0", "c_0"), reference=CONVLSTM_REFERENCE, **CONV_AXES),
    Entry("ConvLSTM-peephole", lnn.ConvLSTM, functools.partial(draw_frames, peephole=True), ("h_0", "c_0"),
          reference=CONVLSTM_REFERENCE, constructor_checks=False, **CONV_AXES),
]

# ---- cells: one step; the reference oracle is the layer's, run for T = 1 ----------------------

CELLS = [
    Entry("LSTMCell", lnn.LSTMCell, draw_vector, ("h_0", "c_0"), torch_twin=torch.nn.LSTMCell,
          reference=LSTM_REFERENCE),
    Entry("GRUCell", lnn.GRUCell, draw_vector, ("h_0",), torch_twin=torch.nn.GRUCell, reference=GRU_REFERENCE),
    Entry("RNNCell", lnn.RNNCell, draw_vector, ("h_0",), torch_twin=torch.nn.RNNCell, reference=RNN_REFERENCE),
    Entry("RNNCell-relu", functools.partial(lnn.RNNCell, nonlinearity="relu"), draw_vector, ("h_0",),
          torch_twin=functools.partial(torch.nn.RNNCell, nonlinearity="relu"), constructor_checks=False),
    Entry("PeepholeLSTMCell", lnn.PeepholeLSTMCell, draw_vector, ("h_0", "c_0"), reference=PEEPHOLE_REFERENCE),
    Entry("CoupledLSTMCell", lnn.CoupledLSTMCell, draw_vector, ("h_0", "c_0"), reference=COUPLED_REFERENCE),
    Entry("ConvLSTMCell", lnn.ConvLSTMCell, draw_frames, ("h_0", "c_0"), reference=CONVLSTM_REFERENCE,
          **CONV_AXES),
    Entry("ConvLSTMCell-peephole", lnn.ConvLSTMCell, functools.partial(draw_frames, peephole=True),
          ("h_0", "c_0"), reference=CONVLSTM_REFERENCE, constructor_checks=False, **CONV_AXES),
]


# ---- Tree-LSTMs: forward(x: (N, D), parent: (N,)) -> (h, c), each (N, H) -------------------------

@dataclass(frozen=True)
class TreeEntry:
    """A Tree-LSTM: ``module(*args, **options)``, its reference ``forward(params, x, parent) -> (h, c, cache)``,
    ``backward(params, cache, dh, dc) -> (dparams, dx)`` and ``init(args) -> params`` (the module's state_dict keys).
    """

    name: str
    module: Callable[..., torch.nn.Module]
    draw: Callable[[np.random.Generator], tuple[int, ...]]  # the constructor's positional sizes
    forward: Callable[..., Any]
    backward: Callable[..., Any]
    init: Callable[..., dict[str, np.ndarray]]
    max_children: int | None = None  # the most children a node of a random forest may have

    def __str__(self) -> str:
        return self.name


TREES = [
    TreeEntry("ChildSumTreeLSTM", lnn.ChildSumTreeLSTM, lambda rng: (int(rng.integers(1, 5)), int(rng.integers(1, 6))),
              ref.child_sum_tree_lstm_forward, ref.child_sum_tree_lstm_backward,
              lambda args: ref.init_child_sum_tree_lstm_params(*args, rng=0), max_children=4),
    TreeEntry("NaryTreeLSTM", lnn.NaryTreeLSTM,
              lambda rng: (int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(3, 5))),
              ref.nary_tree_lstm_forward, ref.nary_tree_lstm_backward,
              lambda args: ref.init_nary_tree_lstm_params(*args, rng=0), max_children=3),
]
