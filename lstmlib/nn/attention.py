"""Attention: a query reads a weighted average of keys, the weights a softmax of scores.

Two scores, the two the book teaches:

* :class:`AdditiveAttention` (Bahdanau et al., 2014): ``score(q, k) = vᵀ tanh(W q + U k)``,
  a one-hidden-layer network of query and key;
* :class:`MultiplicativeAttention` (Luong et al., 2015, "general"): ``score(q, k) = qᵀ W k``.

Both map ``query (B, Hq)`` and ``keys (B, S, Hk)`` to ``(context (B, Hk), weights (B, S))``:
``weights = softmax(scores)`` over the S positions, and ``context`` is the
weights' sum of the keys themselves (no value projection). ``mask (B, S)``
(bool, True where attending is allowed) gives the padded positions a weight
of exactly 0. :mod:`lstmlib.reference.attention` is the NumPy twin of the
additive score, with a hand-written backward pass.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lstmlib._checks import check_axis_size, check_floating, check_positive_int, check_rank

__all__ = ["AdditiveAttention", "MultiplicativeAttention", "attention_weights", "check_attention_inputs"]


def check_attention_inputs(query, keys, mask, query_size: int, key_size: int):
    """Validate ``query (B, Hq)``, ``keys (B, S, Hk)`` and ``mask (B, S)`` (bool, or None); returns ``mask``.

    A mask row with no True entry (nothing to attend to) raises ``ValueError``
    naming ``mask``: its softmax would be 0/0.
    """
    for name, arr, ranks, layout in (("query", query, 2, "(B, Hq)"), ("keys", keys, 3, "(B, S, Hk)")):
        if not isinstance(arr, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape {layout}; got {type(arr).__name__}")
        check_rank(name, arr, (ranks,), layout)
        check_floating(name, arr)
    check_axis_size("query", query, 1, query_size, "Hq", "(B, Hq)")
    check_axis_size("keys", keys, 2, key_size, "Hk", "(B, S, Hk)")
    if keys.shape[0] != query.shape[0]:
        raise ValueError(
            f"keys must have the query's batch size B={query.shape[0]} on axis 0 of (B, S, Hk); "
            f"got shape {tuple(keys.shape)}"
        )
    if keys.shape[1] == 0:
        raise ValueError(f"keys must hold at least one position (S >= 1) on axis 1 of (B, S, Hk); "
                         f"got {tuple(keys.shape)}")
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = str(mask.dtype).replace("torch.", "") if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a bool tensor of shape (B, S), True where attending is allowed; got {got}")
    if tuple(mask.shape) != tuple(keys.shape[:2]):
        raise ValueError(f"mask must have shape (B, S) = {tuple(keys.shape[:2])}; got {tuple(mask.shape)}")
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        rows = torch.nonzero(empty).flatten().tolist()
        raise ValueError(f"mask must allow at least one position in every row; rows {rows[:5]} allow none")
    return mask


def attention_weights(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``softmax(scores)`` over the last axis, with the masked-out entries exactly 0.

    scores: ``(B, S)``; mask: ``(B, S)`` bool or None (every row allows at least one position).
    """
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # exp(-inf) = 0 exactly
    return torch.softmax(scores, dim=-1)


