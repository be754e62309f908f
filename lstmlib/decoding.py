"""Turning a model's scores into tokens: temperature and sampling; CTC greedy and prefix beam search.

Every function here works with any *next-token model*: a ``torch.nn.Module``
with an int ``vocab_size`` whose ``forward(x, state=None)`` maps token ids
``x: (T, B)`` to ``(logits (T, B, vocab_size), state)``, such as
:class:`lstmlib.models.CharLSTM`. Draws come from an explicit NumPy
generator, so the same seed gives the same text.

The CTC decoders read a CTC model's per-frame ``log_probs (T, N, C)``
(see :mod:`lstmlib.reference.ctc`) with each sample's ``input_lengths (N,)``
and return label ids with the blank removed.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmlib._checks import (
    check_int_at_least,
    check_next_token_model,
    check_positive_int,
    check_positive_number,
    check_rng,
    check_token_ids,
)

__all__ = ["ctc_greedy_decode", "ctc_prefix_beam_search", "sample", "softmax_with_temperature"]


def softmax_with_temperature(logits, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` in float64 over the last axis.

    A temperature below 1 sharpens the distribution towards its most likely
    entry (0 would be the argmax); above 1 flattens it towards uniform.
    """
    temperature = check_positive_number("temperature", temperature)
    if isinstance(logits, torch.Tensor):
        logits = logits.detach().cpu().numpy()
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@torch.no_grad()
def sample(model, prompt: np.ndarray, n_chars: int, *, temperature: float = 1.0, rng=None) -> np.ndarray:
    """Continue ``prompt`` (ids ``(P,)``, at least one) by ``n_chars`` ids drawn one at a time.

    Each id is drawn from ``softmax(logits / temperature)`` with the NumPy
    generator ``rng`` (None, an int seed or a Generator) and fed back in.
    ``model`` is a next-token model (see the module docstring); it runs in
    eval mode and is put back in the mode it was in.
    Returns the ``(n_chars,)`` new ids (the prompt is not repeated).
    """
    model = check_next_token_model("model", model)
    prompt = check_token_ids("prompt", prompt, vocab_size=model.vocab_size, min_tokens=1)
    n_chars = check_positive_int("n_chars", n_chars)
    temperature = check_positive_number("temperature", temperature)
    gen = check_rng("rng", rng)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    logits, state = model(torch.from_numpy(prompt.copy()).unsqueeze(1).to(device))  # (P, 1, V)
    out = np.empty(n_chars, dtype=np.int64)
    for t in range(n_chars):
        p = softmax_with_temperature(logits[-1, 0], temperature)
        out[t] = gen.choice(model.vocab_size, p=p)
        logits, state = model(torch.tensor([[out[t]]], device=device), state)
    model.train(was_training)
    return out


def _ctc_inputs(log_probs, input_lengths, blank) -> tuple[np.ndarray, np.ndarray]:
    """``log_probs (T, N, C)`` as float64 NumPy and ``input_lengths (N,)`` as int64, checked."""
    if isinstance(log_probs, torch.Tensor):
        log_probs = log_probs.detach().cpu().numpy()
    if isinstance(input_lengths, torch.Tensor):
        input_lengths = input_lengths.detach().cpu().numpy()
    log_probs, input_lengths = np.asarray(log_probs), np.asarray(input_lengths)
    if log_probs.ndim != 3 or not np.issubdtype(log_probs.dtype, np.floating):
        raise ValueError(f"log_probs must be a float array (T, N, C); got {log_probs.dtype} with shape "
                         f"{log_probs.shape}")
    T, N, C = log_probs.shape
    if input_lengths.shape != (N,) or not np.issubdtype(input_lengths.dtype, np.integer):
        raise ValueError(f"input_lengths must be integers of shape (N,) = ({N},); got {input_lengths.dtype} with "
                         f"shape {input_lengths.shape}")
    if ((input_lengths < 0) | (input_lengths > T)).any():
        raise ValueError(f"input_lengths must lie in [0, T={T}]; got {input_lengths.tolist()}")
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or not 0 <= blank < C:
        raise ValueError(f"blank must be a class index in [0, C={C}); got {blank!r}")
    if np.isnan(log_probs).any():
        raise ValueError("log_probs must not hold NaN")
    return log_probs.astype(np.float64), input_lengths.astype(np.int64)


