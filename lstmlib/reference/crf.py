"""The linear-chain CRF in NumPy: log-likelihood, its gradient by forward-backward, and Viterbi decoding.

For emissions ``E (n, K)`` of one sequence and a tag sequence ``y``::

    s(y)     = start[y_0] + Σ_t E[t, y_t] + Σ_{t≥1} transitions[y_{t-1}, y_t] + end[y_{n-1}]
    log Z    = log Σ_y' exp s(y')
    log p(y) = s(y) - log Z

Forward (log space):  ``α_0 = start + E_0``,  ``α_t[j] = E_t[j] + logsumexp_i(α_{t-1}[i] + transitions[i, j])``,
``log Z = logsumexp(α_{n-1} + end)``.  Backward: ``β_{n-1} = end``,
``β_t[i] = logsumexp_j(transitions[i, j] + E_{t+1}[j] + β_{t+1}[j])``.

The gradient of ``log Z`` with respect to each score is the probability that
the score is used, so (with ``g`` the incoming ``dlog_likelihood[b]``)::

    dE[t, k]           = g (1[y_t = k] - P(y_t = k))
    dtransitions[i, j] = g Σ_t (1[y_{t-1} = i, y_t = j] - P(y_{t-1} = i, y_t = j))
    dstart[k] = g (1[y_0 = k] - P(y_0 = k)),   dend[k] = g (1[y_{n-1} = k] - P(y_{n-1} = k))

with the marginals from the two passes::

    P(y_t = k)                  = exp(α_t[k] + β_t[k] - log Z)
    P(y_{t-1} = i, y_t = j)     = exp(α_{t-1}[i] + transitions[i, j] + E_t[j] + β_t[j] - log Z)

``params`` has the :class:`lstmlib.nn.CRF` ``state_dict`` keys
``start_transitions (K,)``, ``end_transitions (K,)``, ``transitions (K, K)``.
Arrays are time-major: emissions ``(T, B, K)``, tags and mask ``(T, B)``;
a mask marks a prefix of each column (its first row all True).
"""

from __future__ import annotations

import numpy as np

from lstmlib._checks import check_array_type, check_floating, check_keys, check_rng
from lstmlib.reference.params import NUMPY_ARRAY

__all__ = ["CRF_KEYS", "crf_backward", "crf_forward", "crf_marginals", "crf_viterbi", "crf_forward_backward",
           "init_crf_params"]

#: The parameter names, as in :class:`lstmlib.nn.CRF`'s ``state_dict``.
CRF_KEYS = ("start_transitions", "end_transitions", "transitions")


def init_crf_params(num_tags: int, rng=None, dtype=np.float64) -> dict[str, np.ndarray]:
    """Random parameters, uniform in ±0.1 as the nn module starts them."""
    gen = check_rng("rng", rng)
    shapes = {"start_transitions": (num_tags,), "end_transitions": (num_tags,), "transitions": (num_tags, num_tags)}
    return {name: gen.uniform(-0.1, 0.1, shape).astype(dtype) for name, shape in shapes.items()}


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """``log Σ exp a`` along ``axis``, shifted by the maximum so that nothing overflows."""
    peak = a.max(axis=axis, keepdims=True)
    return np.squeeze(peak, axis) + np.log(np.exp(a - peak).sum(axis=axis))


