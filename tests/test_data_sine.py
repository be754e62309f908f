"""The sine-wave generator of lstmlib.data.sine."""

from __future__ import annotations

import numpy as np
import pytest

from lstmlib.data.sine import sine_waves


def test_shape_dtype_and_amplitude():
    x = sine_waves(batch_size=4, length=50, rng=0)
    assert x.shape == (50, 4, 1) and x.dtype == np.float32
    assert np.abs(x).max() <= 1.0
    assert sine_waves(2, 5, rng=0, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("periods", [(10.0, 30.0), (4.0, 6.0), (12.0, 12.0)])
def test_each_sequence_is_a_pure_sinusoid_with_a_period_in_range(periods):
    # A sinusoid of angular frequency w obeys x_{t+1} + x_{t-1} = 2 cos(w) x_t at every t.
    x = sine_waves(6, 80, periods=periods, rng=1, dtype=np.float64)[:, :, 0]  # (T, B)
    for b in range(6):
        s = x[:, b]
        two_cos = np.linalg.lstsq(s[1:-1, None], s[2:] + s[:-2], rcond=None)[0][0]
        assert np.allclose(s[2:] + s[:-2], two_cos * s[1:-1], atol=1e-12)
        period = 2 * np.pi / np.arccos(two_cos / 2)
        assert periods[0] - 1e-6 <= period <= periods[1] + 1e-6


def test_noise_has_the_requested_standard_deviation():
    clean = sine_waves(200, 100, rng=2, dtype=np.float64)
    noisy = sine_waves(200, 100, noise=0.1, rng=2, dtype=np.float64)
    assert np.std(noisy - clean) == pytest.approx(0.1, rel=0.02)  # same periods and phases, then noise


def test_same_seed_same_waves_and_a_generator_is_advanced():
    a = sine_waves(3, 20, rng=5)
    assert np.array_equal(a, sine_waves(3, 20, rng=np.random.default_rng(5)))
    gen = np.random.default_rng(5)
    first, second = sine_waves(3, 20, rng=gen), sine_waves(3, 20, rng=gen)
    assert np.array_equal(first, a) and not np.array_equal(first, second)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(batch_size=0, length=5), ValueError, "batch_size must be a positive int"),
        (dict(batch_size=2, length=2.5), TypeError, "length must be a positive int"),
        (dict(batch_size=2, length=5, periods=10), TypeError, r"periods must be a pair \(low, high\)"),
        (dict(batch_size=2, length=5, periods=(5, "a")), TypeError, "finite numbers"),
        (dict(batch_size=2, length=5, periods=(20, 10)), ValueError, r"2 < low <= high"),
        (dict(batch_size=2, length=5, periods=(2, 10)), ValueError, r"2 < low <= high"),
        (dict(batch_size=2, length=5, noise=-0.1), ValueError, "noise must be a finite number >= 0"),
        (dict(batch_size=2, length=5, noise=float("nan")), ValueError, "noise must be a finite number"),
        (dict(batch_size=2, length=5, rng="seed"), TypeError, "rng must be None, an int seed"),
        (dict(batch_size=2, length=5, dtype=np.int32), TypeError, "dtype must be a floating-point"),
    ],
)
def test_bad_arguments_are_rejected_with_a_clear_message(kwargs, error, match):
    with pytest.raises(error, match=match):
        sine_waves(**kwargs)
