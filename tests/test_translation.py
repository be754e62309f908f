"""Translation: the two offline tasks, the encoder-decoder with and without attention, the shipped
translators and their targets, the baselines, BLEU/chrF/exact match, and the attention viewer."""

from __future__ import annotations

import datetime
import re

import numpy as np
import pytest
import torch

from lstmlib import pretrained
from lstmlib.data.translation import (
    date_pairs,
    date_split,
    number_pairs,
    number_split,
    tokenize_pairs,
    translation_batches,
)
from lstmlib.decoding import beam_search, greedy_search
from lstmlib.metrics import translation_scores
from lstmlib.models.seq2seq import Seq2Seq, Seq2SeqConfig, teacher_forcing_loss
from lstmlib.models.translation_baselines import NearestNeighbourTranslator, WordTable
from lstmlib.text import WordVocab, detokenize, pad_batch, tokenize
from lstmlib.widgets.attention_viewer import AttentionViewer

MANIFEST = pretrained.read_manifest()


# -- data ---------------------------------------------------------------------------------------------

def test_number_splits_are_disjoint_and_cover_every_integer_below_100000():
    splits = {name: number_split(name) for name in ("train", "validation", "test")}
    assert [len(splits[n]) for n in ("train", "validation", "test")] == [97_000, 1_000, 2_000]
    assert np.array_equal(np.sort(np.concatenate(list(splits.values()))), np.arange(100_000))
    extrapolation = number_split("extrapolation")
    assert extrapolation.size == 2000 and extrapolation.min() >= 100_000 and extrapolation.max() <= 999_999
    drawn = number_split("train", 50, rng=3)
    assert np.isin(drawn, splits["train"]).all() and np.array_equal(drawn, number_split("train", 50, rng=3))
    with pytest.raises(ValueError, match=r"split must be one of .*; got 'dev'"):
        number_split("dev")
    with pytest.raises(ValueError, match=r"count must be at most the split's 2000 integers; got 2001"):
        number_split("test", 2001)


def test_number_pairs_are_num2words_in_english_and_french():
    english, french = number_pairs([71081, 99])
    assert english == ["seventy-one thousand and eighty-one", "ninety-nine"]
    assert french == ["soixante et onze mille quatre-vingt-un", "quatre-vingt-dix-neuf"]
    with pytest.raises(ValueError, match=r"n must be an int in \[0, 999999\]; got 1000000"):
        number_pairs([1_000_000])


def test_date_pairs_cross_the_word_order_and_the_splits_are_disjoint():
    german, english = date_pairs([datetime.date(2021, 12, 7)])
    assert (german, english) == (["Dienstag, 7. Dezember 2021"], ["Tuesday, December 7, 2021"])
    test, train = set(date_split("test")), set(date_split("train"))
    assert len(test) == 2000 and not test & train and min(train) >= datetime.date(1950, 1, 1)
    with pytest.raises(TypeError, match=r"days\[0\] must be a datetime.date; got str"):
        date_pairs(["2021-12-07"])


def test_detokenize_inverts_the_tasks_tokenisation():
    english, french = number_pairs(number_split("test", 300, rng=1))
    german, english_dates = date_pairs(date_split("test", 300, rng=1))
    for text in english + french + german + english_dates:
        assert detokenize(tokenize(text, split_hyphens=True)) == text
    assert detokenize(["quatre", "-", "vingt", "-", "dix", "mille"]) == "quatre-vingt-dix mille"
    with pytest.raises(TypeError, match="tokens must be a list of str tokens; got str"):
        detokenize("quatre")


