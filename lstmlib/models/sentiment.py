"""A sentence classifier: word embeddings -> (Bi)LSTM -> one vector per sentence -> two class scores.

The one design choice the sentiment chapter studies is how the LSTM's
outputs ``h_1 .. h_T`` become one vector for the whole sentence (pooling):

* ``"last"`` -- the final state: ``h_T`` of the forward direction (and, for a
  BiLSTM, the backward direction's state after reading back to the first
  word), as returned by the packed LSTM;
* ``"max"`` -- the element-wise maximum over the real steps;
* ``"attention"`` -- a weighted average ``Σ_t a_t h_t``, the weights a softmax
  of scores from :class:`lstmlib.nn.AdditiveAttention` whose query is one
  learned vector (the same for every sentence): "which words matter for
  this task" (Yang et al. 2016; Wang et al. 2016).

:class:`SentimentLSTM` is the model, :class:`SentimentConfig` its sizes.
:class:`SentimentClassifier` is the ready-to-use wrapper that
``lstmlib.pretrained.load("sentiment-rt")`` returns: raw English text in,
labels (1 = positive) or probabilities out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import lstmlib.nn
from lstmlib._checks import check_array_type, check_choice, check_dtype, check_positive_int, check_probability
from lstmlib.masking import lengths_to_mask
from lstmlib.text import WordVocab, pad_batch, tokenize

__all__ = ["POOLINGS", "SentimentClassifier", "SentimentConfig", "SentimentLSTM", "encode_texts", "review_tokens"]

#: The ways a sentence's LSTM outputs become one vector (see the module docstring).
POOLINGS = ("last", "max", "attention")


@dataclass(frozen=True)
class SentimentConfig:
    """The sizes of a :class:`SentimentLSTM`: everything needed to rebuild one before loading its weights.

    ``word_dropout`` is the probability that a training sentence's word is read
    as ``<unk>`` (only in training mode): the model learns to judge a sentence
    whose words it does not all know, as it will outside its training data.
    ``dropout`` acts on the pooled vector. Neither changes a trained model's output.
    """

    vocab_size: int
    embed_size: int = 64
    hidden_size: int = 64
    bidirectional: bool = True
    pooling: str = "attention"
    attention_size: int = 32
    dropout: float = 0.3
    word_dropout: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "embed_size", "hidden_size", "attention_size"):
            check_positive_int(name, getattr(self, name))
        if not isinstance(self.bidirectional, bool):
            raise TypeError(f"bidirectional must be a bool; got {type(self.bidirectional).__name__}")
        check_choice("pooling", self.pooling, POOLINGS)
        check_probability("dropout", self.dropout)
        check_probability("word_dropout", self.word_dropout)

    def to_dict(self) -> dict:
        """The config as a plain dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)


