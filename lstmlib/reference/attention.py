"""Additive (Bahdanau) attention in NumPy, forward and hand-written backward.

For one query ``q`` and the keys ``k_1 … k_S`` of one sequence::

    p_s = tanh(W q + U k_s)                 (A,)   the score network's hidden layer
    e_s = vᵀ p_s                                   the score of position s
    α   = softmax(e)  over the allowed s           the weights (masked ones exactly 0)
    c   = Σ_s α_s k_s                         (Hk,) the context

Backward, from ``dc`` (and optionally a gradient on the weights, ``dα``)::

    dα_s += dc · k_s              dk_s  = α_s dc          (the context is linear in both)
    de_s  = α_s (dα_s - Σ_r α_r dα_r)                     (the softmax's Jacobian)
    dp_s  = de_s v ⊙ (1 - p_s²)   dv    = Σ_s de_s p_s
    dW    = Σ_s dp_s qᵀ           dq    = Wᵀ Σ_s dp_s
    dU    = Σ_s dp_s k_sᵀ         dk_s += Uᵀ dp_s

``params`` holds the :class:`lstmlib.nn.AdditiveAttention` ``state_dict`` keys:
``query_weight (A, Hq)``, ``key_weight (A, Hk)``, ``score_vector (A,)``.
"""

from __future__ import annotations

import numpy as np

from lstmlib._checks import check_array_type, check_floating, check_keys, check_rng
from lstmlib.reference.params import NUMPY_ARRAY

__all__ = [
    "ADDITIVE_ATTENTION_KEYS",
    "additive_attention_backward",
    "additive_attention_forward",
    "init_additive_attention_params",
]

#: The parameter names, as in :class:`lstmlib.nn.AdditiveAttention`'s ``state_dict``.
ADDITIVE_ATTENTION_KEYS = ("query_weight", "key_weight", "score_vector")


def init_additive_attention_params(query_size: int, key_size: int, hidden_size: int, rng=None,
                                   dtype=np.float64) -> dict[str, np.ndarray]:
    """Random parameters, each uniform in ``±1/sqrt(fan_in)`` as the nn module starts them."""
    gen = check_rng("rng", rng)
    shapes = {"query_weight": ((hidden_size, query_size), query_size),
              "key_weight": ((hidden_size, key_size), key_size),
              "score_vector": ((hidden_size,), hidden_size)}
    return {name: gen.uniform(-1, 1, shape).astype(dtype) / np.sqrt(fan_in)
            for name, (shape, fan_in) in shapes.items()}


def _check_inputs(params, query, keys, mask):
    """Validate the arguments of :func:`additive_attention_forward`; returns the mask as bool (B, S)."""
    check_keys("params", params, ADDITIVE_ATTENTION_KEYS)
    for name in ADDITIVE_ATTENTION_KEYS:
        check_array_type(f"params[{name!r}]", params[name], np.ndarray, NUMPY_ARRAY)
    A, Hq = params["query_weight"].shape
    Hk = params["key_weight"].shape[1]
    for name, arr, layout, rank in (("query", query, "(B, Hq)", 2), ("keys", keys, "(B, S, Hk)", 3)):
        check_array_type(name, arr, np.ndarray, NUMPY_ARRAY)
        check_floating(name, arr)
        if arr.ndim != rank:
            raise ValueError(f"{name} must have shape {layout}; got shape {arr.shape}")
    if query.shape[1] != Hq or keys.shape[2] != Hk or keys.shape[0] != query.shape[0] or keys.shape[1] == 0:
        raise ValueError(
            f"query and keys must have shapes (B, Hq={Hq}) and (B, S>=1, Hk={Hk}) for these params; "
            f"got {query.shape} and {keys.shape}"
        )
    B, S = keys.shape[:2]
    if mask is None:
        return np.ones((B, S), dtype=bool)
    check_array_type("mask", mask, np.ndarray, NUMPY_ARRAY)
    if mask.dtype != bool or mask.shape != (B, S):
        raise ValueError(f"mask must be a bool array of shape (B, S) = {(B, S)}; got {mask.dtype} {mask.shape}")
    if not mask.any(axis=1).all():
        raise ValueError(f"mask must allow at least one position in every row; rows "
                         f"{np.flatnonzero(~mask.any(axis=1))[:5].tolist()} allow none")
    return mask


def additive_attention_forward(params, query, keys, mask=None):
    """``(context (B, Hk), weights (B, S), cache)`` for ``query (B, Hq)``, ``keys (B, S, Hk)``, ``mask (B, S)``.

    ``mask`` (bool, True where attending is allowed; None allows every
    position) gives the other positions a weight of exactly 0.
    """
    mask = _check_inputs(params, query, keys, mask)
    W, U, v = params["query_weight"], params["key_weight"], params["score_vector"]
    p = np.tanh((query @ W.T)[:, None, :] + keys @ U.T)  # (B, S, A)
    e = p @ v  # (B, S)
    e = np.where(mask, e, -np.inf)
    e_max = e.max(axis=1, keepdims=True)
    exp = np.where(mask, np.exp(e - e_max), 0.0)
    weights = exp / exp.sum(axis=1, keepdims=True)  # (B, S)
    context = np.einsum("bs,bsh->bh", weights, keys)  # (B, Hk)
    cache = {"query": query, "keys": keys, "hidden": p, "weights": weights}
    return context, weights, cache


def additive_attention_backward(params, cache, dcontext, dweights=None):
    """``(dparams, dquery (B, Hq), dkeys (B, S, Hk))`` from ``dcontext (B, Hk)`` and optional ``dweights (B, S)``.

    ``cache`` is the one :func:`additive_attention_forward` returned with these ``params``.
    """
    check_keys("cache", cache, ("query", "keys", "hidden", "weights"))
    query, keys, p, weights = cache["query"], cache["keys"], cache["hidden"], cache["weights"]
    B, S, Hk = keys.shape
    check_array_type("dcontext", dcontext, np.ndarray, NUMPY_ARRAY)
    if dcontext.shape != (B, Hk):
        raise ValueError(f"dcontext must have the context's shape (B, Hk) = {(B, Hk)}; got {dcontext.shape}")
    if dweights is not None:
        check_array_type("dweights", dweights, np.ndarray, NUMPY_ARRAY)
        if dweights.shape != (B, S):
            raise ValueError(f"dweights must have the weights' shape (B, S) = {(B, S)}; got {dweights.shape}")
    W, U, v = params["query_weight"], params["key_weight"], params["score_vector"]
    # the context is linear in the weights and in the keys
    dalpha = np.einsum("bh,bsh->bs", dcontext, keys)
    if dweights is not None:
        dalpha = dalpha + dweights
    dkeys = weights[:, :, None] * dcontext[:, None, :]
    # softmax: de_s = α_s (dα_s − Σ_r α_r dα_r); masked positions have α = 0, so de = 0 there
    de = weights * (dalpha - (weights * dalpha).sum(axis=1, keepdims=True))  # (B, S)
    dv = np.einsum("bs,bsa->a", de, p)
    dpre = de[:, :, None] * v[None, None, :] * (1.0 - p**2)  # (B, S, A), through the tanh
    dpre_q = dpre.sum(axis=1)  # W q is shared by every position
    dW = dpre_q.T @ query
    dquery = dpre_q @ W
    dU = np.einsum("bsa,bsh->ah", dpre, keys)
    dkeys = dkeys + dpre @ U
    return {"query_weight": dW, "key_weight": dU, "score_vector": dv}, dquery, dkeys
