"""Spoken-digit recognisers trained with CTC: a (bi)LSTM, a frame-wise MLP baseline, and the usable wrapper.

Every model reads log-mel frames (:func:`lstmlib.audio.speech_features`)
``features (T, B, n_mels)`` with each utterance's frame count
``lengths (B,)`` and returns CTC log-probabilities ``(T, B, 11)``: class 0
is the blank, class ``d + 1`` the digit ``d``.

* :class:`SpeechLSTM` -- an :class:`lstmlib.nn.LSTM` stack, one-way or
  bidirectional (Graves, Mohamed & Hinton 2013), then a linear layer per frame;
* :class:`FrameMLP` -- the non-recurrent baseline: each frame with its
  ``context`` neighbours on either side through a two-layer perceptron;
* :class:`SpeechRecognizer` -- a trained model with what it needs to turn
  waveforms into digit strings (``lstmlib.pretrained.load("speech-digits-en")``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import lstmlib.nn
from lstmlib._checks import check_array_type, check_choice, check_positive_int, check_rank
from lstmlib.audio import speech_features
from lstmlib.decoding import ctc_greedy_decode, ctc_prefix_beam_search

__all__ = ["BLANK", "FrameMLP", "SpeechCTCConfig", "SpeechLSTM", "SpeechRecognizer", "build_speech_model",
           "decode", "digits_to_labels", "labels_to_digits", "pad_frames"]

#: The CTC blank's class; digit ``d`` is class ``d + 1``.
BLANK = 0
ARCHITECTURES = ("bilstm", "lstm", "mlp")


def digits_to_labels(digits: str) -> list[int]:
    """``"407"`` -> ``[5, 1, 8]``: each digit ``d`` as its class ``d + 1`` (0 is the blank)."""
    if not isinstance(digits, str) or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"digits must be a non-empty str of the characters 0-9; got {digits!r}")
    return [int(d) + 1 for d in digits]


def labels_to_digits(labels) -> str:
    """``[5, 1, 8]`` -> ``"407"``: the inverse of :func:`digits_to_labels`."""
    if any(not 1 <= int(label) <= 10 for label in labels):
        raise ValueError(f"labels must be digit classes 1..10 (0 is the blank); got {list(labels)}")
    return "".join(str(int(label) - 1) for label in labels)


@dataclass(frozen=True)
class SpeechCTCConfig:
    """What rebuilds a speech model before loading its weights.

    ``architecture``: ``"bilstm"``, ``"lstm"`` (one-way) or ``"mlp"``;
    ``hidden_size`` per direction (LSTM) or per layer (MLP); ``num_layers``
    of the LSTM stack (the MLP always has two hidden layers); ``context``
    frames on either side that the MLP reads (the LSTMs ignore it).
    """

    architecture: str = "bilstm"
    n_mels: int = 40
    hidden_size: int = 128
    num_layers: int = 2
    context: int = 5
    n_classes: int = 11

    def __post_init__(self):
        check_choice("architecture", self.architecture, ARCHITECTURES)
        for name in ("n_mels", "hidden_size", "num_layers", "context", "n_classes"):
            check_positive_int(name, getattr(self, name))

    def to_dict(self) -> dict:
        """The config as a plain dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)


def _check_frames(features, lengths, n_mels: int) -> None:
    check_array_type("features", features, torch.Tensor, "a float torch.Tensor (T, B, n_mels)")
    check_rank("features", features, (3,), "(T, B, n_mels)")
    if features.shape[2] != n_mels:
        raise ValueError(f"features must have n_mels={n_mels} along axis 2 of (T, B, n_mels); got shape "
                         f"{tuple(features.shape)}")
    check_array_type("lengths", lengths, torch.Tensor, "an int64 torch.Tensor (B,)")
    if lengths.shape != (features.shape[1],) or lengths.dtype != torch.int64:
        raise ValueError(f"lengths must be int64 of shape (B,) = ({features.shape[1]},); got {lengths.dtype} "
                         f"{tuple(lengths.shape)}")
    if bool(((lengths < 1) | (lengths > features.shape[0])).any()):
        raise ValueError(f"lengths must lie in [1, T={features.shape[0]}]; got {lengths.tolist()}")


