"""The adding problem of Hochreiter & Schmidhuber (1997): generator and baseline."""

from __future__ import annotations

import numpy as np
import pytest

from lstmlib.data.adding import CONSTANT_PREDICTOR_MSE, adding_problem


def test_shapes_dtypes_and_value_range():
    x, target = adding_problem(batch_size=5, length=12, rng=0)
    assert x.shape == (12, 5, 2) and x.dtype == np.float32
    assert target.shape == (5,) and target.dtype == np.float32
    values = x[:, :, 0]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert target.min() >= 0.0 and target.max() < 2.0


def test_dtype_argument_sets_both_dtypes():
    x, target = adding_problem(3, 6, rng=0, dtype=np.float64)
    assert x.dtype == np.float64 and target.dtype == np.float64


@pytest.mark.parametrize("length", [2, 3, 7, 50])
def test_one_mark_in_each_half_and_the_target_is_their_sum(length):
    x, target = adding_problem(40, length, rng=1, dtype=np.float64)
    markers = x[:, :, 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    for b in range(40):
        marked = np.flatnonzero(markers[:, b])
        assert marked.size == 2, (b, marked)
        assert marked[0] < half <= marked[1], (b, marked)
        # exact: the target is computed from the very numbers stored in x
        assert target[b] == x[marked[0], b, 0] + x[marked[1], b, 0]


def test_float32_target_is_the_sum_of_the_stored_float32_values():
    x, target = adding_problem(30, 9, rng=2)
    marked = x[:, :, 1] == 1
    assert np.array_equal(target, (x[:, :, 0] * marked).sum(axis=0, dtype=np.float32))


def test_marks_reach_every_position_of_their_half():
    x, _ = adding_problem(4000, 10, rng=3)
    counts = x[:, :, 1].sum(axis=1)  # how often each step is marked
    # each half has 5 steps and one mark per sequence: about 4000 / 5 = 800 each
    assert np.all(np.abs(counts - 800) < 120), counts


def test_constant_predictor_mse_is_the_variance_of_the_target():
    assert CONSTANT_PREDICTOR_MSE == pytest.approx(1 / 6)
    _, target = adding_problem(200_000, 4, rng=4, dtype=np.float64)
    assert target.mean() == pytest.approx(1.0, abs=0.005)
    # the best constant is the mean; its MSE is the variance, 2 * Var(uniform(0, 1)) = 1/6
    assert np.mean((target - 1.0) ** 2) == pytest.approx(CONSTANT_PREDICTOR_MSE, abs=0.002)


def test_same_seed_same_data_and_a_generator_is_advanced():
    a, ta = adding_problem(4, 8, rng=5)
    b, tb = adding_problem(4, 8, rng=np.random.default_rng(5))
    assert np.array_equal(a, b) and np.array_equal(ta, tb)
    gen = np.random.default_rng(5)
    first, _ = adding_problem(4, 8, rng=gen)
    second, _ = adding_problem(4, 8, rng=gen)
    assert np.array_equal(first, a) and not np.array_equal(first, second)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0, length=5), ValueError, "batch_size must be a positive int"),
    (dict(batch_size=2.0, length=5), TypeError, "batch_size must be a positive int; got float"),
    (dict(batch_size=2, length=1), ValueError, r"length must be at least 2 .*got 1"),
    (dict(batch_size=2, length=0), ValueError, "length must be a positive int"),
    (dict(batch_size=2, length=True), TypeError, "length must be a positive int; got bool"),
    (dict(batch_size=2, length=5, rng="seed"), TypeError, "rng must be None, an int seed"),
    (dict(batch_size=2, length=5, rng=-1), ValueError, "rng must be a non-negative int seed; got -1"),
    (dict(batch_size=2, length=5, dtype=np.int64), TypeError, "dtype must be a floating-point NumPy dtype"),
])
def test_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        adding_problem(**kwargs)
