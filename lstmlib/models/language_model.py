"""Character-level language models: an n-gram baseline and an LSTM.

A language model gives a probability to the next token given the ones
before it, ``p(x_t | x_1 .. x_{t-1})``. Both models here work on integer
token ids (see :class:`lstmlib.data.shakespeare.CharVocab`) and are scored
the same way: the mean negative log-probability, in nats, of every token of
a text given all the tokens before it (:func:`bits_per_char` converts).

* :class:`CharNGram` -- counts, smoothed by interpolated Kneser--Ney: the
  next character depends on the previous ``order - 1`` only.
* :class:`CharLSTM` -- embedding -> :class:`lstmlib.nn.LSTM` -> linear; its
  state can carry information over any distance.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import lstmlib.nn
from lstmlib._checks import check_positive_int, check_rng

#: The checkpoint made by ``scripts/train_charlm.py`` and shipped with the book.
SHAKESPEARE_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "charlm_shakespeare.pt"

__all__ = [
    "SHAKESPEARE_CHECKPOINT",
    "CharLSTM",
    "CharNGram",
    "bits_per_char",
    "load_checkpoint",
    "lstm_cross_entropy",
    "lstm_log_probs",
    "sample",
    "softmax_with_temperature",
    "truncated_bptt_loss",
]


def bits_per_char(nats: float) -> float:
    """Convert a cross-entropy from nats (natural log) to bits (log base 2) per character."""
    return float(nats) / math.log(2.0)


def _check_ids(name: str, ids, vocab_size: int, min_size: int = 1) -> np.ndarray:
    if isinstance(ids, torch.Tensor):
        ids = ids.detach().cpu().numpy()
    if not isinstance(ids, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of token ids; got {type(ids).__name__}")
    if ids.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension (N,); got shape {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{name} must have an integer dtype; got {ids.dtype}")
    if ids.size < min_size:
        raise ValueError(f"{name} must hold at least {min_size} token(s); got {ids.size}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"{name} must hold ids in [0, {vocab_size - 1}]; got values from {ids.min()} to {ids.max()}")
    return ids.astype(np.int64, copy=False)


def _check_temperature(temperature) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a positive number; got {type(temperature).__name__} {temperature!r}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive, finite number; got {temperature}")
    return float(temperature)


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
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        if self.vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2; got {vocab_size}")
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

    def fit(self, ids: np.ndarray) -> "CharNGram":
        """Count the n-grams of the training ids ``(N,)``; returns ``self``."""
        ids = _check_ids("ids", ids, self.vocab_size, min_size=self.order)
        self.tables = _kneser_ney_tables(_count_ngrams(ids, self.vocab_size, self.order), self.vocab_size)
        return self

    @classmethod
    def fit_orders(cls, ids: np.ndarray, vocab_size: int, max_order: int) -> list["CharNGram"]:
        """Models of every order ``1 .. max_order`` fitted to ``ids``, counting the n-grams only once."""
        largest = cls(max_order, vocab_size)
        ids = _check_ids("ids", ids, largest.vocab_size, min_size=largest.order)
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
        ids = _check_ids("ids", ids, self.vocab_size, min_size=2)
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
        context = _check_ids("context", context, self.vocab_size, min_size=0)
        n, V = self.order, self.vocab_size
        recent = context[len(context) - min(len(context), n - 1):]
        row = np.concatenate([np.full(n - 1 - recent.size, -1, dtype=np.int64), recent, [0]])
        windows = np.tile(row, (V, 1))
        windows[:, -1] = np.arange(V)
        return self.probabilities(windows, np.full(V, recent.size))


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> linear scores for the next character.

    ``forward(x, state=None) -> (logits, state)`` with ``x: (T, B)`` int64
    ids, ``logits: (T, B, V)`` and ``state = (h, c)``, each
    ``(num_layers, B, H)``: feed the returned state back in to continue a text.
    ``forget_bias`` is added to the forget gate's bias so that the cell
    starts out remembering (Gers et al. 2000; Jozefowicz et al. 2015).
    """

    def __init__(self, vocab_size: int, *, embed_size: int = 32, hidden_size: int = 256,
                 num_layers: int = 1, forget_bias: float = 1.0):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.embed = nn.Embedding(self.vocab_size, check_positive_int("embed_size", embed_size))
        self.lstm = lstmlib.nn.LSTM(embed_size, check_positive_int("hidden_size", hidden_size),
                                    num_layers=check_positive_int("num_layers", num_layers))
        self.readout = nn.Linear(hidden_size, self.vocab_size)
        self.settings = dict(embed_size=embed_size, hidden_size=hidden_size, num_layers=num_layers)
        with torch.no_grad():  # gate order i, f, g, o: the forget gate is the second block
            for layer in range(num_layers):
                getattr(self.lstm, f"bias_ih_l{layer}")[hidden_size:2 * hidden_size] += forget_bias

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of token ids (T, B); got {type(x).__name__}")
        if x.ndim != 2:
            raise ValueError(f"x must have 2 dimensions (T, B); got shape {tuple(x.shape)}")
        if x.dtype != torch.int64:
            raise TypeError(f"x must hold int64 token ids; got {str(x.dtype).replace('torch.', '')}")
        output, state = self.lstm(self.embed(x), state)  # (T, B, H)
        return self.readout(output), state  # (T, B, V)


