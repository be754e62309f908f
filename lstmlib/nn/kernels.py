"""Building blocks of the fast whole-sequence kernels in :mod:`lstmlib.nn`.

* :func:`project_inputs` -- the input projection of every time step as one matmul;
* :class:`StepMatmul`    -- the T small products ``h W_hh^T`` of a time loop;
* :class:`Tanh`          -- tanh into a given buffer, fast on CPU (also fused with sigmoids).

They only make things faster: each computes exactly what its one-line
definition says, up to floating-point rounding.
"""

from __future__ import annotations

import functools

import torch

__all__ = ["StepMatmul", "Tanh", "project_inputs"]


def project_inputs(
    x: torch.Tensor, weight_ih: torch.Tensor, bias_ih: torch.Tensor | None, bias_hh: torch.Tensor | None
) -> torch.Tensor:
    """Project every time step at once: ``x @ W_ih^T + b_ih + b_hh``.

    Hoisting this matmul out of the time loop turns T small products into one
    big one; ordinary autograd differentiates it.
    ``x: (T, B, D)``, ``weight_ih: (G, D)``, biases ``(G,)`` or None -> ``(T, B, G)``.
    """
    T, B, D = x.shape
    x_flat = x.reshape(T * B, D)  # (T*B, D)
    if bias_ih is None:
        projected = x_flat @ weight_ih.t()
    else:
        projected = torch.addmm(bias_ih + bias_hh, x_flat, weight_ih.t())
    return projected.view(T, B, -1)  # (T, B, G)


@functools.cache
def _onednn_available() -> bool:
    """Whether oneDNN's linear with a pre-packed weight works here (probed once, on CPU)."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        ops = torch.ops.mkldnn
        # Fixed values, not torch.randn: probing must not advance the user's random stream.
        weight = torch.arange(24, dtype=torch.float32).view(6, 4) / 24
        x = torch.arange(12, dtype=torch.float32).view(3, 4) / 12
        other = torch.ones(3, 6)
        packed = ops._reorder_linear_weight(weight, 3)
        got = ops._linear_pointwise.binary(x, other, packed, None, "add")
        return bool(torch.allclose(got, torch.addmm(other, x, weight.t()), atol=1e-5))
    except Exception:  # an older or newer torch without these ops: use plain addmm
        return False


# Measured on a 2-core AMD EPYC (B=32, one thread): oneDNN's product wins from
# about H=180, a (4H, H) weight of 2**17 entries; below, MKL's addmm is as fast.
# (With two threads the crossover is lower, near H=128, but the gain there is
# small and turns into a loss when the machine is shared: every step would then
# need both cores at once.)
_ONEDNN_MIN_WEIGHT_SIZE = 1 << 17


class StepMatmul:
    """``x @ W^T (+ other)`` for the many small products of a time loop, ``W: (G, K)``.

    Inside a recurrence the same ``W`` meets a new ``x: (B, K)`` at every step.
    On CPU in float32, for large enough ``W``, the product goes through oneDNN
    with ``W`` reordered once into its blocked layout (as ``torch.nn.LSTM``'s
    own CPU kernel does), markedly faster than the generic BLAS call for these
    skinny products; everywhere else (CUDA, float64, small W) it is ``addmm``.
    """

    def __init__(self, weight: torch.Tensor, batch: int) -> None:
        self.weight_t = weight.t()  # (K, G)
        self.packed = None
        if (weight.device.type == "cpu" and weight.dtype == torch.float32
                and weight.numel() >= _ONEDNN_MIN_WEIGHT_SIZE and _onednn_available()):
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), batch)

    def __call__(self, x: torch.Tensor, other: torch.Tensor | None = None) -> torch.Tensor:
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


class Tanh:
    """``tanh`` written into a given buffer, via ``tanh(a) = 2 sigmoid(2a) - 1`` on CPU.

    PyTorch's CPU tanh kernel is several times slower than its sigmoid kernel,
    and the tanh inside a time loop is on the critical path; the identity is
    exact up to rounding (an absolute error of a few ulps of 1). On other
    devices the plain tanh is one kernel launch instead of three.
    """

    def __init__(self, like: torch.Tensor) -> None:
        self.via_sigmoid = like.device.type == "cpu"
        self.minus_one = torch.tensor(-1.0, dtype=like.dtype) if self.via_sigmoid else None

    def __call__(self, a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """``out = tanh(a)``; ``out`` may be ``a`` itself."""
        if not self.via_sigmoid:
            return torch.tanh(a, out=out)
        torch.mul(a, 2, out=out).sigmoid_()
        return torch.add(self.minus_one, out, alpha=2, out=out)  # 2 s - 1

    def sigmoid_but_tanh_in(self, gates: torch.Tensor, block: slice, out: torch.Tensor) -> None:
        """``out = sigmoid(gates)``, except ``out[:, block] = tanh(gates[:, block])``.

        On CPU one sigmoid covers all columns (``gates[:, block]`` is doubled
        in place first); ``gates: (B, G)`` and ``out: (B, G)`` must not overlap.
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
        loop that sliced it once. On CPU one sigmoid covers both halves (``2 b``
        is written into ``pair[:, 1]`` first): a gate and a tanh that become
        known at the same time cost one kernel.
        """
        first, second = pair.unbind(1) if halves is None else halves
        if self.via_sigmoid:
            torch.mul(b, 2, out=second)
            pair.sigmoid_()
            torch.add(self.minus_one, second, alpha=2, out=second)  # 2 s - 1
        else:
            first.sigmoid_()
            torch.tanh(b, out=second)
