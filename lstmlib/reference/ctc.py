"""Connectionist temporal classification (CTC), forward and backward, in NumPy float64 and in log space.

Graves et al. (2006). A network emits, at each of ``T`` frames, a
distribution over ``C`` classes, one of them the *blank*. An *alignment*
is one class per frame; collapsing it (merge repeated classes, then drop
blanks) gives a labeling, so ``"-44--0-77"`` and ``"4-0-7"`` both read
``407``. The CTC loss of a target ``l`` is ``-log p(l | x)``, the sum of the
probabilities of every alignment that collapses to ``l``. It is computed on
the *extended* target ``l'`` (a blank before, between and after the labels,
``2S + 1`` states):

* forward:  ``alpha[t, s] = log sum of the alignment prefixes up to frame t that end in state s``
* backward: ``beta[t, s]  = log sum of the alignment suffixes from frame t that start in state s``

both counting the emission at frame ``t``; a state may be reached from
itself, from the state before, or from two before when that skips a blank
between two different labels.

Conventions of ``torch.nn.functional.ctc_loss(..., reduction="none")``:
``log_probs (T, N, C)``, ``targets (N, S)`` padded, ``input_lengths`` and
``target_lengths (N,)``; an infeasible target (too long for its input)
has loss ``inf``.
"""

from __future__ import annotations

import numpy as np

from lstmlib._checks import check_rank

__all__ = ["ctc_backward", "ctc_betas", "ctc_forward", "extended_targets"]

_NEG_INF = -np.inf


def _logsumexp(*terms: np.ndarray) -> np.ndarray:
    """Elementwise ``log(sum(exp(terms)))``, exact where every term is ``-inf`` (gives ``-inf``)."""
    stacked = np.stack(np.broadcast_arrays(*terms))
    top = stacked.max(axis=0)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(stacked - safe_top).sum(axis=0)) + safe_top


def _shift(row: np.ndarray, k: int) -> np.ndarray:
    """``row`` moved ``k`` places towards higher indices (``k < 0``: lower), ``-inf`` where nothing moved in."""
    out = np.full_like(row, _NEG_INF)
    if abs(k) < row.size:
        if k >= 0:
            out[k:] = row[:row.size - k]
        else:
            out[:k] = row[-k:]
    return out


def _as_float64(name: str, array) -> np.ndarray:
    if hasattr(array, "detach"):  # a torch tensor
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must have a floating-point dtype; got {array.dtype}")
    return array.astype(np.float64)


def _as_ints(name: str, array, layout: str, rank: int) -> np.ndarray:
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers {layout}; got dtype {array.dtype}")
    check_rank(name, array, (rank,), layout)
    return array.astype(np.int64)


def extended_targets(target: np.ndarray, blank: int = 0) -> np.ndarray:
    """``l'``: the labels of ``target (S,)`` with a blank before, between and after them: ``(2S + 1,)``."""
    extended = np.full(2 * len(target) + 1, blank, dtype=np.int64)
    extended[1::2] = target
    return extended


