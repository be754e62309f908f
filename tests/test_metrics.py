"""lstmlib.metrics: bits per character and a text's log-probabilities under a next-token model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from small_models import V, small_lstm
from torch.nn import functional as F

from lstmlib.metrics import bits_per_char, lstm_cross_entropy, lstm_log_probs

HELD_OUT = np.random.default_rng(1).integers(0, V, size=300)


def test_bits_per_char_converts_nats():
    assert bits_per_char(math.log(2)) == pytest.approx(1.0)
    assert bits_per_char(math.log(75)) == pytest.approx(math.log2(75))


def test_lstm_log_probs_of_one_track_is_the_plain_cross_entropy():
    model = small_lstm()
    ids = HELD_OUT[:50]
    logits, _ = model(torch.from_numpy(ids[:-1])[:, None])
    expected = -F.cross_entropy(logits[:, 0].double(), torch.from_numpy(ids[1:]), reduction="none")
    assert np.allclose(lstm_log_probs(model, ids, tracks=1, chunk=7), expected.detach().numpy())
    assert lstm_cross_entropy(model, ids, tracks=1) == pytest.approx(-expected.mean().item())


def test_lstm_log_probs_tracks_start_from_a_zero_state_and_cover_every_character():
    model = small_lstm()
    ids = HELD_OUT[:23]  # 22 predictions in 4 tracks of 6 steps: the last track is padded
    lp = lstm_log_probs(model, ids, tracks=4, chunk=4)
    assert lp.shape == (22,)
    for start in range(0, 22, 6):
        piece = ids[start:min(start + 6, 22) + 1]
        assert np.allclose(lp[start:start + 6], lstm_log_probs(model, piece, tracks=1))


def test_lstm_log_probs_leave_the_model_in_its_mode():
    model = small_lstm().train()
    lstm_log_probs(model, HELD_OUT[:10])
    assert model.training


@pytest.mark.parametrize("call, error, match", [
    (lambda m: lstm_log_probs(torch.nn.Linear(2, 2), HELD_OUT), TypeError,
     r"model must be a next-token model .*got Linear"),
    (lambda m: lstm_log_probs(m, HELD_OUT[:1]), ValueError, r"ids must hold at least 2 token\(s\); got 1"),
    (lambda m: lstm_log_probs(m, np.array([0, V])), ValueError,
     rf"ids must hold ids in \[0, {V - 1}\]; got values from 0 to {V}"),
    (lambda m: lstm_log_probs(m, HELD_OUT.astype(float)), TypeError, r"ids must have an integer dtype; got float64"),
    (lambda m: lstm_log_probs(m, HELD_OUT, tracks=0), ValueError, r"tracks must be a positive int \(>= 1\); got 0"),
    (lambda m: lstm_cross_entropy(m, HELD_OUT, chunk=1.5), TypeError, r"chunk must be a positive int; got float 1.5"),
])
def test_scoring_rejects_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call(small_lstm())
