"""Captioning models: a small CNN reads an image (or each frame of a clip), an LSTM writes the words.

* :class:`ConvEncoder` -- three 3 x 3 convolutions and two 2 x 2 poolings: an image
  ``(B, C_in, H, W)`` becomes a grid of feature vectors ``(B, C, H/4, W/4)``.
* :class:`ShowAndTell` (Vinyals et al., 2015) -- the whole grid, flattened and
  projected, is the decoder LSTM's first input; the words follow.
* :class:`ShowAttendTell` (Xu et al., 2015) -- at every word the decoder's state
  is the query of :class:`lstmlib.nn.AdditiveAttention` over the ``S = H/4 * W/4``
  grid cells (their features with the cell's row and column appended): the
  context it reads is fed in with the previous word, and the weights say where
  the model looked.
* :class:`VideoCaptioner` -- LRCN (Donahue et al., 2015): a CNN per frame, an
  LSTM over the frames, an LSTM decoder started from the encoder's last state;
  with ``temporal="mean"`` the frames' features are averaged instead (the
  control that cannot see the order of the frames).

Every model has ``forward(inputs, words)`` for training with teacher forcing
(``words (L, B)`` begins with ``<bos>``; logits ``(L, B, V)`` predict the next
words), and ``start(inputs) -> state`` and ``step(tokens (K,), state) ->
(log_probs (K, V), state)`` for :func:`decode` (greedy or beam search, from
:mod:`lstmlib.decoding`). :class:`SceneCaptioner` and :class:`ClipCaptioner`
wrap trained models with their vocabulary (:func:`lstmlib.pretrained.load`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import lstmlib.nn
from lstmlib._checks import check_array_type, check_choice, check_floating, check_positive_int, check_rank
from lstmlib.decoding import beam_search, greedy_search
from lstmlib.text import WordVocab

__all__ = [
    "CaptionerConfig",
    "ClipCaptioner",
    "ConvEncoder",
    "SceneCaptioner",
    "ShowAndTell",
    "ShowAttendTell",
    "VideoCaptioner",
    "VideoCaptionerConfig",
    "build_captioner",
    "caption_loss",
    "decode",
    "decode_with_attention",
    "grid_keys",
]


@dataclass(frozen=True)
class CaptionerConfig:
    """The sizes of an image captioner: everything needed to rebuild one before loading its weights.

    ``kind`` is ``"attention"`` (:class:`ShowAttendTell`) or ``"show_and_tell"`` (:class:`ShowAndTell`).
    """

    vocab_size: int
    kind: str = "attention"
    image_size: int = 32
    in_channels: int = 3
    channels: tuple[int, int, int] = (16, 32, 64)
    embed_size: int = 32
    hidden_size: int = 128
    attention_size: int = 64

    def __post_init__(self):
        check_choice("kind", self.kind, ["attention", "show_and_tell"])
        for name in ("vocab_size", "image_size", "in_channels", "embed_size", "hidden_size", "attention_size"):
            check_positive_int(name, getattr(self, name))
        if self.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (two 2 x 2 poolings); got {self.image_size}")
        object.__setattr__(self, "channels", tuple(check_positive_int("channels", c) for c in self.channels))

    def to_dict(self) -> dict:
        """The config as a plain dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)


class ConvEncoder(nn.Module):
    """conv 3x3 - ReLU - pool 2x2 - conv 3x3 - ReLU - pool 2x2 - conv 3x3 - ReLU.

    ``forward(images (B, C_in, H, W)) -> features (B, C, H/4, W/4)``, ``C = channels[-1]``;
    each output cell sees a 16 x 16 pixel neighbourhood of its 4 x 4 patch.
    """

    def __init__(self, in_channels: int, channels: tuple[int, int, int]):
        super().__init__()
        c1, c2, c3 = channels
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(images)), 2)  # (B, c1, H/2, W/2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, c2, H/4, W/4)
        return F.relu(self.conv3(x))  # (B, c3, H/4, W/4)


def grid_keys(features: torch.Tensor) -> torch.Tensor:
    """The grid cells as attention keys: ``(B, C, h, w) -> (B, h * w, C + 2)``, row-major.

    Each cell's features get its row and column, scaled to [-1, 1], appended:
    convolutions see what is where only relative to a cell, and a caption's
    "left of" needs where, too.
    """
    batch, _, h, w = features.shape
    rows = torch.linspace(-1, 1, h, dtype=features.dtype).view(h, 1).expand(h, w)
    cols = torch.linspace(-1, 1, w, dtype=features.dtype).view(1, w).expand(h, w)
    where = torch.stack([rows, cols]).expand(batch, 2, h, w)
    return torch.cat([features, where], dim=1).flatten(2).transpose(1, 2)  # (B, S, C + 2)


