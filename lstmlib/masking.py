"""Masks for padded batches: which steps are real, and losses averaged over those only.

A batch of sequences of different lengths is stored padded to the longest,
``(T, B, ...)``. Whatever a model outputs at the padded steps is meaningless,
so a loss must leave them out. :func:`lengths_to_mask` turns the lengths into
a boolean mask, :func:`masked_mean` averages over the True entries only, and
:func:`last_valid` picks each sequence's output at its own last real step.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from lstmlib import _checks

__all__ = ["lengths_to_mask", "masked_mean", "last_valid"]


def _check_lengths(lengths: Any) -> torch.Tensor:
    """``lengths`` (a 1-D int tensor, array or sequence, every entry >= 1) as a (B,) int64 tensor."""
    if isinstance(lengths, torch.Tensor):
        tensor = lengths
    elif isinstance(lengths, (np.ndarray, list, tuple)):
        if isinstance(lengths, (list, tuple)) and not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in lengths
        ):
            raise TypeError(f"lengths must hold ints; got {list(lengths)!r}")
        tensor = torch.as_tensor(np.asarray(lengths))
    else:
        raise TypeError(
            f"lengths must be a 1-D tensor, array or list of ints (one length per sequence); "
            f"got {type(lengths).__name__}"
        )
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(f"lengths must have an integer dtype; got {str(tensor.dtype).replace('torch.', '')}")
    _checks.check_rank("lengths", tensor, (1,), "(B,)")
    if tensor.numel() == 0:
        raise ValueError("lengths must hold at least one sequence length; got an empty (0,) tensor")
    if bool((tensor < 1).any()):
        raise ValueError(
            f"lengths must all be >= 1 (an empty sequence has no step to keep); got {tensor.tolist()}"
        )
    return tensor.long()


def lengths_to_mask(lengths: Any, T: int | None = None,
                    batch_first: bool = False) -> torch.Tensor:
    """Boolean mask of the real (unpadded) steps: ``mask[t, b] = t < lengths[b]``.

    Args:
        lengths: ``(B,)`` ints >= 1, each sequence's number of real steps
            (a tensor, NumPy array or list; the lengths that
            ``pad_packed_sequence`` returns fit).
        T: number of steps of the padded batch; default ``max(lengths)``.
            Must be at least ``max(lengths)``.
        batch_first: return ``(B, T)`` instead of the time-major ``(T, B)``.

    Returns:
        ``(T, B)`` bool tensor (``(B, T)`` with ``batch_first``), on the
        device of ``lengths`` if it is a tensor, else on the CPU.
    """
    lengths = _check_lengths(lengths)
    _checks.check_bool("batch_first", batch_first)
    longest = int(lengths.max())
    if T is None:
        T = longest
    T = _checks.check_positive_int("T", T)
    if T < longest:
        raise ValueError(f"T must be at least the longest length ({longest}) "
                         f"so every real step fits; got T={T}")
    steps = torch.arange(T, device=lengths.device)  # (T,)
    mask = steps.unsqueeze(1) < lengths.unsqueeze(0)  # (T, B): t < length
    return mask.t() if batch_first else mask


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``values`` over the entries where ``mask`` is True, the padded ones left out.

    Args:
        values: floating tensor, e.g. a per-step loss ``(T, B)`` from
            ``cross_entropy(..., reduction="none")``, or ``(T, B, D)``.
        mask: bool tensor whose shape is the leading part of ``values.shape``
            (``(T, B)`` for both examples); it is broadcast over the trailing axes.
        dim: None for one mean over every kept entry (each real step of each
            sequence weighs the same); or an axis of ``mask``, e.g. the time
            axis, for one mean per remaining index (per sequence).

    Returns:
        a scalar with ``dim=None``; otherwise ``values`` reduced over ``dim``
        (and over the trailing axes that ``mask`` does not have).
    """
    _checks.check_array_type("values", values, torch.Tensor, "a torch.Tensor")
    _checks.check_array_type("mask", mask, torch.Tensor, "a bool torch.Tensor")
    _checks.check_floating("values", values)
    _checks.check_dtype("mask", mask, "bool", " (True = a real step)")
    if mask.ndim == 0 or mask.ndim > values.ndim or tuple(values.shape[: mask.ndim]) != tuple(mask.shape):
        raise ValueError(
            f"mask must have the leading shape of values {tuple(values.shape)} (e.g. (T, B) for values (T, B) "
            f"or (T, B, D)); got mask shape {tuple(mask.shape)}"
        )
    if dim is not None:
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"dim must be None or an int axis of mask; got {type(dim).__name__} {dim!r}")
        if not -mask.ndim <= dim < mask.ndim:
            raise ValueError(f"dim must be an axis of mask (shape {tuple(mask.shape)}), in "
                             f"[{-mask.ndim}, {mask.ndim - 1}]; got {dim}")
        dim = dim % mask.ndim
    # Broadcast the mask over the trailing axes of values: (T, B) -> (T, B, 1, ...).
    keep = mask.reshape(mask.shape + (1,) * (values.ndim - mask.ndim))
    # where(), not values * mask: a NaN or inf at a padded step must not leak into the mean.
    kept = torch.where(keep, values, values.new_zeros(()))
    counted = keep.expand_as(values).to(values.dtype)  # 1 for every entry that counts
    if dim is None:
        count = counted.sum()
        if count == 0:
            raise ValueError("mask must keep at least one entry; it is False everywhere")
        return kept.sum() / count
    axes = (dim,) + tuple(range(mask.ndim, values.ndim))  # the chosen axis and the trailing ones
    count = counted.sum(dim=axes)
    if bool((count == 0).any()):
        empty = torch.nonzero(count == 0).flatten().tolist()
        raise ValueError(f"mask must keep at least one entry along dim={dim} for every index; "
                         f"none kept at {empty}")
    return kept.sum(dim=axes) / count


def last_valid(output: torch.Tensor, lengths: Any, batch_first: bool = False) -> torch.Tensor:
    """Each sequence's output at its own last real step: ``output[lengths[b] - 1, b]``.

    On a padded batch ``output[-1]`` is the state after the padding for every
    shorter sequence; this picks the right step instead. For one direction it
    equals ``h_n[-1]`` of the same layer run on the packed batch.

    Args:
        output: ``(T, B, F)`` (``(B, T, F)`` with ``batch_first``).
        lengths: ``(B,)`` ints in ``1 .. T``.
        batch_first: the layout of ``output``.

    Returns:
        ``(B, F)``.
    """
    _checks.check_array_type("output", output, torch.Tensor, "a torch.Tensor")
    _checks.check_bool("batch_first", batch_first)
    _checks.check_rank("output", output, (3,), "(B, T, F)" if batch_first else "(T, B, F)")
    lengths = _check_lengths(lengths)
    time_axis, batch_axis = (1, 0) if batch_first else (0, 1)
    T, B = output.shape[time_axis], output.shape[batch_axis]
    if lengths.numel() != B:
        raise ValueError(f"lengths must hold one length per sequence (B={B}); got {lengths.numel()} lengths")
    if bool((lengths > T).any()):
        raise ValueError(f"lengths must all be <= T={T}, the number of steps of output; got {lengths.tolist()}")
    last = (lengths - 1).to(output.device)  # (B,) index of each sequence's last real step
    batch = torch.arange(B, device=output.device)  # (B,)
    return output[batch, last] if batch_first else output[last, batch]  # (B, F)