class SpeechLSTM(nn.Module):
    """LSTM layers (one-way or bidirectional) over the frames, then one linear layer to the CTC classes.

    ``forward(features (T, B, n_mels), lengths (B,)) -> log_probs (T, B, n_classes)``;
    frames past an utterance's length are padding (the backward direction
    starts at each utterance's own last frame), and their outputs are
    meaningless.
    """

    def __init__(self, config: SpeechCTCConfig):
        super().__init__()
        check_array_type("config", config, SpeechCTCConfig, "a SpeechCTCConfig")
        if config.architecture not in ("bilstm", "lstm"):
            raise ValueError(f"config.architecture must be 'bilstm' or 'lstm' for a SpeechLSTM; got "
                             f"{config.architecture!r}")
        self.config = config
        bidirectional = config.architecture == "bilstm"
        self.lstm = lstmlib.nn.LSTM(config.n_mels, config.hidden_size, num_layers=config.num_layers,
                                    bidirectional=bidirectional)
        self.readout = nn.Linear(config.hidden_size * (2 if bidirectional else 1), config.n_classes)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _check_frames(features, lengths, self.config.n_mels)
        packed = pack_padded_sequence(features, lengths, enforce_sorted=False)
        output, _ = pad_packed_sequence(self.lstm(packed)[0], total_length=features.shape[0])  # (T, B, dirs * H)
        return F.log_softmax(self.readout(output), dim=-1)


class FrameMLP(nn.Module):
    """The frame-wise baseline: frames ``t - context .. t + context`` (zeros beyond the edges) -> MLP -> classes.

    ``forward(features (T, B, n_mels), lengths (B,)) -> log_probs (T, B, n_classes)``.
    It sees a fixed window of ``2 context + 1`` frames (for ``context = 5``,
    11 frames whose centres span 100 ms and whose 25 ms windows 125 ms of
    audio) and nothing beyond it.
    """

    def __init__(self, config: SpeechCTCConfig):
        super().__init__()
        check_array_type("config", config, SpeechCTCConfig, "a SpeechCTCConfig")
        if config.architecture != "mlp":
            raise ValueError(f"config.architecture must be 'mlp' for a FrameMLP; got {config.architecture!r}")
        self.config = config
        width = (2 * config.context + 1) * config.n_mels
        self.layers = nn.Sequential(nn.Linear(width, config.hidden_size), nn.ReLU(),
                                    nn.Linear(config.hidden_size, config.hidden_size), nn.ReLU(),
                                    nn.Linear(config.hidden_size, config.n_classes))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _check_frames(features, lengths, self.config.n_mels)
        T, k = features.shape[0], self.config.context
        steps = torch.arange(T, device=features.device)
        inside = (steps[:, None] < lengths[None, :]).unsqueeze(-1)  # (T, B, 1): padding must not leak in
        padded = F.pad(features * inside, (0, 0, 0, 0, k, k))  # (T + 2k, B, n_mels)
        window = torch.cat([padded[offset:offset + T] for offset in range(2 * k + 1)], dim=-1)  # (T, B, width)
        return F.log_softmax(self.layers(window), dim=-1)


def build_speech_model(config: SpeechCTCConfig) -> nn.Module:
    """A fresh :class:`SpeechLSTM` or :class:`FrameMLP`, as ``config.architecture`` says."""
    check_array_type("config", config, SpeechCTCConfig, "a SpeechCTCConfig")
    return FrameMLP(config) if config.architecture == "mlp" else SpeechLSTM(config)