def ctc_greedy_decode(log_probs, input_lengths, blank: int = 0) -> list[list[int]]:
    """Best-path decoding: the likeliest class at each frame, repeats merged, blanks dropped.

    ``log_probs (T, N, C)`` and ``input_lengths (N,)``, NumPy arrays or
    torch tensors. Returns one list of label ids per sample. This reads the
    single likeliest *alignment*, not the likeliest labeling (the one with
    the most probability summed over its alignments); with CTC's peaky
    outputs the two rarely differ (:func:`ctc_prefix_beam_search` searches
    for the latter).
    """
    log_probs, input_lengths = _ctc_inputs(log_probs, input_lengths, blank)
    decoded = []
    for n, length in enumerate(input_lengths):
        best = log_probs[:length, n].argmax(axis=-1)  # (T_n,)
        keep = np.ones(best.size, dtype=bool)
        keep[1:] = best[1:] != best[:-1]  # merge repeats, then drop blanks
        decoded.append([int(c) for c in best[keep] if c != blank])
    return decoded


def ctc_prefix_beam_search(log_probs, input_lengths, beam_width: int = 8,
                           blank: int = 0) -> list[list[tuple[list[int], float]]]:
    """The likeliest labelings by prefix beam search, each with its log-probability summed over alignments.

    ``log_probs (T, N, C)`` and ``input_lengths (N,)``, NumPy arrays or
    torch tensors. Frame by frame, each kept prefix holds two numbers: the
    log-probability of the alignments so far that collapse to it and end
    in a blank, and of those that end in its last label. A new frame either
    emits a blank or the last label again (the prefix stays) or a new label
    (the prefix grows; after a blank the same label may follow again). Only
    the ``beam_width`` likeliest prefixes survive each frame; with a beam
    wide enough to keep all of them the scores are exact.

    Returns, per sample, up to ``beam_width`` pairs ``(labels, log P)``,
    best first.
    """
    log_probs, input_lengths = _ctc_inputs(log_probs, input_lengths, blank)
    beam_width = check_int_at_least("beam_width", beam_width, 1)
    results = []
    for n, length in enumerate(input_lengths):
        prefixes: list[tuple[int, ...]] = [()]
        ends_blank, ends_label = np.zeros(1), np.full(1, -np.inf)  # (K,) log-probabilities of the kept prefixes
        for t in range(length):
            frame = log_probs[t, n]  # (C,)
            total = np.logaddexp(ends_blank, ends_label)
            last = np.array([p[-1] if p else -1 for p in prefixes])  # each prefix's last label (-1: empty)
            has_last = last >= 0
            # the prefix stays: a blank, or its last label again (merged with the one before)
            stay_blank = total + frame[blank]
            stay_label = np.where(has_last, ends_label + frame[np.maximum(last, 0)], -np.inf)
            # the prefix grows by label c; repeating its last label needs a blank before it
            grow = total[:, None] + frame[None, :]  # (K, C)
            grow[:, blank] = -np.inf
            rows = np.flatnonzero(has_last)
            grow[rows, last[rows]] = ends_blank[rows] + frame[last[rows]]
            # a grown prefix that is already kept adds to that one's "ends in a label" total
            position = {p: k for k, p in enumerate(prefixes)}
            for k, p in enumerate(prefixes):
                parent = position.get(p[:-1]) if p else None
                if parent is not None:
                    stay_label[k] = np.logaddexp(stay_label[k], grow[parent, p[-1]])
                    grow[parent, p[-1]] = -np.inf
            # the other grown prefixes are all new and distinct: only the beam_width best can survive
            flat = np.argsort(-grow, axis=None, kind="stable")[:beam_width]
            grown = [(k, c) for k, c in zip(*np.unravel_index(flat, grow.shape)) if np.isfinite(grow[k, c])]
            candidates = prefixes + [prefixes[k] + (int(c),) for k, c in grown]
            blank_scores = np.concatenate([stay_blank, np.full(len(grown), -np.inf)])
            label_scores = np.concatenate([stay_label, [grow[k, c] for k, c in grown]])
            keep = np.argsort(-np.logaddexp(blank_scores, label_scores), kind="stable")[:beam_width]
            prefixes = [candidates[k] for k in keep]
            ends_blank, ends_label = blank_scores[keep], label_scores[keep]
        scores = np.logaddexp(ends_blank, ends_label)
        results.append([(list(p), float(s)) for p, s in zip(prefixes, scores) if np.isfinite(s)])  # best first
    return results
