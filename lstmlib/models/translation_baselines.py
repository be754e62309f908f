"""Two translation baselines without a neural network, for the same splits as :mod:`lstmlib.models.seq2seq`.

* :class:`WordTable` -- a word-for-word table learned from co-occurrence by
  expectation-maximisation, as in IBM model 1 (Brown et al., 1993): ``t(f | e)``,
  the probability that source word ``e`` is translated as target word ``f``,
  with a ``NULL`` source word for target words that match none. It
  translates by writing each source word's likeliest target word, in the
  source order: no reordering, no context.
* :class:`NearestNeighbourTranslator` -- retrieval: the target of the
  training source most similar to the input (cosine similarity of TF-IDF
  weighted word unigrams and bigrams). It can only ever output a sentence it
  has seen.

Both take tokenised sentences (lists of str) and return token lists;
:func:`lstmlib.text.detokenize` writes them as text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstmlib._checks import check_positive_int
from lstmlib.text import WordVocab, pad_batch

__all__ = ["NearestNeighbourTranslator", "WordTable"]


def _check_pairs(source_tokens, target_tokens) -> None:
    for name, sentences in (("source_tokens", source_tokens), ("target_tokens", target_tokens)):
        if isinstance(sentences, str) or not isinstance(sentences, Sequence) or not sentences:
            raise TypeError(f"{name} must be a non-empty list of token lists; got {type(sentences).__name__}")
    if len(source_tokens) != len(target_tokens):
        raise ValueError(f"source_tokens and target_tokens must hold as many sentences; "
                         f"got {len(source_tokens)} and {len(target_tokens)}")


class WordTable:
    """IBM-model-1 translation table ``t(f | e)`` and word-for-word translation.

    ``fit(source_tokens, target_tokens, iterations=10)`` runs EM from a
    uniform table: the E-step shares each target word among the source words
    of its sentence (and ``NULL``) in proportion to ``t(f | e)``, the M-step
    renormalises the shared counts. ``table`` is ``(Ve, Vf)``, row ``e`` a
    distribution over target ids (row 0, ``<pad>``, is the ``NULL`` word).
    ``log_likelihoods`` holds, for every iteration, the mean log-likelihood per
    target word of the training pairs under the table that iteration started
    from (EM never lowers it, so its changes show convergence).
    """

    def __init__(self):
        self.source_vocab: WordVocab | None = None
        self.target_vocab: WordVocab | None = None
        self.table: np.ndarray | None = None
        self.log_likelihoods: list[float] = []

    def fit(self, source_tokens: Sequence[Sequence[str]], target_tokens: Sequence[Sequence[str]],
            iterations: int = 10) -> WordTable:
        """Learn ``t(f | e)`` from the sentence pairs; returns ``self``."""
        _check_pairs(source_tokens, target_tokens)
        iterations = check_positive_int("iterations", iterations)
        self.source_vocab = WordVocab.from_tokens(source_tokens)
        self.target_vocab = WordVocab.from_tokens(target_tokens)
        # id 0 (<pad>) doubles as NULL: every source sentence gets it in front, padding is masked out
        source, source_lengths = pad_batch([np.concatenate([[0], self.source_vocab.encode(s)]) for s in source_tokens],
                                           batch_first=True)
        target, target_lengths = pad_batch([self.target_vocab.encode(t) for t in target_tokens], batch_first=True)
        source, target = source.numpy(), target.numpy()  # (N, 1 + Ls), (N, Lt)
        source_mask = np.arange(source.shape[1]) < source_lengths.numpy()[:, None]
        target_mask = np.arange(target.shape[1]) < target_lengths.numpy()[:, None]
        pair_mask = source_mask[:, :, None] & target_mask[:, None, :]  # (N, 1 + Ls, Lt)
        Ve, Vf = len(self.source_vocab), len(self.target_vocab)
        table = np.full((Ve, Vf), 1.0 / Vf)
        e_ids = np.broadcast_to(source[:, :, None], pair_mask.shape)[pair_mask]
        f_ids = np.broadcast_to(target[:, None, :], pair_mask.shape)[pair_mask]
        n_source = source_lengths.numpy()[:, None]  # (N, 1): 1 + Ls, the words (NULL included) t(f | e) averages over
        self.log_likelihoods = []
        for _ in range(iterations):
            share = np.where(pair_mask, table[source[:, :, None], target[:, None, :]], 0.0)  # (N, 1 + Ls, Lt)
            # p(f | sentence) = mean over the source words of t(f | e); the log-likelihood sums its log over targets
            word_likelihood = share.sum(axis=1) / n_source  # (N, Lt)
            self.log_likelihoods.append(float(np.log(np.maximum(word_likelihood[target_mask], 1e-300)).mean()))
            share /= np.maximum(share.sum(axis=1, keepdims=True), 1e-300)  # E-step: over the source words
            counts = np.zeros((Ve, Vf))
            np.add.at(counts, (e_ids, f_ids), share[pair_mask])
            table = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-300)  # M-step
        self.table = table
        return self

    def translate_tokens(self, tokens: Sequence[str]) -> list[str]:
        """Each known source word replaced by its likeliest target word (unknown words are dropped)."""
        if self.table is None:
            raise ValueError("WordTable must be fitted first: call fit(source_tokens, target_tokens)")
        out = []
        for token in tokens:
            if token in self.source_vocab:
                best = int(np.argmax(self.table[self.source_vocab.encode([token])[0]]))
                out.append(self.target_vocab.tokens[best])
        return out


class NearestNeighbourTranslator:
    """Retrieval: the target sentence of the most similar training source (TF-IDF of word 1- and 2-grams)."""

    def fit(self, source_tokens: Sequence[Sequence[str]],
            target_tokens: Sequence[Sequence[str]]) -> NearestNeighbourTranslator:
        """Index the training sources; returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        _check_pairs(source_tokens, target_tokens)
        # tokens are already split: the analyzer gets the token list itself
        self.vectorizer = TfidfVectorizer(analyzer=lambda tokens: list(tokens) + [
            f"{a} {b}" for a, b in zip(tokens, tokens[1:])])
        self.index = self.vectorizer.fit_transform(source_tokens)  # (N, features), rows of norm 1
        self.targets = [list(t) for t in target_tokens]
        return self

    def nearest(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """The position of the most similar training source for each sentence, int64 ``(len(sentences),)``."""
        if not hasattr(self, "index"):
            raise ValueError("NearestNeighbourTranslator must be fitted first: call fit(source_tokens, target_tokens)")
        similarity = self.vectorizer.transform(sentences) @ self.index.T  # (n, N) cosine
        return np.asarray(similarity.argmax(axis=1)).ravel().astype(np.int64)

    def translate_tokens(self, tokens: Sequence[str]) -> list[str]:
        """The target tokens of the nearest training source."""
        return list(self.targets[int(self.nearest([tokens])[0])])
