"""Version-specific speed tricks of :mod:`lstmlib.nn`, in one place, behind one switch.

Every trick here computes what its plain PyTorch definition computes, up to
floating-point rounding; it only makes it faster on some machines and
PyTorch versions:

* :class:`StepMatmul` -- the T small products ``h W_hh^T`` of a time loop
  through oneDNN with a pre-packed weight (private ``torch.ops.mkldnn`` ops);
* :class:`Tanh`       -- ``tanh(a) = 2 sigmoid(2a) - 1`` on CPU in float32;
* :func:`conv2d_input_grads` -- ConvLSTM's input-convolution gradients in one
  call of ``torch.ops.aten.convolution_backward``;
* :mod:`lstmlib.nn.native` -- the time loops in C++, compiled on first use:
  the LSTM's, peephole LSTM's and CIFG's forward and backward, the GRU's and
  the RNN's forward.

The environment variable ``LSTMLIB_FAST_PATHS=0`` (read at import) turns every
one of them off, and they always step aside while ``torch.compile``,
``torch.export`` or the ONNX exporter built on it traces the code
(:func:`tracing`): those tracers need plain, differentiable PyTorch operations.
:func:`set_enabled` turns them off at run time, e.g. for a test
that runs once with the fast paths and once without. Each user asks
:func:`enabled` once per sequence (when it builds its :class:`StepMatmul` or
:class:`Tanh`, or once per backward pass in :func:`conv2d_input_grads`), so a
change takes effect at the next sequence. With the fast
paths off, :mod:`lstmlib.nn` computes with public PyTorch operations only.

A trick that relies on a private operation is probed once per process, with
fixed inputs (no draw from the random generators); if the probe fails (the
operation is missing or gives a wrong result), a ``UserWarning`` naming the
trick and the torch version says so, once, and the plain path is used.

The measurements behind each decision were taken with
``benchmarks/bench_fast_paths.py`` (one thread, 2-core AMD EPYC shared with
other jobs; medians of interleaved runs; torch 2.13 CPU).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator

import torch
from torch.nn import grad as conv_grad

__all__ = ["StepMatmul", "Switch", "Tanh", "conv2d_input_grads", "disabled", "enabled", "set_enabled", "tracing"]

_ENV_VAR = "LSTMLIB_FAST_PATHS"


def _from_environment() -> bool:
    value = os.environ.get(_ENV_VAR, "1").strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{_ENV_VAR} must be 1 (fast paths on, the default) or 0 (off); got {value!r}")


class Switch:
    """An on/off setting: :meth:`set_enabled` (type-checked, returns the previous setting) and a
    :meth:`disabled` block that restores it. ``what`` names the setting in the error message."""

    def __init__(self, on: bool, what: str) -> None:
        self.on, self.what = on, what

    def set_enabled(self, flag: bool) -> bool:
        if not isinstance(flag, bool):
            raise TypeError(f"flag must be a bool (True: {self.what} on); got {type(flag).__name__} {flag!r}")
        previous, self.on = self.on, flag
        return previous

    @contextlib.contextmanager
    def disabled(self) -> Iterator[None]:
        previous = self.set_enabled(False)
        try:
            yield
        finally:
            self.set_enabled(previous)


_switch = Switch(_from_environment(), "fast paths")


def tracing() -> bool:
    """Whether ``torch.compile`` or ``torch.export`` (and so ``torch.onnx.export(..., dynamo=True)``) is tracing now.

    Under a tracer :mod:`lstmlib.nn` computes with plain, differentiable
    PyTorch operations: no private oneDNN op, no ``out=`` kernel, no
    hand-written backward (see ``RecurrentBase``); the tracer then sees every
    operation and differentiates or exports the graph itself.
    """
    return torch.compiler.is_compiling()


def enabled() -> bool:
    """Whether the fast paths are in use: switched on (``LSTMLIB_FAST_PATHS``, the last :func:`set_enabled`)
    and not :func:`tracing`."""
    return _switch.on and not tracing()


def set_enabled(flag: bool) -> bool:
    """Turn every fast path on (True) or off (False); return the previous setting."""
    return _switch.set_enabled(flag)


def disabled() -> contextlib.AbstractContextManager[None]:
    """``with fast_paths.disabled():`` runs its body with every fast path off, then restores the setting."""
    return _switch.disabled()


# ---- probes: each run once per process, its result kept here (a plain dict, not functools.cache,
# which torch.compile refuses to trace through) -------------------------------------------------

_probe_results: dict[str, bool] = {}


def _probe(trick: str, works: Callable[[], bool]) -> bool:
    """Whether ``trick`` works with this torch: ``works()`` is run the first time only.

    If it raises or returns False, warn once (naming the trick and the torch
    version) and report False, so that the caller takes the plain path.
    """
    result = _probe_results.get(trick)
    if result is None:
        try:
            with torch.no_grad():
                result, reason = bool(works()), "it gave a wrong result"
        except Exception as error:  # an older or newer torch without the operation
            result, reason = False, f"{type(error).__name__}: {error}"
        if not result:
            warnings.warn(
                f"lstmlib fast path {trick!r} does not work with torch {torch.__version__} ({reason}); "
                f"lstmlib.nn uses the plain PyTorch path instead (set {_ENV_VAR}=0 to silence this).",
                UserWarning,
                stacklevel=3,
            )
        _probe_results[trick] = result
    return result


# ---- oneDNN step products ---------------------------------------------------------------------

ONEDNN_LINEAR = "oneDNN pre-packed linear (torch.ops.mkldnn._linear_pointwise)"


def _onednn_linear_works() -> bool:
    """oneDNN's linear with a pre-packed weight, checked against addmm on fixed values."""
    ops = torch.ops.mkldnn
    # Fixed values, not torch.randn: probing must not advance the user's random stream.
    weight = torch.arange(24, dtype=torch.float32).view(6, 4) / 24
    x = torch.arange(12, dtype=torch.float32).view(3, 4) / 12
    other = torch.ones(3, 6)
    packed = ops._reorder_linear_weight(weight, 3)
    got_sum = ops._linear_pointwise.binary(x, other, packed, None, "add")
    got = ops._linear_pointwise(x, packed, None, "none", [], "")
    return bool(torch.allclose(got_sum, torch.addmm(other, x, weight.t()), atol=1e-5)
                and torch.allclose(got, x @ weight.t(), atol=1e-5))


