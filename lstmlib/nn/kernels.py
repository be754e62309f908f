"""Building blocks of the fast whole-sequence kernels in :mod:`lstmlib.nn` that hold on every PyTorch version.

* :func:`project_inputs` -- the input projection of every time step as one matmul.

The version-specific tricks (oneDNN step products, tanh through the sigmoid,
one-call convolution gradients) live in :mod:`lstmlib.nn.fast_paths`, behind
its switch.
"""

from __future__ import annotations

import torch

__all__ = ["project_inputs"]


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
