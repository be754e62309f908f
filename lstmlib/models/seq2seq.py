"""The encoder-decoder LSTM (Sutskever et al., 2014), with or without attention (Bahdanau et al., 2014).

An **encoder** LSTM reads the source words; a **decoder** LSTM writes the
target words one at a time, each step reading the word it wrote last.

* Without attention the decoder starts from the encoder's final state
  ``(h, c)`` and never sees the source again: that one pair of vectors is
  the whole summary of the sentence.
* With attention the decoder also starts from that state, but at every
  step its previous hidden state ``h_{t-1}`` asks the encoder's outputs (the
  keys, one per source word) which ones matter now
  (:class:`lstmlib.nn.AdditiveAttention` or
  :class:`lstmlib.nn.MultiplicativeAttention`); their weighted sum, the
  context, is read with the previous word and shown to the output layer.

``reverse_source`` feeds the encoder the source backwards (Sutskever et
al.'s trick: the first source words end up closest to the first target
words); the keys are put back in source order, so attention weights always
index the source as written.

Training uses teacher forcing (:meth:`Seq2Seq.forward` reads the true
previous word); :meth:`Seq2Seq.step` is the one-step function
``lstmlib.decoding.greedy_search`` and ``beam_search`` call. The wrapper
:class:`Translator` (in :mod:`lstmlib.pretrained` as
``"translate-en-fr-numbers"`` and ``"translate-de-en-dates"``) turns text
into ids and back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import lstmlib.nn
from lstmlib._checks import check_array_type, check_bool, check_choice, check_dtype, check_positive_int, check_rank
from lstmlib.decoding import beam_search, greedy_search
from lstmlib.masking import lengths_to_mask
from lstmlib.text import WordVocab, detokenize, pad_batch, tokenize

__all__ = ["Seq2Seq", "Seq2SeqConfig", "Translator", "teacher_forcing_loss"]

ATTENTION_KINDS = ("additive", "multiplicative", "none")


@dataclass(frozen=True)
class Seq2SeqConfig:
    """The sizes of a :class:`Seq2Seq`: everything needed to rebuild one before loading its weights.

    ``attention`` is ``"additive"``, ``"multiplicative"`` or ``"none"``;
    ``attention_size`` is the additive score network's hidden size (unused otherwise).
    """

    source_vocab_size: int
    target_vocab_size: int
    embed_size: int = 32
    hidden_size: int = 128
    attention: str = "additive"
    attention_size: int = 64
    reverse_source: bool = False

    def __post_init__(self):
        for name in ("source_vocab_size", "target_vocab_size", "embed_size", "hidden_size", "attention_size"):
            check_positive_int(name, getattr(self, name))
        check_choice("attention", self.attention, list(ATTENTION_KINDS))
        check_bool("reverse_source", self.reverse_source)

    def to_dict(self) -> dict:
        """The config as a plain dict (what a checkpoint stores)."""
        return dataclasses.asdict(self)


class Seq2Seq(nn.Module):
    """Embedding -> LSTM encoder; embedding (+ attention context) -> LSTM cell decoder -> linear scores.

    * :meth:`encode` ``(source (S, B), lengths (B,)) -> state`` for the decoder;
    * :meth:`step` ``(tokens (B,), state) -> (logits (B, V), state, weights (B, S) or None)``;
    * :meth:`forward` ``(source (S, B), lengths (B,), target_in (T, B)) -> (logits (T, B, V),
      weights (T, B, S) or None)``, teacher forcing.

    The decoder state is a tuple ``(h (B, H), c (B, H), keys (B, S, H),
    projected_keys (B, S, A) or None, mask (B, S))``, batch first in every
    tensor, so ``lstmlib.decoding.beam_search(..., state_batch_dim=0)``
    reorders it. Ids: ``<pad>`` is 0 (:class:`lstmlib.text.WordVocab`).
    """

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        check_array_type("config", config, Seq2SeqConfig, "a Seq2SeqConfig")
        self.config = config
        E, H = config.embed_size, config.hidden_size
        self.source_embed = nn.Embedding(config.source_vocab_size, E, padding_idx=0)
        self.target_embed = nn.Embedding(config.target_vocab_size, E, padding_idx=0)
        self.encoder = lstmlib.nn.LSTM(E, H)
        if config.attention == "additive":
            self.attention = lstmlib.nn.AdditiveAttention(H, H, config.attention_size)
        elif config.attention == "multiplicative":
            self.attention = lstmlib.nn.MultiplicativeAttention(H, H)
        else:
            self.attention = None
        context_size = 0 if self.attention is None else H
        self.decoder = lstmlib.nn.LSTMCell(E + context_size, H)
        self.readout = nn.Linear(H + context_size, config.target_vocab_size)
        with torch.no_grad():  # open the forget gates at the start (gate order i, f, g, o)
            self.encoder.bias_ih_l0[H:2 * H] += 1.0
            self.decoder.bias_ih[H:2 * H] += 1.0

    def _check_ids(self, name: str, ids, layout: str) -> None:
        check_array_type(name, ids, torch.Tensor, f"a torch.Tensor of token ids {layout}")
        check_rank(name, ids, (2,), layout)
        check_dtype(name, ids, "int64", " (token ids)")

    def encode(self, source: torch.Tensor, lengths: torch.Tensor):
        """The decoder's initial state for ``source (S, B)`` int64 ids with ``lengths (B,)`` (see the class)."""
        self._check_ids("source", source, "(S, B)")
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if lengths.shape != (source.shape[1],) or int(lengths.min()) < 1 or int(lengths.max()) > source.shape[0]:
            raise ValueError(f"lengths must be (B,) = ({source.shape[1]},) ints in [1, {source.shape[0]}]; "
                             f"got {lengths.tolist()}")
        mask = lengths_to_mask(lengths, source.shape[0], batch_first=True)  # (B, S)
        if self.config.reverse_source:
            source = self._reverse_within_lengths(source, lengths)
        packed = pack_padded_sequence(self.source_embed(source), lengths, enforce_sorted=False)
        outputs, (h, c) = self.encoder(packed)
        keys, _ = pad_packed_sequence(outputs, total_length=source.shape[0])  # (S, B, H)
        if self.config.reverse_source:
            keys = self._reverse_within_lengths(keys, lengths)  # back in source order
        keys = keys.transpose(0, 1).contiguous()  # (B, S, H)
        projected = self.attention.project_keys(keys) if isinstance(self.attention,
                                                                    lstmlib.nn.AdditiveAttention) else None
        return h[0], c[0], keys, projected, mask

    @staticmethod
    def _reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``x (S, B, ...)`` with each column's first ``lengths[b]`` steps in reverse order (padding stays last)."""
        S = x.shape[0]
        steps = torch.arange(S).unsqueeze(1)  # (S, 1)
        index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (S, B)
        return x.gather(0, index.view(S, -1, *([1] * (x.ndim - 2))).expand_as(x))

    def step(self, tokens: torch.Tensor, state):
        """One decoder step: previous words ``tokens (B,)`` -> ``(logits (B, V), state, weights (B, S) or None)``."""
        h, c, keys, projected, mask = state
        embedded = self.target_embed(tokens)  # (B, E)
        if self.attention is None:
            h, c = self.decoder(embedded, (h, c))
            return self.readout(h), (h, c, keys, projected, mask), None
        if projected is not None:
            context, weights = self.attention(h, keys, mask, projected_keys=projected)
        else:
            context, weights = self.attention(h, keys, mask)
        h, c = self.decoder(torch.cat([embedded, context], dim=1), (h, c))
        return self.readout(torch.cat([h, context], dim=1)), (h, c, keys, projected, mask), weights

    def forward(self, source: torch.Tensor, lengths: torch.Tensor, target_in: torch.Tensor):
        """Teacher forcing: ``(logits (T, B, V), weights (T, B, S) or None)`` for ``target_in (T, B)``."""
        self._check_ids("target_in", target_in, "(T, B)")
        state = self.encode(source, lengths)
        if target_in.shape[1] != source.shape[1]:
            raise ValueError(f"target_in must have the source's batch size {source.shape[1]} on axis 1 of (T, B); "
                             f"got shape {tuple(target_in.shape)}")
        all_logits, all_weights = [], []
        for tokens in target_in:  # one step per target word: the decoder reads its own state
            logits, state, weights = self.step(tokens, state)
            all_logits.append(logits)
            all_weights.append(weights)
        weights = None if self.attention is None else torch.stack(all_weights)
        return torch.stack(all_logits), weights

    def log_prob_step(self, tokens: torch.Tensor, state):
        """``(log_probs (B, V), state)``: :meth:`step` in the form ``lstmlib.decoding``'s searches call."""
        logits, state, _ = self.step(tokens, state)
        return F.log_softmax(logits, dim=-1), state


