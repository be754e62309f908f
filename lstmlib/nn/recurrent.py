"""The shared composition of every recurrent module in :mod:`lstmlib.nn`.

cell -> layer -> bidirectional -> stack. A cell type (RNN, LSTM, GRU, peephole
LSTM, ConvLSTM) plugs into :class:`RecurrentBase` by declaring only

* ``gate_multiplier``  -- rows of ``weight_ih`` per hidden unit (4 LSTM, 3 GRU, 1 RNN);
* ``state_names``      -- ``("h_0",)``, or ``("h_0", "c_0")`` for a cell with a cell state;
* ``parameter_shapes`` -- to add per-layer parameters (peepholes) or change them (convolutions);
* ``run_layer``       -- run ONE layer in ONE direction over a whole sequence;
* ``cell``            -- ONE step of one layer-direction with plain PyTorch operations (the book's
  cell function): what tracers (``torch.compile``, ``torch.export``, ONNX) run instead of ``run_layer``;
* ``state_dims``      -- only if a state is not a ``(H,)`` vector per sequence (ConvLSTM's maps);
* ``input_axes``, ``state_axes`` -- only if one step's input is not a ``(D,)`` vector or a
  state not an ``(H,)`` vector: the names of their axes, for validation and messages
  (ConvLSTM: ``("C", "H", "W")`` and ``("Hc", "H", "W")``; the first input axis is the one
  whose size must be ``input_size``, and bidirectional outputs are concatenated along it).

A cell type with settings of its own (ConvLSTM's ``kernel_size``, ``peephole``,
``frame_size``) validates them and passes them to ``RecurrentBase.__init__`` as
keywords, named in its ``setting_names``: the base stores them as attributes
before it asks ``parameter_shapes`` for the shapes, so no attribute has to be
set before ``super().__init__()`` (and rejects any keyword not named there).

Everything else lives here, once: parameter registration by layer and
direction with PyTorch's names and initialisation, input validation,
``batch_first``, unbatched input, ``PackedSequence`` (variable lengths),
bidirectional runs (each sequence reversed within its own length), stacking
with inter-layer dropout and the ``h_n`` layout (layer-major, direction-minor).

Variable lengths are handled with a time mask: ``mask[t, b]`` is True while
``t < length[b]``; a kernel keeps the state frozen where the mask is False, so
the final state is the state at each sequence's last valid step.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .. import _checks
from . import fast_paths
from .deploy import TorchInterop, refuse_jit_trace
from .init import reset_uniform_

__all__ = ["RecurrentBase", "RecurrentCellBase", "reverse_in_time"]


def _time_mask(lengths: torch.Tensor, T: int, device: torch.device) -> torch.Tensor:
    """``mask[t, b, 0] = t < lengths[b]``: (T, B, 1) bool on ``device``."""
    steps = torch.arange(T).unsqueeze(1)  # (T, 1)
    return (steps < lengths.unsqueeze(0)).unsqueeze(2).to(device)  # (T, B, 1)


def _reverse_index(lengths: torch.Tensor, T: int, device: torch.device) -> torch.Tensor:
    """Index that reverses each sequence within its own length, padding left in place: (T, B)."""
    steps = torch.arange(T).unsqueeze(1)  # (T, 1)
    last = lengths.unsqueeze(0) - 1  # (1, B)
    return torch.where(steps <= last, last - steps, steps).to(device)  # (T, B)


def reverse_in_time(x: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
    """Reverse ``x: (T, B, ...)`` in time; with ``index`` (T, B), within each sequence's length.

    The permutation is its own inverse, so the same call undoes it.
    """
    if index is None:
        return x.flip(0)
    index = index.view(index.shape + (1,) * (x.ndim - 2)).expand_as(x)
    return x.gather(0, index)


def _check_common_args(input_size: Any, hidden_size: Any, bias: Any) -> tuple[int, int, bool]:
    return (
        _checks.check_positive_int("input_size", input_size),
        _checks.check_positive_int("hidden_size", hidden_size),
        _checks.check_bool("bias", bias),
    )


class RecurrentBase(TorchInterop, nn.Module):
    """A stack of (optionally bidirectional) recurrent layers, ``torch.nn.RNNBase``-compatible.

    ``forward(input, hx=None)`` takes ``input: (T, B, D)`` (``(B, T, D)`` with
    ``batch_first``), unbatched ``(T, D)`` or a ``PackedSequence``, and initial
    states of shape ``(num_layers * num_directions, B, H)`` (``(L * dirs, H)``
    unbatched). It returns ``output: (T, B, dirs * H)`` and the final states in
    the same layout as the initial ones.

    The arguments after the sizes are keyword-only (the drop-in twins declare
    torch's positional order in their own signatures); ``settings`` are the
    cell type's own options, stored as attributes before the parameters are made.
    """

    gate_multiplier: int = 1
    state_names: tuple[str, ...] = ("h_0",)
    input_axes: tuple[str, ...] = ("D",)  # one step's input per sequence: (D,)
    state_axes: tuple[str, ...] = ("H",)  # one state per sequence: (H,)
    twin_arguments = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional")
    setting_names: tuple[str, ...] = ()  # the cell type's own options that __init__ accepts as **settings

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        unknown = sorted(set(settings) - set(self.setting_names))
        if unknown:  # a misspelt keyword must not become a silently ignored attribute
            known = ", ".join(self.setting_names) or "none besides RecurrentBase's"
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                f"its own settings are: {known}"
            )
        for name, value in settings.items():  # read by parameter_shapes and run_layer
            setattr(self, name, value)
        self.input_size, self.hidden_size, self.bias = _check_common_args(input_size, hidden_size, bias)
        self.num_layers = _checks.check_positive_int("num_layers", num_layers)
        self.batch_first = _checks.check_bool("batch_first", batch_first)
        self.dropout = _checks.check_probability("dropout", dropout)
        self.bidirectional = _checks.check_bool("bidirectional", bidirectional)
        self.num_directions = 2 if bidirectional else 1
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                "dropout acts between stacked layers (never after the last one), so dropout="
                f"{self.dropout} with num_layers=1 has no effect",
                UserWarning,
                stacklevel=2,
            )
        # Register in torch's order (layer-major, then direction, then w_ih, w_hh, b_ih, b_hh):
        # with the same seed, reset_parameters() then draws exactly torch's weights.
        self._all_weights: list[list[str]] = []
        self._stems: list[list[str]] = []
        for layer in range(self.num_layers):
            layer_input_size = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = self.parameter_shapes(layer_input_size)
                names = [f"{stem}_l{layer}{suffix}" for stem in shapes]
                for name, shape in zip(names, shapes.values()):
                    self.register_parameter(name, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
                self._all_weights.append(names)
                self._stems.append(list(shapes))
        self._flat_weights_names = [name for names in self._all_weights for name in names]
        self.reset_parameters()

    # ---- what a cell type plugs in -------------------------------------------------------
    def parameter_shapes(self, layer_input_size: int) -> dict[str, tuple[int, ...]]:
        """Parameters of one layer in one direction, by stem, in registration order."""
        G, H = self.gate_multiplier * self.hidden_size, self.hidden_size
        shapes = {"weight_ih": (G, layer_input_size), "weight_hh": (G, H)}
        if self.bias:
            shapes.update(bias_ih=(G,), bias_hh=(G,))
        return shapes

    def run_layer(
        self,
        x: torch.Tensor,
        state: tuple[torch.Tensor, ...],
        params: dict[str, torch.Tensor],
        mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Run one layer in one (forward-in-time) direction.

        ``x: (T, B, D_layer)``, each state ``(B, H)``, ``params`` by stem (a
        missing bias reads as None), ``mask: (T, B, 1)`` bool or None
        -> ``y: (T, B, H)`` and the final states, frozen where the mask is False.
        """
        raise NotImplementedError

    def cell(
        self, x: torch.Tensor, state: tuple[torch.Tensor, ...], params: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, ...]:
        """One time step of one layer-direction, plain differentiable PyTorch operations.

        ``x: (B, D_layer)``, each state ``(B, H)``, ``params`` as in :meth:`run_layer` -> the new states.
        """
        raise NotImplementedError

    def run_layer_by_steps(
        self,
        x: torch.Tensor,
        state: tuple[torch.Tensor, ...],
        params: dict[str, torch.Tensor],
        mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """:meth:`run_layer` as a Python loop over :meth:`cell`: what a tracer sees.

        ``torch.compile`` and ``torch.export`` (hence the ONNX exporter) cannot
        trace the fast kernels' ``out=`` and in-place steps with their
        hand-written backward; this loop of plain operations they unroll and
        differentiate (or export) themselves. Same arguments and results as :meth:`run_layer`.
        """
        outputs = []
        for t in range(x.shape[0]):
            new = self.cell(x[t], state, params)
            if mask is not None:  # past a sequence's end the state stays frozen
                new = tuple(torch.where(mask[t].view((-1,) + (1,) * (s.ndim - 1)), n, s) for n, s in zip(new, state))
            state = new
            outputs.append(state[0])
        return torch.stack(outputs), state

    def state_dims(self, x: torch.Tensor) -> tuple[int, ...]:
        """Shape of one sequence's state, given the time-major input ``x``: ``(H,)``."""
        return (self.hidden_size,)

    # ---- shared machinery ----------------------------------------------------------------
    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), in registration order (as torch)."""
        reset_uniform_(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """No-op, kept so code written for ``torch.nn.LSTM`` (cuDNN) runs unchanged."""

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    def _layer_parameters(self, k: int) -> dict[str, torch.Tensor]:
        return {stem: getattr(self, name) for stem, name in zip(self._stems[k], self._all_weights[k])}

    def _input_layout(self, ndim: int) -> str:
        step = ", ".join(self.input_axes)
        if ndim == 1 + len(self.input_axes):
            return f"(T, {step})"
        return f"(B, T, {step})" if self.batch_first else f"(T, B, {step})"

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        refuse_jit_trace(self)
        x, lengths, is_batched = self._time_major_input(input)  # (T, B, D), (B,) or None
        states = self._initial_states(hx, x, is_batched, input)  # each (L*dirs, B, H)
        output, finals = self._run_stack(x, states, lengths)  # (T, B, dirs*H), each (L*dirs, B, H)
        if lengths is not None:  # back to a PackedSequence laid out exactly as the input
            data = pack_padded_sequence(output, lengths).data
            output = PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                finals = tuple(s.index_select(1, input.unsorted_indices) for s in finals)
        elif not is_batched:
            output = output.squeeze(1)
            finals = tuple(s.squeeze(1) for s in finals)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (finals if len(finals) > 1 else finals[0])

    def _time_major_input(self, input: Any) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        """Validate ``input``; return it as ``(T, B, D)``, the lengths (packed input) and whether it was batched.

        A ``PackedSequence`` is unpacked in its sorted order (longest first), as
        torch runs packed batches; its lengths are then ``(B,)``, on the CPU.
        """
        weight, axes = getattr(self, self._all_weights[0][0]), self.input_axes
        batched, unbatched = 2 + len(axes), 1 + len(axes)  # ranks: (T, B, D) and (T, D) for axes ("D",)
        if isinstance(input, PackedSequence):
            layout = f"(sum of lengths, {', '.join(axes)})"
            _checks.check_features("input.data", input.data, (unbatched,), layout, self.input_size, weight, axes)
            x, lengths = pad_packed_sequence(PackedSequence(input.data, input.batch_sizes))  # (T, B, D)
            return x, lengths, True
        _checks.check_array_type("input", input, torch.Tensor, "a torch.Tensor or a PackedSequence")
        ranks = (batched, unbatched)
        either = f"{self._input_layout(batched)}, or {self._input_layout(unbatched)} unbatched"
        _checks.check_rank("input", input, ranks, either)
        _checks.check_features("input", input, ranks, self._input_layout(input.ndim), self.input_size, weight, axes)
        is_batched = input.ndim == batched
        _checks.check_nonempty_time("input", input, axis=1 if (self.batch_first and is_batched) else 0)
        x = input if is_batched else input.unsqueeze(1)
        if self.batch_first and is_batched:
            x = x.transpose(0, 1)
        return x.contiguous(), None, is_batched

    def _initial_states(self, hx: Any, x: torch.Tensor, is_batched: bool, input: Any) -> tuple[torch.Tensor, ...]:
        """Validate ``hx`` (zeros if None); return each state as ``(L*dirs, B, H)``, in the batch order of ``x``."""
        num_states, B, dims = self.num_layers * self.num_directions, x.shape[1], self.state_dims(x)
        if hx is None:
            zeros = x.new_zeros((num_states, B, *dims))
            return tuple(zeros for _ in self.state_names)
        expected = (num_states, B, *dims) if is_batched else (num_states, *dims)
        axes = ", ".join(self.state_axes)
        layout = f"(num_layers * num_directions, {'B, ' if is_batched else ''}{axes})"
        states = _checks.check_states(self.state_names, hx, expected, layout, x, torch.Tensor)
        if not is_batched:
            states = tuple(s.unsqueeze(1) for s in states)
        if isinstance(input, PackedSequence) and input.sorted_indices is not None:
            states = tuple(s.index_select(1, input.sorted_indices) for s in states)  # as torch does
        return states

    def _run_stack(
        self, x: torch.Tensor, states: tuple[torch.Tensor, ...], lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """``x: (T, B, D)``, states ``(L*dirs, B, H)``, lengths ``(B,)`` or None."""
        T = x.shape[0]
        mask = reverse_index = None
        if lengths is not None and bool((lengths < T).any()):
            mask = _time_mask(lengths, T, x.device)  # (T, B, 1)
            reverse_index = _reverse_index(lengths, T, x.device)  # (T, B)
        run_layer = self.run_layer_by_steps if fast_paths.tracing() else self.run_layer
        initial = [s.unbind(0) for s in states]
        finals: list[list[torch.Tensor]] = [[] for _ in states]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction  # h_n row: layer-major, direction-minor
                state = tuple(s[k] for s in initial)
                seq = layer_input if direction == 0 else reverse_in_time(layer_input, reverse_index)
                y, final = run_layer(seq, state, self._layer_parameters(k), mask)  # (T, B, H)
                outputs.append(y if direction == 0 else reverse_in_time(y, reverse_index))
                for acc, s in zip(finals, final):
                    acc.append(s)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)  # (T, B, dirs*H)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, tuple(torch.stack(acc, 0) for acc in finals)


class RecurrentCellBase(TorchInterop, nn.Module):
    """One time step, ``torch.nn.RNNCellBase``-compatible: ``forward(input, hx=None)``.

    ``input: (B, D)`` or unbatched ``(D,)``; states ``(B, H)`` or ``(H,)``.
    A cell type declares ``gate_multiplier``, ``state_names`` and ``step``, and
    ``parameter_shapes`` to add parameters (the peephole cell's).
    """

    gate_multiplier: int = 1
    state_names: tuple[str, ...] = ("h_0",)
    twin_arguments = ("input_size", "hidden_size", "bias")

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = _check_common_args(input_size, hidden_size, bias)
        for name, shape in self.parameter_shapes().items():
            self.register_parameter(name, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
        if not self.bias:  # as torch: the attributes exist, holding None
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The cell's parameters by name, in registration order: torch's four (two without bias)."""
        G, H = self.gate_multiplier * self.hidden_size, self.hidden_size
        shapes = {"weight_ih": (G, self.input_size), "weight_hh": (G, H)}
        if self.bias:
            shapes.update(bias_ih=(G,), bias_hh=(G,))
        return shapes

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), in registration order (as torch)."""
        reset_uniform_(self, self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """``x: (B, D)``, states ``(B, H)`` -> new states ``(B, H)``."""
        raise NotImplementedError

    def forward(self, input: Any, hx: Any = None) -> Any:
        refuse_jit_trace(self)
        _checks.check_array_type("input", input, torch.Tensor, "a torch.Tensor")
        _checks.check_rank("input", input, (2, 1), "(B, D), or (D,) unbatched")
        _checks.check_features("input", input, (2, 1), "(B, D)" if input.ndim == 2 else "(D,)",
                        self.input_size, self.weight_ih)
        is_batched = input.ndim == 2
        x = input if is_batched else input.unsqueeze(0)  # (B, D)
        if hx is None:
            zeros = x.new_zeros((x.shape[0], self.hidden_size))
            states = tuple(zeros for _ in self.state_names)
        else:
            expected = (x.shape[0], self.hidden_size) if is_batched else (self.hidden_size,)
            layout = "(B, H)" if is_batched else "(H,)"
            states = _checks.check_states(self.state_names, hx, expected, layout, x, torch.Tensor)
            if not is_batched:
                states = tuple(s.unsqueeze(0) for s in states)
        new = self.step(x, states)  # each (B, H)
        if not is_batched:
            new = tuple(s.squeeze(0) for s in new)
        return new if len(new) > 1 else new[0]
