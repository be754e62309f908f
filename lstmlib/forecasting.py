"""Forecasting without looking ahead: chronological splits, train-only scaling, windows, and the baselines.

Every forecaster here has the same form, ``forecast(values, origins,
horizon) -> (N, H)``: row ``n`` is the forecast of
``values[origins[n] + 1 .. origins[n] + H]`` made from ``values[:origins[n] + 1]``
only. The *origin* is the index of the last value the forecaster may see.
``tests/test_forecasting.py`` checks that promise for every method by
perturbing everything after each origin: no forecast may move.

Baselines (the bar an LSTM has to clear, fitted on the training part only):

* :func:`persistence_forecast` -- tomorrow equals today (the random walk);
* :func:`seasonal_naive_forecast` -- the value one season earlier;
* :class:`LinearAR` -- least-squares autoregression on chosen lags, run recursively;
* :class:`HoltWinters` -- additive exponential smoothing fitted by ``statsmodels``;
* :class:`Arima` -- (seasonally differenced) ARIMA with calendar regressors, by ``statsmodels``.

Errors are measured by :mod:`lstmlib.metrics` (MAE, RMSE, MAPE, MASE, the
Diebold--Mariano test).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from lstmlib._checks import check_choice, check_finite, check_int_at_least, check_positive_int, check_rank

__all__ = [
    "TASKS",
    "Arima",
    "ForecastTask",
    "HoltWinters",
    "LinearAR",
    "Scaler",
    "Split",
    "chronological_split",
    "forecast_origins",
    "make_windows",
    "persistence_forecast",
    "prepare_task",
    "seasonal_naive_forecast",
    "to_units",
]


@dataclass(frozen=True)
class ForecastTask:
    """One experiment of the forecasting chapter: which series, how far ahead, how it is split.

    ``horizon`` H is the longest lead time forecast; ``reported`` the lead
    times the chapter's table shows; ``chosen`` the one its targets are
    asserted at. ``log``: forecast the logarithm of the values (prices).
    """

    series: str
    horizon: int
    test_size: int
    validation_size: int
    reported: tuple[int, ...]
    chosen: int
    log: bool = False


#: The chapter's experiments: a day ahead in half-hours, a week ahead in days, the next trading day.
TASKS = {
    "energy": ForecastTask("energy", horizon=48, test_size=672, validation_size=336, reported=(1, 12, 48), chosen=48),
    "weather": ForecastTask("weather", horizon=7, test_size=365, validation_size=365, reported=(1, 3, 7), chosen=1),
    "finance": ForecastTask("finance", horizon=1, test_size=470, validation_size=250, reported=(1,), chosen=1,
                            log=True),
}


def prepare_task(task: ForecastTask) -> dict:
    """What every method of one experiment shares: the series, its split, the test origins and targets.

    Returns ``{"series", "values", "split", "origins", "targets"}``: ``values (T,)``
    is what the forecasters read (the log of the series when ``task.log``),
    ``origins (N,)`` the test origins, ``targets (N, H)`` the true values in
    the series' own units. :func:`to_units` turns forecasts of ``values`` back into those units.
    """
    from lstmlib.data.series import load_series

    if not isinstance(task, ForecastTask):
        raise TypeError(f"task must be a ForecastTask (see lstmlib.forecasting.TASKS); got {type(task).__name__}")
    series = load_series(task.series)
    values = np.log(series.values) if task.log else series.values
    split = chronological_split(len(series), test_size=task.test_size, validation_size=task.validation_size)
    origins = forecast_origins(split, task.horizon, "test")
    targets = series.values[origins[:, None] + np.arange(1, task.horizon + 1)[None, :]]
    return {"series": series, "values": values, "split": split, "origins": origins, "targets": targets}


def to_units(task: ForecastTask, forecasts: np.ndarray) -> np.ndarray:
    """Forecasts of :func:`prepare_task`'s ``values`` in the series' own units (``exp`` when ``task.log``)."""
    return np.exp(forecasts) if task.log else np.asarray(forecasts)


def _check_series(name: str, values) -> np.ndarray:
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.number):
        raise TypeError(f"{name} must be a 1-D array of numbers (T,); got dtype {values.dtype}")
    check_rank(name, values, (1,), "(T,)")
    check_finite(name, values)
    if values.size < 2:
        raise ValueError(f"{name} must hold at least 2 values; got {values.size}")
    return values.astype(np.float64)


def _check_origins(origins, n: int, horizon: int, first: int = 0) -> np.ndarray:
    """Origins as int64 ``(N,)`` with ``first <= origin`` and ``origin + horizon < n`` (targets must exist)."""
    origins = np.asarray(origins)
    if not np.issubdtype(origins.dtype, np.integer):
        raise TypeError(f"origins must be integer indices (N,); got dtype {origins.dtype}")
    check_rank("origins", origins, (1,), "(N,)")
    if origins.size and (origins.min() < first or origins.max() + horizon >= n):
        raise ValueError(f"origins must lie in [{first}, {n - 1 - horizon}] (history of {first} step(s) before, "
                         f"horizon={horizon} steps after, T={n}); got [{origins.min()}, {origins.max()}]")
    return origins.astype(np.int64)


@dataclass(frozen=True)
class Split:
    """Three consecutive blocks of a series of length ``n``: ``[0, train_end)``, ``[train_end, validation_end)``, rest.

    Nothing is shuffled: the model is fitted on the past, tuned on the
    block after it and tested on the block after that.
    """

    n: int
    train_end: int
    validation_end: int

    @property
    def train(self) -> slice:
        return slice(0, self.train_end)

    @property
    def validation(self) -> slice:
        return slice(self.train_end, self.validation_end)

    @property
    def test(self) -> slice:
        return slice(self.validation_end, self.n)


def chronological_split(n: int, *, test_size: int, validation_size: int = 0) -> Split:
    """Split ``n`` steps into train, validation (the next ``validation_size``) and test (the last ``test_size``)."""
    n = check_positive_int("n", n)
    test_size = check_positive_int("test_size", test_size)
    if isinstance(validation_size, bool) or not isinstance(validation_size, int) or validation_size < 0:
        raise ValueError(f"validation_size must be an int >= 0; got {validation_size!r}")
    if test_size + validation_size >= n:
        raise ValueError(f"test_size + validation_size must leave training data (< n={n}); "
                         f"got {test_size} + {validation_size}")
    return Split(n, n - test_size - validation_size, n - test_size)


def forecast_origins(split: Split, horizon: int, part: str = "test", stride: int = 1) -> np.ndarray:
    """Origins whose ``horizon`` targets all fall in ``part`` (``"train"``, ``"validation"`` or ``"test"``): ``(N,)``.

    The first origin is the last step before the part, so that the first
    one-step forecast is the part's first value.
    """
    horizon, stride = check_positive_int("horizon", horizon), check_positive_int("stride", stride)
    check_choice("part", part, ("train", "validation", "test"))
    block = getattr(split, part)
    start = max(block.start - 1, 0)
    stop = block.stop - horizon  # origin + horizon <= block.stop - 1
    if stop <= start:
        raise ValueError(f"horizon must fit in the {part} part ({block.stop - block.start} steps); got {horizon}")
    return np.arange(start, stop, stride, dtype=np.int64)


@dataclass(frozen=True)
class Scaler:
    """``(x - loc) / scale`` with ``loc`` and ``scale`` taken from the training values only.

    ``fit(train, of="level")`` uses the mean and standard deviation of the
    values; ``of="difference"`` uses 0 and the standard deviation of the
    one-step changes (for windows measured relative to their last value).
    """

    loc: float
    scale: float

    @classmethod
    def fit(cls, train, of: str = "level") -> Scaler:
        train = _check_series("train", train)
        check_choice("of", of, ("level", "difference"))
        if of == "level":
            loc, scale = float(train.mean()), float(train.std())
        else:
            loc, scale = 0.0, float(np.diff(train).std())
        if not scale > 0:
            raise ValueError(f"train must vary (its {of} has standard deviation 0)")
        return cls(loc, scale)

    def transform(self, x):
        return (np.asarray(x, dtype=np.float64) - self.loc) / self.scale

    def inverse(self, z):
        return np.asarray(z, dtype=np.float64) * self.scale + self.loc


def make_windows(values, covariates, origins, *, lookback: int, horizon: int, relative: bool = False) -> dict:
    """The model's view at each origin: the past ``lookback`` steps and the calendar of the next ``horizon``.

    Row ``t`` of a window holds ``values[t]`` and ``covariates[t + 1]``: the
    value just seen and the calendar of the step to forecast next (known in
    advance), so no input ever holds a value after the origin.

    Args:
        values: ``(T,)`` (already scaled) series.
        covariates: ``(T', C)`` calendar features (C may be 0), known through the last step forecast:
            ``T' >= max(origins) + horizon + 1`` (it may run past the values' end).
        origins: ``(N,)`` int, ``lookback - 1 <= origin <= T - 1``.
        lookback: L, steps of history per window.
        horizon: H, steps ahead.
        relative: subtract each window's last value from its past and its targets
            (for series without a stable level, such as prices).

    Returns:
        ``{"past": (L, N, 1 + C), "future": (H, N, C), "anchor": (N,), "targets": (H, N)}`` float32
        (float64 ``anchor``: the value subtracted, 0 unless ``relative``); ``targets`` holds NaN
        where ``origin + h`` is past the end of the values.
    """
    values = _check_series("values", values)
    covariates = np.asarray(covariates, dtype=np.float64)
    check_rank("covariates", covariates, (2,), "(T', C)")
    lookback, horizon = check_positive_int("lookback", lookback), check_positive_int("horizon", horizon)
    origins = _check_origins(origins, values.size + horizon, horizon, first=lookback - 1)
    if origins.size and covariates.shape[0] < origins.max() + horizon + 1:
        raise ValueError(f"covariates must cover every step forecast ({origins.max() + horizon + 1} rows for the "
                         f"last origin {origins.max()} and horizon={horizon}); got {covariates.shape[0]}")
    padded_values = np.concatenate([values, np.full(horizon, np.nan)])
    past_steps = origins[None, :] + np.arange(-lookback + 1, 1)[:, None]  # (L, N), last row = origin
    future_steps = origins[None, :] + np.arange(1, horizon + 1)[:, None]  # (H, N)
    anchor = values[origins] if relative else np.zeros(origins.size)
    past_values = values[past_steps] - anchor  # (L, N)
    targets = padded_values[future_steps] - anchor  # (H, N), NaN past the end
    past = np.concatenate([past_values[..., None], covariates[past_steps + 1]], axis=-1)  # (L, N, 1 + C)
    future = covariates[future_steps]  # (H, N, C): the calendar of each step forecast
    return {"past": past.astype(np.float32), "future": future.astype(np.float32), "anchor": anchor,
            "targets": targets.astype(np.float32)}


def persistence_forecast(values, origins, horizon: int) -> np.ndarray:
    """Every future value equals the last one seen (the random walk's forecast): ``(N, H)``."""
    values = _check_series("values", values)
    horizon = check_positive_int("horizon", horizon)
    origins = _check_origins(origins, values.size + horizon, horizon)
    return np.repeat(values[origins][:, None], horizon, axis=1)


def seasonal_naive_forecast(values, origins, horizon: int, period: int) -> np.ndarray:
    """Each future value equals the value one season before it (the latest seen at that phase): ``(N, H)``.

    ``y_hat[o + h] = y[o + h - period * ceil(h / period)]``; with ``period=1``
    this is :func:`persistence_forecast`.
    """
    values = _check_series("values", values)
    horizon, period = check_positive_int("horizon", horizon), check_positive_int("period", period)
    origins = _check_origins(origins, values.size + horizon, horizon, first=period - 1)
    h = np.arange(1, horizon + 1)
    back = period * -(-h // period)  # period * ceil(h / period) >= h
    return values[origins[:, None] + h[None, :] - back[None, :]]


class LinearAR:
    """``y_t = c + sum_k a_k y_{t - lag_k}``, fitted by least squares on the training values, forecast recursively.

    ``lags`` are positive ints (e.g. ``(1, 2, 48, 336)``); beyond one step,
    the forecasts of earlier steps stand in for the values not seen yet.
    """

    def __init__(self, lags):
        lags = tuple(lags)
        if not lags or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in lags):
            raise ValueError(f"lags must be a non-empty sequence of positive ints; got {lags!r}")
        self.lags = tuple(sorted(set(int(k) for k in lags)))
        self.coef: np.ndarray | None = None  # (1 + len(lags),): intercept, then one weight per lag

    def fit(self, train) -> LinearAR:
        train = _check_series("train", train)
        reach = max(self.lags)
        if train.size <= reach + len(self.lags):
            raise ValueError(f"train must be longer than the largest lag + number of lags "
                             f"({reach} + {len(self.lags)}); got {train.size}")
        t = np.arange(reach, train.size)
        design = np.column_stack([np.ones(t.size)] + [train[t - k] for k in self.lags])  # (T - reach, 1 + K)
        self.coef = np.linalg.lstsq(design, train[t], rcond=None)[0]
        return self

    def forecast(self, values, origins, horizon: int) -> np.ndarray:
        """``(N, H)`` forecasts, each from ``values[:origin + 1]``."""
        if self.coef is None:
            raise ValueError("this LinearAR is not fitted yet: call fit(train) first")
        values = _check_series("values", values)
        horizon = check_positive_int("horizon", horizon)
        reach = max(self.lags)
        origins = _check_origins(origins, values.size + horizon, horizon, first=reach - 1)
        # history[n, j] is y at step origin - reach + 1 + j; the last `horizon` columns get filled in
        history = np.concatenate([values[origins[:, None] + np.arange(-reach + 1, 1)[None, :]],
                                  np.zeros((origins.size, horizon))], axis=1)
        for h in range(horizon):
            now = reach + h  # column of the step being forecast
            history[:, now] = self.coef[0] + sum(a * history[:, now - k] for a, k in zip(self.coef[1:], self.lags))
        return history[:, reach:]


def _quietly_fit(fit):
    """Run a statsmodels fit with its convergence and frequency warnings silenced here only (not globally)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


class HoltWinters:
    """Additive Holt--Winters (level + seasonal, optional additive trend) fitted by ``statsmodels`` on training values.

    ``statsmodels`` estimates the smoothing weights; the same recursions are
    then run over the whole series with those weights fixed, so each
    origin's forecast uses only the values up to it:
    ``l_t = a (y_t - s_{t-m}) + (1 - a)(l_{t-1} + b_{t-1})``,
    ``b_t = beta (l_t - l_{t-1}) + (1 - beta) b_{t-1}``,
    ``s_t = g (y_t - l_{t-1} - b_{t-1}) + (1 - g) s_{t-m}``, and
    ``y_hat_{t+h} = l_t + h b_t + s_{t+h-m(k+1)}`` with ``k = (h - 1) // m``.
    """

    def __init__(self, period: int, trend: bool = False):
        self.period = check_int_at_least("period", period, 2, " (a season needs two or more steps)")
        if not isinstance(trend, bool):
            raise TypeError(f"trend must be a bool; got {type(trend).__name__}")
        self.trend = trend
        self.params: dict | None = None

    def fit(self, train) -> HoltWinters:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        train = _check_series("train", train)
        if train.size < 2 * self.period:
            raise ValueError(f"train must cover two seasons (2 x period = {2 * self.period} values); got {train.size}")
        model = ExponentialSmoothing(train, trend="add" if self.trend else None, seasonal="add",
                                     seasonal_periods=self.period, initialization_method="heuristic")
        fitted = _quietly_fit(model.fit)
        p = fitted.params
        self.params = {"alpha": float(p["smoothing_level"]), "beta": float(p["smoothing_trend"]) if self.trend else 0.0,
                       "gamma": float(p["smoothing_seasonal"]), "level": float(p["initial_level"]),
                       "slope": float(p["initial_trend"]) if self.trend else 0.0,
                       "seasonal": np.asarray(p["initial_seasons"], dtype=np.float64)}
        self.fitted_values = np.asarray(fitted.fittedvalues)  # (T_train,): statsmodels' one-step predictions
        return self

    def _states(self, values: np.ndarray):
        """Level, slope ``(T,)`` after each step and seasonal terms ``(T + m,)`` (index ``t + m`` is ``s_t``)."""
        p, m = self.params, self.period
        level, slope = np.empty(values.size), np.empty(values.size)
        seasonal = np.concatenate([p["seasonal"], np.empty(values.size)])
        l_prev, b_prev = p["level"], p["slope"]
        for t, y in enumerate(values):
            s_old = seasonal[t]  # s_{t-m}
            level[t] = p["alpha"] * (y - s_old) + (1 - p["alpha"]) * (l_prev + b_prev)
            slope[t] = p["beta"] * (level[t] - l_prev) + (1 - p["beta"]) * b_prev
            seasonal[t + m] = p["gamma"] * (y - l_prev - b_prev) + (1 - p["gamma"]) * s_old
            l_prev, b_prev = level[t], slope[t]
        return level, slope, seasonal

    def forecast(self, values, origins, horizon: int) -> np.ndarray:
        """``(N, H)`` forecasts, each from ``values[:origin + 1]``; ``values`` must start where ``train`` started."""
        if self.params is None:
            raise ValueError("this HoltWinters is not fitted yet: call fit(train) first")
        values = _check_series("values", values)
        horizon = check_positive_int("horizon", horizon)
        origins = _check_origins(origins, values.size + horizon, horizon)
        level, slope, seasonal = self._states(values)
        m, h = self.period, np.arange(1, horizon + 1)
        season_index = origins[:, None] + h[None, :] - m * ((h[None, :] - 1) // m + 1) + m  # s_{o+h-m(k+1)}
        return level[origins, None] + h[None, :] * slope[origins, None] + seasonal[season_index]


class Arima:
    """ARIMA(p, d, q) with a constant and the calendar as regressors, optionally on a seasonal difference.

    With ``seasonal_difference=m`` the model is fitted to
    ``z_t = y_t - y_{t-m}`` (a SARIMA(p, d, q)(0, 1, 0)_m) and forecasts of
    ``y`` add the value one season back, so the horizon must not exceed
    ``m``. ``statsmodels``' SARIMAX estimates the parameters on the training
    values; its ``apply`` then runs the same model, parameters fixed, over
    the whole series, and each origin's forecast is a dynamic prediction
    from that origin (values after it unseen).
    """

    def __init__(self, order=(1, 0, 0), seasonal_difference: int | None = None):
        order = tuple(order)
        if len(order) != 3 or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 for k in order):
            raise ValueError(f"order must be three ints (p, d, q) >= 0; got {order!r}")
        self.order = tuple(int(k) for k in order)
        self.m = None if seasonal_difference is None else check_int_at_least(
            "seasonal_difference", seasonal_difference, 2, " (a season needs two or more steps)")
        self.result = None

    def _prepare(self, values, covariates):
        values = _check_series("values", values)
        covariates = None if covariates is None else np.asarray(covariates, dtype=np.float64)
        if covariates is not None and (covariates.ndim != 2 or covariates.shape[0] != values.size):
            raise ValueError(f"covariates must be None or (T, C) with T={values.size}; "
                             f"got shape {None if covariates is None else covariates.shape}")
        if covariates is not None and covariates.shape[1] == 0:
            covariates = None
        if self.m is None:
            return values, covariates
        return values[self.m:] - values[:-self.m], None if covariates is None else covariates[self.m:]

    def fit(self, train, covariates=None) -> Arima:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        z, exog = self._prepare(train, covariates)
        trend = "c" if self.order[1] == 0 else "n"  # a constant only where the series is not differenced
        self.result = _quietly_fit(lambda: SARIMAX(z, exog=exog, order=self.order, trend=trend).fit(disp=False))
        return self

    def forecast(self, values, origins, horizon: int, covariates=None) -> np.ndarray:
        """``(N, H)`` forecasts, each from ``values[:origin + 1]`` (and the calendar, known ahead)."""
        if self.result is None:
            raise ValueError("this Arima is not fitted yet: call fit(train) first")
        values = _check_series("values", values)
        horizon = check_positive_int("horizon", horizon)
        shift = self.m or 0
        if self.m is not None and horizon > self.m:
            raise ValueError(f"horizon must be at most seasonal_difference={self.m}; got {horizon}")
        # The calendar must be known up to the last step forecast, so every target lies inside the series.
        origins = _check_origins(origins, values.size, horizon, first=shift)
        z, exog = self._prepare(values, covariates)
        full = _quietly_fit(lambda: self.result.apply(z, exog=exog))  # same parameters, whole series
        forecasts = np.empty((origins.size, horizon))
        for n, origin in enumerate(origins - shift):
            # dynamic: from origin + 1 on, the model's own forecasts replace the values (none is read)
            forecasts[n] = full.get_prediction(start=origin + 1, end=origin + horizon, dynamic=True).predicted_mean
        if self.m is not None:
            h = np.arange(1, horizon + 1)
            forecasts += values[origins[:, None] + h[None, :] - self.m]  # y_{o+h-m}, seen since h <= m
        return forecasts
