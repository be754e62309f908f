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
    C = log_probs.shape[2]
    results = []
    for n, length in enumerate(input_lengths):
        beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -np.inf)}  # prefix -> (ends blank, ends label)
        for t in range(length):
            frame = log_probs[t, n]
            grown: dict[tuple[int, ...], list[float]] = {}

            def add(prefix, ends_blank=-np.inf, ends_label=-np.inf):
                old = grown.setdefault(prefix, [-np.inf, -np.inf])
                old[0], old[1] = np.logaddexp(old[0], ends_blank), np.logaddexp(old[1], ends_label)

            for prefix, (p_blank, p_label) in beams.items():
                p_total = np.logaddexp(p_blank, p_label)
                add(prefix, ends_blank=p_total + frame[blank])  # a blank: the prefix stays
                if prefix:  # its last label again, without a blank between: merged, the prefix stays
                    add(prefix, ends_label=p_label + frame[prefix[-1]])
                for c in range(C):
                    if c == blank:
                        continue
                    # a new label; repeating the last one needs a blank between
                    reach = p_blank if prefix and c == prefix[-1] else p_total
                    add(prefix + (c,), ends_label=reach + frame[c])
            ranked = sorted(grown.items(), key=lambda item: -np.logaddexp(*item[1]))[:beam_width]
            beams = {prefix: (scores[0], scores[1]) for prefix, scores in ranked}
        ranked = sorted(((list(prefix), float(np.logaddexp(*scores))) for prefix, scores in beams.items()
                         if np.isfinite(np.logaddexp(*scores))),  # a labeling no alignment reaches is left out
                        key=lambda item: -item[1])
        results.append(ranked[:beam_width])
    return results
