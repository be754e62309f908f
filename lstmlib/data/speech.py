"""Spoken digit strings synthesised offline with eSpeak NG, reproducibly, with noise at stated SNRs.

The speech comes from eSpeak NG, a formant synthesiser, through the
``espeakng-loader`` wheel: it ships the shared library and the voice data,
so nothing is installed system-wide and nothing is downloaded. We call the
library with :mod:`ctypes`; we do not ship it (eSpeak NG is GPL-3.0-or-later,
the wheel that packages it is MIT).

An utterance is a digit string such as ``"407"``, spoken digit by digit
("four zero seven") by one *voice*: an English accent (``"en-us"``,
``"en-gb-scotland"``, ...) with a variant that changes the speaker (``"m3"``,
``"f2"``, ``"klatt"``, ...), at a speaking rate (words per minute) and a
pitch (0-100). The training and test splits use disjoint variants
(:data:`TRAIN_VARIANTS`, :data:`TEST_VARIANTS`), so the test speakers are
never heard in training.

Reproducibility. eSpeak NG keeps state between utterances inside one
process (the same text twice gives different samples, even after
re-seeding), but a fresh process that calls ``espeak_ng_SetRandSeed(0)``
once and synthesises the same utterances in the same order gives the same
bytes. So :func:`synthesize` runs each call in a fresh Python process: the
audio depends only on its arguments, not on what the caller synthesised
before.
"""

from __future__ import annotations

import ctypes
import io
import json
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

from lstmlib._checks import check_choice, check_positive_int, check_rng

__all__ = [
    "ACCENTS",
    "DIGIT_WORDS",
    "NOISE_LEVELS",
    "SAMPLE_RATE",
    "TEST_VARIANTS",
    "TRAIN_VARIANTS",
    "Utterance",
    "SPLITS",
    "add_noise",
    "digit_utterances",
    "load_split",
    "spoken_text",
    "synthesize",
]

#: The sample rate eSpeak NG writes, in Hz.
SAMPLE_RATE = 22050
#: How each digit is spoken: one word per digit ("zero", not "oh").
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: The English accents eSpeak NG ships (language codes for ``espeak_SetVoiceByName``; ``en`` is British English).
ACCENTS = ("en", "en-us", "en-us-nyc", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-gb-x-rp")
#: The voice variants ("speakers") heard in training.
TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f3", "klatt", "klatt2", "klatt4",
                  "Andy", "Annie", "Denis", "Lee", "Mario", "Michael", "adam", "ed", "iven", "john", "max", "michel")
#: The variants of the test split: never heard in training.
TEST_VARIANTS = ("m7", "f4", "klatt3", "Alex", "Gene", "edward", "linda", "norbert")
#: The signal-to-noise ratios (dB) at which results are reported; ``None`` is the clean audio.
NOISE_LEVELS = (None, 20.0, 10.0, 5.0)


@dataclass(frozen=True)
class Utterance:
    """One utterance to synthesise: the digits, the voice (``accent+variant``), rate (words/min) and pitch (0-100)."""

    digits: str
    voice: str
    rate: int
    pitch: int

    @property
    def text(self) -> str:
        """What eSpeak NG is asked to say, e.g. ``"four zero seven"``."""
        return spoken_text(self.digits)


def spoken_text(digits: str) -> str:
    """The digit string ``digits`` (e.g. ``"407"``) as words, one per digit: ``"four zero seven"``."""
    if not isinstance(digits, str):
        raise TypeError(f"digits must be a str of the characters 0-9 such as '407'; got {type(digits).__name__}")
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"digits must be a non-empty str of the characters 0-9 such as '407'; got {digits!r}")
    return " ".join(DIGIT_WORDS[int(d)] for d in digits)


def digit_utterances(n: int, split: str, *, min_digits: int = 1, max_digits: int = 7, rates=(150, 200),
                     pitches=(40, 60), rng=None) -> list[Utterance]:
    """``n`` random utterances of ``split`` (``"train"`` or ``"test"``): digits, voice, rate and pitch drawn uniformly.

    Each digit string has ``min_digits``..``max_digits`` digits (leading
    zeros allowed); the voice is one of :data:`ACCENTS` with one of the
    split's variants; rate and pitch are ints in the closed ranges
    ``rates`` and ``pitches``. ``rng``: None, an int seed or a NumPy Generator.
    """
    n = check_positive_int("n", n)
    check_choice("split", split, ("train", "test"))
    min_digits, max_digits = check_positive_int("min_digits", min_digits), check_positive_int("max_digits", max_digits)
    if max_digits < min_digits:
        raise ValueError(f"max_digits must be at least min_digits={min_digits}; got {max_digits}")
    gen = check_rng("rng", rng)
    variants = TRAIN_VARIANTS if split == "train" else TEST_VARIANTS
    utterances = []
    for _ in range(n):
        length = int(gen.integers(min_digits, max_digits + 1))
        digits = "".join(str(d) for d in gen.integers(0, 10, size=length))
        voice = f"{ACCENTS[gen.integers(len(ACCENTS))]}+{variants[gen.integers(len(variants))]}"
        utterances.append(Utterance(digits, voice, int(gen.integers(rates[0], rates[1] + 1)),
                                    int(gen.integers(pitches[0], pitches[1] + 1))))
    return utterances


