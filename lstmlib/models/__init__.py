"""Task models built from :mod:`lstmlib.nn` layers, with the baselines they are compared to.

* :mod:`lstmlib.models.language_model` -- character-level language models:
  an interpolated Kneser--Ney n-gram baseline and an embedding -> LSTM ->
  linear network, with evaluation and temperature sampling.
"""

from lstmlib.models.language_model import (
    SHAKESPEARE_CHECKPOINT,
    CharLSTM,
    CharNGram,
    bits_per_char,
    load_checkpoint,
    lstm_cross_entropy,
    lstm_log_probs,
    sample,
    softmax_with_temperature,
    truncated_bptt_loss,
)

__all__ = [
    "SHAKESPEARE_CHECKPOINT",
    "CharLSTM",
    "CharNGram",
    "bits_per_char",
    "load_checkpoint",
    "lstm_cross_entropy",
    "lstm_log_probs",
    "sample",
    "softmax_with_temperature",
    "truncated_bptt_loss",
]
