"""Character-level language models: the Kneser-Ney n-gram, the LSTM and its truncated-BPTT training loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from small_models import V, small_lstm
from torch.nn import functional as F

import lstmlib.nn
from lstmlib.data.shakespeare import consecutive_windows
from lstmlib.metrics import bits_per_char, lstm_cross_entropy
from lstmlib.models import CharLSTM, CharLSTMConfig, CharNGram
from lstmlib.train import seed_everything, train, truncated_bptt_loss

RNG = np.random.default_rng(0)
TEXT = RNG.integers(0, 4, size=2000)  # uses 4 of the 6 ids: the other two are never seen
HELD_OUT = RNG.integers(0, V, size=300)


# ---------------------------------------------------------------- n-gram


def test_kneser_ney_tables_on_a_hand_counted_text():
    # "abcab": bigrams ab (twice), bc, ca; each of a, b, c follows exactly one other character.
    model = CharNGram(2, vocab_size=3).fit(np.array([0, 1, 2, 0, 1]))
    unigram, bigram = model.tables
    assert unigram["keys"].tolist() == [0, 1, 2] and unigram["counts"].tolist() == [1, 1, 1]
    assert bigram["keys"].tolist() == [0 * 3 + 1, 1 * 3 + 2, 2 * 3 + 0]  # ab, bc, ca
    assert bigram["counts"].tolist() == [2, 1, 1]
    # p(b | a) by the documented formula, with D_1 = n1 / (n1 + 2 n2) = 2 / 4 and D_0 clipped to 0.999
    d1, d0 = bigram["discount"], unigram["discount"]
    assert d1 == 0.5 and d0 == pytest.approx(0.999)
    p_b = (1 - d0) / 3 + d0 * 3 / 3 * (1 / 3)  # lower order: continuation count 1 of 3
    expected = (2 - d1) / 2 + d1 * 1 / 2 * p_b
    assert model.next_char_probs(np.array([0]))[1] == pytest.approx(expected)
    assert math.exp(model.log_probs(np.array([0, 1]))[0]) == pytest.approx(expected)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_ngram_distributions_sum_to_one_for_any_context(order):
    model = CharNGram(order, V).fit(TEXT)
    for context in [np.array([], dtype=np.int64), TEXT[:1], TEXT[:10], np.array([5, 5, 4, 5, 4])]:
        p = model.next_char_probs(context)
        assert p.shape == (V,) and p.sum() == pytest.approx(1.0) and (p > 0).all()


def test_log_probs_agree_with_next_char_probs():
    model = CharNGram(4, V).fit(TEXT)
    lp = model.log_probs(HELD_OUT[:40])
    direct = [math.log(model.next_char_probs(HELD_OUT[:t])[HELD_OUT[t]]) for t in range(1, 40)]
    assert lp.shape == (39,) and np.allclose(lp, direct)
    assert model.cross_entropy(HELD_OUT[:40]) == pytest.approx(-np.mean(direct))


def test_longer_contexts_fit_a_periodic_text():
    periodic = np.tile(np.array([0, 1, 2, 3, 1, 0]), 200)  # after 0 comes 1 or (from 1) 2: needs 2 characters
    bits = [bits_per_char(CharNGram(n, V).fit(periodic).cross_entropy(periodic)) for n in (1, 2, 3)]
    assert bits[0] > bits[1] > bits[2] and bits[2] < 0.05


def test_fit_orders_matches_fitting_each_order_alone():
    models = CharNGram.fit_orders(TEXT, V, max_order=4)
    assert [m.order for m in models] == [1, 2, 3, 4]
    for m in models:
        alone = CharNGram(m.order, V).fit(TEXT)
        assert np.array_equal(m.log_probs(HELD_OUT), alone.log_probs(HELD_OUT))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: CharNGram(0, V), ValueError, r"order must be a positive int \(>= 1\); got 0"),
        (lambda: CharNGram(2.0, V), TypeError, r"order must be a positive int; got float"),
        (
            lambda: CharNGram(11, 75),
            ValueError,
            r"order must keep vocab_size \*\* order below 2 \*\* 63 .*largest order: 10",
        ),
        (lambda: CharNGram(2, 1), ValueError, r"vocab_size must be at least 2; got 1"),
        (
            lambda: CharNGram(2, V).fit(np.array([0, 6])),
            ValueError,
            r"ids must hold ids in \[0, 5\]; got values from 0 to 6",
        ),
        (lambda: CharNGram(2, V).fit(TEXT.astype(float)), TypeError, r"ids must have an integer dtype; got float64"),
        (
            lambda: CharNGram(2, V).fit(list(TEXT)),
            TypeError,
            r"ids must be a NumPy array of token ids \(N,\); got list",
        ),
        (lambda: CharNGram(3, V).fit(TEXT[:2]), ValueError, r"ids must hold at least 3 token\(s\); got 2"),
        (lambda: CharNGram(2, V).log_probs(TEXT), RuntimeError, r"not fitted yet; call fit\(ids\) first"),
        (lambda: CharNGram(2, V).fit(TEXT).log_probs(TEXT[:1]), ValueError, r"ids must hold at least 2 token"),
    ],
)
def test_ngram_rejects_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- LSTM


def test_char_lstm_shapes_layer_and_forget_bias():
    model = small_lstm(num_layers=2, forget_bias=1.5)
    assert isinstance(model.lstm, lstmlib.nn.LSTM)
    logits, (h, c) = model(torch.from_numpy(TEXT[:35].reshape(7, 5)))
    assert logits.shape == (7, 5, V) and h.shape == c.shape == (2, 5, 8)
    reference = lstmlib.nn.LSTM(4, 8, num_layers=2)  # same seed, same draws: embedding first
    seed_everything(0)
    torch.nn.Embedding(V, 4)
    reference = lstmlib.nn.LSTM(4, 8, num_layers=2)
    for layer in range(2):
        shift = getattr(model.lstm, f"bias_ih_l{layer}") - getattr(reference, f"bias_ih_l{layer}")
        assert torch.allclose(shift, torch.tensor([0.0] * 8 + [1.5] * 8 + [0.0] * 16))


def test_config_rebuilds_the_same_architecture():
    model = small_lstm(num_layers=2, forget_bias=0.5)
    assert model.config == CharLSTMConfig(V, embed_size=4, hidden_size=8, num_layers=2, forget_bias=0.5)
    twin = CharLSTM.from_config(model.config)
    assert {k: v.shape for k, v in twin.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    assert CharLSTMConfig(V).to_dict() == dict(
        vocab_size=V, embed_size=32, hidden_size=256, num_layers=1, forget_bias=1.0
    )


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: CharLSTMConfig(0), ValueError, r"vocab_size must be a positive int \(>= 1\); got 0"),
        (lambda: CharLSTM(V, hidden_size=2.5), TypeError, r"hidden_size must be a positive int; got float 2.5"),
        (lambda: CharLSTM(V, num_layers=0), ValueError, r"num_layers must be a positive int \(>= 1\); got 0"),
        (lambda: CharLSTM.from_config({"vocab_size": V}), TypeError, r"config must be a CharLSTMConfig; got dict"),
    ],
)
def test_char_lstm_rejects_bad_sizes(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_carrying_the_state_equals_reading_the_whole_text():
    model = small_lstm()
    x = torch.from_numpy(TEXT[:60].reshape(20, 3))
    whole, _ = model(x)
    first, state = model(x[:8])
    second, _ = model(x[8:], state)
    assert torch.allclose(torch.cat([first, second]), whole, atol=1e-6)


@pytest.mark.parametrize(
    "x, error, match",
    [
        (TEXT[:10].reshape(5, 2), TypeError, r"x must be a torch.Tensor of token ids \(T, B\); got ndarray"),
        (
            torch.zeros(5, dtype=torch.int64),
            ValueError,
            r"x must have 2 dimensions \(T, B\); got 1 dimensions with shape \(5,\)",
        ),
        (torch.zeros(5, 2), TypeError, r"x must have dtype int64 \(token ids\); got float32"),
    ],
)
def test_char_lstm_rejects_bad_input(x, error, match):
    with pytest.raises(error, match=match):
        small_lstm()(x)


def test_truncated_bptt_loss_carries_the_detached_state():
    model = small_lstm()
    batches = consecutive_windows(TEXT, batch_size=3, length=5, rng=0)
    same = consecutive_windows(TEXT, batch_size=3, length=5, rng=0)
    loss_fn = truncated_bptt_loss(model, batches)
    loss_fn(0)
    second = loss_fn(1)
    (x0, _), (x1, y1) = next(same), next(same)
    _, state = model(torch.from_numpy(x0))
    logits, _ = model(torch.from_numpy(x1), tuple(s.detach() for s in state))
    assert second.item() == pytest.approx(F.cross_entropy(logits.flatten(0, 1), torch.from_numpy(y1).flatten()).item())
    second.backward()  # only this window's graph: no error about freed buffers


def test_an_lstm_learns_a_periodic_text_with_truncated_bptt():
    periodic = np.tile(np.array([0, 1, 2, 3, 1, 0]), 100)
    model = small_lstm()
    loss_fn = truncated_bptt_loss(model, consecutive_windows(periodic, batch_size=4, length=12, rng=0))
    train(model, loss_fn, steps=150, lr=0.03)
    assert bits_per_char(lstm_cross_entropy(model, periodic, tracks=1)) < 0.1


def test_truncated_bptt_loss_needs_a_next_token_model():
    with pytest.raises(
        TypeError,
        match=r"model must be a next-token model \(a torch.nn.Module with an int vocab_size"
        r".*got Linear",
    ):
        truncated_bptt_loss(torch.nn.Linear(2, 2), iter([]))
