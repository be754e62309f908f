"""An LSTM that forecasts a series H steps ahead with quantiles: three multi-step strategies, one class.

The model reads a window of the past (:func:`lstmlib.forecasting.make_windows`:
row ``t`` holds the value at ``t`` and the calendar of step ``t + 1``) and
returns, for each of the next H steps, Q quantiles of the value there, e.g.
the 5 %, 50 % and 95 % points: the median is the point forecast and the
outer two make a 90 % prediction interval. It is trained with the quantile
(pinball) loss :func:`quantile_loss`.

How it reaches H steps ahead is its ``strategy``:

* ``"recursive"`` -- one step at a time: it learns to predict the next value
  only, and at forecast time feeds its own median back in as if it had been
  seen, H times;
* ``"direct"`` -- one linear read-out of the last state gives all H steps at once;
* ``"seq2seq"`` -- an encoder LSTM reads the past, a decoder LSTM starts from
  its final state and steps through the H future calendar rows, one output per step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

import lstmlib.nn
from lstmlib._checks import check_choice, check_floating, check_positive_int, check_rank

__all__ = ["ForecasterConfig", "LSTMForecaster", "quantile_loss"]

STRATEGIES = ("direct", "recursive", "seq2seq")


@dataclass(frozen=True)
class ForecasterConfig:
    """Everything needed to rebuild an :class:`LSTMForecaster` before loading its weights.

    ``covariate_size`` is C, the calendar features per step (0 for none);
    ``quantiles`` are increasing levels in (0, 1).
    """

    covariate_size: int = 0
    hidden_size: int = 32
    num_layers: int = 1
    horizon: int = 1
    strategy: str = "direct"
    quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)

    def __post_init__(self):
        if isinstance(self.covariate_size, bool) or not isinstance(self.covariate_size, int) or self.covariate_size < 0:
            raise ValueError(f"covariate_size must be an int >= 0; got {self.covariate_size!r}")
        for name in ("hidden_size", "num_layers", "horizon"):
            check_positive_int(name, getattr(self, name))
        check_choice("strategy", self.strategy, STRATEGIES)
        q = tuple(float(level) for level in self.quantiles)
        if not q or any(not 0 < level < 1 for level in q) or any(a >= b for a, b in zip(q, q[1:])):
            raise ValueError(f"quantiles must be increasing levels in (0, 1); got {self.quantiles!r}")
        object.__setattr__(self, "quantiles", q)

    def to_dict(self) -> dict:
        """The config as a plain dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)

    @property
    def median_index(self) -> int:
        """Index of the level closest to 0.5: the point forecast (and what the recursive strategy feeds back)."""
        return min(range(len(self.quantiles)), key=lambda k: abs(self.quantiles[k] - 0.5))


def quantile_loss(predicted: torch.Tensor, target: torch.Tensor, quantiles) -> torch.Tensor:
    """Mean pinball loss of quantile forecasts ``predicted (..., Q)`` for ``target (...)``; NaN targets are skipped.

    For level ``q`` and error ``e = y - y_hat`` the loss is ``q e`` when the
    forecast is too low and ``(q - 1) e`` when too high; its minimiser is the
    q-quantile of the target's distribution.
    """
    levels = torch.as_tensor(quantiles, dtype=predicted.dtype, device=predicted.device)
    if predicted.shape != (*target.shape, levels.numel()):
        raise ValueError(f"predicted must have shape target.shape + (Q,) = {(*target.shape, levels.numel())}; "
                         f"got {tuple(predicted.shape)}")
    seen = ~torch.isnan(target)
    error = target[seen][..., None] - predicted[seen]  # (M, Q)
    return torch.maximum(levels * error, (levels - 1) * error).mean()


class LSTMForecaster(nn.Module):
    """Past window -> quantiles of the next H values, by the configured strategy.

    ``forward(past, future) -> (H, B, Q)`` with ``past: (L, B, 1 + C)`` and
    ``future: (H, B, C)`` (the calendar of the steps forecast), float32,
    time-major. Quantiles come out sorted, so intervals never cross.
    ``one_step(inputs) -> (T, B, Q)``: the recursive strategy's
    next-value quantiles after every step of ``inputs``, what it is trained on.
    """

    def __init__(self, config: ForecasterConfig):
        super().__init__()
        if not isinstance(config, ForecasterConfig):
            raise TypeError(f"config must be a ForecasterConfig; got {type(config).__name__}")
        self.config = config
        c, hidden, q = config.covariate_size, config.hidden_size, len(config.quantiles)
        self.encoder = lstmlib.nn.LSTM(1 + c, hidden, num_layers=config.num_layers)
        if config.strategy == "direct":
            self.head = nn.Linear(hidden, config.horizon * q)
        else:
            self.head = nn.Linear(hidden, q)
        if config.strategy == "seq2seq":
            # decoder input: the step's calendar and its position h / H (so it has an input even when C = 0)
            self.decoder = lstmlib.nn.LSTM(c + 1, hidden, num_layers=config.num_layers)

    def _check(self, name: str, x: torch.Tensor, features: int, layout: str) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor {layout}; got {type(x).__name__}")
        check_rank(name, x, (3,), layout)
        check_floating(name, x)
        if x.shape[-1] != features:
            raise ValueError(f"{name} must have {features} features per step {layout}; got {x.shape[-1]}")

    def one_step(self, inputs: torch.Tensor, state=None):
        """Quantiles of the next value after each step ``(T, B, Q)``, and the final ``(h, c)`` state."""
        self._check("inputs", inputs, 1 + self.config.covariate_size, "(T, B, 1 + C)")
        h, state = self.encoder(inputs, state)  # (T, B, H)
        return self.head(h).sort(dim=-1).values, state

    def forward(self, past: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        self._check("past", past, 1 + cfg.covariate_size, "(L, B, 1 + C)")
        self._check("future", future, cfg.covariate_size, "(H, B, C)")
        if future.shape[0] != cfg.horizon or future.shape[1] != past.shape[1]:
            raise ValueError(f"future must have shape (H={cfg.horizon}, B={past.shape[1]}, C); "
                             f"got {tuple(future.shape)}")
        batch, q = past.shape[1], len(cfg.quantiles)
        if cfg.strategy == "direct":
            h, _ = self.encoder(past)  # (L, B, H)
            return self.head(h[-1]).view(batch, cfg.horizon, q).transpose(0, 1).sort(dim=-1).values  # (H, B, Q)
        if cfg.strategy == "seq2seq":
            _, state = self.encoder(past)
            position = torch.arange(1, cfg.horizon + 1, dtype=past.dtype, device=past.device) / cfg.horizon
            steps = torch.cat([future, position[:, None, None].expand(-1, batch, 1)], dim=-1)  # (H, B, C + 1)
            h, _ = self.decoder(steps, state)  # (H, B, H)
            return self.head(h).sort(dim=-1).values
        # recursive: after the past, feed the median back in with the calendar of the step after it
        quantiles, state = self.one_step(past)
        outputs, median = [quantiles[-1]], cfg.median_index
        for step in range(1, cfg.horizon):
            fed_back = torch.cat([outputs[-1][:, median:median + 1], future[step]], dim=-1)[None]  # (1, B, 1 + C)
            quantiles, state = self.one_step(fed_back, state)
            outputs.append(quantiles[-1])
        return torch.stack(outputs)  # (H, B, Q)