def _check_images(images: torch.Tensor, config: CaptionerConfig) -> None:
    layout = "(B, C, H, W)"
    check_array_type("images", images, torch.Tensor, f"a torch.Tensor {layout}")
    check_rank("images", images, (4,), layout)
    check_floating("images", images)
    expected = (config.in_channels, config.image_size, config.image_size)
    if tuple(images.shape[1:]) != expected:
        raise ValueError(f"images must have shape (B, {', '.join(map(str, expected))}); got {tuple(images.shape)}")


def _check_words(words: torch.Tensor, batch: int) -> None:
    check_array_type("words", words, torch.Tensor, "a torch.Tensor of word ids (L, B)")
    check_rank("words", words, (2,), "(L, B)")
    if words.dtype != torch.int64 or words.shape[1] != batch:
        raise ValueError(f"words must be int64 word ids (L, B) with B = {batch}; "
                         f"got {str(words.dtype).replace('torch.', '')} {tuple(words.shape)}")


class ShowAndTell(nn.Module):
    """The image as the first input of the decoder LSTM, then the words (Vinyals et al., 2015).

    ``forward(images (B, C, H, W), words (L, B)) -> logits (L, B, V)``: step 0
    reads the image vector (``Linear`` of the flattened grid, after a 1 x 1
    convolution to 8 channels, then ``BatchNorm1d``), steps 1 .. L read ``words``; the output after
    word ``l`` scores word ``l + 1``.
    """

    state_batch_dim = 1  # the state is the LSTM's (h, c), each (1, B, H)

    def __init__(self, config: CaptionerConfig):
        super().__init__()
        self.config = config
        grid = config.image_size // 4
        self.encoder = ConvEncoder(config.in_channels, config.channels)
        self.squeeze = nn.Conv2d(config.channels[-1], 8, 1)
        self.image_to_input = nn.Linear(8 * grid * grid, config.embed_size)
        # the vectors of mostly black images differ little at first: standardised over the batch,
        # they carry enough signal that the decoder learns to use them instead of ignoring them
        self.image_norm = nn.BatchNorm1d(config.embed_size)
        self.embed = nn.Embedding(config.vocab_size, config.embed_size)
        self.lstm = lstmlib.nn.LSTM(config.embed_size, config.hidden_size)
        self.readout = nn.Linear(config.hidden_size, config.vocab_size)

    def image_vector(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, E)``: what the decoder reads before the first word."""
        _check_images(images, self.config)
        return self.image_norm(self.image_to_input(F.relu(self.squeeze(self.encoder(images))).flatten(1)))

    def forward(self, images: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        _check_words(words, images.shape[0])
        inputs = torch.cat([self.image_vector(images).unsqueeze(0), self.embed(words)])  # (1 + L, B, E)
        output, _ = self.lstm(inputs)
        return self.readout(output[1:])  # (L, B, V)

    def start(self, images: torch.Tensor):
        """The decoder's state after reading the image: ``(h, c)``, each ``(1, B, H)``."""
        _, state = self.lstm(self.image_vector(images).unsqueeze(0))
        return state

    def step(self, tokens: torch.Tensor, state):
        """``(tokens (K,), state) -> (log_probs (K, V), state)``."""
        output, state = self.lstm(self.embed(tokens).unsqueeze(0), state)
        return torch.log_softmax(self.readout(output[0]), dim=-1), state


