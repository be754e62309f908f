"""Task models built from :mod:`lstmlib.nn` layers, with the baselines they are compared to.

Models only, one file each: a config, ``__init__`` and ``forward`` (or, for
a counting baseline, ``fit`` and the probabilities). Scoring is in
:mod:`lstmlib.metrics`, sampling in :mod:`lstmlib.decoding`, training in
:mod:`lstmlib.train`, shipped trained models in :mod:`lstmlib.pretrained`.

* :mod:`lstmlib.models.char_lstm` -- the character-level LSTM language model;
* :mod:`lstmlib.models.char_ngram` -- its baseline, an interpolated Kneser--Ney n-gram model.
* :mod:`lstmlib.models.captioning` -- CNN + LSTM captioners: Show and Tell, Show Attend and Tell,
  LRCN for clips (import from the module; its wrappers are loaded by :mod:`lstmlib.pretrained`).
"""

from lstmlib.models.char_lstm import CharLSTM, CharLSTMConfig
from lstmlib.models.char_ngram import CharNGram

__all__ = ["CharLSTM", "CharLSTMConfig", "CharNGram"]
