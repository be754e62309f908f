"""Named-entity taggers: a (Bi)LSTM with an optional CRF on top, a feature CRF, and two counting baselines.

Every tagger maps sentences (lists of tokens) to BIO tags, one per token.

* :class:`NERTagger` -- word embedding + word-shape embedding (+ a character
  BiLSTM per word, optional) -> LSTM or BiLSTM -> a linear layer giving each
  step a score per tag (the *emissions*) -> either the best tag per step
  (trained with cross-entropy) or a :class:`lstmlib.nn.CRF` over the whole
  sequence (trained with its log-likelihood, decoded by Viterbi): the
  BiLSTM-CRF of Huang et al. (2015) and Lample et al. (2016).
* :class:`FeatureCRF` -- the same CRF on emissions that are a linear function
  of hand-made features (the word, its suffix, its shape, its neighbours),
  hashed into a fixed table: a CRF with no LSTM.
* :class:`MostFrequentTag`, :class:`Gazetteer` -- the floor: each known word's
  commonest tag; or a lookup of the entity strings seen in training.
* :class:`TokenEncoder` -- words, shapes and characters as the padded tensors the neural taggers read.
* :class:`EntityTagger` -- the shipped tagger (``lstmlib.pretrained.load("ner-en")``): ``tag(sentences)``.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import lstmlib.nn
from lstmlib.masking import lengths_to_mask
from lstmlib.text import CharVocab, WordVocab, pad_batch

__all__ = ["EntityTagger", "FeatureCRF", "Gazetteer", "MostFrequentTag", "NERTagger", "NERTaggerConfig",
           "TokenEncoder", "check_sentences", "load_variant", "word_shape"]

#: Word shapes, the case information every neural tagger sees: id -> meaning.
SHAPES = ("lower", "Capitalised", "UPPER", "has digit", "other")
#: The character that stands for any character the character vocabulary lacks.
UNKNOWN_CHAR = "\x00"


def word_shape(word: str) -> int:
    """The id in :data:`SHAPES` of ``word``'s case pattern ("Paris" -> 1, "NASA" -> 2, "2024" -> 3)."""
    if any(c.isdigit() for c in word):
        return 3
    if not any(c.isalpha() for c in word):
        return 4
    if word.isupper() and len(word) > 1:
        return 2
    if word[0].isupper():
        return 1
    return 0 if word.islower() else 4


def check_sentences(sentences, name: str = "sentences") -> list[list[str]]:
    """``sentences`` as a list of non-empty lists of str tokens, or a TypeError/ValueError naming the culprit."""
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError(f"{name} must be a list of sentences, each a list of str tokens; got "
                        f"{type(sentences).__name__}")
    out = []
    for k, sentence in enumerate(sentences):
        if isinstance(sentence, str) or not isinstance(sentence, Sequence):
            raise TypeError(f"{name}[{k}] must be a list of str tokens (see lstmlib.text.tokenize); got "
                            f"{type(sentence).__name__}")
        if not sentence:
            raise ValueError(f"{name}[{k}] must hold at least one token; got an empty sentence")
        for j, token in enumerate(sentence):
            if not isinstance(token, str) or not token:
                raise TypeError(f"{name}[{k}][{j}] must be a non-empty str; got {token!r}")
        out.append(list(sentence))
    return out