def _weighted_keys(weights: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """``context[b] = Σ_s weights[b, s] keys[b, s]``: ``(B, S)``, ``(B, S, Hk)`` -> ``(B, Hk)``."""
    return torch.bmm(weights.unsqueeze(1), keys).squeeze(1)


class AdditiveAttention(nn.Module):
    """Bahdanau's additive attention: ``score(q, k_s) = vᵀ tanh(W q + U k_s)``.

    Args:
        query_size: Hq, the size of the query (e.g. the decoder's hidden state).
        key_size: Hk, the size of each key (e.g. an encoder output).
        hidden_size: A, the size of the score network's hidden layer.

    Parameters (the ``state_dict`` keys the NumPy reference reads):
        ``query_weight (A, Hq)`` = W, ``key_weight (A, Hk)`` = U, ``score_vector (A,)`` = v;
        no biases (a bias on the scores would cancel in the softmax; one inside the tanh
        is left out as in the paper's formula). Each starts uniform in ``±1/sqrt(fan_in)``.

    ``forward(query (B, Hq), keys (B, S, Hk), mask=None) -> (context (B, Hk), weights (B, S))``.
    A decoder that reads the same keys at every step can project them once with
    :meth:`project_keys` and pass the result as ``projected_keys``.
    """

    def __init__(self, query_size: int, key_size: int, hidden_size: int):
        super().__init__()
        self.query_size = check_positive_int("query_size", query_size)
        self.key_size = check_positive_int("key_size", key_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.query_weight = nn.Parameter(torch.empty(hidden_size, query_size))
        self.key_weight = nn.Parameter(torch.empty(hidden_size, key_size))
        self.score_vector = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ``±1/sqrt(fan_in)`` for each weight (as ``nn.Linear``'s bias bound)."""
        for weight, fan_in in ((self.query_weight, self.query_size), (self.key_weight, self.key_size),
                               (self.score_vector, self.hidden_size)):
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}, hidden_size={self.hidden_size}"

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """``U k_s`` for every key: ``(B, S, Hk) -> (B, S, A)`` (the part of the score that ignores the query)."""
        return keys @ self.key_weight.T

    def scores(self, query: torch.Tensor, keys: torch.Tensor, projected_keys: torch.Tensor | None = None):
        """``vᵀ tanh(W q + U k_s)`` for every position: ``(B, S)``, before the softmax."""
        if projected_keys is None:
            projected_keys = self.project_keys(keys)
        hidden = torch.tanh((query @ self.query_weight.T).unsqueeze(1) + projected_keys)  # (B, S, A)
        return hidden @ self.score_vector

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None = None, *,
                projected_keys: torch.Tensor | None = None):
        """``(context (B, Hk), weights (B, S))`` for ``query (B, Hq)``, ``keys (B, S, Hk)``, ``mask (B, S)``."""
        mask = check_attention_inputs(query, keys, mask, self.query_size, self.key_size)
        if projected_keys is not None and tuple(projected_keys.shape) != (*keys.shape[:2], self.hidden_size):
            raise ValueError(
                f"projected_keys must be project_keys(keys), shape (B, S, A) = {(*keys.shape[:2], self.hidden_size)}; "
                f"got {tuple(projected_keys.shape)}"
            )
        weights = attention_weights(self.scores(query, keys, projected_keys), mask)
        return _weighted_keys(weights, keys), weights


class MultiplicativeAttention(nn.Module):
    """Luong's multiplicative ("general") attention: ``score(q, k_s) = qᵀ W k_s``.

    Args:
        query_size: Hq; key_size: Hk.

    Parameters: ``weight (Hq, Hk)``, one matrix and no bias; it starts uniform in
    ``±1/sqrt(Hk)``. With ``W = I`` (and Hq = Hk) the score is the dot product.

    ``forward(query (B, Hq), keys (B, S, Hk), mask=None) -> (context (B, Hk), weights (B, S))``.
    """

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        self.query_size = check_positive_int("query_size", query_size)
        self.key_size = check_positive_int("key_size", key_size)
        self.weight = nn.Parameter(torch.empty(query_size, key_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ``±1/sqrt(Hk)``."""
        bound = 1.0 / math.sqrt(self.key_size)
        nn.init.uniform_(self.weight, -bound, bound)

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}"

    def scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``qᵀ W k_s`` for every position: ``(B, S)``, before the softmax."""
        return torch.bmm(keys, (query @ self.weight).unsqueeze(2)).squeeze(2)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None = None):
        """``(context (B, Hk), weights (B, S))`` for ``query (B, Hq)``, ``keys (B, S, Hk)``, ``mask (B, S)``."""
        mask = check_attention_inputs(query, keys, mask, self.query_size, self.key_size)
        weights = attention_weights(self.scores(query, keys), mask)
        return _weighted_keys(weights, keys), weights
