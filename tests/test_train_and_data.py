"""The shared training loop and the synthetic task generators."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmlib.data import first_symbol
from lstmlib.train import History, seed_everything, train


def test_first_symbol_shapes_and_target():
    x, target = first_symbol(batch_size=5, length=7, n_symbols=3, n_distractors=2, rng=0)
    assert x.shape == (7, 5, 5) and target.shape == (5,)
    assert np.array_equal(x.sum(axis=2), np.ones((7, 5)))  # exactly one symbol per step
    assert np.array_equal(x[0].argmax(axis=1), target)  # step 0 shows the signal
    assert x[1:, :, :3].sum() == 0  # signals never appear after step 0
    assert set(np.unique(target)) <= {0, 1, 2}


def test_first_symbol_is_reproducible_from_a_seed():
    a, ta = first_symbol(4, 6, rng=3)
    b, tb = first_symbol(4, 6, rng=np.random.default_rng(3))
    assert np.array_equal(a, b) and np.array_equal(ta, tb)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0, length=5), ValueError, "batch_size"),
    (dict(batch_size=2, length=2.5), TypeError, "length"),
    (dict(batch_size=2, length=5, rng="seed"), TypeError, "rng"),
])
def test_first_symbol_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        first_symbol(**kwargs)


def test_smoothed_loss_is_a_running_mean():
    history = History(loss=[4.0, 2.0, 0.0, 2.0])
    assert np.allclose(history.smoothed_loss(window=2), [4.0, 3.0, 1.0, 1.0])


def test_train_fits_a_linear_map_and_records_pre_clip_norms():
    seed_everything(0)
    model = torch.nn.Linear(3, 1)
    w_true = torch.tensor([[1.0, -2.0, 0.5]])

    def loss_fn(step):
        x = torch.randn(32, 3)
        return ((model(x) - x @ w_true.T) ** 2).mean()

    history = train(model, loss_fn, steps=300, lr=0.05, clip=1.0)
    assert len(history.loss) == 300 and len(history.grad_norm) == 300
    assert history.loss[-1] < 1e-3 < history.loss[0]
    assert max(history.grad_norm) > 1.0  # the recorded norm is the one before clipping
    assert not model.training


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), "steps"), (dict(steps=5, lr=-1.0), "lr"),
    (dict(steps=5, clip=0.0), "clip"), (dict(steps=5, optimizer="adamw"), "optimizer"),
])
def test_train_rejects_bad_arguments(kwargs, match):
    model = torch.nn.Linear(2, 1)
    with pytest.raises((ValueError, TypeError), match=match):
        train(model, lambda step: model(torch.ones(1, 2)).sum(), **kwargs)


def test_train_reports_every_step_to_on_step():
    model = torch.nn.Linear(2, 1)
    seen = []
    history = train(model, lambda step: model(torch.ones(1, 2)).pow(2).sum(), steps=4, lr=0.1,
                    on_step=lambda step, loss: seen.append((step, loss)))
    assert seen == list(enumerate(history.loss))


def test_train_rejects_an_on_step_that_is_not_a_function():
    model = torch.nn.Linear(2, 1)
    with pytest.raises(TypeError, match=r"on_step must be None or a function on_step\(step, loss\); got int"):
        train(model, lambda step: model(torch.ones(1, 2)).sum(), steps=1, on_step=3)


def test_train_with_a_kept_optimiser_continues_exactly_where_one_long_run_would():
    def loss_fn_for(model):
        gen = torch.Generator().manual_seed(0)
        return lambda step: model(torch.randn(8, 2, generator=gen)).pow(2).mean()

    seed_everything(1)
    long = torch.nn.Linear(2, 1)
    whole = train(long, loss_fn_for(long), steps=6, lr=0.1).loss
    seed_everything(1)
    split = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(split.parameters(), lr=0.1)
    fn = loss_fn_for(split)
    halves = train(split, fn, steps=3, optimizer=opt).loss + train(split, fn, steps=3, optimizer=opt).loss
    assert halves == whole  # Adam's moments and step count carried over in the kept optimiser
