"""lstmlib.audio: resampling, the mel filterbank and log-mel features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmlib.audio import FEATURE_RATE, hz_to_mel, log_mel, mel_filterbank, mel_to_hz, resample, speech_features


def tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate).astype(np.float32)


def test_the_mel_scale_and_its_inverse():
    assert hz_to_mel(0.0) == 0.0
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.5)  # the scale is anchored near 1 kHz = 1000 mel
    hz = np.array([20.0, 440.0, 7999.0])
    assert np.allclose(mel_to_hz(hz_to_mel(hz)), hz)


def test_the_filterbank_is_triangles_that_peak_at_one_and_move_up_in_frequency():
    bank = mel_filterbank(40, 512, 16000)
    assert bank.shape == (40, 257) and bank.dtype == np.float32
    assert (bank >= 0).all() and bank.max() <= 1.0 + 1e-6
    peaks = bank.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > peaks[0]
    widths = (bank > 0).sum(axis=1)
    assert widths[-1] > widths[5]  # equal on the mel scale: wider in Hz at the top
    for row in bank[5:]:  # each wide enough filter rises to one peak and falls again
        support = row[row > 0]
        top = support.argmax()
        assert (np.diff(support[:top + 1]) >= 0).all() and (np.diff(support[top:]) <= 0).all()


def test_filterbank_rejects_a_band_beyond_nyquist():
    with pytest.raises(ValueError, match=r"f_min and f_max must satisfy 0 <= f_min < f_max <= sample_rate / 2 = 8000"):
        mel_filterbank(40, 512, 16000, f_max=9000.0)


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
def test_resampling_keeps_the_duration_and_the_pitch_of_a_tone(rate):
    y = resample(tone(440.0, 1.0, rate), rate)
    assert y.dtype == np.float32 and abs(y.size - FEATURE_RATE) <= 1
    spectrum = np.abs(np.fft.rfft(y))
    assert np.fft.rfftfreq(y.size, 1 / FEATURE_RATE)[spectrum.argmax()] == pytest.approx(440.0, abs=1.0)
    assert np.array_equal(resample(y, FEATURE_RATE), y)


def test_log_mel_has_one_frame_per_hop_and_puts_a_tone_in_its_band():
    x = tone(1000.0, 1.0, FEATURE_RATE)
    features = log_mel(x)
    assert features.shape == (x.size // 160 + 1, 40) and features.dtype == np.float32
    centres = mel_to_hz(np.linspace(hz_to_mel(20.0), hz_to_mel(8000.0), 42))[1:-1]
    assert features[50].argmax() == np.abs(centres - 1000.0).argmin()
    # the same power spectrum computed with NumPy
    frame = np.pad(x, 256, mode="reflect")[50 * 160:50 * 160 + 512]
    window = np.zeros(512)
    window[56:456] = torch.hann_window(400).double().numpy()
    power = np.abs(np.fft.rfft(frame * window)) ** 2
    assert np.allclose(features[50], np.log(mel_filterbank(40, 512, FEATURE_RATE) @ power + 1e-6), atol=1e-3)


def test_speech_features_are_standardised_per_band():
    rng = np.random.default_rng(0)
    x = (tone(300.0, 0.8, 22050) + 0.1 * rng.standard_normal(int(0.8 * 22050))).astype(np.float32)
    features = speech_features(x, 22050)
    assert features.shape == (81, 40)
    assert np.allclose(features.mean(axis=0), 0.0, atol=1e-4) and np.allclose(features.std(axis=0), 1.0, atol=1e-3)
    assert np.allclose(speech_features(3 * x, 22050), features, atol=1e-3)  # loudness does not matter


@pytest.mark.parametrize("waveform, error, match", [
    ([0.1, 0.2], TypeError, r"waveform must be a 1-D NumPy float array \(samples,\); got list"),
    (np.zeros((2, 3)), ValueError, r"waveform must be a 1-D float array \(samples,\); got float64 with shape \(2, 3\)"),
    (np.zeros(0), ValueError, r"waveform must hold at least one sample; got an empty array"),
    (np.array([0.0, np.nan]), ValueError, r"waveform must be finite; got 1 non-finite sample"),
])
def test_bad_waveforms_are_rejected(waveform, error, match):
    with pytest.raises(error, match=match):
        speech_features(waveform, 16000)


def test_a_bad_sample_rate_is_rejected():
    with pytest.raises(ValueError, match=r"sample_rate must be a positive int \(>= 1\); got 0"):
        resample(np.zeros(10, np.float32), 0)
