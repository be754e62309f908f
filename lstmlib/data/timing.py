"""Timing tasks: measure the gaps between spikes, generate spikes on time, generate periodic waves.

Gers, Schraudolph & Schmidhuber (2002) added *peephole connections* to LSTM
(each gate also sees its cell's state) and tested them on tasks where what
matters is *when* something happens. Their three task families, as this
module builds them:

* **Measuring spike delays (MSD)**, :func:`measure_spike_delays`. The input
  is a train of spikes (a 1 on an otherwise 0 input). Consecutive spikes are
  ``F + I(n)`` steps apart: a fixed base period ``F`` plus a small extra
  delay ``I(n)`` drawn afresh for every interval from a set of offsets. At
  each spike the network must output the delay ``I(n)`` of the interval the
  spike closes, so it must count the steps since the previous spike; the
  stream never resets. With ``F = 49`` and offsets ``{0, 1}`` it must tell
  gaps of 49 steps from gaps of 50, the distinction the paper's abstract
  highlights.
* **Generating timed spikes (GTS)**, :func:`generate_timed_spikes`. The
  roles are swapped: the network must *produce* the spikes, ``F + I(n)``
  steps apart. With the single offset ``0`` (the default) there is no input
  at all, only a spike to emit every ``F`` steps: the network must count in
  its cell state and open its output at the right step, with gates that
  see the cell state only through ``h``. Gers et al. report that the peephole
  LSTM learns such timing tasks; the chapter on peepholes measures how often
  a plain LSTM does too, in miniature.
* **Periodic function generation (PFG)**, :func:`periodic_function`. No
  input; the target is a cosine, triangle or rectangle wave of period ``F``
  that the network must generate freely, step after step.

What differs from the paper, and why:

* Gers et al. trained online (weights updated at every step) on long
  streams; here a stream is cut into a batch of ``B`` windows of ``T``
  steps, for training with backpropagation through time. Each window starts
  as if a spike had occurred just before step 0 (at step ``-1``), so the
  first spike comes at step ``F + I(1) - 1``.
* In GTS we give the extra delay ``I(n)`` of each interval as input on the
  interval's first step (the step after the previous spike). The paper
  describes GTS as MSD with inputs and targets exchanged; where exactly the
  delay is shown is our choice. With the default single offset 0 the input
  is all zeros, which matches the paper's no-input spike generator.
* The paper judged a network by whether its output stayed within a
  tolerance of the target; we return the target at every step (0 between
  spikes) and, for MSD, a mask of the spike steps where the answer is read,
  so a chapter can score every step or only the answers.
* The three wave shapes of :func:`periodic_function` are defined here to
  share one convention (value 0 at ``t = 0``, peak at half a period, range
  ``[0, 1]``); the paper used a cosine, a triangle and a rectangle wave too,
  with periods such as 10 and 25 steps.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from lstmlib._checks import check_choice, check_float_dtype, check_int_at_least, check_positive_int, check_rng

__all__ = ["measure_spike_delays", "generate_timed_spikes", "periodic_function", "spike_times", "WAVE_SHAPES"]

WAVE_SHAPES = ("cos", "triangle", "rectangle")


def _check_delays(delays: Any) -> np.ndarray:
    """``delays`` as a sorted (K,) int64 array of distinct ints >= 0."""
    if not isinstance(delays, (tuple, list)) or len(delays) == 0:
        raise TypeError(f"delays must be a non-empty tuple or list of ints >= 0; got {delays!r}")
    for value in delays:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"delays must hold ints >= 0; got {delays!r}")
        if value < 0:
            raise ValueError(f"delays must hold ints >= 0 (extra steps added to the base period); got {delays!r}")
    return np.unique(np.asarray(delays, dtype=np.int64))


def _spike_train(batch_size, length, base_period, delays, rng):
    """Validate, then draw the delays ``I(n)`` (N, B) and spike steps ``T(n)`` (N, B), N covering T steps."""
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    base_period = check_positive_int("base_period", base_period)
    offsets = _check_delays(delays)
    gen = check_rng("rng", rng)
    n_intervals = length // base_period + 1  # every interval is >= F steps, so no more spikes fit
    extra = offsets[gen.integers(0, offsets.size, size=(n_intervals, batch_size))]  # (N, B) I(n)
    times = np.cumsum(base_period + extra, axis=0) - 1  # (N, B) T(n), with T(0) = -1
    return extra, times


def _scatter(length: int, steps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A (T, B) array with ``values[n, b]`` at step ``steps[n, b]`` where that step lies in the window."""
    out = np.zeros((length, steps.shape[1]), dtype=values.dtype)
    inside = steps < length
    columns = np.broadcast_to(np.arange(steps.shape[1]), steps.shape)
    out[steps[inside], columns[inside]] = values[inside]
    return out