class TokenEncoder:
    """Sentences -> the padded tensors a :class:`NERTagger` reads, and tag strings <-> ids.

    ``words`` is a :class:`WordVocab` (unknown words -> ``<unk>``), ``chars`` a
    :class:`CharVocab` whose :data:`UNKNOWN_CHAR` stands for any character it
    lacks, ``tags`` the BIO tags in id order. Any token is accepted.
    """

    def __init__(self, words: WordVocab, chars: CharVocab, tags: Sequence[str]):
        self.words, self.chars, self.tags = words, chars, tuple(tags)
        self.tag_ids = {tag: i for i, tag in enumerate(self.tags)}

    @classmethod
    def from_sentences(cls, sentences, tags: Sequence[str], min_count: int = 2,
                       max_size: int | None = None) -> TokenEncoder:
        """Vocabularies from training sentences: the (at most ``max_size``) commonest words seen ``min_count``
        times, and every character seen."""
        sentences = check_sentences(sentences)
        chars = CharVocab({c for sentence in sentences for token in sentence for c in token} | {UNKNOWN_CHAR},
                          unknown=UNKNOWN_CHAR)
        return cls(WordVocab.from_tokens(sentences, min_count=min_count, max_size=max_size), chars, tags)

    def encode(self, sentences) -> dict[str, torch.Tensor]:
        """``{"words", "shapes": (T, B) int64, "lengths": (B,), "chars": (L, N) int64, "char_lengths": (N,)}``.

        ``chars`` holds the characters of the N real tokens of the batch
        (sentence by sentence), padded to the longest word ``L``.
        """
        sentences = check_sentences(sentences)
        words, lengths = pad_batch([self.words.encode(s) for s in sentences])
        shapes, _ = pad_batch([np.array([word_shape(w) for w in s], dtype=np.int64) for s in sentences])
        tokens = [token for s in sentences for token in s]
        chars, char_lengths = pad_batch([self.chars.encode(token, name="token") for token in tokens])
        return {"words": words, "shapes": shapes, "lengths": lengths, "chars": chars, "char_lengths": char_lengths}

    def encode_tags(self, tag_sequences) -> torch.Tensor:
        """BIO tag strings -> padded int64 ids ``(T, B)`` (padding 0, the ``O`` tag, masked out anyway)."""
        return pad_batch([np.array([self.tag_ids[t] for t in tags], dtype=np.int64) for tags in tag_sequences])[0]

    def decode_tags(self, ids: list[list[int]]) -> list[list[str]]:
        return [[self.tags[i] for i in row] for row in ids]


@dataclass
class NERTaggerConfig:
    """The sizes and switches of a :class:`NERTagger`.

    ``char_hidden = 0`` leaves out the character BiLSTM; ``bidirectional``
    picks a BiLSTM over an LSTM; ``crf`` puts a CRF on the emissions.
    """

    vocab_size: int
    num_chars: int
    num_tags: int
    word_size: int = 48
    shape_size: int = 4
    char_size: int = 16
    char_hidden: int = 16
    hidden_size: int = 48
    bidirectional: bool = True
    crf: bool = True
    word_dropout: float = 0.1


