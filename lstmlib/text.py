"""Text as token ids: characters, words, and padded batches of them.

The one place where text becomes integer ids and back, so that a dataset
(:mod:`lstmlib.data.shakespeare`, the Part III data modules) and a shipped
model (:mod:`lstmlib.pretrained`) encode the same way. It reads no data: a
model loaded from a checkpoint rebuilds its vocabulary from the tokens stored
in the checkpoint.

* :class:`CharVocab` -- a fixed character set (the character language model).
* :func:`tokenize` -- a sentence to a list of word and punctuation tokens.
* :func:`detokenize` -- tokens back to a sentence (no space before punctuation, none
  around a hyphen token), so that ``detokenize(tokenize(s, split_hyphens=True)) == s``
  for text written the usual way.
* :class:`WordVocab` -- words to ids, with the four special tokens every
  sequence model needs: ``<pad>`` (0, fills a batch's short rows), ``<unk>``
  (1, any word not in the vocabulary), ``<bos>`` (2, starts a decoder's input)
  and ``<eos>`` (3, ends an output).
* :func:`pad_batch` -- sequences of different lengths as one padded ``(T, B)``
  tensor with their lengths (the mask is ``lstmlib.masking.lengths_to_mask``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from lstmlib._checks import check_bool, check_choice, check_positive_int, check_token_ids

__all__ = ["CharVocab", "SPECIAL_TOKENS", "WordVocab", "detokenize", "pad_batch", "tokenize"]


class CharVocab:
    """A fixed character set with ``encode`` (str -> int64 ids) and ``decode`` (ids -> str).

    Ids are the positions of the characters in the sorted set, so the same
    text always gives the same vocabulary. Build it from all the text you will
    ever encode (:meth:`from_text`), or from a known alphabet: encoding a
    character outside the set raises ``ValueError`` rather than guessing --
    unless ``unknown`` names one character of the set that stands for every
    character outside it (a tagger that must read any name: ``unknown="\\x00"``).
    """

    def __init__(self, chars: Iterable[str], *, unknown: str | None = None):
        if isinstance(chars, str):
            chars = list(chars)
        chars = list(chars)
        bad = [c for c in chars if not (isinstance(c, str) and len(c) == 1)]
        if bad:
            raise TypeError(f"chars must be single characters (str of length 1); got {bad[0]!r}")
        if not chars:
            raise ValueError("chars must hold at least one character; got none")
        self.chars: list[str] = sorted(set(chars))
        # id of every code point up to the largest in the vocabulary, -1 for the ones outside it
        codepoints = np.array([ord(c) for c in self.chars])
        self._id_of_codepoint = np.full(codepoints.max() + 2, -1, dtype=np.int64)
        self._id_of_codepoint[codepoints] = np.arange(len(self.chars))
        self._lookup = np.array(self.chars)
        if unknown is not None and unknown not in self.chars:
            raise ValueError(f"unknown must be one of the vocabulary's characters (or None); got {unknown!r}")
        self.unknown = unknown

    @classmethod
    def from_text(cls, *texts: str) -> CharVocab:
        """The vocabulary of every character that occurs in ``texts``."""
        for k, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{k}] must be a str; got {type(text).__name__}")
        return cls(set().union(*map(set, texts)))

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters: {''.join(self.chars)!r})"

    def encode(self, text: str, *, name: str = "text") -> np.ndarray:
        """``text`` as an int64 array of ids, shape ``(len(text),)``; errors call it ``name``."""
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a str; got {type(text).__name__}")
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # one code point per character
        ids = self._id_of_codepoint[np.minimum(codes, self._id_of_codepoint.size - 1)]
        unknown = ids < 0
        if unknown.any() and self.unknown is not None:
            return np.where(unknown, self.chars.index(self.unknown), ids)
        if unknown.any():
            at = int(np.argmax(unknown))
            raise ValueError(
                f"{name} must use only the vocabulary's {len(self)} characters; got {text[at]!r} "
                f"at position {at} (build the vocabulary from all your texts)"
            )
        return ids

    def decode(self, ids) -> str:
        """Ids (any int array-like of shape ``(N,)``, or a torch tensor) back to a str."""
        if not hasattr(ids, "detach"):
            ids = np.asarray(ids)
            if ids.ndim == 1 and ids.size == 0:
                return ""  # np.asarray([]) is float64: an empty list is still no text
        ids = check_token_ids("ids", ids, vocab_size=len(self))
        return "".join(self._lookup[ids].tolist())


# A word: letters or digits, with inner apostrophes ("don't", "l'an") and inner hyphens ("well-made",
# "quatre-vingt") unless hyphens are split off; anything else that is not a space is a token of its own.
_WORD = r"\w+(?:'\w+)*"
_TOKEN_WITH_HYPHENS = re.compile(rf"{_WORD}(?:-{_WORD})*|[^\w\s]")
_TOKEN = re.compile(rf"{_WORD}|[^\w\s]")


def tokenize(text: str, *, lower: bool = False, split_hyphens: bool = False) -> list[str]:
    """``text`` as a list of tokens: words (with inner apostrophes and hyphens) and single punctuation marks.

    >>> tokenize("It's a well-made film, isn't it?")
    ["It's", 'a', 'well-made', 'film', ',', "isn't", 'it', '?']
    >>> tokenize("quatre-vingt-dix", split_hyphens=True)
    ['quatre', '-', 'vingt', '-', 'dix']

    ``lower`` lower-cases first; ``split_hyphens`` makes every hyphen a token
    of its own, so the parts of a compound are words the vocabulary shares.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    check_bool("lower", lower)
    check_bool("split_hyphens", split_hyphens)
    if lower:
        text = text.lower()
    return (_TOKEN if split_hyphens else _TOKEN_WITH_HYPHENS).findall(text)