def spike_times(batch_size: int, length: int, base_period: int = 10, delays=(0, 1), rng=None):
    """Spike trains whose intervals are ``base_period + I(n)`` steps, ``I(n)`` drawn from ``delays``.

    Spike ``n`` (``n = 1, 2, ...``) comes at step ``T(n) = T(n - 1) + F + I(n)``
    with ``T(0) = -1`` (as if a spike had come just before the window), so
    the first comes at step ``F + I(1) - 1``. Each ``I(n)`` is drawn
    uniformly from ``delays``, independently.

    Returns:
        spikes: (T, B) bool, True at the spike steps.
        delay: (T, B) int64, ``I(n)`` at the step of spike ``n``, 0 elsewhere.
    """
    extra, times = _spike_train(batch_size, length, base_period, delays, rng)
    delay = _scatter(length, times, extra)
    spikes = _scatter(length, times, np.ones(times.shape, dtype=bool))
    return spikes, delay


def measure_spike_delays(batch_size: int, length: int, base_period: int = 10, delays=(0, 1), rng=None,
                         dtype=np.float32):
    """The MSD task: read a spike train, report at each spike how late it came.

    Args:
        batch_size: B, number of streams.
        length: T, steps per stream.
        base_period: F >= 1, the shortest interval between spikes.
        delays: the extra delays ``I(n)`` (distinct ints >= 0), drawn
            uniformly per interval. ``(0, 1)`` asks the network to tell
            intervals of ``F`` steps from intervals of ``F + 1``.
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).
        dtype: floating-point dtype of ``x`` and ``target``.

    Returns:
        x: (T, B, 1), 1 at the spike steps (see :func:`spike_times`), 0 elsewhere.
        target: (T, B, 1), ``I(n)`` at the step of spike ``n``, 0 elsewhere.
        mask: (T, B) bool, the spike steps, where the answer is read.
    """
    dtype = check_float_dtype("dtype", dtype)
    spikes, delay = spike_times(batch_size, length, base_period, delays, rng)
    return spikes[:, :, None].astype(dtype), delay[:, :, None].astype(dtype), spikes


def generate_timed_spikes(batch_size: int, length: int, base_period: int = 10, delays=(0,), rng=None,
                          dtype=np.float32):
    """The GTS task: emit a spike ``F + I(n)`` steps after the previous one.

    With the default ``delays=(0,)`` the input is all zeros and the target
    is a spike every ``base_period`` steps (at steps ``F - 1, 2F - 1, ...``):
    the network must keep time with nothing to cue it.

    With several offsets, the delay ``I(n)`` of each interval is the input
    on the interval's first step (step 0, then the step after each spike),
    and the spike is due ``F + I(n)`` steps after the previous one, at the
    same steps as the input spikes of :func:`measure_spike_delays` with the
    same arguments and seed.

    Args:
        batch_size: B, number of streams.
        length: T, steps per stream.
        base_period: F >= 1, the interval when the delay is 0.
        delays: the extra delays ``I(n)`` (distinct ints >= 0), drawn uniformly per interval.
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).
        dtype: floating-point dtype of ``x`` and ``target``.

    Returns:
        x: (T, B, 1), ``I(n)`` on the first step of interval ``n``, 0 elsewhere.
        target: (T, B, 1), 1 at the steps where a spike is due, 0 elsewhere.
    """
    dtype = check_float_dtype("dtype", dtype)
    extra, times = _spike_train(batch_size, length, base_period, delays, rng)
    first_steps = np.concatenate([np.zeros_like(times[:1]), times[:-1] + 1])  # (N, B): T(n - 1) + 1
    cue = _scatter(length, first_steps, extra)
    spikes = _scatter(length, times, np.ones(times.shape, dtype=bool))
    return cue[:, :, None].astype(dtype), spikes[:, :, None].astype(dtype)


def periodic_function(shape: str, length: int, period: int = 10, batch_size: int = 1, dtype=np.float32):
    """The PFG task: no input, and a periodic wave of ``period`` steps to generate.

    All three shapes are 0 at ``t = 0``, reach 1 at half a period and lie in ``[0, 1]``:

    * ``"cos"``: ``(1 - cos(2 pi t / F)) / 2``;
    * ``"triangle"``: ``1 - |2 (t mod F) / F - 1|``, rising and falling linearly;
    * ``"rectangle"``: 1 when ``t mod F >= F / 2``, else 0.

    Args:
        shape: one of :data:`WAVE_SHAPES`.
        length: T, steps.
        period: F >= 2, steps per period.
        batch_size: B, copies of the (deterministic) sequence.
        dtype: floating-point dtype of ``x`` and ``target``.

    Returns:
        x: (T, B, 1) zeros (the network gets no input).
        target: (T, B, 1), the wave.
    """
    check_choice("shape", shape, WAVE_SHAPES)
    length = check_positive_int("length", length)
    period = check_int_at_least("period", period, 2, " steps (a period of 1 is a constant)")
    batch_size = check_positive_int("batch_size", batch_size)
    dtype = check_float_dtype("dtype", dtype)
    t = np.arange(length)
    phase = (t % period) / period  # (T,) in [0, 1)
    if shape == "cos":
        wave = (1 - np.cos(2 * np.pi * phase)) / 2
    elif shape == "triangle":
        wave = 1 - np.abs(2 * phase - 1)
    else:
        wave = (phase >= 0.5).astype(np.float64)
    target = np.broadcast_to(wave[:, None, None], (length, batch_size, 1)).astype(dtype)
    return np.zeros((length, batch_size, 1), dtype=dtype), target