# Measured (B=32, one thread, h W^T + xw_t, median us, two runs): H=64: addmm 14-31, oneDNN 28-76;
# H=128: 52-97 vs 59-117; H=256: 208-335 vs 186-275; H=512: 848-886 vs 648-706 (0.76-0.89x), the same
# results to float32 rounding (8e-5 at H=512, a sum of 512 products). oneDNN wins from about
# H=180, a (4H, H) weight of 2**17 entries. (With two threads the crossover is lower, near H=128, but
# the gain there is small and turns into a loss when the machine is shared.)
_ONEDNN_MIN_WEIGHT_SIZE = 1 << 17


class StepMatmul:
    """``x @ W^T (+ other)`` for the many small products of a time loop, ``W: (G, K)``, ``x: (B, K)``.

    Inside a recurrence the same ``W`` meets a new ``x`` at every step. With
    the fast paths on, on CPU in float32 and for a large enough ``W``, the
    product goes through oneDNN with ``W`` reordered once into its blocked
    layout (as ``torch.nn.LSTM``'s own CPU kernel does), markedly faster than
    the generic BLAS call for these skinny products; everywhere else it is ``addmm``.
    """

    def __init__(self, weight: torch.Tensor, batch: int) -> None:
        self.weight_t = weight.t()  # (K, G)
        self.packed = None
        if (enabled() and weight.device.type == "cpu" and weight.dtype == torch.float32
                and weight.numel() >= _ONEDNN_MIN_WEIGHT_SIZE and torch.backends.mkldnn.is_available()
                and _probe(ONEDNN_LINEAR, _onednn_linear_works)):
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), batch)

    def __call__(self, x: torch.Tensor, other: torch.Tensor | None = None) -> torch.Tensor:
        """``x @ W^T``, plus ``other: (B, G)`` if given -> ``(B, G)``."""
        if self.packed is None:
            return x @ self.weight_t if other is None else torch.addmm(other, x, self.weight_t)
        if other is None:
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, None, "none", [], "")
        return torch.ops.mkldnn._linear_pointwise.binary(x, other, self.packed, None, "add")

    def add_to(self, x: torch.Tensor, acc: torch.Tensor) -> torch.Tensor:
        """``acc += x @ W^T`` in place, ``acc: (B, G)``; returns ``acc``.

        Lets a loop accumulate each step's product into its slot of a buffer
        that outlives the loop, instead of a fresh tensor per step.
        """
        if self.packed is None:
            return acc.addmm_(x, self.weight_t)
        return acc.copy_(self(x, acc))