def teacher_forcing_loss(model: Seq2Seq, batches):
    """A ``loss_fn(step)`` for :func:`lstmlib.train.train`: mean cross-entropy of the next target word, padding ignored.

    ``batches`` yields ``(source (S, B), lengths (B,), target_in (T, B), target_out (T, B))``
    (:func:`lstmlib.data.translation.translation_batches`).
    """
    check_array_type("model", model, Seq2Seq, "a Seq2Seq")

    def loss_fn(step: int) -> torch.Tensor:
        source, lengths, target_in, target_out = next(batches)
        logits, _ = model(source, lengths, target_in)
        return F.cross_entropy(logits.flatten(0, 1), target_out.flatten(), ignore_index=0)

    return loss_fn


class Translator:
    """A trained :class:`Seq2Seq` with its two vocabularies: text in, text out.

    ``translate(sources, beam_width=1)`` tokenises each sentence (hyphens as
    tokens, :func:`lstmlib.text.tokenize`), decodes greedily (``beam_width=1``,
    all sentences in one batch) or with :func:`lstmlib.decoding.beam_search`,
    and writes the tokens back as text (:func:`lstmlib.text.detokenize`).
    A word the model never saw raises ``ValueError`` naming it.
    """

    def __init__(self, model: Seq2Seq, source_vocab: WordVocab, target_vocab: WordVocab,
                 record: dict | None = None, *, max_length: int = 40):
        check_array_type("model", model, Seq2Seq, "a Seq2Seq")
        check_array_type("source_vocab", source_vocab, WordVocab, "a WordVocab")
        check_array_type("target_vocab", target_vocab, WordVocab, "a WordVocab")
        for name, vocab, size in (("source_vocab", source_vocab, model.config.source_vocab_size),
                                  ("target_vocab", target_vocab, model.config.target_vocab_size)):
            if len(vocab) != size:
                raise ValueError(f"{name} must have the model's {size} tokens; got {len(vocab)}")
        self.model, self.source_vocab, self.target_vocab = model.eval(), source_vocab, target_vocab
        self.record = dict(record or {})
        self.max_length = check_positive_int("max_length", max_length)

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> Translator:
        """Rebuild from a checkpoint dict saved by ``scripts/train_translation.py`` (weights in float16)."""
        model = Seq2Seq(Seq2SeqConfig(**checkpoint["config"]))
        model.load_state_dict({name: weight.float() for name, weight in checkpoint["state_dict"].items()})
        source_vocab = WordVocab(checkpoint["source_tokens"][4:])
        target_vocab = WordVocab(checkpoint["target_tokens"][4:])
        record = {key: value for key, value in checkpoint.items() if key != "state_dict"}
        return cls(model, source_vocab, target_vocab, record)

    def __repr__(self) -> str:
        c = self.model.config
        return (f"Translator({c.attention} attention, {c.hidden_size} units, {len(self.source_vocab)} source and "
                f"{len(self.target_vocab)} target tokens)")

    def encode_sources(self, sources: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[list[str]]]:
        """``(ids (S, B), lengths (B,), tokens)`` for a list of sentences; a word outside the vocabulary raises."""
        if isinstance(sources, str) or not isinstance(sources, (list, tuple)):
            raise TypeError(f"sources must be a list of str sentences; got {type(sources).__name__}")
        if not sources:
            raise ValueError("sources must hold at least one sentence; got none")
        all_tokens, all_ids = [], []
        for k, sentence in enumerate(sources):
            if not isinstance(sentence, str):
                raise TypeError(f"sources[{k}] must be a str; got {type(sentence).__name__}")
            tokens = tokenize(sentence, lower=False, split_hyphens=True)
            if not tokens:
                raise ValueError(f"sources[{k}] must hold at least one word; got {sentence!r}")
            unknown = [t for t in tokens if t not in self.source_vocab]
            if unknown:
                known = ", ".join(self.source_vocab.tokens[4:12])
                raise ValueError(f"sources[{k}] has the word {unknown[0]!r}, which the model never saw in training "
                                 f"(it knows {len(self.source_vocab) - 4} words, such as {known}); got {sentence!r}")
            all_tokens.append(tokens)
            all_ids.append(self.source_vocab.encode(tokens))
        ids, lengths = pad_batch(all_ids)
        return ids, lengths, all_tokens

    @torch.no_grad()
    def translate(self, sources: list[str], beam_width: int = 1) -> list[str]:
        """Each sentence of ``sources`` translated: greedy for ``beam_width=1``, else beam search (α = 1)."""
        beam_width = check_positive_int("beam_width", beam_width)
        return [detokenize(tokens) for tokens in self.translate_tokens(sources, beam_width)]

    @torch.no_grad()
    def translate_tokens(self, sources: list[str], beam_width: int = 1) -> list[list[str]]:
        """:meth:`translate`'s outputs as token lists (before detokenising)."""
        beam_width = check_positive_int("beam_width", beam_width)
        ids, lengths, _ = self.encode_sources(sources)
        vocab = self.target_vocab
        if beam_width == 1:
            hypotheses = greedy_search(self.model.log_prob_step, self.model.encode(ids, lengths), len(sources),
                                       bos_id=vocab.bos_id, eos_id=vocab.eos_id, max_length=self.max_length)
            return [vocab.decode(h.tokens) for h in hypotheses]
        outputs = []
        for b in range(len(sources)):
            length = int(lengths[b])
            state = self.model.encode(ids[:length, b:b + 1], lengths[b:b + 1])
            best = beam_search(self.model.log_prob_step, state, bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                               beam_width=beam_width, max_length=self.max_length, state_batch_dim=0)[0]
            outputs.append(vocab.decode(best.tokens))
        return outputs

    @torch.no_grad()
    def attention_map(self, source: str) -> tuple[list[str], list[str], torch.Tensor]:
        """``(source_tokens, output_tokens, weights (T, S))`` for one sentence, decoded greedily.

        Row ``t`` holds the attention weights the decoder used to write output
        token ``t`` (the last row is for ``<eos>``, so ``T = len(output_tokens) + 1``).
        Raises ``ValueError`` for a model without attention.
        """
        if self.model.attention is None:
            raise ValueError("attention_map needs a model with attention; this one has attention='none'")
        ids, lengths, tokens = self.encode_sources([source])
        state = self.model.encode(ids, lengths)
        word = torch.tensor([self.target_vocab.bos_id])
        output, rows = [], []
        for _ in range(self.max_length):
            logits, state, weights = self.model.step(word, state)
            rows.append(weights[0])
            word = logits.argmax(dim=1)
            if int(word) == self.target_vocab.eos_id:
                break
            output.append(self.target_vocab.tokens[int(word)])
        return tokens[0], output, torch.stack(rows)
