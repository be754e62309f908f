"""The look-ahead tagging task and the accuracy ceiling of causal taggers."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import numpy as np
import pytest

from lstmlib.data.tagging import causal_ceiling, causal_ceiling_by_position, lookahead_tags


def test_shapes_dtypes_and_one_hot_inputs():
    x, tags = lookahead_tags(batch_size=5, length=9, n_symbols=4, lookahead=2, rng=0)
    assert x.shape == (9, 5, 4) and x.dtype == np.float32
    assert tags.shape == (9, 5) and tags.dtype == np.int64
    assert np.array_equal(x.sum(axis=2), np.ones((9, 5)))  # exactly one symbol per step
    assert set(np.unique(x)) <= {0.0, 1.0}
    assert tags.min() >= 0 and tags.max() <= 4  # V symbols plus the end tag V


def test_dtype_argument_sets_the_input_dtype():
    x, _ = lookahead_tags(2, 5, 3, 1, rng=0, dtype=np.float64)
    assert x.dtype == np.float64


@pytest.mark.parametrize("length, n_symbols, lookahead", [(7, 3, 1), (12, 5, 3), (4, 2, 3)])
def test_tags_match_a_brute_force_reading_of_the_symbols(length, n_symbols, lookahead):
    x, tags = lookahead_tags(6, length, n_symbols, lookahead, rng=1)
    for b in range(6):
        symbols = [int(np.flatnonzero(x[t, b])[0]) for t in range(length)]
        for t in range(length):
            expected = symbols[t + lookahead] if t + lookahead < length else n_symbols
            assert tags[t, b] == expected, (b, t)


def test_symbols_are_roughly_uniform():
    x, _ = lookahead_tags(500, 20, 8, 2, rng=2)
    frequency = x.sum(axis=(0, 1)) / (500 * 20)
    assert np.allclose(frequency, 1 / 8, atol=0.01)


def test_same_seed_same_data_and_a_generator_is_advanced():
    a, ta = lookahead_tags(4, 6, rng=3)
    b, tb = lookahead_tags(4, 6, rng=np.random.default_rng(3))
    assert np.array_equal(a, b) and np.array_equal(ta, tb)
    gen = np.random.default_rng(3)
    first, _ = lookahead_tags(4, 6, rng=gen)
    second, _ = lookahead_tags(4, 6, rng=gen)
    assert np.array_equal(first, a) and not np.array_equal(first, second)


def test_ceiling_has_the_closed_form():
    per_step = causal_ceiling_by_position(20, 8, 2)
    assert per_step.shape == (20,)
    assert np.allclose(per_step[:18], 1 / 8) and np.allclose(per_step[18:], 1.0)
    assert causal_ceiling(20, 8, 2) == pytest.approx((18 / 8 + 2) / 20)


def _best_causal_accuracy_by_brute_force(length, n_symbols, lookahead):
    """Enumerate every sequence; at each step the best causal guess is the commonest tag per prefix."""
    sequences = list(itertools.product(range(n_symbols), repeat=length))
    accuracy = np.zeros(length)
    for t in range(length):
        tags_by_prefix = defaultdict(Counter)
        for s in sequences:
            tag = s[t + lookahead] if t + lookahead < length else n_symbols
            tags_by_prefix[s[: t + 1]][tag] += 1
        best = sum(max(counts.values()) for counts in tags_by_prefix.values())
        accuracy[t] = best / len(sequences)
    return accuracy


@pytest.mark.parametrize("length, n_symbols, lookahead", [(4, 3, 1), (5, 2, 2), (5, 3, 4)])
def test_ceiling_is_the_best_any_causal_tagger_can_do(length, n_symbols, lookahead):
    brute = _best_causal_accuracy_by_brute_force(length, n_symbols, lookahead)
    assert np.allclose(causal_ceiling_by_position(length, n_symbols, lookahead), brute)
    assert causal_ceiling(length, n_symbols, lookahead) == pytest.approx(brute.mean())


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0, length=5), ValueError, "batch_size must be a positive int"),
    (dict(batch_size=2, length=2.5), TypeError, "length must be a positive int; got float"),
    (dict(batch_size=2, length=5, n_symbols=1), ValueError, "n_symbols must be at least 2"),
    (dict(batch_size=2, length=5, lookahead=0), ValueError, "lookahead must be a positive int"),
    (dict(batch_size=2, length=5, lookahead=True), TypeError, "lookahead must be a positive int; got bool"),
    (dict(batch_size=2, length=5, lookahead=5), ValueError, r"lookahead must be smaller than length \(5\).*got 5"),
    (dict(batch_size=2, length=5, rng="seed"), TypeError, "rng must be None, an int seed"),
    (dict(batch_size=2, length=5, rng=-1), ValueError, "rng must be a non-negative int seed; got -1"),
    (dict(batch_size=2, length=5, dtype=np.int64), TypeError, "dtype must be a floating-point NumPy dtype"),
])
def test_lookahead_tags_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        lookahead_tags(**kwargs)


@pytest.mark.parametrize("function", [causal_ceiling, causal_ceiling_by_position])
@pytest.mark.parametrize("args, error, match", [
    ((0, 8, 2), ValueError, "length must be a positive int"),
    ((10, 1, 2), ValueError, "n_symbols must be at least 2"),
    ((10, 8, 10), ValueError, "lookahead must be smaller than length"),
    ((10, 8.0, 2), TypeError, "n_symbols must be a positive int"),
])
def test_ceilings_reject_bad_arguments(function, args, error, match):
    with pytest.raises(error, match=match):
        function(*args)