def _check_inputs(params, emissions, tags, mask):
    """Validate; returns ``(mask (T, B) bool, lengths (B,))``."""
    check_keys("params", params, CRF_KEYS)
    for name in CRF_KEYS:
        check_array_type(f"params[{name!r}]", params[name], np.ndarray, NUMPY_ARRAY)
    K = params["start_transitions"].shape[0]
    if (params["start_transitions"].shape != (K,) or params["end_transitions"].shape != (K,)
            or params["transitions"].shape != (K, K)):
        raise ValueError(f"params must hold start_transitions (K,), end_transitions (K,), transitions (K, K); got "
                         f"{[params[name].shape for name in CRF_KEYS]}")
    check_array_type("emissions", emissions, np.ndarray, NUMPY_ARRAY)
    check_floating("emissions", emissions)
    if emissions.ndim != 3 or emissions.shape[2] != K or 0 in emissions.shape:
        raise ValueError(f"emissions must have shape (T >= 1, B >= 1, K = {K}); got {emissions.shape}")
    if not np.isfinite(emissions).all():
        raise ValueError("emissions must be finite; got NaN or infinite scores")
    T, B = emissions.shape[:2]
    if tags is not None:
        check_array_type("tags", tags, np.ndarray, NUMPY_ARRAY)
        if not np.issubdtype(tags.dtype, np.integer) or tags.shape != (T, B):
            raise ValueError(f"tags must be an int array of shape (T, B) = {(T, B)}; got {tags.dtype} {tags.shape}")
        if tags.min() < 0 or tags.max() >= K:
            raise ValueError(f"tags must lie in [0, K = {K}); got values {tags.min()} .. {tags.max()}")
    if mask is None:
        mask = np.ones((T, B), dtype=bool)
    else:
        check_array_type("mask", mask, np.ndarray, NUMPY_ARRAY)
        if mask.dtype != bool or mask.shape != (T, B):
            raise ValueError(f"mask must be a bool array of shape (T, B) = {(T, B)}; got {mask.dtype} {mask.shape}")
    if not mask[0].all():
        raise ValueError("mask of the first step must be all True (every sequence has at least one step)")
    if (mask[1:] & ~mask[:-1]).any():
        raise ValueError("mask must mark a prefix of each sequence (no True after a False)")
    return mask, mask.sum(axis=0)


def crf_forward_backward(params, emissions, mask=None):
    """Forward and backward log-scores ``alpha, beta (T, B, K)`` and ``log Z (B,)``.

    ``alpha[t, b, k]`` log-sums the scores of every prefix ``y_0 .. y_t`` with
    ``y_t = k`` (emissions up to t included); ``beta[t, b, k]`` those of every
    suffix after step t given ``y_t = k`` (the end score included). Past a
    sequence's end both are carried unchanged (alpha) or held at the end
    scores (beta), so ``alpha[n-1] + beta[n-1]`` is right at every real step.
    """
    mask, _ = _check_inputs(params, emissions, None, mask)
    start, end, trans = params["start_transitions"], params["end_transitions"], params["transitions"]
    T, B, K = emissions.shape
    alpha = np.empty((T, B, K))
    alpha[0] = start + emissions[0]
    for t in range(1, T):
        step = emissions[t] + _logsumexp(alpha[t - 1][:, :, None] + trans, axis=1)  # sum over the previous tag
        alpha[t] = np.where(mask[t][:, None], step, alpha[t - 1])
    beta = np.empty((T, B, K))
    beta[T - 1] = end
    for t in range(T - 2, -1, -1):
        step = _logsumexp(trans + (emissions[t + 1] + beta[t + 1])[:, None, :], axis=2)  # sum over the next tag
        beta[t] = np.where(mask[t + 1][:, None], step, end)  # the last real step sees only the end scores
    log_z = _logsumexp(alpha[T - 1] + end, axis=1)
    return alpha, beta, log_z


def crf_forward(params, emissions, tags, mask=None):
    """``(log_likelihood (B,), cache)``: ``log p(tags | emissions)`` of every column, by the forward algorithm."""
    mask, lengths = _check_inputs(params, emissions, tags, mask)
    start, end, trans = params["start_transitions"], params["end_transitions"], params["transitions"]
    B = emissions.shape[1]
    columns = np.arange(B)
    real = mask.astype(emissions.dtype)
    score = start[tags[0]] + (np.take_along_axis(emissions, tags[:, :, None], 2)[:, :, 0] * real).sum(0)
    score += (trans[tags[:-1], tags[1:]] * real[1:]).sum(0)
    score += end[tags[lengths - 1, columns]]
    alpha, beta, log_z = crf_forward_backward(params, emissions, mask)
    cache = {"emissions": emissions, "tags": tags, "mask": mask, "alpha": alpha, "beta": beta, "log_z": log_z}
    return score - log_z, cache


