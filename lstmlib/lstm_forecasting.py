"""Training an :class:`~lstmlib.models.forecaster.LSTMForecaster` on a series, and forecasting with it.

The same promises as :mod:`lstmlib.forecasting` hold: the scaler is fitted
on the training values only, the training windows end (targets included)
inside the training part, and :meth:`TrainedForecaster.forecast` builds each
window from the values up to its origin. Forecasts come back in the series'
own units with all quantiles, ``(N, H, Q)``.

Two optional transforms of what the network sees (both undone in its forecasts):

* ``season=m`` -- the network reads and forecasts the seasonal difference
  ``z_t = y_t - y_{t-m}``, i.e. how this season departs from the last; the
  forecast of ``y`` adds back the value one season earlier (seen, since
  ``H <= m``). Starting from a zero output it *is* the seasonal-naive forecast.
* ``relative=True`` -- each window is measured from its last value (for
  prices, whose level drifts); the scaler then scales one-step changes.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmlib._checks import check_int_at_least, check_keys, check_positive_int, check_positive_number, check_rng
from lstmlib.forecasting import Scaler, Split, forecast_origins, make_windows
from lstmlib.models.forecaster import ForecasterConfig, LSTMForecaster, quantile_loss
from lstmlib.train import History, seed_everything, train

__all__ = ["TrainedForecaster", "forecaster_loss", "train_forecaster"]

_CHECKPOINT_KEYS = ("config", "state_dict", "scaler", "lookback", "relative", "season", "margin")


def _seasonal_difference(values: np.ndarray, covariates: np.ndarray, season: int | None):
    """``(z, covariates)``, ``z[t] = y[t + m] - y[t]`` aligned to step ``t + m`` (unchanged for ``season=None``)."""
    if season is None:
        return values, covariates
    return values[season:] - values[:-season], covariates[season:]


class TrainedForecaster:
    """A fitted :class:`LSTMForecaster` with the scaler and window settings it was trained with.

    ``margin (H,)``: how far the outermost quantiles are moved out, in
    scaled units (0 until :meth:`calibrate` sets it).
    """

    def __init__(self, model: LSTMForecaster, scaler: Scaler, lookback: int, *, relative: bool = False,
                 season: int | None = None, margin=None):
        if not isinstance(model, LSTMForecaster):
            raise TypeError(f"model must be an LSTMForecaster; got {type(model).__name__}")
        if not isinstance(scaler, Scaler):
            raise TypeError(f"scaler must be a Scaler; got {type(scaler).__name__}")
        horizon = model.config.horizon
        self.model, self.scaler = model.eval(), scaler
        self.lookback, self.relative = check_positive_int("lookback", lookback), bool(relative)
        self.season = None if season is None else check_int_at_least(
            "season", season, horizon, f" (the horizon, {horizon}: the value one season back must be seen)")
        self.margin = np.zeros(horizon) if margin is None else np.asarray(margin, dtype=np.float64)
        if self.margin.shape != (horizon,):
            raise ValueError(f"margin must have shape (H,) = ({horizon},); got {self.margin.shape}")

    @property
    def config(self) -> ForecasterConfig:
        return self.model.config

    def to_checkpoint(self) -> dict:
        """Everything :meth:`from_checkpoint` needs, as plain values and tensors (loads with ``weights_only=True``)."""
        weights = {name: tensor.clone() for name, tensor in self.model.state_dict().items()}
        return {"config": self.config.to_dict(), "state_dict": weights,
                "scaler": [self.scaler.loc, self.scaler.scale], "lookback": self.lookback,
                "relative": self.relative, "season": self.season, "margin": self.margin.tolist()}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> TrainedForecaster:
        """Rebuild a forecaster saved by :meth:`to_checkpoint`."""
        if not isinstance(checkpoint, dict):
            raise TypeError(f"checkpoint must be a dict from TrainedForecaster.to_checkpoint(); got "
                            f"{type(checkpoint).__name__}")
        check_keys("checkpoint", checkpoint, _CHECKPOINT_KEYS)
        config = dict(checkpoint["config"])
        config["quantiles"] = tuple(config["quantiles"])
        model = LSTMForecaster(ForecasterConfig(**config))
        model.load_state_dict({name: weight.float() for name, weight in checkpoint["state_dict"].items()})
        return cls(model, Scaler(*checkpoint["scaler"]), checkpoint["lookback"], relative=checkpoint["relative"],
                   season=checkpoint["season"], margin=checkpoint["margin"])

    @property
    def first_origin(self) -> int:
        """The earliest origin with a full window of history."""
        return self.lookback - 1 + (self.season or 0)

    @torch.no_grad()
    def forecast(self, values, covariates, origins, batch_size: int = 512) -> np.ndarray:
        """Quantile forecasts ``(N, H, Q)`` in the units of ``values (T,)``, each from ``values[:origin + 1]``.

        ``covariates (T', C)``: the calendar, through the last step forecast
        (it may run past the values); ``origins (N,)`` from :attr:`first_origin` to ``T - 1``.
        """
        values, covariates = np.asarray(values, dtype=np.float64), np.asarray(covariates, dtype=np.float64)
        origins = np.asarray(origins)
        shift = self.season or 0
        z, z_covariates = _seasonal_difference(values, covariates, self.season)
        windows = make_windows(self.scaler.transform(z), z_covariates, origins - shift, lookback=self.lookback,
                               horizon=self.config.horizon, relative=self.relative)
        outputs = []
        for start in range(0, origins.size, batch_size):
            part = slice(start, start + batch_size)
            past, future = torch.from_numpy(windows["past"][:, part]), torch.from_numpy(windows["future"][:, part])
            outputs.append(self.model(past, future).permute(1, 0, 2).double().numpy())  # (n, H, Q)
        scaled = np.concatenate(outputs)  # (N, H, Q)
        scaled[..., 0] -= self.margin  # calibrated: the outermost quantiles move out by the margin
        scaled[..., -1] += self.margin
        forecast = self.scaler.inverse(scaled + windows["anchor"][:, None, None])
        if self.season is not None:  # add back the value one season before each step forecast
            steps = origins[:, None] + np.arange(1, self.config.horizon + 1)[None, :] - self.season  # (N, H)
            forecast += values[steps][..., None]
        return forecast

    def median(self, values, covariates, origins) -> np.ndarray:
        """Point forecasts ``(N, H)``: the quantile closest to 0.5."""
        return self.forecast(values, covariates, origins)[..., self.config.median_index]

    def forecast_recalibrated(self, values, covariates, origins, window: int) -> np.ndarray:
        """Like :meth:`forecast`, with each origin's interval sized on the latest errors seen by then: ``(N, H, Q)``.

        At origin ``o`` and lead time ``h`` the margin (see :meth:`calibrate`)
        comes from the ``window`` most recent forecasts ``h`` steps ahead whose
        targets were observed by ``o``: those made at origins
        ``o - h - window + 1 .. o - h``. Nothing after ``o`` is read, and the
        interval follows the series when it changes. The fixed ``margin`` is
        not used. Needs ``min(origins) - window - H + 1 >=`` :attr:`first_origin`.
        """
        window = check_positive_int("window", window)
        values = np.asarray(values, dtype=np.float64)
        origins = np.asarray(origins)
        horizon = self.config.horizon
        start = int(origins.min()) - window - horizon + 1
        if start < self.first_origin:
            raise ValueError(f"window must leave {window} scored forecasts before the first origin {origins.min()} "
                             f"(it needs origins from {start}, the earliest is {self.first_origin}); got {window}")
        every = np.arange(start, int(origins.max()) + 1)  # every origin whose forecast may be scored
        fixed, self.margin = self.margin, np.zeros(horizon)
        try:
            raw = self.forecast(values, covariates, every)  # (M, H, Q) uncalibrated
        finally:
            self.margin = fixed
        steps = every[:, None] + np.arange(1, horizon + 1)[None, :]  # (M, H)
        targets = np.concatenate([values, np.full(horizon, np.nan)])[steps]
        scores = np.maximum(raw[..., 0] - targets, targets - raw[..., -1]) / self.scaler.scale  # (M, H)
        nominal = self.config.quantiles[-1] - self.config.quantiles[0]
        level = min(1.0, np.ceil((window + 1) * nominal) / window)
        rows = origins - start  # index of each origin in `every`
        out = raw[rows].copy()
        for h in range(1, horizon + 1):
            recent = np.lib.stride_tricks.sliding_window_view(scores[:, h - 1], window)  # window ending at m + W - 1
            ends = rows - h  # the latest origin whose h-step target is seen
            margin = np.quantile(recent[ends - window + 1], level, axis=1, method="inverted_cdf")  # k-th smallest
            margin *= self.scaler.scale
            out[:, h - 1, 0] -= margin
            out[:, h - 1, -1] += margin
        return out

    def calibrate(self, values, covariates, origins) -> np.ndarray:
        """Move each horizon's outer quantiles so the interval covers its nominal share on ``origins``.

        Split-conformal quantile regression (Romano, Patterson & Candès 2019): on
        origins the network was not trained on (the validation part), the score
        of a target is how far it falls outside the interval,
        ``max(lo - y, y - hi)`` (negative inside); the margin is the
        ``k``-th smallest score, ``k = ceil((N + 1)(1 - alpha))``, where
        ``1 - alpha`` is the nominal coverage of the outermost quantiles.
        Sets and returns the margins ``(H,)``, in scaled units.
        """
        self.margin = np.zeros(self.config.horizon)
        values = np.asarray(values, dtype=np.float64)
        origins = np.asarray(origins)
        targets = values[origins[:, None] + np.arange(1, self.config.horizon + 1)[None, :]]  # (N, H)
        quantiles = self.forecast(values, covariates, origins)  # (N, H, Q)
        scores = np.maximum(quantiles[..., 0] - targets, targets - quantiles[..., -1]) / self.scaler.scale
        nominal = self.config.quantiles[-1] - self.config.quantiles[0]
        level = min(1.0, np.ceil((origins.size + 1) * nominal) / origins.size)
        self.margin = np.quantile(scores, level, axis=0, method="inverted_cdf")
        return self.margin


def forecaster_loss(model: LSTMForecaster, past: torch.Tensor, future: torch.Tensor,
                    targets: torch.Tensor) -> torch.Tensor:
    """The training loss of a batch of windows: pinball loss of the strategy's own outputs.

    ``past (L, B, 1 + C)``, ``future (H, B, C)``, ``targets (H, B)``. The
    recursive model is trained one step ahead with the true values fed in
    (teacher forcing), on every step of the window and of the horizon;
    the others on their H-step outputs directly.
    """
    cfg = model.config
    if cfg.strategy != "recursive":
        return quantile_loss(model(past, future), targets, cfg.quantiles)
    seen_future = torch.cat([targets[:-1, :, None], future[1:]], dim=-1)  # (H - 1, B, 1 + C)
    quantiles, _ = model.one_step(torch.cat([past, seen_future]))  # (L + H - 1, B, Q)
    next_values = torch.cat([past[1:, :, 0], targets])  # (L + H - 1, B)
    return quantile_loss(quantiles, next_values, cfg.quantiles)


def train_forecaster(values, covariates, split: Split, config: ForecasterConfig, *, lookback: int, steps: int,
                     batch_size: int = 64, lr: float = 3e-3, relative: bool = False, season: int | None = None,
                     seed: int = 0, on_step=None) -> tuple[TrainedForecaster, History]:
    """Fit a forecaster on the training part of ``values (T,)`` / ``covariates (T, C)``; return it and its history.

    Only windows whose targets end inside ``split.train`` are used, and the
    scaler sees only the training values. Adam at a constant ``lr`` with
    gradient clipping at 1 (:func:`lstmlib.train.train`); batches of
    ``batch_size`` windows drawn by a generator seeded with ``seed``.
    ``relative`` and ``season``: see the module docstring.
    """
    lookback = check_positive_int("lookback", lookback)
    steps, batch_size = check_positive_int("steps", steps), check_positive_int("batch_size", batch_size)
    lr = check_positive_number("lr", lr)
    if not isinstance(config, ForecasterConfig):
        raise TypeError(f"config must be a ForecasterConfig; got {type(config).__name__}")
    seed_everything(seed)
    untrained = TrainedForecaster(LSTMForecaster(config), Scaler(0.0, 1.0), lookback, relative=relative,
                                  season=season)  # checks the settings before any work
    values, covariates = np.asarray(values, dtype=np.float64), np.asarray(covariates, dtype=np.float64)
    z, z_covariates = _seasonal_difference(values[split.train], covariates[split.train], season)
    scaler = Scaler.fit(z, of="difference" if relative else "level")
    origins = forecast_origins(split, config.horizon, "train")
    origins = origins[origins >= untrained.first_origin] - (season or 0)
    windows = make_windows(scaler.transform(z), z_covariates, origins, lookback=lookback, horizon=config.horizon,
                           relative=relative)
    past, future, targets = (torch.from_numpy(windows[key]) for key in ("past", "future", "targets"))
    model, rng = untrained.model, check_rng("seed", seed)

    def loss_fn(step: int) -> torch.Tensor:
        batch = torch.from_numpy(rng.integers(0, origins.size, size=batch_size))
        return forecaster_loss(model, past[:, batch], future[:, batch], targets[:, batch])

    history = train(model, loss_fn, steps=steps, lr=lr, on_step=on_step)
    return TrainedForecaster(model, scaler, lookback, relative=relative, season=season), history
