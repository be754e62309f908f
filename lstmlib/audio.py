"""From a waveform to what a speech model reads: resampling, a mel filterbank, log-mel frames.

torchaudio has no build for the book's CPU-only torch, so the pieces are
here, small enough to read: :func:`resample` (``scipy.signal.resample_poly``),
:func:`mel_filterbank` (triangles evenly spaced on the mel scale),
:func:`log_mel` (``torch.stft`` power spectrum -> filterbank -> log) and
:func:`speech_features`, the whole recipe the speech chapter's models use:
16 kHz, 25 ms windows every 10 ms, 40 mel bands, each band standardised
over the utterance.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.signal import resample_poly

from lstmlib._checks import check_positive_int, check_positive_number

__all__ = ["FEATURE_RATE", "hz_to_mel", "log_mel", "mel_filterbank", "mel_to_hz", "resample", "speech_features"]

#: The sample rate the features are computed at, in Hz.
FEATURE_RATE = 16000


def _check_waveform(name: str, waveform) -> np.ndarray:
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    if not isinstance(waveform, np.ndarray):
        raise TypeError(f"{name} must be a 1-D NumPy float array (samples,); got {type(waveform).__name__}")
    if waveform.ndim != 1 or not np.issubdtype(waveform.dtype, np.floating):
        raise ValueError(f"{name} must be a 1-D float array (samples,); got {waveform.dtype} with shape "
                         f"{waveform.shape}")
    if waveform.size == 0:
        raise ValueError(f"{name} must hold at least one sample; got an empty array")
    if not np.isfinite(waveform).all():
        raise ValueError(f"{name} must be finite; got {int((~np.isfinite(waveform)).sum())} non-finite sample(s)")
    return waveform


def resample(waveform: np.ndarray, sample_rate: int, target_rate: int = FEATURE_RATE) -> np.ndarray:
    """``waveform (samples,)`` at ``sample_rate`` Hz, resampled to ``target_rate`` Hz (polyphase, anti-aliased).

    Returns float32 ``(round(samples * target_rate / sample_rate),)`` (up to one sample).
    """
    waveform = _check_waveform("waveform", waveform)
    sample_rate, target_rate = check_positive_int("sample_rate", sample_rate), check_positive_int("target_rate",
                                                                                                  target_rate)
    if sample_rate == target_rate:
        return waveform.astype(np.float32)
    common = math.gcd(sample_rate, target_rate)  # 22,050 -> 16,000 Hz is up 320, down 441
    return resample_poly(waveform.astype(np.float64), target_rate // common, sample_rate // common).astype(np.float32)


def hz_to_mel(hz):
    """The mel scale of O'Shaughnessy (HTK's): ``2595 log10(1 + hz / 700)``; works on arrays."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    """The inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float = 20.0, f_max: float | None = None):
    """Triangular filters ``(n_mels, n_fft // 2 + 1)`` (float32) over the bins of an ``n_fft``-point FFT.

    Filter ``m`` rises from mel point ``m`` to ``m + 1`` and falls to
    ``m + 2``, with ``n_mels + 2`` points evenly spaced on the mel scale
    from ``f_min`` to ``f_max`` (default: the Nyquist frequency); each
    filter peaks at 1.
    """
    n_mels, n_fft, sample_rate = (check_positive_int(n, v) for n, v in
                                  (("n_mels", n_mels), ("n_fft", n_fft), ("sample_rate", sample_rate)))
    f_max = sample_rate / 2 if f_max is None else check_positive_number("f_max", f_max)
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(f"f_min and f_max must satisfy 0 <= f_min < f_max <= sample_rate / 2 = {sample_rate / 2}; "
                         f"got f_min={f_min}, f_max={f_max}")
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))  # (n_mels + 2,) in Hz
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)  # the FFT bins' frequencies
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising, falling = (bins - lower) / (centre - lower), (upper - bins) / (upper - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)


def log_mel(waveform: np.ndarray, sample_rate: int = FEATURE_RATE, *, n_mels: int = 40, window_ms: float = 25.0,
            hop_ms: float = 10.0, floor: float = 1e-6) -> np.ndarray:
    """Log mel-band energies of ``waveform (samples,)``: float32 ``(frames, n_mels)``, one frame per ``hop_ms``.

    A Hann window of ``window_ms`` every ``hop_ms`` (``torch.stft``,
    centred frames: ``frames = samples // hop + 1``), the power spectrum,
    :func:`mel_filterbank`, then ``log(energy + floor)``.
    """
    waveform = _check_waveform("waveform", waveform)
    sample_rate = check_positive_int("sample_rate", sample_rate)
    window = int(round(sample_rate * window_ms / 1000))
    hop = int(round(sample_rate * hop_ms / 1000))
    n_fft = 1 << (window - 1).bit_length()  # the next power of two: 400 samples -> 512
    spectrum = torch.stft(torch.from_numpy(waveform.astype(np.float32)), n_fft, hop_length=hop, win_length=window,
                          window=torch.hann_window(window), center=True, return_complex=True)  # (bins, frames)
    power = spectrum.abs().square()
    energies = torch.from_numpy(mel_filterbank(n_mels, n_fft, sample_rate)) @ power  # (n_mels, frames)
    return torch.log(energies + floor).T.contiguous().numpy()


def speech_features(waveform: np.ndarray, sample_rate: int, *, n_mels: int = 40) -> np.ndarray:
    """The speech models' input: :func:`log_mel` at 16 kHz, each band standardised over the utterance.

    ``waveform``: float ``(samples,)`` at any ``sample_rate`` (resampled
    to :data:`FEATURE_RATE`). Returns float32 ``(frames, n_mels)``, 100
    frames a second. Subtracting each band's mean removes a fixed channel
    colouring (a voice's or a microphone's tilt); dividing by its standard
    deviation evens out loudness.
    """
    features = log_mel(resample(waveform, sample_rate), FEATURE_RATE, n_mels=n_mels)
    mean, std = features.mean(axis=0, keepdims=True), features.std(axis=0, keepdims=True)
    return ((features - mean) / (std + 1e-5)).astype(np.float32)