def pad_frames(frames: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Utterances' frames, each ``(T_i, D)``, as ``features (max T_i, B, D)`` (zero padded) and ``lengths (B,)``."""
    if not isinstance(frames, (list, tuple)) or not frames:
        raise ValueError(f"frames must be a non-empty list of (T_i, D) arrays; got {type(frames).__name__}")
    lengths = torch.tensor([len(f) for f in frames], dtype=torch.int64)
    features = torch.zeros(int(lengths.max()), len(frames), frames[0].shape[1])
    for b, f in enumerate(frames):
        features[:len(f), b] = torch.as_tensor(f, dtype=torch.float32)
    return features, lengths


class SpeechRecognizer:
    """A trained spoken-digit recogniser: waveforms in, digit strings out.

    ``model`` is a :class:`SpeechLSTM` or :class:`FrameMLP` (CPU, eval
    mode); ``record`` what its checkpoint says about its training.
    """

    def __init__(self, model: nn.Module, record: dict | None = None):
        check_array_type("model", model, (SpeechLSTM, FrameMLP), "a SpeechLSTM or FrameMLP")
        self.model, self.record = model.eval(), dict(record or {})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> SpeechRecognizer:
        """Rebuild from a checkpoint dict saved by ``scripts/train_speech.py`` (weights in float16)."""
        model = build_speech_model(SpeechCTCConfig(**checkpoint["config"]))
        model.load_state_dict({name: weight.float() for name, weight in checkpoint["state_dict"].items()})
        return cls(model, {key: value for key, value in checkpoint.items() if key != "state_dict"})

    def __repr__(self) -> str:
        return f"SpeechRecognizer({self.model.config})"

    def features(self, waveforms: list[np.ndarray], sample_rate: int) -> list[np.ndarray]:
        """Each waveform's model input, float32 ``(T_i, n_mels)`` (:func:`lstmlib.audio.speech_features`)."""
        if not isinstance(waveforms, (list, tuple)) or not waveforms:
            raise TypeError(f"waveforms must be a non-empty list of 1-D NumPy float arrays; got "
                            f"{type(waveforms).__name__}")
        return [speech_features(w, sample_rate, n_mels=self.model.config.n_mels) for w in waveforms]

    @torch.no_grad()
    def log_probs_of_features(self, frames: list[np.ndarray], batch_size: int = 64) -> list[np.ndarray]:
        """The model's per-frame CTC log-probabilities, float32 ``(T_i, n_classes)`` for each ``(T_i, n_mels)``."""
        out = []
        for start in range(0, len(frames), batch_size):
            features, lengths = pad_frames(frames[start:start + batch_size])
            log_probs = self.model(features, lengths)
            out.extend(log_probs[:length, b].numpy() for b, length in enumerate(lengths.tolist()))
        return out

    def log_probs(self, waveforms: list[np.ndarray], sample_rate: int) -> list[np.ndarray]:
        """Per-frame CTC log-probabilities ``(T_i, n_classes)`` of each waveform (100 frames a second)."""
        return self.log_probs_of_features(self.features(waveforms, sample_rate))

    def transcribe(self, waveforms: list[np.ndarray], sample_rate: int, *, beam_width: int | None = None) -> list[str]:
        """The digit string heard in each waveform (float ``(samples,)`` at ``sample_rate`` Hz, any rate).

        Greedy CTC decoding by default; ``beam_width`` switches to prefix
        beam search (:func:`lstmlib.decoding.ctc_prefix_beam_search`).
        """
        return [labels_to_digits(labels) for labels in decode(self.log_probs(waveforms, sample_rate), beam_width)]


def decode(log_probs: list[np.ndarray], beam_width: int | None = None) -> list[list[int]]:
    """Labels of each ``(T_i, C)`` log-probability array: greedy (``beam_width`` None) or prefix beam search."""
    labels = []
    for lp in log_probs:
        lengths = np.array([len(lp)])
        if beam_width is None:
            labels.append(ctc_greedy_decode(lp[:, None], lengths, blank=BLANK)[0])
        else:
            beams = ctc_prefix_beam_search(lp[:, None], lengths, beam_width=beam_width, blank=BLANK)[0]
            labels.append(beams[0][0] if beams else [])
    return labels
