"""The adding problem: add two numbers that appear far apart in a long sequence.

Hochreiter & Schmidhuber (1997, experiment 4) built this task to show that an
LSTM bridges time lags a plain recurrent network cannot. Each step shows a
pair ``(value, marker)``. The values are random; exactly two steps carry the
marker 1, every other step 0. After the last step the network must output the
sum of the two marked values. Everything between and after the marks is
noise to be ignored, so the network must notice the first marked value, keep
it for up to ``T - 1`` steps, and add the second to it.

This module generates the simplified form that most later work uses: values
uniform in [0, 1], one mark in the first half of the sequence and one in the
second half, target the plain sum. (The original drew values from [-1, 1],
put the first mark in the first ten steps and scaled the target to
``0.5 + (X_1 + X_2) / 4``.) A model that ignores the inputs can do no better
than predict the mean of the target, 1; its mean squared error is the
target's variance, ``2 * (1/12) = 1/6`` (:data:`CONSTANT_PREDICTOR_MSE`).
"""

from __future__ import annotations

import numpy as np

from lstmlib._checks import check_float_dtype, check_int_at_least, check_positive_int, check_rng

__all__ = ["adding_problem", "CONSTANT_PREDICTOR_MSE"]

# Var(X_1 + X_2) for two independent uniform(0, 1) values: 1/12 + 1/12.
CONSTANT_PREDICTOR_MSE = 1.0 / 6.0


def adding_problem(batch_size: int, length: int, rng=None, dtype=np.float32):
    """Draw ``batch_size`` sequences of the adding problem, time-major.

    Args:
        batch_size: B, number of sequences.
        length: T >= 2, steps per sequence (the two marks need two steps).
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).
        dtype: floating-point dtype of ``x`` and ``target``.

    Returns:
        x: (T, B, 2). Channel 0 holds the values, uniform in [0, 1); channel 1
           the marker: 1 at exactly two steps per sequence, one in the first
           half ``0 .. T//2 - 1`` and one in the second half ``T//2 .. T-1``,
           0 elsewhere.
        target: (B,), the sum of the two marked values, in [0, 2).
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_int_at_least("length", length, 2, " (one step for each of the two marks)")
    dtype = check_float_dtype("dtype", dtype)
    gen = check_rng("rng", rng)  # names the argument, also for a negative seed
    half = length // 2
    values = gen.random((length, batch_size))  # (T, B), uniform in [0, 1)
    # one mark in each half, so the two marked steps are never the same step
    first = gen.integers(0, half, size=batch_size)  # (B,)
    second = gen.integers(half, length, size=batch_size)  # (B,)
    batch = np.arange(batch_size)
    markers = np.zeros((length, batch_size))
    markers[first, batch] = 1.0
    markers[second, batch] = 1.0
    x = np.stack([values, markers], axis=2).astype(dtype)  # (T, B, 2)
    # computed from the stored (possibly rounded) values, so target is exact for x
    target = x[first, batch, 0] + x[second, batch, 0]  # (B,)
    return x, target.astype(dtype)
