"""Two small translation tasks, made offline: English numbers to French, German dates to English.

* **Numbers** (:func:`number_split`, :func:`number_pairs`): ``num2words(n)``
  -> ``num2words(n, lang="fr")``, e.g. "seventy-one thousand and eighty-one"
  -> "soixante et onze mille quatre-vingt-un". The integers below 100,000 are
  shuffled once (a fixed seed) and cut into disjoint test, validation and
  training sets, so no test number was ever seen in training; the integers
  100,000 - 999,999 are an *extrapolation* set, longer than anything in
  training ("three hundred and seventy-one thousand, ...").
* **Dates** (:func:`date_split`, :func:`date_pairs`): a day written out in
  full in German -> the same day in English, with ``babel``:
  "Dienstag, 7. Dezember 2021" -> "Tuesday, December 7, 2021". The day of
  the month and the month swap places, so the alignment is not a diagonal.
  Days from 1950 to 2049, split into disjoint sets the same way.

Both sides are tokenised with :func:`lstmlib.text.tokenize` with hyphens as
tokens of their own (:data:`TOKENIZE`), so "quatre-vingt-dix" is four tokens
that other numbers share; :func:`lstmlib.text.detokenize` writes tokens back
as text. :func:`translation_batches` draws padded training batches.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from lstmlib._checks import check_choice, check_positive_int, check_rng
from lstmlib.text import WordVocab, pad_batch, tokenize

__all__ = [
    "DATE_RANGE",
    "TOKENIZE",
    "date_pairs",
    "date_split",
    "english_number",
    "french_number",
    "number_pairs",
    "number_split",
    "translation_batches",
    "tokenize_pairs",
]

#: How both tasks tokenise each side: hyphens are tokens of their own, case is kept.
TOKENIZE = {"lower": False, "split_hyphens": True}

#: Sizes of the held-out sets of each task (the rest of the range is for training).
_HELD_OUT = {"test": 2000, "validation": 1000}
#: First and last day of the dates task.
DATE_RANGE = (datetime.date(1950, 1, 1), datetime.date(2049, 12, 31))
_SPLIT_SEED = 20141  # fixed: the split is part of the data set, not of an experiment


def english_number(n: int) -> str:
    """``n`` in English words, as ``num2words(n)`` writes it: 71081 -> "seventy-one thousand and eighty-one"."""
    from num2words import num2words

    return num2words(_check_number(n))


def french_number(n: int) -> str:
    """``n`` in French words, as ``num2words(n, lang="fr")`` writes it: 99 -> "quatre-vingt-dix-neuf"."""
    from num2words import num2words

    return num2words(_check_number(n), lang="fr")


def _check_number(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= 999_999:
        raise ValueError(f"n must be an int in [0, 999999]; got {n!r}")
    return int(n)


def _held_out_split(size: int, split: str) -> np.ndarray:
    """Positions ``0 .. size - 1`` of one split: a fixed shuffle cut into test | validation | train."""
    order = np.random.default_rng(_SPLIT_SEED).permutation(size)
    test, validation = _HELD_OUT["test"], _HELD_OUT["validation"]
    bounds = {"test": (0, test), "validation": (test, test + validation), "train": (test + validation, size)}
    start, stop = bounds[split]
    return np.sort(order[start:stop])


def number_split(split: str, count: int | None = None, *, rng=0) -> np.ndarray:
    """Integers of one split of the numbers task, int64 ``(count,)``.

    Args:
        split: ``"train"`` (97,000 integers below 100,000), ``"validation"``
            (1,000), ``"test"`` (2,000): disjoint, together every integer below
            100,000; or ``"extrapolation"``: integers 100,000 - 999,999.
        count: how many, drawn without replacement from the split (all of a
            held-out split by default; 2,000 for extrapolation); None keeps
            the split's own order (sorted).
        rng: seed or ``numpy.random.Generator`` for the draw.
    """
    check_choice("split", split, ["train", "validation", "test", "extrapolation"])
    if split == "extrapolation":
        gen = check_rng("rng", rng)
        count = 2000 if count is None else check_positive_int("count", count)
        return np.sort(gen.choice(np.arange(100_000, 1_000_000), size=count, replace=False)).astype(np.int64)
    numbers = _held_out_split(100_000, split).astype(np.int64)
    if count is None:
        return numbers
    count = check_positive_int("count", count)
    if count > numbers.size:
        raise ValueError(f"count must be at most the split's {numbers.size} integers; got {count}")
    return np.sort(check_rng("rng", rng).choice(numbers, size=count, replace=False))


def number_pairs(numbers: Sequence[int]) -> tuple[list[str], list[str]]:
    """``(english, french)``: each integer written out in both languages (two lists of str)."""
    numbers = [int(n) for n in numbers]
    return [english_number(n) for n in numbers], [french_number(n) for n in numbers]


def date_split(split: str, count: int | None = None, *, rng=0) -> list[datetime.date]:
    """Days of one split of the dates task (:data:`DATE_RANGE`), as ``datetime.date``.

    ``split`` is ``"train"``, ``"validation"`` (1,000 days) or ``"test"``
    (2,000 days), disjoint; ``count`` draws that many (sorted) with ``rng``.
    """
    check_choice("split", split, ["train", "validation", "test"])
    first, last = DATE_RANGE
    days = _held_out_split((last - first).days + 1, split)
    if count is not None:
        count = check_positive_int("count", count)
        if count > days.size:
            raise ValueError(f"count must be at most the split's {days.size} days; got {count}")
        days = np.sort(check_rng("rng", rng).choice(days, size=count, replace=False))
    return [first + datetime.timedelta(days=int(d)) for d in days]


def date_pairs(days: Sequence[datetime.date]) -> tuple[list[str], list[str]]:
    """``(german, english)``: each day in babel's full format, "Dienstag, 7. Dezember 2021" and
    "Tuesday, December 7, 2021"."""
    from babel.dates import format_date

    for k, day in enumerate(days):
        if not isinstance(day, datetime.date):
            raise TypeError(f"days[{k}] must be a datetime.date; got {type(day).__name__}")
    return ([format_date(day, format="full", locale="de") for day in days],
            [format_date(day, format="full", locale="en") for day in days])


def tokenize_pairs(sources: Sequence[str], targets: Sequence[str]) -> tuple[list[list[str]], list[list[str]]]:
    """Both sides tokenised the way the tasks are (:data:`TOKENIZE`)."""
    return [tokenize(s, **TOKENIZE) for s in sources], [tokenize(t, **TOKENIZE) for t in targets]


def translation_batches(source_tokens: Sequence[Sequence[str]], target_tokens: Sequence[Sequence[str]],
                        source_vocab: WordVocab, target_vocab: WordVocab, batch_size: int,
                        *, rng=0) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Endless random training batches ``(source (S, B), source_lengths (B,), target_in (T, B), target_out (T, B))``.

    ``target_in`` is ``<bos> y_1 .. y_n`` and ``target_out`` is ``y_1 .. y_n
    <eos>`` (teacher forcing: the decoder reads the true previous word);
    both padded with ``<pad>`` (id 0). Each epoch visits every pair once in
    a fresh random order.
    """
    if len(source_tokens) != len(target_tokens) or not source_tokens:
        raise ValueError(f"source_tokens and target_tokens must be non-empty and of equal length; "
                         f"got {len(source_tokens)} and {len(target_tokens)}")
    batch_size = check_positive_int("batch_size", batch_size)
    gen = check_rng("rng", rng)
    sources = [source_vocab.encode(s) for s in source_tokens]
    targets = [target_vocab.encode(t, add_bos=True, add_eos=True) for t in target_tokens]
    while True:
        order = gen.permutation(len(sources))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            chosen = order[start:start + batch_size]
            source, lengths = pad_batch([sources[i] for i in chosen])
            target, _ = pad_batch([targets[i] for i in chosen])
            yield source, lengths, target[:-1], target[1:]
