"""lstmlib.decoding: temperature and sampling from a next-token model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from small_models import V, small_lstm

from lstmlib.decoding import sample, softmax_with_temperature

HELD_OUT = np.random.default_rng(1).integers(0, V, size=300)



def test_softmax_with_temperature():
    logits = np.array([2.0, 1.0, 0.0, -1.0])
    assert np.allclose(softmax_with_temperature(logits), torch.softmax(torch.tensor(logits), 0).numpy())
    cold, hot = softmax_with_temperature(logits, 0.01), softmax_with_temperature(logits, 100.0)
    assert cold[0] > 0.999 and np.allclose(hot, 0.25, atol=0.01)
    entropies = [-(p * np.log(p)).sum() for p in (softmax_with_temperature(logits, t) for t in (0.5, 1, 2))]
    assert entropies[0] < entropies[1] < entropies[2]
    assert np.array_equal(np.argsort(cold), np.argsort(hot))  # the ranking never changes
    assert softmax_with_temperature(torch.tensor([[1.0, 2.0]]), 1.0).shape == (1, 2)


def test_sampling_is_seeded_and_cold_sampling_is_greedy():
    model = small_lstm()
    with torch.no_grad():
        model.readout.weight *= 100  # clear favourites: no near-ties for the greedy comparison
    prompt = HELD_OUT[:5]
    a = sample(model, prompt, 30, temperature=1.0, rng=1)
    b = sample(model, prompt, 30, temperature=1.0, rng=np.random.default_rng(1))
    assert a.shape == (30,) and a.dtype == np.int64 and np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < V
    ids = list(prompt)
    for _ in range(10):
        logits, _ = model(torch.tensor(ids)[:, None])
        ids.append(int(logits[-1, 0].argmax()))
    assert sample(model, prompt, 10, temperature=1e-4, rng=0).tolist() == ids[len(prompt):]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(temperature=0.0), ValueError, r"temperature must be a positive, finite number; got 0.0"),
    (dict(temperature=float("inf")), ValueError, r"temperature must be a positive, finite number"),
    (dict(temperature="hot"), TypeError, r"temperature must be a positive number; got str 'hot'"),
    (dict(n_chars=0), ValueError, r"n_chars must be a positive int"),
    (dict(prompt=np.array([], dtype=np.int64)), ValueError, r"prompt must hold at least 1 token"),
    (dict(prompt=np.array([9])), ValueError, r"prompt must hold ids in \[0, 5\]"),
    (dict(rng="seed"), TypeError, r"rng must be None, an int seed"),
    (dict(model=torch.nn.Linear(2, 2)), TypeError, r"model must be a next-token model .*got Linear"),
])
def test_sample_rejects_bad_arguments(kwargs, error, match):
    arguments = dict(model=small_lstm(), prompt=HELD_OUT[:3], n_chars=5) | kwargs
    with pytest.raises(error, match=match):
        sample(arguments.pop("model"), arguments.pop("prompt"), arguments.pop("n_chars"), **arguments)


def test_sampling_leaves_the_model_in_its_mode():
    model = small_lstm().train()
    sample(model, HELD_OUT[:3], 4, rng=0)
    assert model.training


def test_softmax_with_temperature_rejects_a_bad_temperature():
    with pytest.raises(ValueError, match=r"temperature must be a positive, finite number; got -1"):
        softmax_with_temperature(np.zeros(3), -1)
