"""lstmlib.decoding's CTC decoders: greedy (best path) and prefix beam search, against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lstmlib.decoding import ctc_greedy_decode, ctc_prefix_beam_search


def normalised(logits: np.ndarray) -> np.ndarray:
    return logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)


def labeling_log_probs(log_probs: np.ndarray, blank: int = 0) -> dict[tuple[int, ...], float]:
    """log P(labeling) for every labeling, by summing over all C**T alignments of ``log_probs (T, C)``."""
    totals: dict[tuple[int, ...], float] = {}
    for alignment in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        labels = tuple(c for t, c in enumerate(alignment) if c != blank and (t == 0 or alignment[t - 1] != c))
        score = sum(log_probs[t, c] for t, c in enumerate(alignment))
        totals[labels] = np.logaddexp(totals.get(labels, -np.inf), score)
    return totals


def test_greedy_merges_repeats_then_drops_blanks():
    frames = np.array([0, 4, 4, 0, 0, 1, 0, 7, 7, 0, 7, 2])  # "-44--1-77-72" reads 4 1 7 7 2
    log_probs = np.log(np.full((12, 2, 8), 0.01))
    log_probs[np.arange(12), 0, frames] = np.log(0.93)
    log_probs[np.arange(12), 1, 0] = np.log(0.93)  # all blanks: the empty labeling
    assert ctc_greedy_decode(log_probs, np.array([12, 12])) == [[4, 1, 7, 7, 2], []]
    assert ctc_greedy_decode(log_probs, np.array([3, 12])) == [[4], []]  # only the first 3 frames
    assert ctc_greedy_decode(torch.from_numpy(log_probs), torch.tensor([12, 12])) == [[4, 1, 7, 7, 2], []]
    # with blank=4: merged to 0 4 0 1 0 7 0 7 2, then the 4 (now the blank) is dropped
    assert ctc_greedy_decode(log_probs[:, :1], np.array([12]), blank=4) == [[0, 0, 1, 0, 7, 0, 7, 2]]


@pytest.mark.parametrize("seed", range(4))
def test_a_beam_wide_enough_to_keep_every_prefix_gives_the_exact_labeling_probabilities(seed):
    rng = np.random.default_rng(seed)
    log_probs = normalised(rng.normal(size=(5, 2, 3)) * 2)
    exact = labeling_log_probs(log_probs[:, 0])
    beams = ctc_prefix_beam_search(log_probs, np.array([5, 3]), beam_width=1000)
    found = {tuple(labels): score for labels, score in beams[0]}
    assert set(found) == {labels for labels, score in exact.items() if np.isfinite(score)}
    assert all(found[labels] == pytest.approx(exact[labels], abs=1e-12) for labels in found)
    assert [score for _, score in beams[0]] == sorted(found.values(), reverse=True)  # best first
    short = labeling_log_probs(log_probs[:3, 1])  # the second sample has 3 frames
    assert {tuple(labels): s for labels, s in beams[1]} == pytest.approx({k: v for k, v in short.items()
                                                                          if np.isfinite(v)})


def test_the_likeliest_labeling_can_differ_from_the_likeliest_alignment():
    # Each frame: blank 0.4, label 1 0.35, label 2 0.25. The best path is all blanks (0.4^3 = 0.064), but the
    # alignments that read "1" add up to more.
    log_probs = np.log(np.tile([0.4, 0.35, 0.25], (3, 1, 1)))
    assert ctc_greedy_decode(log_probs, np.array([3])) == [[]]
    best_labels, best_score = ctc_prefix_beam_search(log_probs, np.array([3]), beam_width=16)[0][0]
    assert best_labels == [1] and best_score > np.log(0.064)
    assert best_score == pytest.approx(labeling_log_probs(log_probs[:, 0])[(1,)])


def test_a_narrow_beam_returns_at_most_beam_width_labelings():
    log_probs = normalised(np.random.default_rng(5).normal(size=(6, 1, 4)))
    beams = ctc_prefix_beam_search(torch.from_numpy(log_probs), torch.tensor([6]), beam_width=3)
    assert len(beams) == 1 and len(beams[0]) == 3
    assert all(isinstance(labels, list) and isinstance(score, float) for labels, score in beams[0])


@pytest.mark.parametrize("log_probs, lengths, kwargs, error, match", [
    (np.zeros((3, 2)), np.array([3]), {}, ValueError, r"log_probs must be a float array \(T, N, C\); got float64 "
                                                      r"with shape \(3, 2\)"),
    (np.zeros((3, 1, 2)), np.array([4]), {}, ValueError, r"input_lengths must lie in \[0, T=3\]; got \[4\]"),
    (np.zeros((3, 1, 2)), np.array([2.0]), {}, ValueError, r"input_lengths must be integers of shape \(N,\) = \(1,\)"),
    (np.zeros((3, 1, 2)), np.array([3]), dict(blank=2), ValueError, r"blank must be a class index in \[0, C=2\); "
                                                                    r"got 2"),
    (np.full((3, 1, 2), np.nan), np.array([3]), {}, ValueError, r"log_probs must not hold NaN"),
])
def test_bad_inputs_are_rejected_by_both_decoders(log_probs, lengths, kwargs, error, match):
    with pytest.raises(error, match=match):
        ctc_greedy_decode(log_probs, lengths, **kwargs)
    with pytest.raises(error, match=match):
        ctc_prefix_beam_search(log_probs, lengths, **kwargs)


def test_beam_width_must_be_positive():
    with pytest.raises(ValueError, match=r"beam_width must be a positive int \(>= 1\); got 0"):
        ctc_prefix_beam_search(np.zeros((3, 1, 2)), np.array([3]), beam_width=0)


def test_a_beam_of_width_one_keeps_the_best_prefix_not_the_best_path():
    # The chapter's exercise: greedy reads "12", a beam of 1 reads "1", and "2" is the likeliest transcript.
    log_probs = np.log([[[0.25, 0.4, 0.35]], [[0.3, 0.3, 0.4]]])
    assert ctc_greedy_decode(log_probs, np.array([2])) == [[1, 2]]
    assert [labels for labels, _ in ctc_prefix_beam_search(log_probs, np.array([2]), beam_width=1)[0]] == [[1]]
    (best, score), _ = ctc_prefix_beam_search(log_probs, np.array([2]), beam_width=2)[0]
    assert best == [2] and np.exp(score) == pytest.approx(0.245)  # "-2" is lost with the empty prefix
    (best, score), *_ = ctc_prefix_beam_search(log_probs, np.array([2]), beam_width=3)[0]
    assert best == [2] and np.exp(score) == pytest.approx(0.345)  # every prefix kept: exact
