"""A linear-chain conditional random field over per-step tag scores (Lafferty et al., 2001).

A tagger's network gives every step ``t`` a score for every tag, the
*emissions* ``E[t, k]``. The CRF adds a score for every pair of neighbouring
tags and scores a whole tag sequence ``y_0 .. y_{n-1}`` (``n`` the real length):

    s(y) = start[y_0] + Σ_t E[t, y_t] + Σ_{t≥1} transitions[y_{t-1}, y_t] + end[y_{n-1}]

    log p(y | E) = s(y) - log Z,     log Z = log Σ_{y'} exp s(y')   (every tag sequence y')

``log Z`` sums over ``K^n`` sequences in ``O(n K²)`` steps by the forward
algorithm; the best sequence ``argmax_y s(y)`` comes from the Viterbi
algorithm, the same recursion with ``max`` in place of ``logsumexp``.

Parameter names, shapes, meanings and the ``forward``/``decode`` signatures are
those of ``torchcrf.CRF`` (the ``pytorch-crf`` package, 0.7.2), so
``load_state_dict`` works both ways. The NumPy twin, with a hand-written
backward, is :mod:`lstmlib.reference.crf`.
"""

from __future__ import annotations

import torch
from torch import nn

from lstmlib._checks import check_bool, check_choice, check_positive_int

__all__ = ["CRF"]

REDUCTIONS = ("none", "sum", "mean", "token_mean")