def test_training_batches_shift_the_target_by_one_word():
    sources, targets = tokenize_pairs(["one", "twenty - one"], ["un", "vingt et un"])
    source_vocab, target_vocab = WordVocab.from_tokens(sources), WordVocab.from_tokens(targets)
    source, lengths, target_in, target_out = next(translation_batches(sources, targets, source_vocab,
                                                                      target_vocab, 2, rng=0))
    assert source.shape == (3, 2) and sorted(lengths.tolist()) == [1, 3]
    assert (target_in[0] == target_vocab.bos_id).all()
    assert torch.equal(target_in[1:], target_out[:-1])  # the word to predict is read at the next step
    assert sorted((target_out == target_vocab.eos_id).sum(0).tolist()) == [1, 1]


# -- the model ----------------------------------------------------------------------------------------

def small_model(attention="additive", reverse_source=False, seed=0):
    torch.manual_seed(seed)
    return Seq2Seq(Seq2SeqConfig(9, 7, embed_size=4, hidden_size=6, attention=attention, attention_size=5,
                                 reverse_source=reverse_source)).eval()


SOURCE, LENGTHS = pad_batch([np.array([4, 5, 6, 7]), np.array([8, 4])])  # (4, 2), the second padded
TARGET_IN = torch.tensor([[2, 2], [4, 5], [6, 4]])


@pytest.mark.parametrize("attention", ["additive", "multiplicative", "none"])
def test_teacher_forcing_shapes_and_attention_weights(attention):
    model = small_model(attention)
    logits, weights = model(SOURCE, LENGTHS, TARGET_IN)
    assert logits.shape == (3, 2, 7)
    if attention == "none":
        assert weights is None
    else:
        assert weights.shape == (3, 2, 4)
        assert torch.allclose(weights.sum(-1), torch.ones(3, 2))
        assert (weights[:, 1, 2:] == 0).all()  # the padding of the second source gets nothing


def test_padding_does_not_change_a_sentences_translation():
    model = small_model()
    alone, _ = model(SOURCE[:2, 1:], LENGTHS[1:], TARGET_IN[:, 1:])
    batched, _ = model(SOURCE, LENGTHS, TARGET_IN)
    assert torch.allclose(alone[:, 0], batched[:, 1], atol=1e-6)


def test_reversing_the_source_is_the_same_as_feeding_it_backwards_with_keys_in_source_order():
    reversed_model, plain = small_model(reverse_source=True), small_model()
    plain.load_state_dict(reversed_model.state_dict())
    backwards = torch.stack([torch.cat([SOURCE[:n, b].flip(0), SOURCE[n:, b]]) for b, n in enumerate(LENGTHS)], 1)
    h_r, c_r, keys_r, _, _ = reversed_model.encode(SOURCE, LENGTHS)
    h_p, c_p, keys_p, _, _ = plain.encode(backwards, LENGTHS)
    assert torch.allclose(h_r, h_p) and torch.allclose(c_r, c_p)
    for b, n in enumerate(LENGTHS.tolist()):
        assert torch.allclose(keys_r[b, :n], keys_p[b, :n].flip(0))


def test_the_step_function_drives_greedy_and_beam_search():
    model = small_model()
    for k in range(2):  # each source alone, so its state has batch size 1 as beam_search needs
        source, lengths = SOURCE[:int(LENGTHS[k]), k:k + 1], LENGTHS[k:k + 1]
        greedy = greedy_search(model.log_prob_step, model.encode(source, lengths), 1, bos_id=2, eos_id=3,
                               max_length=6)[0]
        beams = beam_search(model.log_prob_step, model.encode(source, lengths), bos_id=2, eos_id=3, beam_width=3,
                            max_length=6, length_normalization=0.0, state_batch_dim=0)
        assert 1 <= len(beams) <= 3 and all(a.score >= b.score for a, b in zip(beams, beams[1:]))
        # a beam of 1 keeps the greedy path and also the outputs that ended on the way: never worse
        narrow = beam_search(model.log_prob_step, model.encode(source, lengths), bos_id=2, eos_id=3, beam_width=1,
                             max_length=6, length_normalization=0.0, state_batch_dim=0)[0]
        assert narrow.log_prob >= greedy.log_prob - 1e-9