_NO_SPACE_BEFORE = frozenset(",.;:!?)")


def detokenize(tokens: Sequence[str]) -> str:
    """``tokens`` joined into a sentence: a space between words, none before ``, . ; : ! ? )`` and none
    on either side of a ``-`` token.

    >>> detokenize(["quatre", "-", "vingt", "-", "dix", "mille"])
    'quatre-vingt-dix mille'
    >>> detokenize(["Tuesday", ",", "December", "7", ",", "2021"])
    'Tuesday, December 7, 2021'

    The inverse of :func:`tokenize` for text with single spaces, no space
    before punctuation and none around a hyphen (e.g. what ``num2words`` and
    ``babel`` write).
    """
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError(f"tokens must be a list of str tokens; got {type(tokens).__name__}")
    pieces: list[str] = []
    for k, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(f"tokens[{k}] must be a str; got {type(token).__name__}")
        glued = k == 0 or token in _NO_SPACE_BEFORE or token == "-" or tokens[k - 1] == "-"
        pieces.append(token if glued else " " + token)
    return "".join(pieces)


#: The special tokens every :class:`WordVocab` starts with, in id order.
SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")


class WordVocab:
    """Words to int64 ids and back, the four :data:`SPECIAL_TOKENS` first (ids 0-3).

    ``WordVocab(words)`` keeps ``words`` in the order given (duplicates and
    special tokens dropped) after the specials; :meth:`from_tokens` builds one
    from a corpus, most frequent first. ``encode`` maps a word outside the
    vocabulary to ``<unk>`` (or raises, with ``unknown="error"``).

    Attributes: ``tokens`` (id -> token), ``pad_id`` 0, ``unk_id`` 1, ``bos_id`` 2, ``eos_id`` 3.
    """

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, words: Iterable[str]):
        if isinstance(words, str):
            raise TypeError("words must be an iterable of words (str), not one str")
        tokens = list(SPECIAL_TOKENS)
        seen = set(tokens)
        for k, word in enumerate(words):
            if not isinstance(word, str) or not word:
                raise TypeError(f"words must hold non-empty str; got {word!r} at position {k}")
            if word not in seen:
                seen.add(word)
                tokens.append(word)
        self.tokens: list[str] = tokens
        self._ids = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def from_tokens(cls, sentences: Iterable[Sequence[str]], *, min_count: int = 1,
                    max_size: int | None = None) -> WordVocab:
        """The vocabulary of the tokenised ``sentences``: words seen at least ``min_count`` times.

        Ordered by count, most frequent first (ties alphabetically), so the
        same corpus always gives the same ids; ``max_size`` (if given) caps the
        number of ids, specials included.
        """
        min_count = check_positive_int("min_count", min_count)
        if max_size is not None:
            max_size = check_positive_int("max_size", max_size)
            if max_size <= len(SPECIAL_TOKENS):
                raise ValueError(f"max_size must leave room for words after the {len(SPECIAL_TOKENS)} special "
                                 f"tokens (> {len(SPECIAL_TOKENS)}); got {max_size}")
        counts: Counter[str] = Counter()
        for k, sentence in enumerate(sentences):
            if isinstance(sentence, str):
                raise TypeError(f"sentences[{k}] must be a list of tokens; got a str (tokenize it first)")
            counts.update(sentence)
        ranked = sorted((word for word, n in counts.items() if n >= min_count and word not in SPECIAL_TOKENS),
                        key=lambda word: (-counts[word], word))
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIAL_TOKENS)]
        return cls(ranked)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token) -> bool:
        return token in self._ids

    def __repr__(self) -> str:
        preview = " ".join(self.tokens[len(SPECIAL_TOKENS):len(SPECIAL_TOKENS) + 8])
        return f"WordVocab({len(self)} tokens: {preview} ...)"

    def encode(self, tokens: Sequence[str], *, add_bos: bool = False, add_eos: bool = False,
               unknown: str = "unk", name: str = "tokens") -> np.ndarray:
        """The ids of ``tokens`` as int64 ``(N,)`` (plus ``<bos>`` first / ``<eos>`` last if asked).

        ``unknown="unk"`` maps a word outside the vocabulary to ``<unk>``;
        ``unknown="error"`` raises ``ValueError`` naming it. Errors call the argument ``name``.
        """
        if isinstance(tokens, str) or not isinstance(tokens, Sequence):
            raise TypeError(f"{name} must be a list of str tokens (see lstmlib.text.tokenize); "
                            f"got {type(tokens).__name__}")
        check_choice("unknown", unknown, ["unk", "error"])
        ids = [self.bos_id] if add_bos else []
        for k, token in enumerate(tokens):
            if not isinstance(token, str):
                raise TypeError(f"{name}[{k}] must be a str; got {type(token).__name__}")
            i = self._ids.get(token)
            if i is None:
                if unknown == "error":
                    raise ValueError(f"{name}[{k}] = {token!r} is not in the vocabulary of {len(self)} tokens")
                i = self.unk_id
            ids.append(i)
        if add_eos:
            ids.append(self.eos_id)
        return np.array(ids, dtype=np.int64)

    def decode(self, ids, *, strip_special: bool = True) -> list[str]:
        """Ids ``(N,)`` (array, list or tensor) back to tokens.

        With ``strip_special`` (the default) ``<pad>``, ``<bos>`` and ``<eos>``
        are dropped and decoding stops at the first ``<eos>``; ``<unk>`` stays.
        """
        if isinstance(ids, (list, tuple)):
            ids = np.asarray(ids, dtype=np.int64)
        ids = check_token_ids("ids", ids, vocab_size=len(self))
        check_bool("strip_special", strip_special)
        out = []
        for i in ids.tolist():
            if strip_special:
                if i == self.eos_id:
                    break
                if i in (self.pad_id, self.bos_id):
                    continue
            out.append(self.tokens[i])
        return out