class ShowAttendTell(nn.Module):
    """An LSTM decoder that looks at the image's grid cells through additive attention (Xu et al., 2015).

    At the step that emits word ``l``, with the state ``(h, c)`` after word ``l - 1``:
    ``context, α = attention(h, keys)`` over the S cells; ``(h, c) = LSTMCell([embed(w_{l-1});
    context], (h, c))``; ``logits = readout([h; context])``. ``(h_0, c_0)`` come from the
    mean of the keys. ``forward(images, words (L, B)) -> (logits (L, B, V), weights (L, B, S))``.
    """

    state_batch_dim = 0  # every state tensor is batch-first: h, c (B, H); keys (B, S, Hk)

    def __init__(self, config: CaptionerConfig):
        super().__init__()
        self.config = config
        key_size = config.channels[-1] + 2
        self.encoder = ConvEncoder(config.in_channels, config.channels)
        self.attention = lstmlib.nn.AdditiveAttention(config.hidden_size, key_size, config.attention_size)
        self.init_state = nn.Linear(key_size, 2 * config.hidden_size)
        self.embed = nn.Embedding(config.vocab_size, config.embed_size)
        self.cell = lstmlib.nn.LSTMCell(config.embed_size + key_size, config.hidden_size)
        self.readout = nn.Linear(config.hidden_size + key_size, config.vocab_size)

    def start(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"h", "c"}`` (B, H) from the mean key, ``"keys"`` (B, S, Hk) and their projection ``"projected"``."""
        _check_images(images, self.config)
        keys = grid_keys(self.encoder(images))
        h, c = torch.tanh(self.init_state(keys.mean(dim=1))).chunk(2, dim=-1)
        return {"h": h, "c": c, "keys": keys, "projected": self.attention.project_keys(keys)}

    def attend_step(self, tokens: torch.Tensor, state: dict):
        """``(tokens (K,), state) -> (logits (K, V), state, weights (K, S))``: one word, where it looked."""
        context, weights = self.attention(state["h"], state["keys"], projected_keys=state["projected"])
        h, c = self.cell(torch.cat([self.embed(tokens), context], dim=-1), (state["h"], state["c"]))
        logits = self.readout(torch.cat([h, context], dim=-1))
        return logits, {**state, "h": h, "c": c}, weights

    def step(self, tokens: torch.Tensor, state: dict):
        """``(tokens (K,), state) -> (log_probs (K, V), state)``."""
        logits, state, _ = self.attend_step(tokens, state)
        return torch.log_softmax(logits, dim=-1), state

    def forward(self, images: torch.Tensor, words: torch.Tensor):
        _check_words(words, images.shape[0])
        state = self.start(images)
        logits, weights = [], []
        for tokens in words:
            step_logits, state, step_weights = self.attend_step(tokens, state)
            logits.append(step_logits)
            weights.append(step_weights)
        return torch.stack(logits), torch.stack(weights)  # (L, B, V), (L, B, S)


def build_captioner(config: CaptionerConfig) -> nn.Module:
    """A fresh :class:`ShowAttendTell` or :class:`ShowAndTell`, as ``config.kind`` says."""
    check_array_type("config", config, CaptionerConfig, "a CaptionerConfig")
    return (ShowAttendTell if config.kind == "attention" else ShowAndTell)(config)


@dataclass(frozen=True)
class VideoCaptionerConfig:
    """The sizes of a :class:`VideoCaptioner`; ``temporal`` is ``"lstm"`` (LRCN) or ``"mean"`` (the control)."""

    vocab_size: int
    temporal: str = "lstm"
    frame_size: int = 24
    channels: tuple[int, int] = (16, 32)
    frame_features: int = 64
    embed_size: int = 32
    hidden_size: int = 128

    def __post_init__(self):
        check_choice("temporal", self.temporal, ["lstm", "mean"])
        for name in ("vocab_size", "frame_size", "frame_features", "embed_size", "hidden_size"):
            check_positive_int(name, getattr(self, name))
        if self.frame_size % 4:
            raise ValueError(f"frame_size must be a multiple of 4 (two 2 x 2 poolings); got {self.frame_size}")
        object.__setattr__(self, "channels", tuple(check_positive_int("channels", c) for c in self.channels))

    def to_dict(self) -> dict:
        """The config as a plain dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)


