"""Trained models shipped with the book, ready to use: ``load(name)`` and ``available()``.

>>> from lstmlib import pretrained
>>> pretrained.available()                     # {name: one-line description}
>>> lm = pretrained.load("charlm-shakespeare")
>>> lm.sample("MACBETH:\\n", 200, temperature=0.8, rng=0)

A name maps to one file in ``lstmlib/checkpoints/``. Every file there has an
entry in ``lstmlib/checkpoints/manifest.json``: its sha256 and size, the
script and command that made it, when, the CPU time it took, and its
metrics with the data they were measured on (``tests/test_checkpoints.py``
re-measures them). :func:`load_checkpoint` is the one way to read such a
file: it refuses a file whose hash differs from the manifest's.

:func:`load` returns a thin wrapper (e.g. :class:`CharLanguageModel`) that
holds the model (CPU, eval mode), what it needs to read and write text
(its vocabulary, stored in the checkpoint) and the task's methods. Loading
reads no training data and imports no dataset module.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
from pathlib import Path

import numpy as np
import torch

import lstmlib.nn
from lstmlib._checks import check_array_type, check_choice, check_positive_int, check_positive_number
from lstmlib.decoding import sample as sample_ids
from lstmlib.metrics import bits_per_char, lstm_cross_entropy
from lstmlib.models import CharLSTM
from lstmlib.text import CharVocab

__all__ = [
    "CHECKPOINTS_DIR",
    "MANIFEST",
    "CharLanguageModel",
    "available",
    "file_sha256",
    "load",
    "load_checkpoint",
    "read_manifest",
    "record_checkpoint",
]

#: The folder of the shipped checkpoints and their manifest.
CHECKPOINTS_DIR = Path(__file__).resolve().parent / "checkpoints"
MANIFEST = CHECKPOINTS_DIR / "manifest.json"


def file_sha256(path: Path | str) -> str:
    """The sha256 of the file at ``path``, as 64 hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest() -> dict[str, dict]:
    """``{file name: entry}`` from ``manifest.json`` (see the module docstring for an entry's fields)."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def load_checkpoint(filename: str) -> dict:
    """The checkpoint ``lstmlib/checkpoints/<filename>`` as saved by its script, after checking its sha256.

    Raises ``ValueError`` if the file has no manifest entry or its bytes
    differ from the ones the manifest describes (a changed or corrupted file).
    Tensors are loaded on the CPU with ``weights_only=True`` (no code runs).
    """
    if not isinstance(filename, str):
        raise TypeError(f"filename must be a str such as 'charlm_shakespeare.pt'; got {type(filename).__name__}")
    manifest = read_manifest()
    check_choice("filename", filename, sorted(manifest))
    data = (CHECKPOINTS_DIR / filename).read_bytes()
    digest = hashlib.sha256(data).hexdigest()  # of the very bytes that get loaded
    if digest != manifest[filename]["sha256"]:
        raise ValueError(
            f"checkpoint {filename} must have the sha256 its manifest entry records ({manifest[filename]['sha256']}); "
            f"got {digest}: the file changed since {manifest[filename]['script']} wrote it (re-run that script)"
        )
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def record_checkpoint(filename: str, *, script: str, command: str, trained_on: str, cpu_minutes: float | None,
                      metrics: dict[str, dict], note: str = "") -> dict:
    """Write (or replace) the manifest entry of ``lstmlib/checkpoints/<filename>``; for the training scripts.

    ``metrics`` maps a metric's name to ``{"value", "data", "tolerance", "measured_on"}``:
    what was measured, on which data, how close a re-measurement must come,
    and when. ``cpu_minutes`` is the training's CPU time, None if unknown.
    Returns the entry.
    """
    path = CHECKPOINTS_DIR / filename
    entry = {
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "script": script,
        "command": command,
        "trained_on": trained_on,
        "cpu_minutes": cpu_minutes,
        "metrics": metrics,
    }
    if note:
        entry["note"] = note
    manifest = read_manifest() if MANIFEST.exists() else {}
    manifest[filename] = entry
    MANIFEST.write_text(json.dumps(dict(sorted(manifest.items())), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    return entry


class CharLanguageModel:
    """A trained character-level language model with its vocabulary: sample text, score text.

    ``model`` is the :class:`lstmlib.models.CharLSTM` (CPU, eval mode),
    ``vocab`` the :class:`lstmlib.text.CharVocab` it reads and writes, and
    ``record`` what the checkpoint says about its training (settings, plays,
    the bits per character measured when it was saved).
    """

    def __init__(self, model: CharLSTM, vocab: CharVocab, record: dict | None = None):
        check_array_type("model", model, CharLSTM, "a CharLSTM")
        check_array_type("vocab", vocab, CharVocab, "a CharVocab")
        if len(vocab) != model.vocab_size:
            raise ValueError(f"vocab must have the model's vocab_size={model.vocab_size} characters; got {len(vocab)}")
        self.model, self.vocab, self.record = model.eval(), vocab, dict(record or {})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> CharLanguageModel:
        """Rebuild from a checkpoint dict saved by ``scripts/train_charlm.py`` (weights in float16)."""
        vocab = CharVocab(checkpoint["chars"])
        model = CharLSTM(len(vocab), **checkpoint["settings"])
        model.load_state_dict({name: weight.float() for name, weight in checkpoint["state_dict"].items()})
        record = {key: value for key, value in checkpoint.items() if key != "state_dict"}
        return cls(model, vocab, record)

    def __repr__(self) -> str:
        settings = self.record.get("settings", {})
        return f"CharLanguageModel({len(self.vocab)} characters, {settings})"

    def _encode(self, name: str, text, min_chars: int) -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a str; got {type(text).__name__}")
        if len(text) < min_chars:
            raise ValueError(f"{name} must hold at least {min_chars} character(s); got {len(text)}")
        return self.vocab.encode(text, name=name)

    def sample(self, prompt: str, length: int, temperature: float = 1.0, *, rng=None) -> str:
        """``length`` characters drawn one at a time after ``prompt`` (the prompt is not repeated).

        ``temperature`` below 1 keeps to the likeliest characters, above 1
        takes more risks (:func:`lstmlib.decoding.softmax_with_temperature`).
        ``rng`` is None (fresh randomness), an int seed or a
        ``numpy.random.Generator``: the same seed gives the same text.
        """
        ids = self._encode("prompt", prompt, 1)
        length = check_positive_int("length", length)
        temperature = check_positive_number("temperature", temperature)
        return self.vocab.decode(sample_ids(self.model, ids, length, temperature=temperature, rng=rng))

    def bits_per_char(self, text: str) -> float:
        """Mean surprise of ``text[1:]`` given what precedes each character, in bits per character.

        Lower is better; ``log2(len(vocab))`` is what uniform guessing costs.
        A text of up to 4,096 characters is read in one pass; a longer one in
        up to 32 pieces of at least 2,048 characters side by side, each from
        a zero state (:func:`lstmlib.metrics.lstm_log_probs`), which costs
        its first few characters part of their context.
        """
        ids = self._encode("text", text, 2)
        tracks = max(1, min(32, ids.size // 2048))
        return bits_per_char(lstm_cross_entropy(self.model, ids, tracks=tracks))

    def trace(self, text: str, *, tracks: int = 1) -> dict[str, np.ndarray]:
        """Every gate and state of every layer while the model reads ``text``.

        Returns ``{"i", "f", "g", "o", "c", "h"}``, each a float64 array
        ``(num_layers, T, H)``: entry ``[layer, t]`` is that layer's gate
        activation (``g`` the candidate) or state just after reading
        ``text[t]``. With ``tracks = 1``, ``T = len(text)``, read from a zero
        state. A long text reads faster as ``tracks`` consecutive pieces of
        ``len(text) // tracks`` characters side by side, each from a zero
        state; then ``T = tracks * (len(text) // tracks)`` (the remainder
        at the end is not read) and the rows stay in the order of the text.

        The model returns only the last layer's ``h``, so each layer is run
        on its own (its weights in a one-layer :class:`lstmlib.nn.LSTM`) for
        its ``h_1 .. h_T``; the gates then follow for all steps at once from
        the book's equations, ``a_t = W_ih x_t + W_hh h_{t-1} + b`` (in the
        model's float32), and the cell from ``c_t = f_t c_{t-1} + i_t g_t``
        (in float64: some cells add up to values in the thousands).
        """
        tracks = check_positive_int("tracks", tracks)
        ids = self._encode("text", text, tracks)
        steps = ids.size // tracks
        weights = self.model.lstm.state_dict()
        hidden = self.model.config.hidden_size
        trace: dict[str, list[torch.Tensor]] = {name: [] for name in ("i", "f", "g", "o", "c", "h")}
        with torch.no_grad():
            # track b reads characters b * steps .. (b + 1) * steps - 1
            x = self.model.embed(torch.from_numpy(ids[: tracks * steps].reshape(tracks, steps).T.copy()))  # (T, B, E)
            for layer in range(self.model.config.num_layers):
                one_layer = lstmlib.nn.LSTM(x.shape[-1], hidden)
                one_layer.load_state_dict({key.replace(f"_l{layer}", "_l0"): value
                                           for key, value in weights.items() if key.endswith(f"_l{layer}")})
                h, _ = one_layer(x)  # (T, B, H): the model's own recurrence
                h_prev = torch.cat([h.new_zeros(1, tracks, hidden), h[:-1]])  # h_0 = 0, h_1 .. h_{T-1}
                w = {key: weights[f"{key}_l{layer}"] for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
                # [a_i; a_f; a_g; a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, every step at once  (T, B, 4H)
                a = x @ w["weight_ih"].T + w["bias_ih"] + h_prev @ w["weight_hh"].T + w["bias_hh"]
                a_i, a_f, a_g, a_o = a.double().chunk(4, dim=-1)
                i, f, g, o = a_i.sigmoid(), a_f.sigmoid(), a_g.tanh(), a_o.sigmoid()
                # c_t = f_t c_{t-1} + i_t g_t: the one recurrence left, elementwise
                c, written, c_prev = torch.empty_like(g), i * g, g.new_zeros(tracks, hidden)
                for t in range(steps):
                    c_prev = c[t] = f[t] * c_prev + written[t]
                for name, value in zip(("i", "f", "g", "o", "c", "h"), (i, f, g, o, c, h.double())):
                    trace[name].append(value.transpose(0, 1).reshape(tracks * steps, hidden))  # text order
                x = h  # the next layer reads this layer's h
        return {name: torch.stack(arrays).numpy() for name, arrays in trace.items()}


# name -> (file in lstmlib/checkpoints, wrapper, one-line description). The wrapper is a class with
# ``from_checkpoint(checkpoint: dict)``, or "module:Class" for one that lives beside its model (an
# application's wrapper in lstmlib/models/...), imported only when that model is loaded.
_SHIPPED = {
    "charlm-shakespeare": (
        "charlm_shakespeare.pt", CharLanguageModel,
        "character-level LSTM (2 x 256) trained on 36 Shakespeare plays: sample(prompt, length, temperature), "
        "bits_per_char(text)",
    ),
    "translate-en-fr-numbers": (
        "translate_en_fr_numbers.pt", "lstmlib.models.seq2seq:Translator",
        "encoder-decoder LSTM with additive attention, English number words (num2words) to French: "
        "translate(sources, beam_width=1)",
    ),
    "translate-de-en-dates": (
        "translate_de_en_dates.pt", "lstmlib.models.seq2seq:Translator",
        "encoder-decoder LSTM with additive attention, German dates written out in full to English: "
        "translate(sources, beam_width=1)",
    ),
    "sentiment-rt": (
        "sentiment_rt.pt", "lstmlib.models.sentiment:SentimentClassifier",
        "BiLSTM sentence classifier with attention pooling (ensemble of 3) trained on 12,752 Rotten Tomatoes "
        "snippets: predict(texts) -> 1 positive / 0 negative, predict_proba(texts) -> (N, 2)",
    ),
    "speech-digits-en": (
        "speech_bilstm.pt", "lstmlib.models.speech:SpeechRecognizer",
        "bidirectional LSTM (2 x 96 per direction) trained with CTC on spoken digit strings synthesised by eSpeak NG: "
        "transcribe(waveforms, sample_rate) -> digit strings such as '407'",
    ),
    "caption-scenes": (
        "caption_scenes.pt", "lstmlib.models.captioning:SceneCaptioner",
        "CNN + LSTM scene captioners (Show, Attend and Tell; Show and Tell) trained on lstmlib.data.scenes: "
        "caption(images, model='attention', beam_width=1), attention(images)",
    ),
    "caption-clips": (
        "caption_clips.pt", "lstmlib.models.captioning:ClipCaptioner",
        "LRCN video captioner (per-frame CNN, LSTM encoder, LSTM decoder) and its mean-pooled-frames control, "
        "trained on lstmlib.data.scenes.make_clips: caption(frames, model='lstm')",
    ),
    "ner-en": (
        "ner_en.pt", "lstmlib.models.ner:EntityTagger",
        "BiLSTM-CRF named-entity tagger (PER, LOC, ORG in BIO tags): "
        "tag(sentences: list[list[str]]) -> list[list[str]]",
    ),
}


def available() -> dict[str, str]:
    """``{name: one-line description}`` of every shipped model :func:`load` can return."""
    return {name: description for name, (_, _, description) in _SHIPPED.items()}


def load(name: str):
    """The shipped model ``name`` (see :func:`available`), on the CPU, in eval mode, its file's hash checked.

    Raises ``ValueError`` listing the known names for an unknown one.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {', '.join(map(repr, _SHIPPED))}; got {type(name).__name__}")
    check_choice("name", name, list(_SHIPPED))
    filename, wrapper, _ = _SHIPPED[name]
    if isinstance(wrapper, str):
        module_name, class_name = wrapper.split(":")
        wrapper = getattr(importlib.import_module(module_name), class_name)
    return wrapper.from_checkpoint(load_checkpoint(filename))