def crf_marginals(params, cache):
    """``(unary (T, B, K), pairwise (T, B, K, K))``: ``P(y_t = k)`` and ``P(y_{t-1} = i, y_t = j)`` (row 0 zero).

    Both are zero at padded steps; ``cache`` is :func:`crf_forward`'s.
    """
    check_keys("cache", cache, ("emissions", "tags", "mask", "alpha", "beta", "log_z"))
    emissions, mask, alpha, beta, log_z = (cache[k] for k in ("emissions", "mask", "alpha", "beta", "log_z"))
    unary = np.exp(alpha + beta - log_z[None, :, None]) * mask[:, :, None]
    pairwise = np.zeros(emissions.shape + (emissions.shape[2],))
    pairwise[1:] = np.exp(alpha[:-1, :, :, None] + params["transitions"]
                          + (emissions[1:] + beta[1:])[:, :, None, :] - log_z[None, :, None, None])
    pairwise[1:] *= mask[1:, :, None, None]
    return unary, pairwise


def crf_backward(params, cache, dlog_likelihood):
    """``(dparams, demissions (T, B, K))`` from ``dlog_likelihood (B,)``: observed counts minus expected ones."""
    check_keys("cache", cache, ("emissions", "tags", "mask", "alpha", "beta", "log_z"))
    emissions, tags, mask = cache["emissions"], cache["tags"], cache["mask"]
    T, B, K = emissions.shape
    check_array_type("dlog_likelihood", dlog_likelihood, np.ndarray, NUMPY_ARRAY)
    if dlog_likelihood.shape != (B,):
        raise ValueError(f"dlog_likelihood must have shape (B,) = {(B,)}; got {dlog_likelihood.shape}")
    unary, pairwise = crf_marginals(params, cache)
    lengths = mask.sum(axis=0)
    columns = np.arange(B)
    observed = np.eye(K)[tags] * mask[:, :, None]  # (T, B, K): 1[y_t = k] at real steps
    observed_pairs = np.zeros((T, B, K, K))
    observed_pairs[1:] = observed[:-1, :, :, None] * observed[1:, :, None, :]
    first, last = np.eye(K)[tags[0]], np.eye(K)[tags[lengths - 1, columns]]  # (B, K)
    g = dlog_likelihood
    demissions = g[None, :, None] * (observed - unary)
    dparams = {
        "start_transitions": g @ (first - unary[0]),
        "end_transitions": g @ (last - unary[lengths - 1, columns]),
        "transitions": np.einsum("b,tbij->ij", g, observed_pairs - pairwise),
    }
    return dparams, demissions


def crf_viterbi(params, emissions, mask=None) -> list[list[int]]:
    """The best tag sequence ``argmax_y s(y)`` of every column: B lists of Python ints, each as long as its column."""
    mask, lengths = _check_inputs(params, emissions, None, mask)
    start, end, trans = params["start_transitions"], params["end_transitions"], params["transitions"]
    T, B, K = emissions.shape
    best = start + emissions[0]  # (B, K): the best score of a prefix ending in each tag
    came_from = np.zeros((T, B, K), dtype=np.int64)
    for t in range(1, T):
        candidates = best[:, :, None] + trans + emissions[t][:, None, :]  # (B, K_prev, K)
        came_from[t] = candidates.argmax(axis=1)
        best = np.where(mask[t][:, None], candidates.max(axis=1), best)
    best = best + end
    paths = []
    for b in range(B):
        tag = int(best[b].argmax())
        path = [tag]
        for t in range(int(lengths[b]) - 1, 0, -1):
            tag = int(came_from[t, b, tag])
            path.append(tag)
        paths.append(path[::-1])
    return paths
