"""Forecast errors in lstmlib.metrics, checked by hand: MAE, RMSE, MAPE, MASE, Diebold-Mariano, coverage, direction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lstmlib.metrics import diebold_mariano, directional_accuracy, interval_coverage, mae, mape, mase, rmse

Y = np.array([[10.0, 20.0], [20.0, 40.0]])  # two origins, two horizons
F = np.array([[12.0, 20.0], [16.0, 30.0]])  # errors: [[-2, 0], [4, 10]]


def test_errors_per_horizon_by_hand():
    np.testing.assert_allclose(mae(Y, F), [3.0, 5.0])
    np.testing.assert_allclose(rmse(Y, F), [np.sqrt(10.0), np.sqrt(50.0)])
    np.testing.assert_allclose(mape(Y, F), [100 * (0.2 + 0.2) / 2, 100 * (0 + 0.25) / 2])
    assert mae(Y[:, 0], F[:, 0]) == pytest.approx(3.0)  # (N,) in, a number out


def test_mase_divides_by_the_seasonal_naive_training_error():
    train = np.array([1.0, 3.0, 2.0, 6.0, 3.0])  # period 2: |2-1|, |6-3|, |3-2| -> mean 5/3
    np.testing.assert_allclose(mase(Y, F, train, period=2), [3.0 / (5 / 3), 5.0 / (5 / 3)])
    # period 1: |2|, |1|, |4|, |3| -> 2.5
    np.testing.assert_allclose(mase(Y, F, train), [3.0 / 2.5, 5.0 / 2.5])


def test_diebold_mariano_by_hand_for_one_step():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 50), rng.normal(0, 1.5, 50)
    d = a ** 2 - b ** 2
    n = d.size
    dm = d.mean() / np.sqrt(d.var() / n)  # lag-0 variance only, for h = 1
    corrected = dm * np.sqrt((n - 1) / n)  # Harvey-Leybourne-Newbold with h = 1: sqrt((n + 1 - 2) / n)
    statistic, p = diebold_mariano(a, b)
    assert statistic == pytest.approx(corrected) and p == pytest.approx(2 * stats.t.sf(abs(corrected), n - 1))
    assert diebold_mariano(b, a)[0] == pytest.approx(-statistic)  # symmetric
    assert statistic < 0  # a has the smaller errors


def test_diebold_mariano_counts_the_overlap_of_multi_step_errors():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 200), rng.normal(0, 1.2, 200)
    d = np.abs(a) - np.abs(b)
    n, centred = d.size, d - d.mean()
    gamma = [centred[k:] @ centred[:n - k] / n for k in range(3)]
    expected = np.sqrt((n + 1 - 6 + 3 * 2 / n) / n) * d.mean() / np.sqrt((gamma[0] + 2 * (gamma[1] + gamma[2])) / n)
    assert diebold_mariano(a, b, horizon=3, power=1)[0] == pytest.approx(expected)


def test_equal_forecasts_are_rarely_called_different():
    rng = np.random.default_rng(2)
    p_values = [diebold_mariano(rng.normal(size=100), rng.normal(size=100))[1] for _ in range(400)]
    assert 0.02 < np.mean(np.array(p_values) < 0.05) < 0.09  # about 5 % false alarms at the 5 % level


def test_coverage_and_direction_by_hand():
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    np.testing.assert_allclose(interval_coverage(y, y - 1, y + 1), [1.0])
    np.testing.assert_allclose(interval_coverage(y, np.full_like(y, 1.5), np.full_like(y, 3.0)), [0.5])
    last = np.array([1.0, 1.0, 1.0, 1.0])
    truth, guess = np.array([2.0, 0.0, 1.0, 3.0]), np.array([1.5, 1.2, 5.0, 1.0])
    # moves: up (called up), down (called up), none (dropped), up (no call: wrong)
    assert directional_accuracy(truth, guess, last) == pytest.approx(1 / 3)


@pytest.mark.parametrize("call, match", [
    (lambda: mae(Y, F[:, :1]), r"y_pred must have the shape of y_true \(2, 2\) \(N, H\); got \(2, 1\)"),
    (lambda: mape(np.array([0.0, 1.0]), np.array([1.0, 1.0])), r"y_true must not contain 0 for MAPE"),
    (lambda: mase(Y, F, np.ones(4), 2), r"train must not repeat exactly every period steps"),
    (lambda: mase(Y, F, np.ones(2), 2), r"train must be a 1-D series longer than period=2; got shape \(2,\)"),
    (lambda: diebold_mariano(np.ones(5), np.ones(5)), r"the loss differential has no variance"),
    (lambda: rmse(np.array([np.nan]), np.array([1.0])), r"y_true and y_pred must be finite"),
    (lambda: interval_coverage(Y, F + 1, F), r"lower must not exceed upper anywhere"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_diebold_mariano_falls_back_to_tapered_weights_when_the_plain_variance_is_negative():
    # alternating loss differentials: strongly negative odd-lag autocovariances
    d_sign = np.tile([1.0, -1.0], 50)
    a = np.sqrt(2.0 + 0.5 * d_sign + 0.1 * np.random.default_rng(3).normal(size=100) ** 2)
    b = np.full(100, np.sqrt(2.0))
    d = a ** 2 - b ** 2
    centred = d - d.mean()
    assert centred @ centred + 2 * (centred[1:] @ centred[:-1]) < 0  # the plain estimate would be negative
    statistic, p = diebold_mariano(a, b, horizon=2)
    gamma0, gamma1 = centred @ centred / 100, centred[1:] @ centred[:-1] / 100
    expected = np.sqrt((100 + 1 - 4 + 2 / 100) / 100) * d.mean() / np.sqrt((gamma0 + gamma1) / 100)
    assert statistic == pytest.approx(expected) and 0 <= p <= 1