# ---- tanh through the sigmoid -----------------------------------------------------------------

# Measured (one thread, median us, torch.tanh vs 2 sigmoid(2a) - 1 into a given buffer, two runs):
#   float32: (32, 128) 0.63-0.81x; (32, 512) 0.32-0.37x; (64, 2048) 0.23-0.28x; (16, 64, 32, 32) 0.12-0.23x;
#            max abs error vs float64 tanh 1.8e-7 (torch.tanh: 3.1e-8), i.e. about 1.5 ulp of 1.
#   float64: 0.51-0.53x; 0.35-0.37x; 0.31-0.32x; 0.37x; max abs error 3.3e-16 (torch.tanh: 0).
#   An LSTM step's gates, sigmoid + tanh(g block) vs one sigmoid: float32 0.61-0.95x, float64 0.61-0.75x.
# Faster in both dtypes, but used in float32 only: float64 is this library's precision for checking
# (parity with the NumPy reference and torch.nn to 1e-12, gradient checks), where torch's own
# correctly-rounded tanh is worth more than speed, and 2 sigmoid(2a) - 1 loses relative accuracy
# for tiny |a| (cancellation in the final subtraction).
_TANH_VIA_SIGMOID_DTYPES = (torch.float32,)


class Tanh:
    """``tanh`` written into a given buffer; with the fast paths on, on CPU in float32, via ``2 sigmoid(2a) - 1``.

    PyTorch's CPU tanh kernel is several times slower than its sigmoid kernel,
    and the tanh inside a time loop is on the critical path; the identity is
    exact up to rounding (an absolute error of a few ulps of 1). On other
    devices the plain tanh is one kernel launch instead of three.
    """

    def __init__(self, like: torch.Tensor) -> None:
        self.via_sigmoid = enabled() and like.device.type == "cpu" and like.dtype in _TANH_VIA_SIGMOID_DTYPES
        self.minus_one = torch.tensor(-1.0, dtype=like.dtype) if self.via_sigmoid else None
        # what tanh_of_scaled_ expects its argument multiplied by
        self.input_scale = 2 if self.via_sigmoid else 1

    def __call__(self, a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """``out = tanh(a)``; ``out`` may be ``a`` itself."""
        if not self.via_sigmoid:
            return torch.tanh(a, out=out)
        torch.mul(a, 2, out=out).sigmoid_()
        return torch.add(self.minus_one, out, alpha=2, out=out)  # 2 s - 1

    def tanh_of_scaled_(self, scaled: torch.Tensor) -> torch.Tensor:
        """In place: ``scaled`` holds ``input_scale * u`` and becomes ``tanh(u)``; returns it.

        Lets a caller fold the factor 2 of ``2 sigmoid(2u) - 1`` into an
        operation it does anyway (the GRU's ``addcmul`` that forms ``u``).
        """
        if not self.via_sigmoid:
            return scaled.tanh_()
        return torch.add(self.minus_one, scaled.sigmoid_(), alpha=2, out=scaled)  # 2 s - 1

    def sigmoid_but_tanh_in(self, gates: torch.Tensor, block: slice, out: torch.Tensor) -> None:
        """``out = sigmoid(gates)``, except ``out[:, block] = tanh(gates[:, block])``.

        Via the sigmoid, one sigmoid covers all columns (``gates[:, block]`` is
        doubled in place first); ``gates: (B, G)`` and ``out: (B, G)`` must not overlap.
        """
        if self.via_sigmoid:
            gates[:, block].mul_(2)
            torch.sigmoid(gates, out=out)
            torch.add(self.minus_one, out[:, block], alpha=2, out=out[:, block])  # 2 s - 1
        else:
            torch.sigmoid(gates, out=out)
            torch.tanh(gates[:, block], out=out[:, block])

    def sigmoid_and_tanh(
        self, pair: torch.Tensor, b: torch.Tensor, halves: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> None:
        """``pair[:, 0] = sigmoid(pair[:, 0])`` and ``pair[:, 1] = tanh(b)``, in place.

        ``pair: (B, 2, H)`` holds a pre-activation in ``pair[:, 0]``; ``b: (B, H)``
        must not overlap it; ``halves``: ``pair.unbind(1)``, passed in by a time
        loop that sliced it once. Via the sigmoid, one sigmoid covers both halves
        (``2 b`` is written into ``pair[:, 1]`` first): a gate and a tanh that
        become known at the same time cost one kernel.
        """
        first, second = pair.unbind(1) if halves is None else halves
        if self.via_sigmoid:
            torch.mul(b, 2, out=second)
            pair.sigmoid_()
            torch.add(self.minus_one, second, alpha=2, out=second)  # 2 s - 1
        else:
            first.sigmoid_()
            torch.tanh(b, out=second)


# ---- convolution gradients (ConvLSTM's backward) ----------------------------------------------

CONVOLUTION_BACKWARD = "one-call convolution gradients (torch.ops.aten.convolution_backward)"

# Measured (B=16, T=10: 160 frames, C=1, 20x20 and 32x32 frames, Hc 16 and 64, kernels 3 and 5; median ms,
# public torch.nn.grad / aten one call, two runs on a shared machine):
#   W_hh's weight gradient: 0.85-1.09, median 1.01 (conv2d_weight calls the same aten op): the public one is used.
#   W_ih's dW and db (layer 0, whose input needs no gradient): 1.00-1.51, median 1.2; with dx too (layers > 0):
#   0.82-1.23, median 1.08. The one call fuses the bias gradient that the public path needs a separate
#   pass over da for (6-90 ms of those sizes), so the aten op stays, for the input convolution with a bias.


def conv2d_input_grads(
    dout: torch.Tensor, input: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int], needs: tuple[bool, ...]
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """Gradients of ``conv2d(input, weight, bias, padding=padding)`` w.r.t. (input, weight, bias).

    ``dout: (N, O, H', W')``, ``input: (N, C, H, W)``, ``weight: (O, C, kh, kw)``;
    ``needs``: which of the three to compute (None for the others). Stride 1,
    no dilation, one group.
    """
    need_input, need_weight, need_bias = needs
    if enabled() and need_bias and _probe(CONVOLUTION_BACKWARD, _convolution_backward_works):
        return torch.ops.aten.convolution_backward(
            dout, input, weight, [weight.shape[0]], [1, 1], list(padding), [1, 1], False, [0, 0], 1, list(needs)
        )
    return (
        conv_grad.conv2d_input(input.shape, weight, dout, padding=padding) if need_input else None,
        conv_grad.conv2d_weight(input, weight.shape, dout, padding=padding) if need_weight else None,
        dout.sum((0, 2, 3)) if need_bias else None,
    )


def _convolution_backward_works() -> bool:
    """The one-call gradients against the public ones, on fixed values."""
    x = torch.arange(2 * 2 * 4 * 5, dtype=torch.float32).view(2, 2, 4, 5).div(40).sin()
    weight = torch.arange(3 * 2 * 3 * 3, dtype=torch.float32).view(3, 2, 3, 3).div(54).cos()
    dout = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5).div(120).sin()
    got = torch.ops.aten.convolution_backward(
        dout, x, weight, [3], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, True]
    )
    want = (conv_grad.conv2d_input(x.shape, weight, dout, padding=1),
            conv_grad.conv2d_weight(x, weight.shape, dout, padding=1), dout.sum((0, 2, 3)))
    return all(torch.allclose(g, w, atol=1e-5) for g, w in zip(got, want))
