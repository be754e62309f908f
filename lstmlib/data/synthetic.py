"""Synthetic sequence tasks that need memory."""

from __future__ import annotations

import numpy as np

from lstmlib._checks import check_positive_int, check_rng


def first_symbol(batch_size: int, length: int, n_symbols: int = 4, n_distractors: int = 4, rng=None,
                 dtype=np.float32):
    """Remember the first symbol of a sequence through a stream of distractors.

    Step 0 shows one of ``n_symbols`` signal symbols; steps 1 .. T-1 show
    distractor symbols drawn uniformly from ``n_distractors`` others. The
    target, to be reported after the last step, is the signal symbol: the
    network must store it at step 0 and keep it for ``length - 1`` steps.

    Returns:
        x: (T, B, n_symbols + n_distractors) one-hot inputs; channels
           ``0 .. n_symbols-1`` are the signal symbols, the rest distractors.
        target: (B,) int64, the signal symbol of each sequence.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    n_symbols = check_positive_int("n_symbols", n_symbols)
    n_distractors = check_positive_int("n_distractors", n_distractors)
    gen = check_rng("rng", rng)
    target = gen.integers(0, n_symbols, size=batch_size)
    distractors = n_symbols + gen.integers(0, n_distractors, size=(length - 1, batch_size))
    symbols = np.concatenate([target[None, :], distractors], axis=0)  # (T, B)
    x = np.zeros((length, batch_size, n_symbols + n_distractors), dtype=dtype)
    # one-hot: x[t, b, symbols[t, b]] = 1
    np.put_along_axis(x, symbols[..., None], 1.0, axis=2)
    return x, target.astype(np.int64)