def _skip_allowed(extended: np.ndarray, blank: int) -> np.ndarray:
    """``(2S + 1,)`` bool: may state ``s`` be entered from ``s - 2``? Only a label that differs from the one before."""
    allowed = np.zeros(extended.size, dtype=bool)
    allowed[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
    return allowed


def _check(log_probs, targets, input_lengths, target_lengths, blank):
    log_probs = _as_float64("log_probs", log_probs)
    check_rank("log_probs", log_probs, (3,), "(T, N, C)")
    T, N, C = log_probs.shape
    targets = _as_ints("targets", targets, "(N, S)", 2)
    input_lengths = _as_ints("input_lengths", input_lengths, "(N,)", 1)
    target_lengths = _as_ints("target_lengths", target_lengths, "(N,)", 1)
    if targets.shape[0] != N or input_lengths.size != N or target_lengths.size != N:
        raise ValueError(f"targets, input_lengths and target_lengths must have N={N} rows (log_probs is (T, N, C) = "
                         f"{log_probs.shape}); got {targets.shape}, {input_lengths.shape}, {target_lengths.shape}")
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or not 0 <= blank < C:
        raise ValueError(f"blank must be a class index in [0, C={C}); got {blank!r}")
    if np.isnan(log_probs).any() or (log_probs == np.inf).any():
        raise ValueError("log_probs must hold log-probabilities (no NaN, no +inf); got NaN or +inf")
    if ((input_lengths < 1) | (input_lengths > T)).any():
        raise ValueError(f"input_lengths must lie in [1, T={T}]; got {input_lengths.tolist()}")
    if ((target_lengths < 0) | (target_lengths > targets.shape[1])).any():
        raise ValueError(f"target_lengths must lie in [0, S={targets.shape[1]}]; got {target_lengths.tolist()}")
    for n in range(N):
        labels = targets[n, :target_lengths[n]]
        if ((labels < 0) | (labels >= C) | (labels == blank)).any():
            raise ValueError(f"targets must hold class indices in [0, C={C}) other than blank={blank}; "
                             f"sample {n} has {labels.tolist()}")
    return log_probs, targets, input_lengths, target_lengths


def ctc_forward(log_probs, targets, input_lengths, target_lengths, blank: int = 0):
    """The CTC loss of each sample and what :func:`ctc_backward` needs.

    ``log_probs (T, N, C)``: log-probabilities (normally log-softmax
    outputs; they need not be exactly normalised), ``targets (N, S)`` padded
    label ids, ``input_lengths (N,)`` and ``target_lengths (N,)``; NumPy
    arrays or torch tensors. Returns ``(loss (N,) float64, cache)`` with
    ``loss[n] = -log p(targets[n] | x_n)``, ``inf`` when no alignment fits.
    """
    log_probs, targets, input_lengths, target_lengths = _check(log_probs, targets, input_lengths, target_lengths,
                                                               blank)
    N = log_probs.shape[1]
    losses, alphas = np.empty(N), []
    for n in range(N):
        T_n = int(input_lengths[n])
        extended = extended_targets(targets[n, :target_lengths[n]], blank)  # (2S + 1,)
        skip = _skip_allowed(extended, blank)
        emit = log_probs[:T_n, n, extended]  # (T_n, 2S + 1): log y_t(l'_s)
        alpha = np.full((T_n, extended.size), _NEG_INF)
        alpha[0, :2] = emit[0, :2]  # start in the first blank or the first label
        for t in range(1, T_n):
            stay, advance = alpha[t - 1], _shift(alpha[t - 1], 1)  # from s, from s - 1
            jump = np.where(skip, _shift(alpha[t - 1], 2), _NEG_INF)  # from s - 2, past a blank
            alpha[t] = _logsumexp(stay, advance, jump) + emit[t]
        # end in the last label or the blank after it
        losses[n] = -_logsumexp(alpha[-1, -1], alpha[-1, -2] if extended.size > 1 else _NEG_INF)
        alphas.append(alpha)
    cache = {"log_probs": log_probs, "targets": targets, "input_lengths": input_lengths,
             "target_lengths": target_lengths, "blank": blank, "alphas": alphas, "loss": losses}
    return losses, cache


def ctc_betas(cache: dict) -> list[np.ndarray]:
    """``beta`` of each sample, ``(T_n, 2S_n + 1)``: the backward recursion, mirroring ``alpha``'s line by line."""
    log_probs, blank, betas = cache["log_probs"], cache["blank"], []
    for n in range(log_probs.shape[1]):
        T_n = int(cache["input_lengths"][n])
        extended = extended_targets(cache["targets"][n, :cache["target_lengths"][n]], blank)
        skip_ahead = np.zeros(extended.size, dtype=bool)  # may state s move on to s + 2? when s + 2 may be entered so
        skip_ahead[:-2] = _skip_allowed(extended, blank)[2:]
        emit = log_probs[:T_n, n, extended]
        beta = np.full((T_n, extended.size), _NEG_INF)
        beta[-1, -2:] = emit[-1, -2:]  # end in the last label or the blank after it
        for t in range(T_n - 2, -1, -1):
            stay, advance = beta[t + 1], _shift(beta[t + 1], -1)  # to s, to s + 1
            jump = np.where(skip_ahead, _shift(beta[t + 1], -2), _NEG_INF)  # to s + 2, past a blank
            beta[t] = _logsumexp(stay, advance, jump) + emit[t]
        betas.append(beta)
    return betas


def ctc_backward(cache: dict, dloss) -> np.ndarray:
    """``dlog_probs (T, N, C)``: the gradient of ``sum(dloss * loss)`` with respect to ``log_probs``.

    An alignment's probability is ``exp(sum_t log_probs[t, a_t])``, so the
    derivative of ``p(l | x)`` with respect to ``log_probs[t, c]`` is the
    probability of the alignments that emit ``c`` at frame ``t``:
    ``sum over states s with l'_s = c of exp(alpha[t, s] + beta[t, s] - log_probs[t, c])``.
    Hence ``dloss / dlog_probs[t, c] = -gamma[t, c]``, the posterior
    probability of class ``c`` at frame ``t``. (torch's CTC backward returns
    ``exp(log_probs) - gamma`` instead, the gradient with respect to the
    logits of a softmax output (Graves et al. 2006): it assumes that
    ``log_probs`` came from a log-softmax, whose backward maps both to the
    same gradient of the logits.) Frames past
    a sample's input length, and samples with infinite loss, get zero.
    ``dloss``: ``(N,)`` upstream gradient (ones for the plain sum).
    """
    if not isinstance(cache, dict) or "alphas" not in cache:
        raise TypeError(f"cache must be the dict ctc_forward returns; got {type(cache).__name__}")
    log_probs = cache["log_probs"]
    T, N, C = log_probs.shape
    dloss = _as_float64("dloss", dloss)
    if dloss.shape != (N,):
        raise ValueError(f"dloss must have shape (N,) = ({N},); got {dloss.shape}")
    dlog_probs = np.zeros((T, N, C))
    for n, beta in enumerate(ctc_betas(cache)):
        if not np.isfinite(cache["loss"][n]):
            continue
        T_n = int(cache["input_lengths"][n])
        extended = extended_targets(cache["targets"][n, :cache["target_lengths"][n]], cache["blank"])
        # log of the probability of the alignments through state s at frame t, divided by p(l | x)
        through = cache["alphas"][n] + beta - log_probs[:T_n, n, extended] + cache["loss"][n]  # (T_n, 2S + 1)
        for c in np.unique(extended):
            gamma = np.exp(_logsumexp(*through[:, extended == c].T))  # (T_n,)
            dlog_probs[:T_n, n, c] = -dloss[n] * gamma
    return dlog_probs
