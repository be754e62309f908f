"""Synthetic sequence tasks that need memory."""

from __future__ import annotations

import numpy as np

from lstmlib._checks import check_positive_int


def as_generator(rng) -> np.random.Generator:
    """Turn ``None``, an int seed or a Generator into a ``numpy.random.Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}")


def first_symbol(batch_size: int, length: int, n_symbols: int = 4, rng=None, dtype=np.float32):
    """Remember the first symbol of a sequence of random symbols.

    Each sequence holds ``length`` symbols drawn uniformly from ``n_symbols``;
    the target is the symbol at t = 0, to be reported after the last step. The
    symbols that follow are distractors from the same alphabet, so the network
    must store the first one and protect it from being overwritten. Input
    channel ``n_symbols`` is a start marker, 1 at t = 0 only.

    Returns:
        x: (T, B, n_symbols + 1) one-hot symbols plus the start marker.
        target: (B,) int64, the first symbol of each sequence.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    n_symbols = check_positive_int("n_symbols", n_symbols)
    gen = as_generator(rng)
    symbols = gen.integers(0, n_symbols, size=(length, batch_size))
    x = np.zeros((length, batch_size, n_symbols + 1), dtype=dtype)
    # one-hot: x[t, b, symbols[t, b]] = 1
    np.put_along_axis(x, symbols[..., None], 1.0, axis=2)
    x[0, :, n_symbols] = 1.0
    return x, symbols[0].astype(np.int64)
