"""Text as token ids: the character vocabulary.

The one place where text becomes integer ids and back, so that a dataset
(:mod:`lstmlib.data.shakespeare`) and a shipped model
(:mod:`lstmlib.pretrained`) encode the same way. It reads no data: a model
loaded from a checkpoint rebuilds its vocabulary from the characters stored
in the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from lstmlib._checks import check_token_ids

__all__ = ["CharVocab"]


class CharVocab:
    """A fixed character set with ``encode`` (str -> int64 ids) and ``decode`` (ids -> str).

    Ids are the positions of the characters in the sorted set, so the same
    text always gives the same vocabulary. Build it from all the text you will
    ever encode (:meth:`from_text`), or from a known alphabet: encoding a
    character outside the set raises ``ValueError`` rather than guessing.
    """

    def __init__(self, chars: Iterable[str]):
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
