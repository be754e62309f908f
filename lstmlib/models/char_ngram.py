"""The character n-gram language model with interpolated Kneser--Ney smoothing: the baseline of chapter III.1.

Counts instead of weights: the next character depends on the previous
``order - 1`` only. It reads the same integer ids as
:class:`lstmlib.models.CharLSTM` and is scored the same way (the mean
negative log-probability of every character given the ones before it,
:func:`lstmlib.metrics.bits_per_char` converts).
"""

from __future__ import annotations

import math

import numpy as np

from lstmlib._checks import check_int_at_least, check_positive_int, check_token_ids

__all__ = ["CharNGram"]


def _count_ngrams(ids: np.ndarray, V: int, order: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(keys, counts)`` of the distinct n-grams of ``ids`` for n = 1 .. ``order``, keys sorted.

    An n-gram's key reads its ids as the digits of a base-``V`` number, oldest first.
    """
    grams = ids.copy()  # the 1-grams; grown by one character per length
    counted = []
    for length in range(1, order + 1):
        if length > 1:
            grams = grams[:-1] * V + ids[length - 1:]  # (N - length + 1,)
        counted.append(np.unique(grams, return_counts=True))
    return counted


def _kneser_ney_tables(counted: list[tuple[np.ndarray, np.ndarray]], V: int) -> list[dict]:
    """One table per context length k = 0 .. order-1 (see :class:`CharNGram`) from :func:`_count_ngrams`."""
    tables = []
    order = len(counted)
    for k in range(order):  # context length k: (k + 1)-grams
        if k == order - 1:
            keys, counts = counted[k]  # the longest context uses raw counts
        else:
            # continuation counts: how many different characters precede each (k + 1)-gram
            keys, counts = np.unique(counted[k + 1][0] % V ** (k + 1), return_counts=True)
        contexts, first = np.unique(keys // V, return_index=True)
        n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
        discount = float(n1 / (n1 + 2 * n2)) if n1 > 0 else 0.5
        tables.append({
            "keys": keys,  # sorted keys of (context h, next char w)
            "counts": counts.astype(np.float64),  # A_k(h w)
            "contexts": contexts,  # sorted keys of the contexts h
            "context_total": np.add.reduceat(counts, first).astype(np.float64),  # A_k(h .)
            "context_types": np.diff(np.append(first, keys.size)).astype(np.float64),  # N_k(h .)
            "discount": min(max(discount, 1e-3), 1.0 - 1e-3),  # D_k
        })
    return tables


class CharNGram:
    """Character n-gram model with interpolated Kneser--Ney smoothing.

    The probability of character ``w`` after context ``h`` (the previous
    ``order - 1`` characters) mixes the evidence of every context length
    ``k = order - 1, ..., 1, 0``, longest first::

        p_k(w | h) = max(A_k(h w) - D_k, 0) / A_k(h .)  +  D_k * N_k(h .) / A_k(h .) * p_{k-1}(w | h')

    where ``h'`` drops the oldest character of ``h``, ``A_k(h .)`` sums ``A_k(h w)``
    over ``w``, ``N_k(h .)`` counts the ``w`` with ``A_k(h w) > 0``, and below
    the shortest context sits the uniform distribution ``1 / vocab_size``.
    ``A`` is the raw count of ``h w`` for the longest context and, for
    shorter ones, the number of *different* characters seen before ``h w``
    (Kneser--Ney's continuation count: a lower order is only consulted when
    the longer context was rare, so it should model novel continuations).
    A context never seen in training passes its whole mass down
    (``p_k = p_{k-1}``). The discounts are ``D_k = n_1 / (n_1 + 2 n_2)``,
    with ``n_1, n_2`` the number of ``A_k`` equal to 1 and 2.

    Keys: an n-gram is stored as one int64, its ids read as digits in base
    ``vocab_size``, so ``vocab_size ** order`` must stay below ``2 ** 63``.
    """

    def __init__(self, order: int, vocab_size: int):
        self.order = check_positive_int("order", order)
        self.vocab_size = check_int_at_least("vocab_size", vocab_size, 2)
        if self.vocab_size ** self.order >= 2 ** 63:
            largest = int(63 * math.log(2) / math.log(self.vocab_size))
            raise ValueError(
                f"order must keep vocab_size ** order below 2 ** 63 for int64 keys; got order={order} "
                f"with vocab_size={vocab_size} (largest order: {largest})"
            )
        self.tables: list[dict] | None = None  # tables[k]: context length k (0 .. order-1)

    def __repr__(self) -> str:
        fitted = "fitted" if self.tables is not None else "not fitted"
        return f"CharNGram(order={self.order}, vocab_size={self.vocab_size}, {fitted})"

    def fit(self, ids: np.ndarray) -> CharNGram:
        """Count the n-grams of the training ids ``(N,)``; returns ``self``."""
        ids = check_token_ids("ids", ids, vocab_size=self.vocab_size, min_tokens=self.order)
        self.tables = _kneser_ney_tables(_count_ngrams(ids, self.vocab_size, self.order), self.vocab_size)
        return self

    @classmethod
    def fit_orders(cls, ids: np.ndarray, vocab_size: int, max_order: int) -> list[CharNGram]:
        """Models of every order ``1 .. max_order`` fitted to ``ids``, counting the n-grams only once."""
        largest = cls(max_order, vocab_size)
        ids = check_token_ids("ids", ids, vocab_size=largest.vocab_size, min_tokens=largest.order)
        counts = _count_ngrams(ids, largest.vocab_size, largest.order)
        models = []
        for order in range(1, largest.order + 1):
            model = cls(order, vocab_size)
            model.tables = _kneser_ney_tables(counts[:order], model.vocab_size)
            models.append(model)
        return models

    @staticmethod
    def _lookup(sorted_keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
        """``values`` at the positions of ``query`` in ``sorted_keys``; 0 where absent."""
        pos = np.searchsorted(sorted_keys, query).clip(max=sorted_keys.size - 1)
        return np.where(sorted_keys[pos] == query, values[pos], 0.0)

    def probabilities(self, windows: np.ndarray, context_length: np.ndarray) -> np.ndarray:
        """p(last column | the columns before it), for rows of ``windows: (M, order)``.

        Only the last ``context_length[m]`` context columns of row ``m`` are
        real; the others are ignored (they are placeholders at a text's start).
        """
        if self.tables is None:
            raise RuntimeError("this CharNGram is not fitted yet; call fit(ids) first")
        V = self.vocab_size
        target = windows[:, -1]
        p = np.full(windows.shape[0], 1.0 / V)
        context = np.zeros(windows.shape[0], dtype=np.int64)  # key of the last k context characters
        for k, table in enumerate(self.tables):
            if k > 0:
                context = context + windows[:, -1 - k].clip(min=0) * V ** (k - 1)
            usable = context_length >= k
            total = self._lookup(table["contexts"], table["context_total"], context)
            types = self._lookup(table["contexts"], table["context_types"], context)
            count = self._lookup(table["keys"], table["counts"], context * V + target)
            seen = usable & (total > 0)
            d = table["discount"]
            safe_total = np.where(seen, total, 1.0)
            mixed = np.maximum(count - d, 0.0) / safe_total + d * types / safe_total * p
            p = np.where(seen, mixed, p)
        return p

    def log_probs(self, ids: np.ndarray) -> np.ndarray:
        """``log p(ids[t] | ids[:t])`` in nats for ``t = 1 .. N-1``: shape ``(N - 1,)``.

        Near the start of ``ids`` the context is shorter than ``order - 1``
        and only the orders that fit are used.
        """
        ids = check_token_ids("ids", ids, vocab_size=self.vocab_size, min_tokens=2)
        n = self.order
        padded = np.concatenate([np.full(n - 1, -1, dtype=np.int64), ids])
        windows = np.lib.stride_tricks.sliding_window_view(padded, n)[1:]  # (N - 1, order)
        context_length = np.minimum(np.arange(1, ids.size), n - 1)
        return np.log(self.probabilities(windows, context_length))

    def cross_entropy(self, ids: np.ndarray) -> float:
        """Mean negative log-probability of ``ids[1:]``, in nats per character."""
        return float(-self.log_probs(ids).mean())

    def next_char_probs(self, context: np.ndarray) -> np.ndarray:
        """The distribution of the character after ``context`` (ids ``(N,)``, may be empty): ``(V,)``."""
        context = check_token_ids("context", context, vocab_size=self.vocab_size, min_tokens=0)
        n, V = self.order, self.vocab_size
        recent = context[len(context) - min(len(context), n - 1):]
        row = np.concatenate([np.full(n - 1 - recent.size, -1, dtype=np.int64), recent, [0]])
        windows = np.tile(row, (V, 1))
        windows[:, -1] = np.arange(V)
        return self.probabilities(windows, np.full(V, recent.size))
