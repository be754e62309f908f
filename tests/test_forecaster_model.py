"""lstmlib.models.forecaster: the three strategies' shapes, sorted quantiles, the pinball loss and bad input."""

from __future__ import annotations

import pytest
import torch

from lstmlib.models.forecaster import ForecasterConfig, LSTMForecaster, quantile_loss


@pytest.mark.parametrize("strategy", ["direct", "recursive", "seq2seq"])
@pytest.mark.parametrize("covariates", [0, 3])
def test_every_strategy_returns_sorted_quantiles_for_each_step(strategy, covariates):
    torch.manual_seed(0)
    model = LSTMForecaster(ForecasterConfig(covariate_size=covariates, hidden_size=6, horizon=5, strategy=strategy))
    out = model(torch.randn(7, 4, 1 + covariates), torch.randn(5, 4, covariates))
    assert out.shape == (5, 4, 3) and (out.diff(dim=-1) >= 0).all()


def test_recursive_feeds_back_its_median_with_the_next_calendar_row():
    torch.manual_seed(1)
    model = LSTMForecaster(ForecasterConfig(covariate_size=2, hidden_size=6, horizon=3, strategy="recursive"))
    past, future = torch.randn(5, 2, 3), torch.randn(3, 2, 2)
    out = model(past, future)
    step_one, state = model.one_step(past)
    assert torch.allclose(out[0], step_one[-1])
    fed = torch.cat([step_one[-1][:, 1:2], future[1]], dim=-1)[None]  # median of step 1, calendar of step 2
    step_two, _ = model.one_step(fed, state)
    assert torch.allclose(out[1], step_two[-1])


def test_quantile_loss_by_hand():
    predicted = torch.tensor([[1.0, 2.0, 3.0]])  # levels 0.1, 0.5, 0.9 for a target of 2.5
    loss = quantile_loss(predicted, torch.tensor([2.5]), (0.1, 0.5, 0.9))
    # errors y - y_hat: 1.5, 0.5, -0.5 -> 0.1 * 1.5, 0.5 * 0.5, (0.9 - 1) * -0.5
    assert loss.item() == pytest.approx((0.15 + 0.25 + 0.05) / 3)
    with_gap = quantile_loss(predicted.repeat(2, 1), torch.tensor([2.5, float("nan")]), (0.1, 0.5, 0.9))
    assert with_gap.item() == pytest.approx(loss.item())  # the missing target is skipped


@pytest.mark.parametrize("make, error, match", [
    (lambda: ForecasterConfig(strategy="ahead"), ValueError,
     r"strategy must be one of 'direct', 'recursive', 'seq2seq'; got 'ahead'"),
    (lambda: ForecasterConfig(quantiles=(0.5, 0.1)), ValueError, r"quantiles must be increasing levels in \(0, 1\)"),
    (lambda: ForecasterConfig(covariate_size=-1), ValueError, r"covariate_size must be an int >= 0; got -1"),
    (lambda: LSTMForecaster(ForecasterConfig(horizon=2))(torch.zeros(3, 1, 2), torch.zeros(2, 1, 0)), ValueError,
     r"past must have 1 features per step \(L, B, 1 \+ C\); got 2"),
    (lambda: LSTMForecaster(ForecasterConfig(horizon=2))(torch.zeros(3, 1, 1), torch.zeros(3, 1, 0)), ValueError,
     r"future must have shape \(H=2, B=1, C\); got \(3, 1, 0\)"),
    (lambda: LSTMForecaster({"horizon": 2}), TypeError, r"config must be a ForecasterConfig; got dict"),
])
def test_bad_input_is_named(make, error, match):
    with pytest.raises(error, match=match):
        make()