def pad_batch(sequences: Sequence, *, pad_id: int = 0, batch_first: bool = False):
    """Token-id sequences of different lengths as one padded tensor and their lengths.

    Args:
        sequences: B 1-D int arrays, lists or tensors, each of length >= 1.
        pad_id: the id written after each sequence's end (``WordVocab.pad_id`` is 0).
        batch_first: return ``(B, T)`` instead of the time-major ``(T, B)``.

    Returns:
        ``(ids, lengths)``: int64 ``(T, B)`` (or ``(B, T)``) with ``T`` the longest
        length, and int64 ``(B,)``. ``lstmlib.masking.lengths_to_mask(lengths)``
        is the matching mask.
    """
    if isinstance(sequences, (str, np.ndarray, torch.Tensor)) or not isinstance(sequences, Sequence):
        raise TypeError(f"sequences must be a list of 1-D token-id arrays; got {type(sequences).__name__}")
    if not sequences:
        raise ValueError("sequences must hold at least one sequence; got none")
    if isinstance(pad_id, bool) or not isinstance(pad_id, (int, np.integer)) or pad_id < 0:
        raise ValueError(f"pad_id must be an int >= 0; got {pad_id!r}")
    check_bool("batch_first", batch_first)
    arrays = []
    for k, seq in enumerate(sequences):
        if isinstance(seq, (list, tuple)):
            seq = np.asarray(seq, dtype=np.int64)
        arrays.append(check_token_ids(f"sequences[{k}]", seq, min_tokens=1))
    lengths = np.array([a.size for a in arrays], dtype=np.int64)
    ids = np.full((len(arrays), int(lengths.max())), pad_id, dtype=np.int64)
    for b, a in enumerate(arrays):
        ids[b, : a.size] = a
    ids = torch.from_numpy(ids)
    return (ids if batch_first else ids.t().contiguous()), torch.from_numpy(lengths)
