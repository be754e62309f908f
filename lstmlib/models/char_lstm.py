"""The character-level LSTM language model: embedding -> :class:`lstmlib.nn.LSTM` -> linear.

A language model gives a probability to the next token given the ones
before it, ``p(x_t | x_1 .. x_{t-1})``. This one reads integer character
ids (:class:`lstmlib.text.CharVocab`) and returns one score per character
of the vocabulary at every step; its state can carry information over any
distance. Scoring lives in :mod:`lstmlib.metrics`, sampling in
:mod:`lstmlib.decoding`, training with truncated backpropagation through
time in :mod:`lstmlib.train`, the trained model in :mod:`lstmlib.pretrained`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

import lstmlib.nn
from lstmlib._checks import check_array_type, check_dtype, check_positive_int, check_rank

__all__ = ["CharLSTM", "CharLSTMConfig"]


@dataclass(frozen=True)
class CharLSTMConfig:
    """The sizes of a :class:`CharLSTM`: everything needed to rebuild one before loading its weights.

    ``forget_bias`` only shapes the initialisation (a loaded ``state_dict`` overrides it).
    """

    vocab_size: int
    embed_size: int = 32
    hidden_size: int = 256
    num_layers: int = 1
    forget_bias: float = 1.0

    def __post_init__(self):
        for name in ("vocab_size", "embed_size", "hidden_size", "num_layers"):
            check_positive_int(name, getattr(self, name))

    def to_dict(self) -> dict:
        """The config as a plain dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> linear scores for the next character.

    ``forward(x, state=None) -> (logits, state)`` with ``x: (T, B)`` int64
    ids, ``logits: (T, B, V)`` and ``state = (h, c)``, each
    ``(num_layers, B, H)``: feed the returned state back in to continue a text.
    ``forget_bias`` is added to the forget gate's bias so that the cell
    starts out remembering (Gers et al. 2000; Jozefowicz et al. 2015).
    """

    def __init__(self, vocab_size: int, *, embed_size: int = 32, hidden_size: int = 256,
                 num_layers: int = 1, forget_bias: float = 1.0):
        super().__init__()
        self.config = CharLSTMConfig(vocab_size, embed_size, hidden_size, num_layers, forget_bias)
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = lstmlib.nn.LSTM(embed_size, hidden_size, num_layers=num_layers)
        self.readout = nn.Linear(hidden_size, vocab_size)
        with torch.no_grad():  # gate order i, f, g, o: the forget gate is the second block
            for layer in range(num_layers):
                getattr(self.lstm, f"bias_ih_l{layer}")[hidden_size:2 * hidden_size] += forget_bias

    @classmethod
    def from_config(cls, config: CharLSTMConfig) -> CharLSTM:
        """A fresh model of the sizes in ``config``."""
        check_array_type("config", config, CharLSTMConfig, "a CharLSTMConfig")
        return cls(**config.to_dict())

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        check_array_type("x", x, torch.Tensor, "a torch.Tensor of token ids (T, B)")
        check_rank("x", x, (2,), "(T, B)")
        check_dtype("x", x, "int64", " (token ids)")
        output, state = self.lstm(self.embed(x), state)  # (T, B, H)
        return self.readout(output), state  # (T, B, V)
