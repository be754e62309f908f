"""lstmlib.data.speech: digit strings spoken by eSpeak NG, reproducible bit for bit, with noise at stated SNRs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lstmlib.data.speech import (
    ACCENTS,
    NOISE_LEVELS,
    SAMPLE_RATE,
    SPLITS,
    TEST_VARIANTS,
    TRAIN_VARIANTS,
    Utterance,
    add_noise,
    digit_utterances,
    load_split,
    spoken_text,
    synthesize,
)


def test_each_digit_is_spoken_as_its_own_word():
    assert spoken_text("407") == "four zero seven"
    assert spoken_text("0") == "zero"
    assert Utterance("90", "en-us+m3", 175, 50).text == "nine zero"


@pytest.mark.parametrize("digits, error, match", [
    (407, TypeError, r"digits must be a str of the characters 0-9 such as '407'; got int"),
    ("", ValueError, r"digits must be a non-empty str of the characters 0-9 such as '407'; got ''"),
    ("4a7", ValueError, r"got '4a7'"),
    ("٤", ValueError, r"got '٤'"),  # an Arabic-Indic digit: isdigit() but not 0-9
])
def test_spoken_text_rejects_what_is_not_a_digit_string(digits, error, match):
    with pytest.raises(error, match=match):
        spoken_text(digits)


def test_utterances_follow_the_requested_ranges_and_the_splits_share_no_voice_variant():
    train, test = digit_utterances(400, "train", rng=0), digit_utterances(400, "test", rng=0)
    assert not set(TRAIN_VARIANTS) & set(TEST_VARIANTS)
    for split, variants in ((train, TRAIN_VARIANTS), (test, TEST_VARIANTS)):
        for u in split:
            accent, variant = u.voice.split("+")
            assert accent in ACCENTS and variant in variants
            assert 1 <= len(u.digits) <= 7 and 150 <= u.rate <= 200 and 40 <= u.pitch <= 60
        assert {len(u.digits) for u in split} == set(range(1, 8))  # every length occurs in 400 draws
        assert {u.digits[0] for u in split if len(u.digits) > 1} >= {"0"}  # leading zeros allowed
    assert digit_utterances(400, "train", rng=0) == train  # seeded
    assert digit_utterances(5, "train", min_digits=3, max_digits=3, rates=(160, 160), rng=1)[0].rate == 160


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0, split="train"), ValueError, r"n must be a positive int \(>= 1\); got 0"),
    (dict(n=3, split="valid"), ValueError, r"split must be one of 'train', 'test'; got 'valid'"),
    (dict(n=3, split="train", min_digits=4, max_digits=2), ValueError, r"max_digits must be at least min_digits=4"),
])
def test_digit_utterances_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        digit_utterances(**kwargs)


UTTERANCES = [Utterance("407", "en-us+klatt", 170, 55), Utterance("12", "en-gb-scotland+f2", 190, 45),
              Utterance("9", "en-029+m3", 150, 60)]


def test_synthesis_is_bit_identical_from_call_to_call_and_across_processes():
    first, second = synthesize(UTTERANCES), synthesize(UTTERANCES)  # each call runs in a fresh process
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    # and so does a separate Python process that synthesises the same list on its own
    code = ("import hashlib, sys; from lstmlib.data.speech import synthesize, Utterance as U; "
            "w = synthesize([U('407', 'en-us+klatt', 170, 55), U('12', 'en-gb-scotland+f2', 190, 45), "
            "U('9', 'en-029+m3', 150, 60)]); print(hashlib.sha256(b''.join(x.tobytes() for x in w)).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    import hashlib
    assert other == hashlib.sha256(b"".join(w.tobytes() for w in first)).hexdigest()


def test_synthesised_speech_is_audio_of_a_plausible_length():
    waveforms = synthesize(UTTERANCES)
    for w, u in zip(waveforms, UTTERANCES):
        assert w.dtype == np.float32 and w.ndim == 1 and np.abs(w).max() <= 1.0
        seconds = w.size / SAMPLE_RATE
        assert 0.25 * len(u.digits) < seconds < 0.3 + 0.8 * len(u.digits)  # a word lasts a few tenths of a second
        assert np.abs(w).max() > 0.05  # not silence
    # a faster speaking rate gives a shorter utterance
    slow, fast = synthesize([Utterance("123456", "en-us+m1", 150, 50), Utterance("123456", "en-us+m1", 200, 50)])
    assert fast.size < 0.9 * slow.size
    assert synthesize([]) == []


def test_synthesize_rejects_what_is_not_a_list_of_utterances():
    with pytest.raises(TypeError, match=r"utterances must be a list of Utterance; got str"):
        synthesize("407")
    with pytest.raises(ValueError, match=r"an utterance's accent must be one of 'en', .*; got 'fr'"):
        synthesize([Utterance("4", "fr+m3", 170, 50)])


@pytest.mark.parametrize("snr_db", [20.0, 10.0, 0.0])
def test_add_noise_adds_white_noise_at_the_requested_snr(snr_db):
    signal = np.sin(np.linspace(0, 400, 50_000)).astype(np.float32)
    noisy = add_noise(signal, snr_db, rng=0)
    noise = noisy.astype(np.float64) - signal
    measured = 10 * np.log10(np.mean(signal.astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert measured == pytest.approx(snr_db, abs=0.1)
    assert abs(np.corrcoef(noise[1:], noise[:-1])[0, 1]) < 0.03  # white: no correlation from sample to sample
    assert np.array_equal(add_noise(signal, snr_db, rng=0), noisy)
    assert np.array_equal(add_noise(signal, None), signal)


def test_add_noise_rejects_a_waveform_that_is_not_1d_float():
    with pytest.raises(ValueError, match=r"waveform must be a 1-D float array \(samples,\); got int64 \(3,\)"):
        add_noise(np.arange(3), 10.0)


def test_load_split_is_seeded_and_its_first_utterances_do_not_depend_on_how_many_are_asked():
    few, few_digits = load_split("test", 10.0, n=3)
    more, more_digits = load_split("test", 10.0, n=5)
    assert few_digits == more_digits[:3]
    assert all(np.array_equal(a, b) for a, b in zip(few, more))
    clean, _ = load_split("test", None, n=3)
    assert not np.array_equal(clean[0], few[0]) and clean[0].size == few[0].size
    voices = {u.voice.split("+")[1] for u in digit_utterances(SPLITS["test"][1], "test", rng=SPLITS["test"][2])}
    assert voices <= set(TEST_VARIANTS)
    assert NOISE_LEVELS[0] is None


@pytest.mark.parametrize("args, kwargs, error, match", [
    (("dev",), {}, ValueError, r"name must be one of 'train', 'validation', 'test'; got 'dev'"),
    (("test", "10"), {}, TypeError, r"snr_db must be None \(clean\) or a number of decibels; got str"),
    (("test",), dict(n=301), ValueError, r"n must be at most the split's 300 utterances; got 301"),
])
def test_load_split_rejects_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_split(*args, **kwargs)