def test_teacher_forcing_loss_trains_a_copy_task():
    words = [[str(d) for d in np.random.default_rng(k).integers(0, 5, size=3)] for k in range(64)]
    vocab = WordVocab([str(d) for d in range(5)])
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), embed_size=8, hidden_size=16, attention_size=8))
    loss_fn = teacher_forcing_loss(model, translation_batches(words, words, vocab, vocab, 16, rng=0))
    first = loss_fn(0).item()
    from lstmlib.train import train
    history = train(model, loss_fn, steps=150, lr=1e-2)
    assert np.mean(history.loss[-10:]) < 0.3 * first


def test_model_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"attention must be one of .*; got 'dot'"):
        Seq2SeqConfig(5, 5, attention="dot")
    model = small_model()
    with pytest.raises(ValueError, match=r"lengths must be \(B,\) = \(2,\) ints in \[1, 4\]; got \[5, 1\]"):
        model.encode(SOURCE, torch.tensor([5, 1]))
    with pytest.raises(TypeError, match=r"source must have dtype int64"):
        model.encode(SOURCE.float(), LENGTHS)


# -- the shipped translators and the targets ---------------------------------------------------

@pytest.fixture(scope="module")
def numbers():
    return pretrained.load("translate-en-fr-numbers")


@pytest.fixture(scope="module")
def dates():
    return pretrained.load("translate-de-en-dates")


def metric(filename, name):
    return MANIFEST[filename]["metrics"][name]["value"]


def test_attention_reaches_the_target_and_the_models_without_it_fall_behind():
    # the manifest's values are re-measured from the files by tests/test_checkpoints.py
    attention, plain = "translate_en_fr_numbers.pt", "translate_en_fr_numbers_plain.pt"
    assert metric(attention, "test_exact_match") >= 0.97
    # 128 units: both are perfect below 100,000; on the longer six-digit numbers attention keeps more of the words
    assert metric(plain, "test_exact_match") >= 0.97
    test_gap = metric(attention, "test_bleu") - metric(plain, "test_bleu")
    extrapolation_gap = metric(attention, "extrapolation_bleu") - metric(plain, "extrapolation_bleu")
    assert extrapolation_gap > test_gap + 0.05, (test_gap, extrapolation_gap)
    # 32 units: without attention the summary no longer suffices for every held-out number
    small, small_plain = "translate_en_fr_numbers_small.pt", "translate_en_fr_numbers_small_plain.pt"
    assert metric(small_plain, "test_exact_match") <= metric(small, "test_exact_match") - 0.01


def test_the_shipped_numbers_translator_on_held_out_numbers(numbers):
    sample = number_split("test", 200, rng=7)
    english, french = number_pairs(sample)
    assert translation_scores(numbers.translate(english), french)["exact_match"] >= 0.95
    assert numbers.translate(["seventy-one thousand and eighty-one"], beam_width=4) == [
        "soixante et onze mille quatre-vingt-un"]
    assert not numbers.model.training and "additive attention" in repr(numbers)


def test_the_shipped_dates_translator_and_its_attention_on_the_month(dates):
    german, english = date_pairs(date_split("test", 100, rng=2))
    assert translation_scores(dates.translate(german), english)["exact_match"] >= 0.95
    source, output, weights = dates.attention_map("Dienstag, 7. Dezember 2021")
    assert output == tokenize("Tuesday, December 7, 2021")
    assert weights.shape == (len(output) + 1, len(source))
    # while writing "December" the decoder looks mostly at "Dezember", not at the diagonal position
    assert float(weights[output.index("December"), source.index("Dezember")]) > 0.5


def test_unknown_words_raise_a_clear_error(numbers):
    with pytest.raises(ValueError, match=r"sources\[1\] has the word 'eleventy', which the model never saw"):
        numbers.translate(["one", "eleventy - one"])
    with pytest.raises(TypeError, match=r"sources must be a list of str sentences; got str"):
        numbers.translate("one")
    with pytest.raises(ValueError, match=r"beam_width must be a positive int"):
        numbers.translate(["one"], beam_width=0)


