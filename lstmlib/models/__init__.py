"""Task models built from :mod:`lstmlib.nn` layers, with the baselines they are compared to.

Models only, one file each: a config, ``__init__`` and ``forward`` (or, for
a counting baseline, ``fit`` and the probabilities). Scoring is in
:mod:`lstmlib.metrics`, sampling in :mod:`lstmlib.decoding`, training in
:mod:`lstmlib.train`, shipped trained models in :mod:`lstmlib.pretrained`.

* :mod:`lstmlib.models.char_lstm` -- the character-level LSTM language model;
* :mod:`lstmlib.models.char_ngram` -- its baseline, an interpolated Kneser--Ney n-gram model;
* :mod:`lstmlib.models.seq2seq` -- the encoder-decoder LSTM with or without attention, and its
  ``Translator`` (text in, text out; imported from its module, not from here);
* :mod:`lstmlib.models.translation_baselines` -- its baselines, an IBM-model-1 word table and
  nearest-neighbour retrieval.
* :mod:`lstmlib.models.sentiment` -- the (Bi)LSTM sentence classifier with last-state, max or attention
  pooling, and :class:`~lstmlib.models.sentiment.SentimentClassifier`, the shipped "sentiment-rt" wrapper;
* :mod:`lstmlib.models.bag_of_words` -- its baseline, TF-IDF unigrams and bigrams + logistic regression
  (scikit-learn; imported only when used).
* :mod:`lstmlib.models.forecaster` -- an LSTM forecasting quantiles of the next H values of a series.
* :mod:`lstmlib.models.speech` -- spoken-digit recognisers trained with CTC (BiLSTM, LSTM, frame-wise MLP) and
  their wrapper (imported from there: it pulls in :mod:`lstmlib.audio`).
* :mod:`lstmlib.models.char_ngram` -- its baseline, an interpolated Kneser--Ney n-gram model.
* :mod:`lstmlib.models.captioning` -- CNN + LSTM captioners: Show and Tell, Show Attend and Tell,
  LRCN for clips (import from the module; its wrappers are loaded by :mod:`lstmlib.pretrained`).
"""

from lstmlib.models.char_lstm import CharLSTM, CharLSTMConfig
from lstmlib.models.char_ngram import CharNGram
from lstmlib.models.forecaster import ForecasterConfig, LSTMForecaster
from lstmlib.models.sentiment import SentimentConfig, SentimentLSTM

__all__ = ["CharLSTM", "CharLSTMConfig", "CharNGram", "ForecasterConfig", "LSTMForecaster", "SentimentConfig",
           "SentimentLSTM"]