def load_checkpoint(path=SHAKESPEARE_CHECKPOINT) -> tuple[CharLSTM, dict]:
    """A :class:`CharLSTM` saved by ``scripts/train_charlm.py``, in float32 and eval mode, and its record.

    The record (a dict) holds the characters of the vocabulary (``"chars"``),
    the model's ``"settings"``, how it was trained (``"training"``), on which
    plays (``"plays"``) and the bits per character it measured (``"bits_per_char"``).
    """
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = CharLSTM(len(checkpoint["chars"]), **checkpoint["settings"])
    model.load_state_dict({name: weight.float() for name, weight in checkpoint["state_dict"].items()})
    return model.eval(), checkpoint


def truncated_bptt_loss(model: CharLSTM, batches):
    """A ``loss_fn(step)`` for :func:`lstmlib.train.train` that carries the state across batches.

    ``batches`` yields consecutive ``(x, y)`` windows, each ``(T, B)`` int64
    (:func:`lstmlib.data.shakespeare.consecutive_windows`). Each step starts
    from the state where the previous batch ended, detached: the values flow
    on, the gradient stops at the window's start (truncated backpropagation
    through time). The loss is the mean next-character cross-entropy in nats.
    """
    if not isinstance(model, CharLSTM):
        raise TypeError(f"model must be a CharLSTM; got {type(model).__name__}")
    state = None

    def loss_fn(step: int) -> torch.Tensor:
        nonlocal state
        x, y = next(batches)  # (T, B) each
        if state is not None:
            state = tuple(s.detach() for s in state)  # keep the values, cut the graph
        logits, state = model(torch.from_numpy(x), state)  # (T, B, V)
        return F.cross_entropy(logits.flatten(0, 1), torch.from_numpy(y).flatten())

    return loss_fn


@torch.no_grad()
def lstm_log_probs(model: CharLSTM, ids: np.ndarray, *, tracks: int = 32, chunk: int = 256) -> np.ndarray:
    """``log p(ids[t] | ids[:t])`` in nats under ``model`` for ``t = 1 .. N-1``: shape ``(N - 1,)``.

    The text is cut into ``tracks`` contiguous pieces run side by side as one
    batch, each from a zero state, ``chunk`` steps at a time with the state
    carried across chunks. Only the first few characters of each piece miss
    their true history, a negligible handicap for long texts.
    """
    if not isinstance(model, CharLSTM):
        raise TypeError(f"model must be a CharLSTM; got {type(model).__name__}")
    ids = _check_ids("ids", ids, model.vocab_size, min_size=2)
    tracks, chunk = check_positive_int("tracks", tracks), check_positive_int("chunk", chunk)
    n = ids.size - 1  # number of predictions
    tracks = min(tracks, n)
    steps = -(-n // tracks)  # ceil: time steps per track
    pad = np.zeros(steps * tracks - n, dtype=np.int64)
    inputs = np.concatenate([ids[:-1], pad]).reshape(tracks, steps).T  # (steps, B): track b is column b
    targets = np.concatenate([ids[1:], pad]).reshape(tracks, steps).T
    inputs, targets = torch.from_numpy(inputs.copy()), torch.from_numpy(targets.copy())
    was_training = model.training
    model.eval()
    log_p, state = torch.empty(steps, tracks, dtype=torch.float64), None
    for start in range(0, steps, chunk):
        logits, state = model(inputs[start:start + chunk], state)  # (chunk, B, V)
        log_softmax = F.log_softmax(logits.double(), dim=-1)
        log_p[start:start + chunk] = log_softmax.gather(2, targets[start:start + chunk, :, None])[..., 0]
    model.train(was_training)
    return log_p.T.reshape(-1)[:n].numpy()  # back to text order, padding dropped


def lstm_cross_entropy(model: CharLSTM, ids: np.ndarray, *, tracks: int = 32, chunk: int = 256) -> float:
    """Mean negative log-probability of ``ids[1:]`` under ``model``, in nats per character."""
    return float(-lstm_log_probs(model, ids, tracks=tracks, chunk=chunk).mean())


def softmax_with_temperature(logits, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` in float64 over the last axis.

    A temperature below 1 sharpens the distribution towards its most likely
    entry (0 would be the argmax); above 1 flattens it towards uniform.
    """
    temperature = _check_temperature(temperature)
    if isinstance(logits, torch.Tensor):
        logits = logits.detach().cpu().numpy()
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@torch.no_grad()
def sample(model: CharLSTM, prompt: np.ndarray, n_chars: int, *, temperature: float = 1.0,
           rng=None) -> np.ndarray:
    """Continue ``prompt`` (ids ``(P,)``, at least one) by ``n_chars`` ids drawn one at a time.

    Each id is drawn from ``softmax(logits / temperature)`` with the NumPy
    generator ``rng`` (None, an int seed or a Generator) and fed back in.
    Returns the ``(n_chars,)`` new ids (the prompt is not repeated).
    """
    if not isinstance(model, CharLSTM):
        raise TypeError(f"model must be a CharLSTM; got {type(model).__name__}")
    prompt = _check_ids("prompt", prompt, model.vocab_size, min_size=1)
    n_chars = check_positive_int("n_chars", n_chars)
    temperature = _check_temperature(temperature)
    gen = check_rng("rng", rng)
    was_training = model.training
    model.eval()
    logits, state = model(torch.from_numpy(prompt.copy()).unsqueeze(1))  # (P, 1, V)
    out = np.empty(n_chars, dtype=np.int64)
    for t in range(n_chars):
        p = softmax_with_temperature(logits[-1, 0], temperature)
        out[t] = gen.choice(model.vocab_size, p=p)
        logits, state = model(torch.tensor([[out[t]]]), state)
    model.train(was_training)
    return out