def synthesize(utterances: list[Utterance]) -> list[np.ndarray]:
    """The waveforms of ``utterances``, each float32 ``(samples,)`` in [-1, 1] at :data:`SAMPLE_RATE` Hz.

    The synthesis runs in a fresh Python process (see the module docstring),
    so the same list always gives the same samples, bit for bit.
    """
    if not isinstance(utterances, (list, tuple)) or not all(isinstance(u, Utterance) for u in utterances):
        raise TypeError(f"utterances must be a list of Utterance; got {type(utterances).__name__}")
    if not utterances:
        return []
    for u in utterances:
        spoken_text(u.digits)
        accent, _, variant = u.voice.partition("+")
        check_choice("an utterance's accent", accent, ACCENTS)
    request = json.dumps([[u.text, u.voice, u.rate, u.pitch] for u in utterances])
    done = subprocess.run([sys.executable, "-c", "import lstmlib.data.speech as s; s._serve()"],
                          input=request.encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"eSpeak NG synthesis failed: {done.stderr.decode(errors='replace')[-2000:]}")
    stored = np.load(io.BytesIO(done.stdout))
    samples, ends = stored["samples"], stored["ends"]
    starts = np.concatenate([[0], ends[:-1]])
    return [(samples[a:b].astype(np.float32) / 32768.0) for a, b in zip(starts, ends)]


def _serve() -> None:
    """In the fresh process: read ``[[text, voice, rate, pitch], ...]`` as JSON on stdin, write an npz to stdout."""
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    audio_output_synchronous, espeak_rate, espeak_pitch, espeak_chars_utf8 = 2, 1, 3, 1
    if lib.espeak_Initialize(audio_output_synchronous, 0, espeakng_loader.get_data_path().encode(), 0) != SAMPLE_RATE:
        raise RuntimeError("eSpeak NG did not initialise at 22,050 Hz")
    chunks: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def collect(wav, n, _events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())  # the buffer is reused: copy it
        return 0  # 0: go on synthesising

    callback = callback_type(collect)  # kept alive while the library holds it
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_ng_SetRandSeed(ctypes.c_long(0))  # once, after initialising: the same order gives the same bytes
    ends = []
    for text, voice, rate, pitch in json.loads(sys.stdin.buffer.read()):
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"eSpeak NG has no voice {voice!r}")
        lib.espeak_SetParameter(espeak_rate, int(rate), 0)
        lib.espeak_SetParameter(espeak_pitch, int(pitch), 0)
        encoded = text.encode()
        if lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, espeak_chars_utf8, None, None) != 0:
            raise RuntimeError(f"eSpeak NG could not synthesise {text!r} with voice {voice!r}")
        ends.append(sum(chunk.size for chunk in chunks))  # where this utterance's samples end
    out = io.BytesIO()
    np.savez(out, samples=np.concatenate(chunks) if chunks else np.zeros(0, np.int16), ends=np.asarray(ends))
    sys.stdout.buffer.write(out.getvalue())


def add_noise(waveform: np.ndarray, snr_db: float | None, *, rng=None) -> np.ndarray:
    """``waveform`` plus white Gaussian noise whose power is the signal's divided by ``10 ** (snr_db / 10)``.

    ``waveform``: float ``(samples,)``; ``snr_db`` None returns a float32
    copy unchanged. The signal power is the mean square over the whole
    utterance (its pauses included). Returns float32 ``(samples,)``.
    """
    waveform = np.asarray(waveform)
    if waveform.ndim != 1 or not np.issubdtype(waveform.dtype, np.floating):
        raise ValueError(f"waveform must be a 1-D float array (samples,); got {waveform.dtype} {waveform.shape}")
    if snr_db is None:
        return waveform.astype(np.float32)
    gen = check_rng("rng", rng)
    power = float(np.mean(waveform.astype(np.float64) ** 2))
    noise = gen.standard_normal(waveform.size) * np.sqrt(power / 10 ** (float(snr_db) / 10))
    return (waveform + noise).astype(np.float32)


#: The book's splits: ``name -> (voices, number of utterances, seed)``. The test voices are never used in training;
#: the validation split (for choosing when to stop) has training voices and other strings.
SPLITS = {"train": ("train", 3000, 0), "validation": ("train", 200, 1), "test": ("test", 300, 2)}


def load_split(name: str, snr_db: float | None = None, *, n: int | None = None) -> tuple[list[np.ndarray], list[str]]:
    """The utterances of split ``name`` (see :data:`SPLITS`) with noise at ``snr_db``: ``(waveforms, digit strings)``.

    Waveforms are float32 ``(samples,)`` at :data:`SAMPLE_RATE`. The noise
    of utterance ``k`` is seeded by the split, ``k`` and ``snr_db``, so the
    same call gives the same samples and the first ``n`` utterances (all by
    default) are the same whatever ``n``.
    """
    check_choice("name", name, list(SPLITS))
    voices, size, seed = SPLITS[name]
    n = size if n is None else check_positive_int("n", n)
    if n > size:
        raise ValueError(f"n must be at most the split's {size} utterances; got {n}")
    if snr_db is not None and (isinstance(snr_db, bool) or not isinstance(snr_db, (int, float))):
        raise TypeError(f"snr_db must be None (clean) or a number of decibels; got {type(snr_db).__name__}")
    utterances = digit_utterances(size, voices, rng=seed)[:n]
    waveforms = synthesize(utterances)
    if snr_db is not None:
        waveforms = [add_noise(w, snr_db, rng=np.random.default_rng([seed, k, int(round(snr_db * 10)) + 1000]))
                     for k, w in enumerate(waveforms)]
    return waveforms, [u.digits for u in utterances]