# -- baselines and scores -----------------------------------------------------------------------------

def test_word_table_learns_word_translations_from_co_occurrence():
    sources, targets = tokenize_pairs(*number_pairs(number_split("train", 2000, rng=0)))
    table = WordTable().fit(sources, targets, iterations=10)
    assert table.translate_tokens(["seven"]) == ["sept"] and table.translate_tokens(["twenty"]) == ["vingt"]
    assert np.allclose(table.table.sum(1)[4:], 1)
    with pytest.raises(ValueError, match="WordTable must be fitted first"):
        WordTable().translate_tokens(["one"])


def test_word_table_records_a_log_likelihood_that_em_never_lowers():
    # one pair: the uniform start gives t("x" | e) = 1/5 (4 special tokens + "x") for NULL and "a" alike
    tiny = WordTable().fit([["a"]], [["x"]], iterations=3)
    assert len(tiny.log_likelihoods) == 3 and np.isclose(tiny.log_likelihoods[0], np.log(1 / 5))
    sources, targets = tokenize_pairs(*number_pairs(number_split("train", 2000, rng=0)))
    table = WordTable().fit(sources, targets, iterations=50)
    assert np.all(np.diff(table.log_likelihoods) >= -1e-12)
    ll = table.log_likelihoods
    assert ll[-1] - ll[-2] < 1e-3 < ll[1] - ll[0]
    assert table.translate_tokens(["thousand"]) == ["mille"]


def test_nearest_neighbour_returns_the_target_of_the_closest_training_source():
    sources, targets = tokenize_pairs(["one", "twenty - one", "two thousand"], ["un", "vingt et un", "deux mille"])
    retrieval = NearestNeighbourTranslator().fit(sources, targets)
    assert retrieval.translate_tokens(["twenty", "-", "two"]) == ["vingt", "et", "un"]
    assert retrieval.nearest([["two", "thousand"], ["one"]]).tolist() == [2, 0]


def test_translation_scores():
    same = ["un deux trois quatre cinq", "six sept huit neuf dix"]
    assert translation_scores(same, same) == pytest.approx({"exact_match": 1.0, "bleu": 1.0, "chrf": 1.0})
    scores = translation_scores(["un deux trois quatre", "cinq"], ["un deux trois quatre", "six"])
    assert scores["exact_match"] == 0.5 and 0 < scores["bleu"] < 1
    with pytest.raises(ValueError, match="outputs and references must be non-empty and of equal length; got 1 and 2"):
        translation_scores(["a"], ["a", "b"])


# -- the attention viewer -----------------------------------------------------------------------------

def test_the_viewer_precomputes_one_frame_per_sentence_and_follows_the_dropdown(dates):
    sources = ["Dienstag, 7. Dezember 2021", "Montag, 1. Januar 1990"]
    viewer = AttentionViewer(dates, sources, references=["Tuesday, December 7, 2021", "x"], title="a & b")
    assert len(viewer.frames.children) == 2 and viewer.frames.selected_index == 0
    viewer.dropdown.index = 1
    assert viewer.frames.selected_index == 1 and viewer.chosen == 1
    html = viewer.frame_html(0)
    assert "✓ exact" in html and "✗ differs" in viewer.frame_html(1)
    weights = viewer.weights_at(0)
    assert np.allclose(weights.sum(1), 1)
    shown = {(int(t), int(s)): text for t, s, text in re.findall(r"<td data-t=(\d+) data-s=(\d+)[^>]*>([^<]*)", html)}
    assert len(shown) == weights.size
    for (t, s), text in shown.items():
        assert text == (f"{weights[t, s]:.2f}" if weights[t, s] >= 0.05 else "")
    with pytest.raises(ValueError, match=r"k must be in \[0, 1\] for the 2 sentences; got 2"):
        viewer.frame_html(2)
