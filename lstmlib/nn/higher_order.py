"""Second derivatives and ``torch.func`` for the one-node-per-layer Functions of :mod:`lstmlib.nn`.

Each recurrent layer runs one direction of one layer as ONE
``torch.autograd.Function`` whose hand-written backward is fast but not
itself differentiable (it writes into buffers, outside autograd). This module
holds what the Functions share so that they still compose:

* **Second derivatives** (``create_graph=True``: ``hvp``, ``hessian``,
  ``gradgradcheck``, gradient penalties) and **torch.func.grad**, which always
  asks for a graph of the gradient. When the backward runs with grad mode on
  (autograd turns it on exactly when a graph of the gradient is requested),
  :func:`vjp_by_autograd` re-runs the same step equations with differentiable
  PyTorch operations (:func:`scan_by_autograd`) and returns their
  vector-Jacobian product, itself differentiable. So does a backward whose
  incoming gradients vmap batches (``jacobian(..., vectorize=True)``). The
  ordinary first-order backward (grad mode off) takes the hand-written path, as before.
  The price of the re-run: each sequence Function keeps its input ``xw: (T, B, G)``
  until the backward (for the LSTM 4H more per step and sequence, next to the 7H of
  caches it kept already); the re-run itself costs what plain autograd costs
  (a ``create_graph`` gradient of an LSTM, H=128, B=32, T=100: about 18 times
  the fast backward in one run, torch.nn.LSTM's about 2.4 times).
* **torch.func** needs a ``forward`` without ``ctx`` and a ``setup_context``
  that saves only inputs and outputs: each Function therefore also returns its
  caches (marked non-differentiable), which its layer drops.
* **vmap**: :func:`vmap_by_samples` runs the fast forward once per sample of
  the vmapped axis and stacks the results. ``torch.vmap(torch.func.grad(f))``
  (per-sample gradients) works, as it does for ``torch.nn.LSTM`` in torch 2.13;
  ``torch.vmap`` of a forward without gradients does not, for ``torch.nn.LSTM``
  either ("Batching rule not implemented for aten::lstm.input"). The cells
  (``LSTMCell`` ...) are plain autograd operations: every transform works on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = [
    "differentiable_backward_wanted", "materialize", "scan_by_autograd", "vjp_by_autograd", "vmap_by_samples",
]


def scan_by_autograd(
    step: Callable[..., tuple[torch.Tensor, ...]],
    xw: torch.Tensor,
    states: tuple[torch.Tensor, ...],
    mask: torch.Tensor | None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Run ``step(xw_t, *states) -> new states`` (h first) over time with differentiable operations only.

    ``xw: (T, B, ...)``, each state ``(B, ...)``, ``mask: (T, B, 1[, 1, 1])`` bool
    or None: where False (past a sequence's end) every state stays frozen, as in
    the fast loops. Returns ``y: (T, B, ...)``, the h of every step, and the
    final states. Slower than the fast loops (autograd records every step), but
    autograd can differentiate it as often as asked.
    """
    ys = []
    for t in range(xw.shape[0]):
        new = step(xw[t], *states)
        if mask is not None:
            new = tuple(torch.where(mask[t], n, s) for n, s in zip(new, states))
        states = new
        ys.append(states[0])
    return torch.stack(ys), states


def differentiable_backward_wanted(*grads: torch.Tensor | None) -> bool:
    """Whether a Function's backward must take :func:`vjp_by_autograd` instead of its hand-written path.

    Yes when a graph of the gradient is wanted (grad mode is on inside a backward
    exactly then: ``create_graph=True``, ``torch.func.grad``), and when vmap batches
    the incoming gradients (``jacobian(..., vectorize=True)``, ``grad(..., is_grads_batched=True)``):
    the hand-written path writes into buffers, which vmap cannot batch.
    """
    functorch = torch._C._functorch  # is_grads_batched batches with the older ("legacy") vmap
    return torch.is_grad_enabled() or any(
        g is not None and (functorch.is_batchedtensor(g) or functorch.is_legacy_batchedtensor(g)) for g in grads
    )


def vjp_by_autograd(
    equations: Callable[..., tuple[torch.Tensor, ...]],
    inputs: Sequence[Any],
    needs: Sequence[bool],
    grad_outputs: Sequence[torch.Tensor | None],
) -> tuple[torch.Tensor | None, ...]:
    """The backward of a Function, differentiable: the vector-Jacobian product of ``equations`` at ``inputs``.

    ``equations(*inputs)`` must compute the Function's differentiable outputs
    (in order, the caches left out) with plain PyTorch operations;
    ``needs``: ``ctx.needs_input_grad`` of the Function; ``grad_outputs``: the
    incoming gradients, None for an output that received none. Returns one
    entry per input (None where not needed). ``torch.func.vjp`` keeps the
    result differentiable for an outer autograd graph and for the torch.func
    transforms around it.
    """
    chosen = [k for k, need in enumerate(needs[: len(inputs)]) if need]

    def on_chosen(*values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        args = list(inputs)
        for k, value in zip(chosen, values):
            args[k] = value
        return tuple(equations(*args))

    outputs, vjp = torch.func.vjp(on_chosen, *(inputs[k] for k in chosen))
    cotangents = tuple(torch.zeros_like(out) if g is None else g for out, g in zip(outputs, grad_outputs))
    grads: list[torch.Tensor | None] = [None] * len(needs)
    for k, grad in zip(chosen, vjp(cotangents)):
        grads[k] = grad
    return tuple(grads)


def vmap_by_samples(
    forward: Callable[..., tuple[torch.Tensor, ...]], batch_size: int, in_dims: Sequence[Any], args: Sequence[Any]
) -> tuple[tuple[torch.Tensor, ...], tuple[int, ...]]:
    """A Function's ``vmap`` rule: its ``forward`` once per sample of the vmapped axis, the outputs stacked.

    ``in_dims``: the vmapped axis of each argument (None: not vmapped). Returns
    ``(outputs, out_dims)`` as ``torch.autograd.Function.vmap`` must, every
    output vmapped along its axis 0.
    """
    per_sample = []
    for s in range(batch_size):
        sample = [a if d is None else a.select(d, s) for a, d in zip(args, in_dims)]
        per_sample.append(forward(*sample))
    outputs = tuple(torch.stack(parts) for parts in zip(*per_sample))
    return outputs, (0,) * len(outputs)


def materialize(grads: Sequence[torch.Tensor | None], like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Zeros for every gradient that autograd left undefined (the Functions turn off its own zero-filling,
    which would also fill a full-size zero gradient for each cache)."""
    return [torch.zeros_like(ref) if g is None else g for g, ref in zip(grads, like)]
