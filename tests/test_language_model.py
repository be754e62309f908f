"""Character-level language models: the Kneser-Ney n-gram, the LSTM, evaluation and sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import lstmlib.nn
from lstmlib.data.shakespeare import TEST_PLAY, CharVocab, consecutive_windows, load_play
from lstmlib.models import (
    SHAKESPEARE_CHECKPOINT,
    CharLSTM,
    CharNGram,
    bits_per_char,
    load_checkpoint,
    lstm_cross_entropy,
    lstm_log_probs,
    sample,
    softmax_with_temperature,
    truncated_bptt_loss,
)
from lstmlib.train import seed_everything, train

RNG = np.random.default_rng(0)
V = 6
TEXT = RNG.integers(0, 4, size=2000)  # uses 4 of the 6 ids: the other two are never seen
HELD_OUT = RNG.integers(0, V, size=300)


def test_bits_per_char_converts_nats():
    assert bits_per_char(math.log(2)) == pytest.approx(1.0)
    assert bits_per_char(math.log(75)) == pytest.approx(math.log2(75))


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


@pytest.mark.parametrize("call, error, match", [
    (lambda: CharNGram(0, V), ValueError, r"order must be a positive int \(>= 1\); got 0"),
    (lambda: CharNGram(2.0, V), TypeError, r"order must be a positive int; got float"),
    (lambda: CharNGram(11, 75), ValueError, r"order must keep vocab_size \*\* order below 2 \*\* 63 .*largest order: 10"),
    (lambda: CharNGram(2, 1), ValueError, r"vocab_size must be at least 2; got 1"),
    (lambda: CharNGram(2, V).fit(np.array([0, 6])), ValueError, r"ids must hold ids in \[0, 5\]; got values from 0 to 6"),
    (lambda: CharNGram(2, V).fit(TEXT.astype(float)), TypeError, r"ids must have an integer dtype; got float64"),
    (lambda: CharNGram(2, V).fit(list(TEXT)), TypeError, r"ids must be a NumPy array of token ids; got list"),
    (lambda: CharNGram(3, V).fit(TEXT[:2]), ValueError, r"ids must hold at least 3 token\(s\); got 2"),
    (lambda: CharNGram(2, V).log_probs(TEXT), RuntimeError, r"not fitted yet; call fit\(ids\) first"),
    (lambda: CharNGram(2, V).fit(TEXT).log_probs(TEXT[:1]), ValueError, r"ids must hold at least 2 token"),
])
def test_ngram_rejects_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- LSTM


def small_lstm(**kwargs):
    seed_everything(0)
    return CharLSTM(V, embed_size=4, hidden_size=8, **kwargs)


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


def test_carrying_the_state_equals_reading_the_whole_text():
    model = small_lstm()
    x = torch.from_numpy(TEXT[:60].reshape(20, 3))
    whole, _ = model(x)
    first, state = model(x[:8])
    second, _ = model(x[8:], state)
    assert torch.allclose(torch.cat([first, second]), whole, atol=1e-6)


@pytest.mark.parametrize("x, error, match", [
    (TEXT[:10].reshape(5, 2), TypeError, r"x must be a torch.Tensor of token ids \(T, B\); got ndarray"),
    (torch.zeros(5, dtype=torch.int64), ValueError, r"x must have 2 dimensions \(T, B\); got shape \(5,\)"),
    (torch.zeros(5, 2), TypeError, r"x must hold int64 token ids; got float32"),
])
def test_char_lstm_rejects_bad_input(x, error, match):
    with pytest.raises(error, match=match):
        small_lstm()(x)


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


def test_truncated_bptt_loss_needs_a_char_lstm():
    with pytest.raises(TypeError, match=r"model must be a CharLSTM; got Linear"):
        truncated_bptt_loss(torch.nn.Linear(2, 2), iter([]))


# ---------------------------------------------------------------- temperature and sampling


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
    greedy, ids = [], list(prompt)
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
])
def test_sample_rejects_bad_arguments(kwargs, error, match):
    arguments = dict(prompt=HELD_OUT[:3], n_chars=5) | kwargs
    with pytest.raises(error, match=match):
        sample(small_lstm(), arguments.pop("prompt"), arguments.pop("n_chars"), **arguments)


# ---------------------------------------------------------------- the shipped checkpoint


@pytest.mark.skipif(not SHAKESPEARE_CHECKPOINT.exists(), reason="no checkpoint: run scripts/train_charlm.py")
def test_the_shipped_checkpoint_scores_what_it_reports():
    model, record = load_checkpoint()
    assert SHAKESPEARE_CHECKPOINT.stat().st_size < 2 * 2**20
    vocab = CharVocab(record["chars"])
    assert record["plays"]["test"] == TEST_PLAY and not model.training
    test_bits = bits_per_char(lstm_cross_entropy(model, vocab.encode(load_play(TEST_PLAY))))
    assert test_bits == pytest.approx(record["bits_per_char"]["test"], abs=2e-3)