class CRF(nn.Module):
    """Linear-chain CRF with ``torchcrf.CRF``'s parameters and methods.

    Args:
        num_tags: ``K``, the number of tags.
        batch_first: emissions ``(B, T, K)`` and tags/mask ``(B, T)`` instead of ``(T, B, K)`` / ``(T, B)``.

    Parameters (uniform in ±0.1 at the start, as pytorch-crf's):
        ``start_transitions (K,)`` -- score of starting with each tag;
        ``end_transitions (K,)`` -- score of ending with each tag;
        ``transitions (K, K)`` -- ``transitions[i, j]`` scores tag ``i`` followed by tag ``j``.

    ``mask`` (bool, or uint8 as pytorch-crf also takes) marks the real steps:
    each sequence's steps are a prefix, so the first step is all True and no
    False is followed by a True.
    """

    def __init__(self, num_tags: int, batch_first: bool = False):
        super().__init__()
        self.num_tags = check_positive_int("num_tags", num_tags)
        self.batch_first = check_bool("batch_first", batch_first)
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every score uniform in ``[-0.1, 0.1]`` (pytorch-crf's start)."""
        for parameter in (self.start_transitions, self.end_transitions, self.transitions):
            nn.init.uniform_(parameter, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}, batch_first={self.batch_first}"

    # ------------------------------------------------------------------ checks
    def _time_major(self, emissions, tags=None, mask=None):
        """Validate; return ``(emissions (T, B, K), tags (T, B) or None, mask (T, B) bool)``, time-major."""
        layout = "(B, T, K)" if self.batch_first else "(T, B, K)"
        steps = "(B, T)" if self.batch_first else "(T, B)"
        if not isinstance(emissions, torch.Tensor):
            raise TypeError(f"emissions must be a torch.Tensor {layout}; got {type(emissions).__name__}")
        if not emissions.is_floating_point():
            raise TypeError(f"emissions must be a floating-point tensor; got {emissions.dtype}")
        if emissions.dim() != 3 or emissions.shape[2] != self.num_tags:
            raise ValueError(f"emissions must have shape {layout} with K = num_tags = {self.num_tags}; "
                             f"got {tuple(emissions.shape)}")
        if emissions.shape[0] == 0 or emissions.shape[1] == 0:
            raise ValueError(f"emissions must hold at least one step of one sequence {layout}; "
                             f"got {tuple(emissions.shape)}")
        if not torch.isfinite(emissions).all():
            raise ValueError("emissions must be finite; got NaN or infinite scores")
        shape = emissions.shape[:2]
        if tags is not None:
            if not isinstance(tags, torch.Tensor) or tags.dtype != torch.int64:
                raise TypeError(f"tags must be an int64 tensor {steps}; got "
                                f"{tags.dtype if isinstance(tags, torch.Tensor) else type(tags).__name__}")
            if tags.shape != shape:
                raise ValueError(f"tags must have the emissions' first two dimensions {steps} = {tuple(shape)}; "
                                 f"got {tuple(tags.shape)}")
            if bool(((tags < 0) | (tags >= self.num_tags)).any()):
                raise ValueError(f"tags must lie in [0, num_tags = {self.num_tags}); got values "
                                 f"{int(tags.min())} .. {int(tags.max())}")
        if mask is None:
            mask = torch.ones(shape, dtype=torch.bool, device=emissions.device)
        else:
            if not isinstance(mask, torch.Tensor) or mask.dtype not in (torch.bool, torch.uint8):
                raise TypeError(f"mask must be a bool tensor {steps}; got "
                                f"{mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__}")
            if mask.shape != shape:
                raise ValueError(f"mask must have the emissions' first two dimensions {steps} = {tuple(shape)}; "
                                 f"got {tuple(mask.shape)}")
            mask = mask.bool()
        if self.batch_first:
            emissions, mask = emissions.transpose(0, 1), mask.transpose(0, 1)
            tags = None if tags is None else tags.transpose(0, 1)
        if not bool(mask[0].all()):
            raise ValueError("mask of the first step must be all True (every sequence has at least one step)")
        if bool((mask[1:] & ~mask[:-1]).any()):
            raise ValueError("mask must mark a prefix of each sequence (no True after a False)")
        return emissions, tags, mask

    # ------------------------------------------------------------------ scores
    def _sequence_score(self, emissions, tags, mask):
        """``s(y)`` of the given tags, ``(B,)``."""
        T, B, _ = emissions.shape
        batch = torch.arange(B, device=emissions.device)
        weight = mask.to(emissions.dtype)
        score = self.start_transitions[tags[0]] + emissions[0, batch, tags[0]]
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (T, B): E[t, y_t]
        moved = self.transitions[tags[:-1], tags[1:]]  # (T-1, B): transitions[y_{t-1}, y_t]
        score = score + (emitted[1:] * weight[1:]).sum(0) + (moved * weight[1:]).sum(0)
        last = tags[mask.sum(0) - 1, batch]  # each sequence's last real tag
        return score + self.end_transitions[last]

    def _log_partition(self, emissions, mask):
        """``log Z (B,)`` by the forward algorithm; ``alpha[b, j]`` log-sums the scores of prefixes ending in j."""
        alpha = self.start_transitions + emissions[0]  # (B, K)
        for t in range(1, emissions.shape[0]):
            # (B, K_prev, 1) + (K_prev, K) + (B, 1, K), log-summed over the previous tag
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions + emissions[t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[t].unsqueeze(1), step, alpha)  # a finished sequence keeps its alpha
        return torch.logsumexp(alpha + self.end_transitions, dim=1)

    def forward(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor | None = None,
                reduction: str = "sum") -> torch.Tensor:
        """Log-likelihood ``log p(tags | emissions)``: ``(B,)`` for ``reduction="none"``, else a scalar.

        ``"sum"`` and ``"mean"`` add / average over the batch; ``"token_mean"``
        divides the sum by the number of real steps. Train by minimising its negative.
        """
        check_choice("reduction", reduction, REDUCTIONS)
        emissions, tags, mask = self._time_major(emissions, tags, mask)
        log_likelihood = self._sequence_score(emissions, tags, mask) - self._log_partition(emissions, mask)
        if reduction == "none":
            return log_likelihood
        if reduction == "sum":
            return log_likelihood.sum()
        if reduction == "mean":
            return log_likelihood.mean()
        return log_likelihood.sum() / mask.sum().to(log_likelihood.dtype)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor | None = None) -> list[list[int]]:
        """The best tag sequence of every row (Viterbi): a list of B lists of ints, each as long as its row."""
        emissions, _, mask = self._time_major(emissions, None, mask)
        best = self.start_transitions + emissions[0]  # (B, K): best score of a prefix ending in each tag
        backpointers = []
        for t in range(1, emissions.shape[0]):
            step, came_from = (best.unsqueeze(2) + self.transitions + emissions[t].unsqueeze(1)).max(dim=1)
            best = torch.where(mask[t].unsqueeze(1), step, best)
            backpointers.append(came_from)
        best = best + self.end_transitions
        lengths = mask.sum(0).tolist()
        last = best.argmax(dim=1).tolist()
        pointers = torch.stack(backpointers).tolist() if backpointers else []  # (T-1, B, K) as lists
        paths = []
        for b, (length, tag) in enumerate(zip(lengths, last)):
            path = [tag]
            for t in range(length - 2, -1, -1):  # pointers[t] leads from step t + 1 back to step t
                tag = pointers[t][b][tag]
                path.append(tag)
            paths.append(path[::-1])
        return paths
