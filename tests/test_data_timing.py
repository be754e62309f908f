"""The timing tasks of lstmlib.data.timing (after Gers, Schraudolph & Schmidhuber 2002)."""

from __future__ import annotations

import numpy as np
import pytest

from lstmlib.data.timing import (
    WAVE_SHAPES,
    generate_timed_spikes,
    measure_spike_delays,
    periodic_function,
    spike_times,
)


def spike_steps(column: np.ndarray) -> np.ndarray:
    return np.flatnonzero(column)


@pytest.mark.parametrize("base_period, delays", [(10, (0, 1)), (5, (0, 2, 3)), (1, (0,)), (49, (0, 1))])
def test_measure_spike_delays_targets_are_the_extra_delays_at_the_spikes(base_period, delays):
    x, target, mask = measure_spike_delays(8, 400, base_period, delays, rng=0)
    assert x.shape == target.shape == (400, 8, 1) and x.dtype == target.dtype == np.float32
    assert mask.shape == (400, 8) and mask.dtype == bool
    assert np.array_equal(mask, x[:, :, 0] == 1) and set(np.unique(x)) <= {0.0, 1.0}
    assert np.all(target[~mask] == 0)  # nothing to report between spikes
    for b in range(8):
        steps = spike_steps(x[:, b, 0])
        gaps = np.diff(np.concatenate([[-1], steps]))  # the first gap counts from step -1
        assert np.array_equal(target[steps, b, 0], gaps - base_period)
        assert set(gaps - base_period) <= set(delays)
        assert 400 - 1 - steps[-1] < base_period + max(delays)  # the train runs to the end of the window
    seen = target[mask].ravel()
    assert set(seen) == set(delays)  # every offset occurs


def test_delays_are_drawn_uniformly():
    _, target, mask = measure_spike_delays(200, 500, 5, (0, 1, 2), rng=1)
    counts = np.bincount(target[mask].astype(int).ravel(), minlength=3)
    assert np.allclose(counts / counts.sum(), 1 / 3, atol=0.02)


def test_spike_times_gives_the_same_trains_as_bools_and_ints():
    spikes, delay = spike_times(3, 60, 7, (0, 3), rng=2)
    x, target, mask = measure_spike_delays(3, 60, 7, (0, 3), rng=2)
    assert spikes.dtype == bool and delay.dtype == np.int64
    assert np.array_equal(spikes, mask) and np.array_equal(delay, target[:, :, 0])


def test_generate_timed_spikes_without_cues_is_a_spike_every_period():
    x, target = generate_timed_spikes(3, 100, base_period=10, rng=3)
    assert x.shape == target.shape == (100, 3, 1) and x.dtype == target.dtype == np.float32
    assert np.all(x == 0)  # no input at all
    expected = (np.arange(100) % 10 == 9).astype(np.float32)  # steps 9, 19, ..., 99
    assert np.array_equal(target[:, :, 0], np.repeat(expected[:, None], 3, axis=1))


def test_generate_timed_spikes_with_cues_shows_each_delay_when_its_interval_starts():
    F, delays = 6, (0, 1, 4)
    x, target = generate_timed_spikes(5, 200, F, delays, rng=4)
    msd_x, msd_target, _ = measure_spike_delays(5, 200, F, delays, rng=4)
    assert np.array_equal(target, msd_x)  # the spikes to produce are MSD's input spikes
    for b in range(5):
        steps = spike_steps(target[:, b, 0])
        starts = np.concatenate([[0], steps + 1])  # interval n starts on the step after spike n - 1
        # each complete interval announces the delay that MSD reports at its closing spike
        assert np.array_equal(x[starts[:-1], b, 0], msd_target[steps, b, 0])
        # nothing else is shown, except the delay of an interval still running at the window's end
        others = np.setdiff1d(np.arange(200), starts)
        assert np.all(x[others, b, 0] == 0)
        if starts[-1] < 200:
            assert x[starts[-1], b, 0] in delays


@pytest.mark.parametrize("period", [10, 25, 7])
def test_periodic_functions_have_the_documented_shape(period):
    t = np.arange(3 * period)
    phase = (t % period) / period
    expected = {
        "cos": 0.5 * (1 - np.cos(2 * np.pi * t / period)),
        "triangle": np.where(phase <= 0.5, 2 * phase, 2 - 2 * phase),
        "rectangle": (t % period >= period / 2).astype(float),
    }
    for shape in WAVE_SHAPES:
        x, target = periodic_function(shape, 3 * period, period, batch_size=2, dtype=np.float64)
        assert x.shape == target.shape == (3 * period, 2, 1) and np.all(x == 0)
        assert np.allclose(target[:, 0, 0], expected[shape], atol=1e-12), shape
        assert np.array_equal(target[:, 0], target[:, 1])
        assert target[0, 0, 0] == 0 and target.min() >= 0 and target.max() <= 1
        assert np.array_equal(target[period:], target[:-period])  # periodic with the given period
    on = periodic_function("rectangle", 10, 10)[1][:, 0, 0]
    assert on.sum() == 5  # an even period is half on, half off


def test_same_seed_same_data_and_a_generator_is_advanced():
    a = measure_spike_delays(3, 80, rng=5)
    b = measure_spike_delays(3, 80, rng=np.random.default_rng(5))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    gen = np.random.default_rng(5)
    first, second = measure_spike_delays(3, 80, rng=gen)[0], measure_spike_delays(3, 80, rng=gen)[0]
    assert np.array_equal(first, a[0]) and not np.array_equal(first, second)


@pytest.mark.parametrize("call, error, match", [
    (lambda: measure_spike_delays(0, 10), ValueError, "batch_size must be a positive int"),
    (lambda: measure_spike_delays(2, 1.5), TypeError, "length must be a positive int; got float"),
    (lambda: measure_spike_delays(2, 10, base_period=0), ValueError, "base_period must be a positive int"),
    (lambda: measure_spike_delays(2, 10, delays=()), TypeError, "delays must be a non-empty tuple or list"),
    (lambda: measure_spike_delays(2, 10, delays=1), TypeError, "delays must be a non-empty tuple or list"),
    (lambda: measure_spike_delays(2, 10, delays=(0, 1.5)), TypeError, r"delays must hold ints >= 0; got \(0, 1.5\)"),
    (lambda: measure_spike_delays(2, 10, delays=(0, True)), TypeError, "delays must hold ints"),
    (lambda: measure_spike_delays(2, 10, delays=(0, -1)), ValueError, r"delays must hold ints >= 0 .*got \(0, -1\)"),
    (lambda: measure_spike_delays(2, 10, rng=-3), ValueError, "rng must be a non-negative int seed"),
    (lambda: measure_spike_delays(2, 10, dtype=np.int64), TypeError, "dtype must be a floating-point"),
    (lambda: generate_timed_spikes(2, 10, base_period=2.0), TypeError, "base_period must be a positive int"),
    (lambda: generate_timed_spikes(2, 10, rng="seed"), TypeError, "rng must be None, an int seed"),
    (lambda: spike_times(2, 0), ValueError, "length must be a positive int"),
    (lambda: periodic_function("sine", 10), ValueError, "shape must be one of 'cos', 'triangle', 'rectangle'"),
    (lambda: periodic_function("cos", 10, period=1), ValueError, "period must be at least 2"),
    (lambda: periodic_function("cos", 0), ValueError, "length must be a positive int"),
    (lambda: periodic_function("cos", 10, batch_size=0), ValueError, "batch_size must be a positive int"),
    (lambda: periodic_function("cos", 10, dtype="int8"), TypeError, "dtype must be a floating-point"),
])
def test_bad_arguments_are_rejected_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