class SentimentLSTM(nn.Module):
    """Embedding -> :class:`lstmlib.nn.LSTM` (packed, optionally bidirectional) -> pooling -> linear (2 scores).

    ``forward(ids (T, B) int64, lengths (B,)) -> logits (B, 2)``; class 1 is
    positive. The steps are split out so the attention chapter can reach
    inside: :meth:`embed_ids` (ids -> ``(T, B, E)`` vectors, with word
    dropout in training), :meth:`encode` (vectors -> outputs ``(B, T, D)``,
    ``D = H`` or ``2H``, and the final state ``(B, D)``), :meth:`pool`
    (outputs -> ``(B, D)``, and the attention weights ``(B, T)``), and
    :meth:`classify`. :meth:`forward` also takes ``embedded`` vectors
    instead of ids (for gradients with respect to the input) and, for an
    attention model, ``weights (B, T)`` that replace the model's own.
    """

    def __init__(self, config: SentimentConfig):
        super().__init__()
        check_array_type("config", config, SentimentConfig, "a SentimentConfig")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_size, padding_idx=WordVocab.pad_id)
        self.lstm = lstmlib.nn.LSTM(config.embed_size, config.hidden_size, bidirectional=config.bidirectional)
        size = config.hidden_size * (2 if config.bidirectional else 1)
        self.output_size = size
        if config.pooling == "attention":
            self.query = nn.Parameter(torch.empty(size).uniform_(-size ** -0.5, size ** -0.5))
            self.attention = lstmlib.nn.AdditiveAttention(size, size, config.attention_size)
        self.dropout = nn.Dropout(config.dropout)
        self.readout = nn.Linear(size, 2)

    @classmethod
    def from_config(cls, config: SentimentConfig) -> SentimentLSTM:
        """A fresh model of the sizes in ``config`` (same as ``SentimentLSTM(config)``)."""
        return cls(config)

    def embed_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """``(T, B)`` int64 ids -> ``(T, B, E)`` vectors; in training a word becomes ``<unk>`` with p = word_dropout."""
        check_array_type("ids", ids, torch.Tensor, "a torch.Tensor of token ids (T, B)")
        if ids.ndim != 2:
            raise ValueError(f"ids must have 2 dimensions (T, B); got shape {tuple(ids.shape)}")
        check_dtype("ids", ids, "int64", " (token ids)")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size):
            raise ValueError(f"ids must lie in [0, {self.config.vocab_size - 1}]; got values from "
                             f"{int(ids.min())} to {int(ids.max())}")
        if self.training and self.config.word_dropout > 0:
            dropped = (torch.rand(ids.shape) < self.config.word_dropout) & (ids != WordVocab.pad_id)
            ids = ids.masked_fill(dropped, WordVocab.unk_id)
        return self.embedding(ids)

    def encode(self, embedded: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(T, B, E)`` vectors -> ``(outputs (B, T, D), final (B, D))``; outputs past a sentence's end are 0.

        ``final`` is the forward direction's state after the last real word,
        beside (BiLSTM) the backward direction's after the first.
        """
        packed = pack_padded_sequence(embedded, lengths.cpu(), enforce_sorted=False)
        packed_out, (h_n, _) = self.lstm(packed)
        outputs, _ = pad_packed_sequence(packed_out, total_length=embedded.shape[0])  # (T, B, D)
        final = torch.cat(list(h_n), dim=-1)  # (B, D): the directions side by side
        return outputs.transpose(0, 1), final

    def pool(self, outputs: torch.Tensor, final: torch.Tensor, lengths: torch.Tensor,
             weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One ``(B, D)`` vector per sentence, and the attention weights ``(B, T)`` (None unless attention).

        ``weights`` (attention pooling only) replaces the model's own weights:
        ``(B, T)``, zero past each sentence's end.
        """
        mask = lengths_to_mask(lengths, T=outputs.shape[1], batch_first=True)  # (B, T)
        pooling = self.config.pooling
        if pooling == "last":
            return final, None
        if pooling == "max":
            return outputs.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1), None
        if weights is None:
            query = self.query.expand(outputs.shape[0], -1)  # (B, D): the same learned query for every sentence
            return self.attention(query, outputs, mask)
        if tuple(weights.shape) != tuple(mask.shape):
            raise ValueError(f"weights must have shape (B, T) = {tuple(mask.shape)}; got {tuple(weights.shape)}")
        return torch.bmm(weights.unsqueeze(1).to(outputs.dtype), outputs).squeeze(1), weights

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` -> logits ``(B, 2)`` (dropout in training)."""
        return self.readout(self.dropout(pooled))

    def forward(self, ids: torch.Tensor | None, lengths, *, embedded: torch.Tensor | None = None,
                weights: torch.Tensor | None = None, return_weights: bool = False):
        """Logits ``(B, 2)`` for ``ids (T, B)`` (or ``embedded (T, B, E)``) and ``lengths (B,)``.

        With ``return_weights``: ``(logits, weights)``, the attention weights
        ``(B, T)`` or None for the other poolings. ``weights`` (attention
        pooling only) overrides the model's own.
        """
        if weights is not None and self.config.pooling != "attention":
            raise ValueError(f"weights can only replace attention weights; this model pools by "
                             f"{self.config.pooling!r}")
        lengths = torch.as_tensor(lengths, dtype=torch.int64)
        if embedded is None:
            embedded = self.embed_ids(ids)
        if lengths.shape != (embedded.shape[1],):
            raise ValueError(f"lengths must have shape (B,) = ({embedded.shape[1]},); got {tuple(lengths.shape)}")
        outputs, final = self.encode(embedded, lengths)
        pooled, used = self.pool(outputs, final, lengths, weights)
        logits = self.classify(pooled)
        return (logits, used) if return_weights else logits


def review_tokens(text: str) -> list[str]:
    """``text`` as the lower-cased tokens the sentiment models read (curly apostrophes straightened)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    return tokenize(text.replace("’", "'").replace("‘", "'"), lower=True)


def encode_texts(vocab: WordVocab, texts: Sequence[str]) -> list[np.ndarray]:
    """Each text as word ids ``(N_i,)``: lower-cased tokens, unknown ones as ``<unk>``, an empty text as ``[<unk>]``."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of str; got {type(texts).__name__}")
    encoded = []
    for k, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{k}] must be a str; got {type(text).__name__}")
        tokens = review_tokens(text) or ["<unk>"]
        encoded.append(vocab.encode(tokens))
    return encoded


class SentimentClassifier:
    """A trained sentiment model (one :class:`SentimentLSTM` or an ensemble) with its vocabulary.

    ``predict(texts) -> int64 (N,)`` (1 = positive, 0 = negative) and
    ``predict_proba(texts) -> float64 (N, 2)`` (columns: negative, positive)
    for any list of English strings: words the vocabulary does not know are
    read as ``<unk>``. An ensemble averages its members' probabilities.
    ``record`` holds what the checkpoint says about the training.
    """

    def __init__(self, models: Sequence[SentimentLSTM], vocab: WordVocab, record: dict | None = None):
        if isinstance(models, SentimentLSTM):
            models = [models]
        models = list(models)
        if not models:
            raise ValueError("models must hold at least one SentimentLSTM; got none")
        for k, model in enumerate(models):
            check_array_type(f"models[{k}]", model, SentimentLSTM, "a SentimentLSTM")
            if model.config.vocab_size != len(vocab):
                raise ValueError(f"vocab must have models[{k}]'s vocab_size={model.config.vocab_size} tokens; "
                                 f"got {len(vocab)}")
        check_array_type("vocab", vocab, WordVocab, "a WordVocab")
        self.models = [model.eval() for model in models]
        self.vocab, self.record = vocab, dict(record or {})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> SentimentClassifier:
        """Rebuild from a checkpoint dict saved by ``scripts/train_sentiment.py`` (weights in float16)."""
        vocab = WordVocab(checkpoint["tokens"][len(("<pad>", "<unk>", "<bos>", "<eos>")):])
        config = SentimentConfig(**checkpoint["config"])
        models = []
        for state in checkpoint["state_dicts"]:
            model = SentimentLSTM(config)
            model.load_state_dict({name: weight.float() for name, weight in state.items()})
            models.append(model)
        record = {key: value for key, value in checkpoint.items() if key != "state_dicts"}
        return cls(models, vocab, record)

    def __repr__(self) -> str:
        config = self.models[0].config
        kind = "BiLSTM" if config.bidirectional else "LSTM"
        return (f"SentimentClassifier({len(self.models)} x {kind} {config.hidden_size}, {config.pooling} pooling, "
                f"{len(self.vocab)} words)")

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        """``(N, 2)`` float64: ``[p(negative), p(positive)]`` for each text (rows sum to 1)."""
        encoded = encode_texts(self.vocab, texts)
        batch_size = check_positive_int("batch_size", batch_size)
        probs = np.zeros((len(encoded), 2))
        with torch.no_grad():
            for start in range(0, len(encoded), batch_size):
                ids, lengths = pad_batch(encoded[start:start + batch_size])
                mean = sum(torch.softmax(model(ids, lengths).double(), dim=-1) for model in self.models)
                probs[start:start + batch_size] = (mean / len(self.models)).numpy()
        return probs

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """``(N,)`` int64 labels, 1 = positive, 0 = negative (the more probable class; ties go to positive)."""
        return (self.predict_proba(texts)[:, 1] >= 0.5).astype(np.int64)