class VideoCaptioner(nn.Module):
    """LRCN: a CNN per frame, an LSTM over the frames, an LSTM decoder (Donahue et al., 2015).

    ``forward(frames (T, B, 1, H, W), words (L, B)) -> logits (L, B, V)``. Each frame
    becomes a vector (two conv - ReLU - pool blocks, flattened, a ``Linear`` and ReLU; the
    flattening keeps where things are). With ``temporal="lstm"`` an encoder LSTM reads the
    T vectors and its last ``(h, c)`` starts the decoder; with ``temporal="mean"`` their
    mean, through a ``Linear`` and tanh, is the decoder's ``(h_0, c_0)``: the same
    information about each frame, none about their order. (The mean goes through a
    ``BatchNorm1d`` first: it varies little between clips, and unscaled it did not train.)
    """

    state_batch_dim = 1  # the decoder's (h, c), each (1, B, H)

    def __init__(self, config: VideoCaptionerConfig):
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        grid = config.frame_size // 4
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.frame_to_vector = nn.Linear(c2 * grid * grid, config.frame_features)
        if config.temporal == "lstm":
            self.encoder = lstmlib.nn.LSTM(config.frame_features, config.hidden_size)
        else:
            # the mean of nine mostly black frames varies little from clip to clip: standardise each
            # feature over the batch, or the decoder learns to ignore it before the CNN makes it informative
            self.pooled_norm = nn.BatchNorm1d(config.frame_features)
            self.pooled_to_state = nn.Linear(config.frame_features, 2 * config.hidden_size)
        self.embed = nn.Embedding(config.vocab_size, config.embed_size)
        self.decoder = lstmlib.nn.LSTM(config.embed_size, config.hidden_size)
        self.readout = nn.Linear(config.hidden_size, config.vocab_size)

    def frame_vectors(self, frames: torch.Tensor) -> torch.Tensor:
        """``(T, B, 1, H, W) -> (T, B, F)``, every frame on its own."""
        layout = "(T, B, 1, H, W)"
        check_array_type("frames", frames, torch.Tensor, f"a torch.Tensor {layout}")
        check_rank("frames", frames, (5,), layout)
        check_floating("frames", frames)
        size = self.config.frame_size
        if tuple(frames.shape[2:]) != (1, size, size):
            raise ValueError(f"frames must have shape (T, B, 1, {size}, {size}); got {tuple(frames.shape)}")
        steps, batch = frames.shape[:2]
        x = F.max_pool2d(F.relu(self.conv1(frames.flatten(0, 1))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (T * B, c2, H/4, W/4)
        return F.relu(self.frame_to_vector(x.flatten(1))).view(steps, batch, -1)

    def start(self, frames: torch.Tensor):
        """The decoder's first state ``(h, c)``, each ``(1, B, H)``, from the clip."""
        vectors = self.frame_vectors(frames)
        if self.config.temporal == "lstm":
            _, state = self.encoder(vectors)
            return state
        h, c = torch.tanh(self.pooled_to_state(self.pooled_norm(vectors.mean(dim=0)))).chunk(2, dim=-1)
        return h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()

    def step(self, tokens: torch.Tensor, state):
        """``(tokens (K,), state) -> (log_probs (K, V), state)``."""
        output, state = self.decoder(self.embed(tokens).unsqueeze(0), state)
        return torch.log_softmax(self.readout(output[0]), dim=-1), state

    def forward(self, frames: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        _check_words(words, frames.shape[1])
        output, _ = self.decoder(self.embed(words), self.start(frames))
        return self.readout(output)  # (L, B, V)


def caption_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """Mean cross-entropy of the next word, teacher forcing, padding ignored.

    ``targets (L + 1, B)`` are padded ids ``<bos> w_1 .. w_n <eos>``; the model reads
    ``targets[:-1]`` and is scored on ``targets[1:]``.
    """
    logits = model(inputs, targets[:-1])
    if isinstance(logits, tuple):  # ShowAttendTell also returns its attention weights
        logits = logits[0]
    return F.cross_entropy(logits.flatten(0, 1), targets[1:].flatten(), ignore_index=pad_id)


@torch.no_grad()
def decode(model: nn.Module, inputs: torch.Tensor, vocab: WordVocab, *, beam_width: int = 1,
           max_length: int = 16) -> list[list[str]]:
    """Captions (word lists) for a batch of images ``(B, C, H, W)`` or clips ``(T, B, 1, H, W)``.

    ``beam_width=1`` is greedy search over the whole batch at once; a wider beam
    runs :func:`lstmlib.decoding.beam_search` on each input and keeps its best caption.
    """
    beam_width = check_positive_int("beam_width", beam_width)
    model.eval()
    batch_axis = 1 if isinstance(model, VideoCaptioner) else 0
    batch = inputs.shape[batch_axis]
    if beam_width == 1:
        hypotheses = greedy_search(model.step, model.start(inputs), batch, bos_id=vocab.bos_id,
                                   eos_id=vocab.eos_id, max_length=max_length)
        return [vocab.decode(h.tokens) for h in hypotheses]
    captions = []
    for b in range(batch):
        one = inputs.narrow(batch_axis, b, 1)
        best = beam_search(model.step, model.start(one), bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                           beam_width=beam_width, max_length=max_length, state_batch_dim=model.state_batch_dim)[0]
        captions.append(vocab.decode(best.tokens))
    return captions


@torch.no_grad()
def decode_with_attention(model: ShowAttendTell, images: torch.Tensor, vocab: WordVocab, *,
                          max_length: int = 16) -> tuple[list[list[str]], list[np.ndarray]]:
    """Greedy captions and, for each, the attention weights of every word it emitted.

    Returns ``(captions, weights)``: ``weights[b]`` is ``(len(captions[b]) + 1, h, w)``
    float64, one grid per emitted word and a last one for ``<eos>`` (when it was emitted
    within ``max_length``), each summing to 1.
    """
    check_array_type("model", model, ShowAttendTell, "a ShowAttendTell")
    model.eval()
    steps: list[torch.Tensor] = []

    def step(tokens, state):
        logits, state, weights = model.attend_step(tokens, state)
        steps.append(weights)
        return torch.log_softmax(logits, dim=-1), state

    hypotheses = greedy_search(step, model.start(images), images.shape[0], bos_id=vocab.bos_id,
                               eos_id=vocab.eos_id, max_length=max_length)
    grid = model.config.image_size // 4
    stacked = torch.stack(steps, dim=1).double().numpy().reshape(images.shape[0], len(steps), grid, grid)
    captions = [vocab.decode(h.tokens) for h in hypotheses]
    return captions, [stacked[b, : len(h.tokens) + int(h.finished)] for b, h in enumerate(hypotheses)]


def _models_from(checkpoint: dict, config_class, model_class) -> dict[str, nn.Module]:
    models = {}
    for name, saved in checkpoint["models"].items():
        config = config_class(**saved["config"])
        model = model_class(config) if model_class is not None else build_captioner(config)
        model.load_state_dict({key: value.float() for key, value in saved["state_dict"].items()})
        models[name] = model.eval()
    return models


class SceneCaptioner:
    """Trained scene captioners with their vocabulary: ``caption(images)``.

    ``models`` maps ``"attention"`` and ``"show_and_tell"`` to the trained
    :class:`ShowAttendTell` and :class:`ShowAndTell` (CPU, eval mode); ``vocab``
    is their :class:`lstmlib.text.WordVocab`; ``record`` what the checkpoint
    says about the training (settings, data, measured scores).
    """

    def __init__(self, models: dict[str, nn.Module], vocab: WordVocab, record: dict | None = None):
        self.models, self.vocab, self.record = models, vocab, dict(record or {})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> SceneCaptioner:
        """Rebuild from a checkpoint dict saved by ``scripts/train_captioning.py`` (float16 weights)."""
        vocab = WordVocab(checkpoint["words"])
        record = {key: value for key, value in checkpoint.items() if key != "models"}
        return cls(_models_from(checkpoint, CaptionerConfig, None), vocab, record)

    def __repr__(self) -> str:
        return f"SceneCaptioner(models={sorted(self.models)}, {len(self.vocab)} words)"

    def caption(self, images, *, model: str = "attention", beam_width: int = 1) -> list[str]:
        """One caption (a str) per image; ``images`` ``(B, 3, 32, 32)`` or one ``(3, 32, 32)``,
        NumPy or torch, values in [0, 1] as :func:`lstmlib.data.scenes.make_scenes` draws them."""
        check_choice("model", model, sorted(self.models))
        images = torch.as_tensor(np.asarray(images, dtype=np.float32)) if not isinstance(images, torch.Tensor) \
            else images.float()
        if images.ndim == 3:
            images = images.unsqueeze(0)
        return [" ".join(words) for words in decode(self.models[model], images, self.vocab, beam_width=beam_width)]

    def attention(self, images) -> tuple[list[list[str]], list[np.ndarray]]:
        """:func:`decode_with_attention` with the attention model: captions and per-word weight grids."""
        images = torch.as_tensor(np.asarray(images, dtype=np.float32))
        return decode_with_attention(self.models["attention"], images, self.vocab)


class ClipCaptioner:
    """Trained clip captioners: ``models["lstm"]`` (LRCN) and ``models["mean"]`` (mean-pooled frames)."""

    def __init__(self, models: dict[str, nn.Module], vocab: WordVocab, record: dict | None = None):
        self.models, self.vocab, self.record = models, vocab, dict(record or {})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> ClipCaptioner:
        """Rebuild from a checkpoint dict saved by ``scripts/train_captioning.py`` (float16 weights)."""
        vocab = WordVocab(checkpoint["words"])
        record = {key: value for key, value in checkpoint.items() if key != "models"}
        return cls(_models_from(checkpoint, VideoCaptionerConfig, VideoCaptioner), vocab, record)

    def __repr__(self) -> str:
        return f"ClipCaptioner(models={sorted(self.models)}, {len(self.vocab)} words)"

    def caption(self, frames, *, model: str = "lstm", beam_width: int = 1) -> list[str]:
        """One caption per clip; ``frames`` ``(T, B, 1, 24, 24)`` in [0, 1] (:func:`lstmlib.data.scenes.make_clips`)."""
        check_choice("model", model, sorted(self.models))
        frames = torch.as_tensor(np.asarray(frames, dtype=np.float32))
        return [" ".join(words) for words in decode(self.models[model], frames, self.vocab, beam_width=beam_width)]