class NERTagger(nn.Module):
    """Word (+ character) features -> (Bi)LSTM -> per-tag scores -> softmax per step or a CRF.

    ``forward(batch)`` returns the emissions ``(T, B, K)``; :meth:`loss` the
    mean negative log-likelihood of a batch's tags (per sentence for the CRF,
    per token for the softmax); :meth:`predict` the tag ids of every sentence.
    ``batch`` is :meth:`TokenEncoder.encode`'s dict.
    """

    def __init__(self, config: NERTaggerConfig):
        super().__init__()
        self.config = config
        self.embed_words = nn.Embedding(config.vocab_size, config.word_size, padding_idx=0)
        self.embed_shapes = nn.Embedding(len(SHAPES), config.shape_size)
        features = config.word_size + config.shape_size
        if config.char_hidden:
            self.embed_chars = nn.Embedding(config.num_chars, config.char_size)
            self.char_lstm = lstmlib.nn.LSTM(config.char_size, config.char_hidden, bidirectional=True)
            features += 2 * config.char_hidden
        self.lstm = lstmlib.nn.LSTM(features, config.hidden_size, bidirectional=config.bidirectional)
        self.emit = nn.Linear(config.hidden_size * (2 if config.bidirectional else 1), config.num_tags)
        self.crf = lstmlib.nn.CRF(config.num_tags) if config.crf else None

    def _char_features(self, batch) -> torch.Tensor:
        """Each real token's last forward and first backward state of the character BiLSTM, ``(T, B, 2 Hc)``."""
        packed = pack_padded_sequence(self.embed_chars(batch["chars"]), batch["char_lengths"], enforce_sorted=False)
        _, (h_n, _) = self.char_lstm(packed)  # (2, N, Hc): the two directions' final states
        per_token = torch.cat([h_n[0], h_n[1]], dim=1)  # (N, 2 Hc), tokens in sentence order
        mask = lengths_to_mask(batch["lengths"], batch["words"].shape[0])  # (T, B)
        out = per_token.new_zeros(*mask.shape, per_token.shape[1])
        out.transpose(0, 1)[mask.t()] = per_token  # sentence by sentence, as TokenEncoder flattened them
        return out

    def forward(self, batch) -> torch.Tensor:
        words = batch["words"]
        if self.training and self.config.word_dropout:
            # a few known words become <unk> while training, so that the model learns to tag from context
            drop = (torch.rand(words.shape) < self.config.word_dropout) & (words > WordVocab.eos_id)
            words = words.masked_fill(drop, WordVocab.unk_id)
        x = [self.embed_words(words), self.embed_shapes(batch["shapes"])]
        if self.config.char_hidden:
            x.append(self._char_features(batch))
        packed = pack_padded_sequence(torch.cat(x, dim=-1), batch["lengths"], enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(h)  # (T, B, H or 2H)
        return self.emit(h)

    def loss(self, batch, tags: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of ``tags (T, B)``: per sentence (CRF) or per token (softmax)."""
        emissions = self(batch)
        mask = lengths_to_mask(batch["lengths"], emissions.shape[0])
        if self.crf is not None:
            return -self.crf(emissions, tags, mask, reduction="mean")
        return nn.functional.cross_entropy(emissions[mask], tags[mask])

    @torch.no_grad()
    def predict(self, batch) -> list[list[int]]:
        """Tag ids of every sentence: Viterbi with a CRF, else the best tag of each step on its own."""
        emissions = self(batch)
        lengths = batch["lengths"].tolist()
        if self.crf is not None:
            return self.crf.decode(emissions, lengths_to_mask(batch["lengths"], emissions.shape[0]))
        best = emissions.argmax(-1).t().tolist()
        return [row[:n] for row, n in zip(best, lengths)]


class FeatureCRF(nn.Module):
    """A CRF whose emissions are a linear function of hashed hand-made features: no LSTM.

    Features of token t: the word, its lower-cased form, its last three letters,
    its shape, the lower-cased words at t-1 and t+1, the shape of t-1 and t+1.
    Each ``name=value`` string is hashed (crc32) into one of ``buckets`` rows
    of a ``(buckets, K)`` weight table; a token's emissions are the sum of its rows.
    """

    def __init__(self, num_tags: int, buckets: int = 2**14):
        super().__init__()
        self.buckets = buckets
        self.weights = nn.EmbeddingBag(buckets, num_tags, mode="sum")
        nn.init.zeros_(self.weights.weight)
        self.crf = lstmlib.nn.CRF(num_tags)

    @staticmethod
    def features(sentence: list[str], t: int) -> list[str]:
        word = sentence[t]
        before = sentence[t - 1] if t > 0 else "<s>"
        after = sentence[t + 1] if t + 1 < len(sentence) else "</s>"
        return [f"w={word}", f"lw={word.lower()}", f"suf={word[-3:].lower()}", f"shape={word_shape(word)}",
                f"prev={before.lower()}", f"next={after.lower()}", f"pshape={word_shape(before)}",
                f"nshape={word_shape(after)}", "bias"]

    def emissions(self, sentences) -> tuple[torch.Tensor, torch.Tensor]:
        """``(emissions (T, B, K), mask (T, B))`` of a list of sentences."""
        sentences = check_sentences(sentences)
        lengths = torch.tensor([len(s) for s in sentences])
        rows = [zlib.crc32(f.encode("utf-8")) % self.buckets
                for s in sentences for t in range(len(s)) for f in self.features(s, t)]
        per_token = self.weights(torch.tensor(rows).view(-1, 9))  # (N, K), 9 features per token
        mask = lengths_to_mask(lengths)
        out = per_token.new_zeros(*mask.shape, per_token.shape[1])
        out.transpose(0, 1)[mask.t()] = per_token
        return out, mask

    def loss(self, sentences, tags: torch.Tensor) -> torch.Tensor:
        emissions, mask = self.emissions(sentences)
        return -self.crf(emissions, tags, mask, reduction="mean")

    @torch.no_grad()
    def predict(self, sentences) -> list[list[int]]:
        emissions, mask = self.emissions(sentences)
        return self.crf.decode(emissions, mask)


class MostFrequentTag:
    """Each word seen in training gets the tag it had most often there; any other word gets ``O``."""

    def fit(self, sentences, tag_sequences) -> MostFrequentTag:
        counts: dict[str, Counter] = defaultdict(Counter)
        for sentence, tags in zip(check_sentences(sentences), tag_sequences):
            for word, tag in zip(sentence, tags):
                counts[word][tag] += 1
        self.best = {word: c.most_common(1)[0][0] for word, c in counts.items()}
        return self

    def tag(self, sentences) -> list[list[str]]:
        return [[self.best.get(word, "O") for word in s] for s in check_sentences(sentences)]


class Gazetteer:
    """A list of the entities seen in training; tagging marks every match, longest first, left to right."""

    def fit(self, sentences, tag_sequences) -> Gazetteer:
        from lstmlib.metrics import bio_spans

        votes: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for sentence, tags in zip(check_sentences(sentences), tag_sequences):
            for kind, start, end in bio_spans(tags):
                votes[tuple(sentence[start:end])][kind] += 1
        self.entries = {words: c.most_common(1)[0][0] for words, c in votes.items()}
        self.longest = max(map(len, self.entries), default=0)
        return self

    def tag(self, sentences) -> list[list[str]]:
        out = []
        for s in check_sentences(sentences):
            tags, t = ["O"] * len(s), 0
            while t < len(s):
                for n in range(min(self.longest, len(s) - t), 0, -1):
                    kind = self.entries.get(tuple(s[t:t + n]))
                    if kind is not None:
                        tags[t:t + n] = [f"B-{kind}"] + [f"I-{kind}"] * (n - 1)
                        t += n - 1
                        break
                t += 1
            out.append(tags)
        return out


class EntityTagger:
    """A trained :class:`NERTagger` with its :class:`TokenEncoder`: ``tag(sentences)`` -> BIO tags.

    Tags are ``O`` and ``B-``/``I-`` of ``PER`` (persons), ``LOC`` (places:
    countries, regions, cities) and ``ORG`` (companies, agencies, clubs,
    universities). Any token and any character is accepted: unknown words
    read as ``<unk>`` (plus their characters), unknown characters as one
    reserved character.
    """

    def __init__(self, model: NERTagger, encoder: TokenEncoder, record: dict | None = None):
        self.model, self.encoder, self.record = model.eval(), encoder, dict(record or {})

    @classmethod
    def from_parts(cls, entry: dict, words, chars, tags, record=None) -> EntityTagger:
        """Rebuild from a saved ``{"config", "state_dict"}`` entry and the vocabularies' tokens."""
        encoder = TokenEncoder(WordVocab(words), CharVocab(chars, unknown=UNKNOWN_CHAR), tags)
        model = NERTagger(NERTaggerConfig(**entry["config"]))
        model.load_state_dict({name: weight.float() for name, weight in entry["state_dict"].items()})
        return cls(model, encoder, record)

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> EntityTagger:
        """The shipped variant of a checkpoint saved by ``scripts/train_ner.py``."""
        name = checkpoint["shipped"]
        record = {key: checkpoint[key] for key in ("shipped", "training", "data")}
        return cls.from_parts(checkpoint["variants"][name], checkpoint["words"], checkpoint["chars"],
                              checkpoint["tags"], record)

    def __repr__(self) -> str:
        return f"EntityTagger({asdict(self.model.config)})"

    def tag(self, sentences: list[list[str]], *, batch_size: int = 256) -> list[list[str]]:
        """BIO tags for each token of each sentence (a list of lists of str, as long as the input)."""
        sentences = check_sentences(sentences)
        out: list[list[str]] = []
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start:start + batch_size]
            out += self.encoder.decode_tags(self.model.predict(self.encoder.encode(chunk)))
        return out


def load_variant(checkpoint: dict, name: str):
    """Variant ``name`` of a checkpoint saved by ``scripts/train_ner.py``, as a ready tagger with a ``tag`` method.

    ``"feature-crf"`` gives a :class:`FeatureCRF` wrapped to return tag
    strings; every other name an :class:`EntityTagger`.
    """
    variants = checkpoint["variants"]
    if name not in variants:
        raise ValueError(f"name must be one of {', '.join(map(repr, variants))}; got {name!r}")
    entry, tags = variants[name], checkpoint["tags"]
    if name != "feature-crf":
        return EntityTagger.from_parts(entry, checkpoint["words"], checkpoint["chars"], tags)
    model = FeatureCRF(len(tags), buckets=entry["buckets"])
    model.load_state_dict({key: weight.float() for key, weight in entry["state_dict"].items()})
    model.eval()
    model.tag = lambda sentences: [[tags[i] for i in row] for row in model.predict(sentences)]
    return model
