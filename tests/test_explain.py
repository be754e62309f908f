"""lstmlib.explain: importance scores, and what happens to the output when attention weights are replaced."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstmlib.explain import (
    adversarial_attention,
    attention_of,
    gradient_importance,
    jensen_shannon,
    kendall_taus,
    leave_one_out_importance,
    output_with_weights,
    permuted_attention_change,
)
from lstmlib.models.sentiment import SentimentConfig, SentimentLSTM
from lstmlib.text import pad_batch

SENTENCES = [np.array([4, 5, 6, 7, 8]), np.array([9, 10, 11]), np.array([12]), np.array([13, 5, 14, 15])]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(3)
    model = SentimentLSTM(SentimentConfig(20, embed_size=6, hidden_size=5, attention_size=4))
    with torch.no_grad():  # sharper scores than the initial ones, so the weights differ visibly between words
        model.attention.score_vector.mul_(8)
        model.readout.weight.mul_(4)
    return model.eval()


def p_of(model, sentence):
    with torch.no_grad():
        logits = model(torch.from_numpy(np.asarray(sentence)).unsqueeze(1), torch.tensor([len(sentence)]))
    return torch.softmax(logits, -1)[0, 1].item()


def test_attention_and_p_match_the_model_one_sentence_at_a_time(model):
    weights, p = attention_of(model, SENTENCES)
    for sentence, w, q in zip(SENTENCES, weights, p):
        assert w.shape == (len(sentence),) and w.sum() == pytest.approx(1, abs=1e-6)
        assert q == pytest.approx(p_of(model, sentence), abs=1e-6)
    np.testing.assert_allclose(output_with_weights(model, SENTENCES, weights), p, atol=1e-6)


def test_leave_one_out_is_the_change_when_a_word_is_deleted(model):
    scores = leave_one_out_importance(model, SENTENCES, batch_size=3)  # several batches
    for sentence, s in zip(SENTENCES, scores):
        if len(sentence) == 1:
            assert s.tolist() == [0.0]
            continue
        expected = [abs(p_of(model, sentence) - p_of(model, np.delete(sentence, t))) for t in range(len(sentence))]
        np.testing.assert_allclose(s, expected, atol=1e-6)


def test_the_batched_gradient_is_each_sentences_own(model):
    scores = gradient_importance(model, SENTENCES)
    sentence = SENTENCES[3]
    embedded = model.embed_ids(torch.from_numpy(sentence).unsqueeze(1)).detach().requires_grad_(True)
    q = torch.softmax(model(None, torch.tensor([4]), embedded=embedded), -1)[0, 1]
    (gradient,) = torch.autograd.grad(q, embedded)
    np.testing.assert_allclose(scores[3], gradient[:, 0].norm(dim=-1).numpy(), rtol=1e-4, atol=1e-7)


def test_kendall_tau_on_hand_cases():
    same, reversed_, constant = np.array([0.1, 0.5, 0.3]), np.array([0.5, 0.1, 0.3]), np.ones(3)
    one_swap = (np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0]))  # 2 pairs in the same order, 1 reversed
    taus = kendall_taus([same, same, one_swap[0], same, np.array([1.0])],
                        [same * 2, reversed_, one_swap[1], constant, np.array([2.0])])
    assert taus.tolist() == pytest.approx([1.0, -1.0, 1 / 3])  # the constant and the one-word ones have no tau
    with pytest.raises(ValueError, match=r"first and second must hold the same number of sentences; got 1 and 2"):
        kendall_taus([same], [same, same])
    with pytest.raises(ValueError, match=r"first\[0\] and second\[0\] must have the same shape; got \(3,\) and \(2,\)"):
        kendall_taus([same], [same[:2]])


def test_jensen_shannon_runs_from_zero_to_ln2():
    a = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    b = torch.tensor([[0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
    np.testing.assert_allclose(jensen_shannon(a, b).numpy(), [math.log(2), 0.0], atol=1e-7)


def test_shuffling_cannot_change_a_one_word_sentence_and_is_reproducible(model):
    first = permuted_attention_change(model, SENTENCES, permutations=20, rng=0)
    assert first[2] == 0 and (first >= 0).all() and first.max() > 0
    np.testing.assert_array_equal(first, permuted_attention_change(model, SENTENCES, permutations=20, rng=0))


def test_the_adversary_stays_within_epsilon_and_moves_the_weights(model):
    weights, divergence, change = adversarial_attention(model, SENTENCES, epsilon=0.02, steps=100)
    _, p = attention_of(model, SENTENCES)
    replaced = output_with_weights(model, SENTENCES, weights)
    assert np.all(np.abs(replaced - p) <= 0.02 + 1e-6) and np.allclose(np.abs(replaced - p), change, atol=1e-6)
    assert all(w.sum() == pytest.approx(1, abs=1e-5) for w in weights)
    assert divergence[2] == 0 and divergence.max() > 0.05  # one word: nothing to move


def test_the_measurements_need_an_attention_model_in_eval_mode(model):
    ids, _ = pad_batch(SENTENCES)
    max_model = SentimentLSTM(SentimentConfig(20, embed_size=6, hidden_size=5, pooling="max")).eval()
    with pytest.raises(ValueError, match=r"model must pool by attention; got pooling='max'"):
        attention_of(max_model, SENTENCES)
    model.train()
    try:
        with pytest.raises(ValueError, match=r"model must be in eval mode"):
            gradient_importance(model, SENTENCES)
    finally:
        model.eval()
    with pytest.raises(TypeError, match=r"encoded must be a non-empty list of word-id arrays"):
        attention_of(model, [])
    with pytest.raises(ValueError, match=r"weights must hold one array \(n_i,\) per sentence"):
        output_with_weights(model, SENTENCES, [np.ones(2)] * 4)
