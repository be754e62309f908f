"""lstmlib.forecasting and lstmlib.lstm_forecasting: splits, windows, baselines, and that nothing looks ahead."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lstmlib.forecasting import (
    Arima,
    HoltWinters,
    LinearAR,
    Scaler,
    chronological_split,
    forecast_origins,
    make_windows,
    persistence_forecast,
    seasonal_naive_forecast,
)
from lstmlib.lstm_forecasting import TrainedForecaster, train_forecaster
from lstmlib.models.forecaster import ForecasterConfig

PERIOD = 12


def seasonal_series(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy seasonal series with a drifting level, and its calendar (sin/cos of the phase): (T,), (T, 2)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 10 + 3 * np.sin(2 * np.pi * t / PERIOD) + np.cumsum(rng.normal(0, 0.3, n)) + rng.normal(0, 0.5, n)
    calendar = np.stack([np.sin(2 * np.pi * t / PERIOD), np.cos(2 * np.pi * t / PERIOD)], axis=1)
    return values, calendar


def moved_after(values: np.ndarray, origin: int, seed: int) -> np.ndarray:
    """``values`` with every value after ``origin`` replaced by something else entirely."""
    changed = values.copy()
    changed[origin + 1:] += np.random.default_rng(seed).normal(0, 50, values.size - origin - 1) + 100
    return changed


def assert_does_not_look_ahead(forecast, values, origins, horizon):
    """Perturb everything after each origin; that origin's forecast must not move (to the last bit).

    Each origin is forecast on its own both times: a network's float32 sums may
    round differently in a batch of another size, which is no leak.
    """
    for k, origin in enumerate(origins):
        reference = forecast(values, origins[k:k + 1], horizon)
        again = forecast(moved_after(values, origin, seed=k), origins[k:k + 1], horizon)
        np.testing.assert_array_equal(again, reference, err_msg=f"origin {origin} saw the future")


def fitted_methods(values, calendar, split, horizon):
    """Every forecaster of the chapter as ``forecast(values, origins, horizon)``, fitted on the training part."""
    train = values[split.train]
    trend_hw = HoltWinters(PERIOD, trend=True).fit(train)
    arima = Arima((1, 0, 1)).fit(train, calendar[split.train])
    seasonal_arima = Arima((1, 0, 0), seasonal_difference=PERIOD).fit(train)
    methods = {
        "persistence": persistence_forecast,
        "seasonal naive": lambda v, o, h: seasonal_naive_forecast(v, o, h, PERIOD),
        "linear AR": LinearAR((1, 2, PERIOD)).fit(train).forecast,
        "Holt-Winters": HoltWinters(PERIOD).fit(train).forecast,
        "Holt-Winters with trend": trend_hw.forecast,
        "ARIMA with calendar": lambda v, o, h: arima.forecast(v, o, h, calendar),
        "seasonal ARIMA": seasonal_arima.forecast,
    }
    for strategy in ("direct", "recursive", "seq2seq"):
        for relative, season in ((False, None), (True, None), (False, PERIOD)):
            config = ForecasterConfig(covariate_size=2, hidden_size=8, horizon=horizon, strategy=strategy)
            lstm, _ = train_forecaster(values, calendar, split, config, lookback=10, steps=3, relative=relative,
                                       season=season)
            lstm.margin = np.full(horizon, 0.25)  # calibrated intervals must not look ahead either
            methods[f"LSTM {strategy} relative={relative} season={season}"] = (
                lambda v, o, h, lstm=lstm: lstm.forecast(v, calendar, o).reshape(o.size, -1))
            methods[f"LSTM {strategy} relative={relative} season={season} recalibrated"] = (
                lambda v, o, h, lstm=lstm: lstm.forecast_recalibrated(v, calendar, o, 30).reshape(o.size, -1))
    return methods


def test_no_forecast_moves_when_the_future_changes():
    values, calendar = seasonal_series()
    split = chronological_split(values.size, test_size=48, validation_size=24)
    horizon = 4
    origins = forecast_origins(split, horizon, "test", stride=7)
    for name, forecast in fitted_methods(values, calendar, split, horizon).items():
        assert_does_not_look_ahead(forecast, values, origins, horizon), name


def test_the_leakage_check_catches_a_forecaster_that_peeks():
    values, _ = seasonal_series()
    origins = np.array([100, 150])

    def peeks(v, o, h):  # "forecasts" the next value by reading it
        return np.repeat(v[o + 1][:, None], h, axis=1)

    with pytest.raises(AssertionError, match="origin 100 saw the future"):
        assert_does_not_look_ahead(peeks, values, origins, 3)


def test_the_scaler_and_the_training_windows_see_only_the_training_part():
    values, calendar = seasonal_series()
    split = chronological_split(values.size, test_size=48, validation_size=24)
    config = ForecasterConfig(covariate_size=2, hidden_size=8, horizon=3)
    lstm, _ = train_forecaster(values, calendar, split, config, lookback=10, steps=5, seed=1)
    assert lstm.scaler == Scaler.fit(values[split.train])
    later = values.copy()
    later[split.train_end:] = 1e6  # validation and test replaced: the trained model must be identical
    lstm_later, _ = train_forecaster(later, calendar, split, config, lookback=10, steps=5, seed=1)
    for (name, a), b in zip(lstm.model.state_dict().items(), lstm_later.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_split_and_origins_by_hand():
    split = chronological_split(20, test_size=5, validation_size=3)
    assert (split.train, split.validation, split.test) == (slice(0, 12), slice(12, 15), slice(15, 20))
    # the first origin is the step before the part; the last leaves room for the horizon
    np.testing.assert_array_equal(forecast_origins(split, 2), [14, 15, 16, 17])
    np.testing.assert_array_equal(forecast_origins(split, 1, "validation"), [11, 12, 13])
    np.testing.assert_array_equal(forecast_origins(split, 2, "train", stride=4), [0, 4, 8])


@pytest.mark.parametrize("call, error, match", [
    (lambda: chronological_split(10, test_size=6, validation_size=4), ValueError,
     r"test_size \+ validation_size must leave training data \(< n=10\); got 6 \+ 4"),
    (lambda: chronological_split(10, test_size=0), ValueError, r"test_size must be a positive int \(>= 1\); got 0"),
    (lambda: forecast_origins(chronological_split(10, test_size=3), 4), ValueError,
     r"horizon must fit in the test part \(3 steps\); got 4"),
    (lambda: forecast_origins(chronological_split(10, test_size=3), 1, "future"), ValueError,
     r"part must be one of 'train', 'validation', 'test'; got 'future'"),
    (lambda: persistence_forecast(np.arange(10.0), np.array([10]), 2), ValueError,
     r"origins must lie in \[0, 9\] .*got \[10, 10\]"),
    (lambda: persistence_forecast(np.arange(10.0), np.array([1.0]), 2), TypeError,
     r"origins must be integer indices \(N,\); got dtype float64"),
    (lambda: persistence_forecast(np.array([1.0, np.nan]), np.array([0]), 1), ValueError,
     r"values must be finite; got 1 non-finite value"),
    (lambda: seasonal_naive_forecast(np.arange(10.0), np.array([2]), 1, 4), ValueError,
     r"origins must lie in \[3, 9\]"),
    (lambda: LinearAR([0, 1]), ValueError, r"lags must be a non-empty sequence of positive ints; got \(0, 1\)"),
    (lambda: LinearAR([1]).forecast(np.arange(5.0), np.array([3]), 1), ValueError,
     r"this LinearAR is not fitted yet"),
    (lambda: HoltWinters(12).fit(np.arange(20.0)), ValueError, r"train must cover two seasons \(2 x period = 24"),
    (lambda: Arima((1, 0)), ValueError, r"order must be three ints \(p, d, q\) >= 0; got \(1, 0\)"),
    (lambda: Scaler.fit(np.ones(5)), ValueError, r"train must vary \(its level has standard deviation 0\)"),
    (lambda: make_windows(np.arange(10.0), np.zeros((10, 1)), np.array([8]), lookback=3, horizon=2), ValueError,
     r"covariates must cover every step forecast \(11 rows for the last origin 8 and horizon=2\); got 10"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_windows_by_hand():
    values = np.arange(10.0) * 10  # 0, 10, ..., 90
    calendar = np.arange(12.0)[:, None] + 0.5  # one row beyond the values' end, known in advance
    w = make_windows(values, calendar, np.array([3, 9]), lookback=3, horizon=2)
    # past rows t = origin-2 .. origin: (value at t, calendar of t + 1)
    np.testing.assert_array_equal(w["past"][:, 0], [[10, 2.5], [20, 3.5], [30, 4.5]])
    np.testing.assert_array_equal(w["future"][:, 0, 0], [4.5, 5.5])
    np.testing.assert_array_equal(w["targets"][:, 0], [40, 50])
    assert np.isnan(w["targets"][:, 1]).all()  # origin 9: nothing left to compare with
    np.testing.assert_array_equal(w["future"][:, 1, 0], [10.5, 11.5])
    rel = make_windows(values, calendar, np.array([3]), lookback=3, horizon=2, relative=True)
    np.testing.assert_array_equal(rel["past"][:, 0, 0], [-20, -10, 0])
    np.testing.assert_array_equal(rel["targets"][:, 0], [10, 20])
    assert rel["anchor"][0] == 30


def test_naive_forecasts_by_hand():
    values = np.array([1.0, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(persistence_forecast(values, np.array([2]), 3), [[3, 3, 3]])
    # period 3, origin at index 4 (value 5): steps 5, 6, 7 repeat steps 2, 3, 4
    np.testing.assert_array_equal(seasonal_naive_forecast(values, np.array([4]), 4, 3), [[3, 4, 5, 3]])
    np.testing.assert_array_equal(seasonal_naive_forecast(values, np.array([4]), 2, 1), [[5, 5]])


def test_linear_ar_recovers_an_ar2_and_forecasts_recursively():
    rng = np.random.default_rng(3)
    y = np.zeros(3000)
    for t in range(2, y.size):
        y[t] = 1.0 + 0.6 * y[t - 1] - 0.3 * y[t - 2] + rng.normal(0, 0.1)
    model = LinearAR((2, 1)).fit(y)
    np.testing.assert_allclose(model.coef, [1.0, 0.6, -0.3], atol=0.02)
    c, a1, a2 = model.coef
    one = c + a1 * y[99] + a2 * y[98]
    two = c + a1 * one + a2 * y[99]
    np.testing.assert_allclose(model.forecast(y, np.array([99]), 2)[0], [one, two])


def test_holt_winters_runs_the_recursions_statsmodels_fitted():
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    values, _ = seasonal_series()
    train = values[:180]
    for trend in (False, True):
        ours = HoltWinters(PERIOD, trend=trend).fit(train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = ExponentialSmoothing(train, trend="add" if trend else None, seasonal="add",
                                          seasonal_periods=PERIOD, initialization_method="heuristic").fit()
        one_step = ours.forecast(train, np.arange(train.size - 1), 1)[:, 0]
        np.testing.assert_allclose(one_step, theirs.fittedvalues[1:], rtol=1e-9)
        # statsmodels' forecast m steps ahead reuses the seasonal term of a season earlier than the last update;
        # ours follows the textbook recursion there, so the two are compared below one season ahead
        np.testing.assert_allclose(ours.forecast(train, np.array([179]), PERIOD - 1)[0],
                                   theirs.forecast(PERIOD - 1), rtol=1e-9)


def test_arima_forecasts_what_statsmodels_forecasts_at_the_end_of_training():
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    values, calendar = seasonal_series()
    train, horizon = values[:200], 6
    ours = Arima((1, 0, 1)).fit(train, calendar[:200])
    np.testing.assert_allclose(ours.forecast(values, np.array([199]), horizon, calendar)[0],
                               ours.result.forecast(horizon, exog=calendar[200:206]), rtol=1e-6)
    seasonal = Arima((1, 0, 0), seasonal_difference=PERIOD).fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SARIMAX(train, order=(1, 0, 0), seasonal_order=(0, 1, 0, PERIOD), trend="c").fit(disp=False)
    np.testing.assert_allclose(seasonal.forecast(values, np.array([199]), horizon)[0], theirs.forecast(horizon),
                               rtol=2e-3)


def test_calibration_reaches_the_nominal_coverage_on_its_own_origins():
    values, calendar = seasonal_series(400, seed=4)
    split = chronological_split(values.size, test_size=100, validation_size=100)
    config = ForecasterConfig(covariate_size=2, hidden_size=8, horizon=3)
    lstm, _ = train_forecaster(values, calendar, split, config, lookback=12, steps=20)
    origins = forecast_origins(split, 3, "validation")
    margin = lstm.calibrate(values, calendar, origins)
    quantiles = lstm.forecast(values, calendar, origins)
    targets = values[origins[:, None] + np.arange(1, 4)]
    covered = ((targets >= quantiles[..., 0]) & (targets <= quantiles[..., -1])).mean(axis=0)
    assert margin.shape == (3,) and (covered >= 0.9).all() and (covered <= 0.95).all()


def test_trained_forecaster_checks_its_settings():
    from lstmlib.models.forecaster import LSTMForecaster

    model = LSTMForecaster(ForecasterConfig(horizon=5))
    with pytest.raises(ValueError, match=r"season must be at least 5 \(the horizon, 5: the value one season back"):
        TrainedForecaster(model, Scaler(0.0, 1.0), 3, season=4)
    with pytest.raises(TypeError, match=r"scaler must be a Scaler; got tuple"):
        TrainedForecaster(model, (0.0, 1.0), 3)


def test_a_saved_forecaster_forecasts_the_same_after_loading(tmp_path):
    values, calendar = seasonal_series()
    split = chronological_split(values.size, test_size=48, validation_size=24)
    config = ForecasterConfig(covariate_size=2, hidden_size=8, horizon=3, strategy="seq2seq")
    lstm, _ = train_forecaster(values, calendar, split, config, lookback=10, steps=5, season=PERIOD)
    lstm.calibrate(values, calendar, forecast_origins(split, 3, "validation"))
    torch.save(lstm.to_checkpoint(), tmp_path / "f.pt")
    loaded = TrainedForecaster.from_checkpoint(torch.load(tmp_path / "f.pt", weights_only=True))
    origins = forecast_origins(split, 3)
    np.testing.assert_array_equal(loaded.forecast(values, calendar, origins), lstm.forecast(values, calendar, origins))
    with pytest.raises(ValueError, match=r"checkpoint must have exactly the keys .*missing \['margin'\]"):
        TrainedForecaster.from_checkpoint({k: v for k, v in lstm.to_checkpoint().items() if k != "margin"})


def test_recalibrated_margins_are_the_conformal_quantile_of_the_latest_seen_errors():
    values, calendar = seasonal_series(300, seed=5)
    split = chronological_split(values.size, test_size=60, validation_size=60)
    config = ForecasterConfig(covariate_size=2, hidden_size=8, horizon=2)
    lstm, _ = train_forecaster(values, calendar, split, config, lookback=10, steps=10)
    origin, window = 250, 20
    out = lstm.forecast_recalibrated(values, calendar, np.array([origin]), window)
    raw = lstm.forecast(values, calendar, np.arange(origin - 40, origin + 1))  # margin 0: not calibrated yet
    for h in (1, 2):
        seen = np.arange(origin - h - window + 1, origin - h + 1)  # the latest origins whose h-step target is seen
        q = raw[seen - (origin - 40), h - 1]
        scores = np.maximum(q[:, 0] - values[seen + h], values[seen + h] - q[:, -1])
        margin = np.sort(scores)[int(np.ceil(21 * 0.9)) - 1]  # the 19th smallest of 20
        np.testing.assert_allclose(out[0, h - 1, [0, -1]], raw[-1, h - 1, [0, -1]] + [-margin, margin], rtol=1e-6)
    with pytest.raises(ValueError, match=r"window must leave 300 scored forecasts before the first origin 250"):
        lstm.forecast_recalibrated(values, calendar, np.array([origin]), 300)
