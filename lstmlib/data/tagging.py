"""Sequence-tagging tasks whose answer lies in the future.

In a tagging task every input step gets its own label. The task here, used
by the chapter "Bidirectional LSTMs", is built so that the label of step
``t`` is a token the sequence has not shown yet at step ``t``: a network that
reads left to right (a causal model) cannot know it, while one that also
reads right to left can. Because the tokens are independent draws, the best
accuracy any causal model can reach is known exactly
(:func:`causal_ceiling_by_position`, :func:`causal_ceiling`).
"""

from __future__ import annotations

import numpy as np

from lstmlib._checks import check_float_dtype, check_int_at_least, check_positive_int, check_rng

__all__ = ["lookahead_tags", "causal_ceiling_by_position", "causal_ceiling"]


def _check_task(length, n_symbols, lookahead) -> tuple[int, int, int]:
    """Validate the three sizes shared by the generator and the ceilings."""
    length = check_positive_int("length", length)
    n_symbols = check_int_at_least("n_symbols", n_symbols, 2, " (one symbol leaves nothing to predict)")
    lookahead = check_positive_int("lookahead", lookahead)
    if lookahead >= length:
        raise ValueError(
            f"lookahead must be smaller than length ({length}) so that some tags name a symbol; got {lookahead}"
        )
    return length, n_symbols, lookahead


def lookahead_tags(batch_size: int, length: int, n_symbols: int = 8, lookahead: int = 2, rng=None,
                   dtype=np.float32):
    """Tag every token with the symbol that comes ``lookahead`` steps later.

    Each sequence holds ``length`` symbols ``s_0 .. s_{T-1}`` drawn
    independently and uniformly from ``n_symbols``. With ``k = lookahead``,
    the tag of step ``t`` is

    * ``s_{t+k}`` for ``t < T - k``, a symbol that is still ``k`` steps ahead;
    * ``n_symbols`` (the "end" tag) for the last ``k`` steps, which have no
      symbol that far ahead.

    Args:
        batch_size: B, number of sequences.
        length: T, steps per sequence.
        n_symbols: V >= 2, size of the alphabet.
        lookahead: k, 1 <= k < T.
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).
        dtype: floating-point dtype of ``x``.

    Returns:
        x: (T, B, V) one-hot symbols, ``x[t, b, s_t] = 1``.
        tags: (T, B) int64 in ``0 .. V`` (V is the end tag); ``V + 1`` classes.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length, n_symbols, lookahead = _check_task(length, n_symbols, lookahead)
    dtype = check_float_dtype("dtype", dtype)
    gen = check_rng("rng", rng)  # names the argument, also for a negative seed
    symbols = gen.integers(0, n_symbols, size=(length, batch_size))  # (T, B)
    # tags[t] = symbols[t + k] while that exists, then the end tag
    tags = np.full((length, batch_size), n_symbols, dtype=np.int64)  # (T, B)
    tags[: length - lookahead] = symbols[lookahead:]
    x = np.zeros((length, batch_size, n_symbols), dtype=dtype)  # (T, B, V)
    np.put_along_axis(x, symbols[..., None], 1.0, axis=2)
    return x, tags


def causal_ceiling_by_position(length: int, n_symbols: int = 8, lookahead: int = 2) -> np.ndarray:
    """Best expected accuracy of any causal tagger at each step of :func:`lookahead_tags`.

    A causal tagger labels step ``t`` from ``s_0 .. s_t`` (and ``t`` itself).
    For ``t < T - k`` the tag ``s_{t+k}`` is independent of everything seen so
    far and uniform over ``V`` symbols, so every guess is right with
    probability exactly ``1 / V``. For the last ``k`` steps the tag is the end
    tag, which follows from ``t`` alone: accuracy 1.

    Returns:
        ceiling: (T,) float64, ``1 / V`` for ``t < T - k``, then 1.
    """
    length, n_symbols, lookahead = _check_task(length, n_symbols, lookahead)
    ceiling = np.ones(length)  # (T,)
    ceiling[: length - lookahead] = 1.0 / n_symbols
    return ceiling


def causal_ceiling(length: int, n_symbols: int = 8, lookahead: int = 2) -> float:
    """Best expected per-token accuracy of any causal tagger on :func:`lookahead_tags`.

    The mean over steps of :func:`causal_ceiling_by_position`:
    ``((T - k) / V + k) / T``.
    """
    return float(causal_ceiling_by_position(length, n_symbols, lookahead).mean())
