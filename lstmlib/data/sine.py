"""Sine waves of random period and phase: the smallest sequence-generation task.

A pure sinusoid obeys ``x_{t+1} = 2 cos(w) x_t - x_{t-1}`` (with
``w = 2 pi / period``), so its next value follows from the last two once the
period is known. A model that predicts the next value must infer the period
from what it has seen and keep it: a little memory, and a task where feeding
a model its own predictions (running it free) shows how errors compound.
"""

from __future__ import annotations

import numbers

import numpy as np

from lstmlib._checks import check_float_dtype, check_positive_int, check_range, check_rng

__all__ = ["sine_waves"]


def sine_waves(batch_size: int, length: int, periods=(10.0, 30.0), noise: float = 0.0, rng=None,
               dtype=np.float32) -> np.ndarray:
    """``B`` sine waves ``x_t = sin(2 pi t / P_b + phi_b)``, one per sequence, plus optional noise.

    Each sequence ``b`` draws its period ``P_b`` uniformly from ``periods``
    (in time steps) and its phase ``phi_b`` uniformly from ``[0, 2 pi)``;
    the amplitude is 1.

    Args:
        batch_size: B, number of sequences.
        length: T, steps per sequence.
        periods: ``(low, high)``, the range of periods, ``2 < low <= high``.
        noise: standard deviation of Gaussian noise added to every value (>= 0).
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).
        dtype: floating-point dtype of the result.

    Returns:
        x: ``(T, B, 1)``, time-major with one feature, ready for ``torch.from_numpy``.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    # A period of 2 steps or less is aliased: sampled once per step it is not a sine any more.
    low, high = check_range("periods", periods, 2.0, strict=True, unit=" (in time steps)")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0 (a standard deviation); got {noise!r}")
    dtype = check_float_dtype("dtype", dtype)
    gen = check_rng("rng", rng)
    period = gen.uniform(low, high, size=batch_size)  # (B,)
    phase = gen.uniform(0.0, 2 * np.pi, size=batch_size)  # (B,)
    t = np.arange(length)[:, None]  # (T, 1)
    x = np.sin(2 * np.pi * t / period + phase)  # (T, B)
    if noise > 0:
        x = x + noise * gen.standard_normal(x.shape)
    return x[:, :, None].astype(dtype)  # (T, B, 1)
