"""Shakespeare's plays as plain text, the character vocabulary and the (input, target) windows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lstmlib.data.shakespeare import (
    TEST_PLAY,
    VALIDATION_PLAY,
    CharVocab,
    consecutive_windows,
    genres,
    list_plays,
    load_play,
    load_plays,
    random_windows,
    training_plays,
)

ALL_TEXT = load_plays(list_plays())
VOCAB = CharVocab.from_text(ALL_TEXT)


def test_the_38_plays_and_their_genres():
    plays = list_plays()
    assert len(plays) == 38 and plays == sorted(plays)
    assert {"macbeth", "hamlet", "the-tempest", "julius-caesar"} <= set(plays)
    assert "macbeth" in list_plays("tragedies") and "macbeth" not in list_plays("comedies")
    assert sorted(p for g in genres() for p in list_plays(g)) == plays


def test_training_plays_leave_out_the_held_out_ones():
    plays = training_plays()
    assert len(plays) == 36 and TEST_PLAY not in plays and VALIDATION_PLAY not in plays
    assert training_plays(held_out=[]) == list_plays()


def test_a_play_is_speeches_with_names_and_no_markdown():
    text = load_play("macbeth")
    assert text.startswith("FIRST WITCH:\nWhen shall we three meet again\nIn thunder, lightning, or in rain?\n\n")
    assert text.endswith("\n") and "\n\n\n" not in text
    assert "Thunder and lightning" not in text  # the opening stage direction
    # a line spoken after a mid-speech direction stays in that speech
    assert "Go get him surgeons.\nWho comes here?\n\nMALCOLM:" in text


def test_speakers_false_keeps_only_the_spoken_lines():
    text = load_play("macbeth", speakers=False)
    assert text.startswith("When shall we three meet again\n")
    assert "MACBETH:" not in text and "So foul and fair a day I have not seen." in text


@pytest.mark.parametrize("play", list_plays())
def test_no_markdown_or_stage_direction_residue(play):
    text = load_play(play)
    assert not re.search(r"[_*#\[\]\\]", text), play
    assert "  " not in text and " \n" not in text


def test_vocabulary_round_trip_and_no_unknown_characters():
    ids = VOCAB.encode(ALL_TEXT)
    assert ids.dtype == np.int64 and ids.shape == (len(ALL_TEXT),)
    assert ids.min() == 0 and ids.max() == len(VOCAB) - 1
    assert VOCAB.decode(ids) == ALL_TEXT
    assert set(ALL_TEXT) == set(VOCAB.chars) and len(VOCAB) == 75
    assert VOCAB.chars == sorted(VOCAB.chars)
    assert VOCAB.decode([]) == ""


def test_vocabulary_does_not_depend_on_text_order():
    assert CharVocab.from_text("cab", "ba").chars == CharVocab("abc").chars == ["a", "b", "c"]
    vocab = CharVocab("abc")
    assert vocab.encode("cab").tolist() == [2, 0, 1]
    assert vocab.decode(np.array([2, 0, 1])) == "cab"


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: VOCAB.encode("Macbeth €"),
            ValueError,
            r"text must use only the vocabulary's 75 characters; got '€' at position 8",
        ),
        (lambda: VOCAB.encode(b"bytes"), TypeError, r"text must be a str; got bytes"),
        (
            lambda: VOCAB.decode(np.array([0, 75])),
            ValueError,
            r"ids must hold ids in \[0, 74\]; got values from 0 to 75",
        ),
        (lambda: VOCAB.decode(np.array([-1])), ValueError, r"ids must hold ids in \[0, 74\]"),
        (
            lambda: VOCAB.decode(np.zeros((2, 2), dtype=int)),
            ValueError,
            r"ids must have 1 dimension \(N,\); got shape \(2, 2\)",
        ),
        (lambda: VOCAB.decode(np.array([0.0, 1.0])), TypeError, r"ids must have an integer dtype; got float64"),
        (lambda: CharVocab(["ab"]), TypeError, r"chars must be single characters"),
        (lambda: CharVocab([]), ValueError, r"chars must hold at least one character"),
        (lambda: CharVocab.from_text("abc", 3), TypeError, r"texts\[1\] must be a str; got int"),
    ],
)
def test_vocabulary_rejects_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: load_play("Macbeth"),
            ValueError,
            r"play must be one of the 38 plays .*got 'Macbeth' \(did you mean 'macbeth'\?\)",
        ),
        (lambda: load_play("the scottish play"), ValueError, r"play must be one of .* \(see list_plays\(\)\)"),
        (lambda: load_play(3), TypeError, r"play must be a play name \(str\) such as 'macbeth'; got int 3"),
        (lambda: load_play("macbeth", speakers="yes"), TypeError, r"speakers must be a bool"),
        (lambda: load_plays("macbeth"), TypeError, r"plays must be a list of play names; got the single str 'macbeth'"),
        (lambda: load_plays([]), ValueError, r"plays must name at least one play"),
        (lambda: list_plays("sonnets"), ValueError, r"genre must be one of 'comedies', .*; got 'sonnets'"),
        (lambda: list_plays(1), TypeError, r"genre must be None or a str; got int"),
        (lambda: training_plays("macbeth"), TypeError, r"held_out must be a list of play names"),
        (lambda: training_plays(["hamlett"]), ValueError, r"play must be one of"),
    ],
)
def test_play_functions_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


IDS = np.arange(1000, dtype=np.int64)  # each token is its own position: shifts are easy to read


def test_random_windows_targets_are_inputs_shifted_by_one():
    x, y = random_windows(IDS, batch_size=5, length=7, rng=0)
    assert x.shape == y.shape == (7, 5) and x.dtype == y.dtype == np.int64
    assert np.array_equal(y, x + 1)  # every window is a contiguous stretch of ids
    assert np.array_equal(x[1:], y[:-1])
    assert y.max() < IDS.size


def test_random_windows_are_reproducible_from_a_seed():
    a = random_windows(IDS, 4, 6, rng=3)
    b = random_windows(IDS, 4, 6, rng=np.random.default_rng(3))
    c = random_windows(IDS, 4, 6, rng=4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_consecutive_windows_continue_where_the_last_batch_stopped():
    batches = consecutive_windows(IDS, batch_size=4, length=10, rng=0)
    x0, y0 = next(batches)
    x1, y1 = next(batches)
    assert x0.shape == (10, 4) and x0.dtype == np.int64
    assert np.array_equal((y0 - x0) % IDS.size, np.ones_like(x0))  # target = next token (mod wrap-around)
    assert np.array_equal(x1[0], y0[-1])  # column b goes on reading where it stopped
    assert np.array_equal((x1 - x0) % IDS.size, np.full_like(x0, 10))
    assert np.array_equal((x0[0] - x0[0, 0]) % IDS.size, np.arange(4) * 250)  # readers spaced evenly


def test_consecutive_windows_wrap_around_the_end_and_are_reproducible():
    short = np.arange(25, dtype=np.int64)
    a = [next_x for next_x, _ in _take(consecutive_windows(short, 2, 10, rng=7), 6)]
    b = [next_x for next_x, _ in _take(consecutive_windows(short, 2, 10, rng=np.random.default_rng(7)), 6)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert all(x.max() < 25 and x.min() >= 0 for x in a)


def _take(iterator, n):
    return [next(iterator) for _ in range(n)]


@pytest.mark.parametrize("fn", [random_windows, consecutive_windows])
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(ids=IDS, batch_size=0, length=5), ValueError, r"batch_size must be a positive int \(>= 1\); got 0"),
        (dict(ids=IDS, batch_size=2, length=2.5), TypeError, r"length must be a positive int; got float 2.5"),
        (
            dict(ids=list(range(10)), batch_size=2, length=3),
            TypeError,
            r"ids must be a NumPy array of token ids .*got list",
        ),
        (
            dict(ids=IDS.reshape(10, 100), batch_size=2, length=3),
            ValueError,
            r"ids must have 1 dimension \(N,\); got shape \(10, 100\)",
        ),
        (
            dict(ids=IDS.astype(float), batch_size=2, length=3),
            TypeError,
            r"ids must have an integer dtype; got float64",
        ),
        (
            dict(ids=IDS[:5], batch_size=2, length=5),
            ValueError,
            r"ids must hold at least 6 token\(s\) \(length \+ 1: one \(input, target\) window\); got 5",
        ),
        (
            dict(ids=IDS, batch_size=2, length=5, rng="seed"),
            TypeError,
            r"rng must be None, an int seed or a np.random.Generator; got str",
        ),
    ],
)
def test_window_samplers_reject_bad_arguments_at_once(fn, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(**kwargs)  # consecutive_windows too: it checks before handing back the generator
