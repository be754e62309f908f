"""Turning a model's scores into tokens: temperature and sampling, greedy and beam search, CTC decoding.

:func:`sample` works with any *next-token model*: a ``torch.nn.Module``
with an int ``vocab_size`` whose ``forward(x, state=None)`` maps token ids
``x: (T, B)`` to ``(logits (T, B, vocab_size), state)``, such as
:class:`lstmlib.models.CharLSTM`. Draws come from an explicit NumPy
generator, so the same seed gives the same text.

:func:`greedy_search` and :func:`beam_search` work with any *step function*
of a decoder: ``step(tokens (K,), state) -> (log_probs (K, V), state)``, the
log-probabilities of the next token after each of K hypotheses whose last
tokens are ``tokens``, and the state after reading them. The state is
whatever the decoder carries (an LSTM's ``(h, c)``, attention keys, ...);
beam search reorders it along its batch axis as hypotheses are kept or dropped.

The CTC decoders read a CTC model's per-frame ``log_probs (T, N, C)``
(see :mod:`lstmlib.reference.ctc`) with each sample's ``input_lengths (N,)``
and return label ids with the blank removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

__all__ = [
    "Hypothesis", "beam_search", "ctc_greedy_decode", "ctc_prefix_beam_search", "greedy_search", "reorder_state",
    "sample", "softmax_with_temperature",
]


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


@dataclass(frozen=True)
class Hypothesis:
    """One output of a search.

    ``tokens``: the ids produced, without ``<bos>`` and ``<eos>``;
    ``log_prob``: the sum of their log-probabilities (the ``<eos>``'s included when ``finished``);
    ``score``: what the search ranks by, ``log_prob / length ** length_normalization`` with
    ``length = len(tokens) + finished`` (the ``<eos>`` counts as a step);
    ``finished``: whether it ended with ``<eos>`` (False: cut off at ``max_length``).
    """

    tokens: list[int]
    log_prob: float
    score: float
    finished: bool


def reorder_state(state, index: torch.Tensor, dim: int = 1):
    """``state`` with every tensor's ``dim`` axis indexed by ``index`` (tuples, lists and dicts recursed).

    The default ``dim=1`` is the batch axis of an LSTM state ``(layers, B, H)``;
    ``None`` and non-tensor leaves are returned as they are.
    """
    if isinstance(state, torch.Tensor):
        return state.index_select(dim, index.to(state.device))
    if isinstance(state, tuple):
        return tuple(reorder_state(s, index, dim) for s in state)
    if isinstance(state, list):
        return [reorder_state(s, index, dim) for s in state]
    if isinstance(state, dict):
        return {k: reorder_state(s, index, dim) for k, s in state.items()}
    return state


def _check_step_output(log_probs, k: int):
    """The step function's ``log_probs`` as a float64 CPU tensor ``(k, V)``, or a clear error."""
    if not isinstance(log_probs, torch.Tensor) or log_probs.ndim != 2 or log_probs.shape[0] != k:
        got = tuple(log_probs.shape) if isinstance(log_probs, torch.Tensor) else type(log_probs).__name__
        raise ValueError(f"step must return (log_probs (K, V), state) with K = {k} rows, one per hypothesis; got {got}")
    return log_probs.detach().to("cpu", torch.float64)


def _check_search_args(step, bos_id, eos_id, max_length):
    if not callable(step):
        raise TypeError(f"step must be a function (tokens (K,), state) -> (log_probs (K, V), state); "
                        f"got {type(step).__name__}")
    for name, value in (("bos_id", bos_id), ("eos_id", eos_id)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a token id (int >= 0); got {value!r}")
    return check_positive_int("max_length", max_length)


@torch.no_grad()
def greedy_search(step: Callable, state, batch_size: int, *, bos_id: int, eos_id: int,
                  max_length: int = 50) -> list[Hypothesis]:
    """The most likely next token at every step, for a batch of ``batch_size`` independent outputs.

    ``state`` is the decoder's state for the batch; ``step`` is called with
    ``tokens (batch_size,)`` (``<bos>`` first) until every output has produced
    ``<eos>`` or ``max_length`` tokens. Returns one :class:`Hypothesis` per
    output (``score`` = ``log_prob``), in batch order.
    """
    max_length = _check_search_args(step, bos_id, eos_id, max_length)
    batch_size = check_positive_int("batch_size", batch_size)
    tokens = torch.full((batch_size,), int(bos_id), dtype=torch.long)
    chosen, kept = [], []  # per step: every output's token (B,), and whether it joins that output (B,)
    log_prob = np.zeros(batch_size)
    done = np.zeros(batch_size, dtype=bool)
    for _ in range(max_length):
        log_probs, state = step(tokens, state)
        log_probs = _check_step_output(log_probs, batch_size)
        best = log_probs.argmax(dim=1)
        best_ids = best.numpy()
        alive = ~done
        log_prob[alive] += log_probs.gather(1, best[:, None])[:, 0].numpy()[alive]
        ended = alive & (best_ids == eos_id)
        done |= ended
        chosen.append(best_ids)
        kept.append(alive & ~ended)
        if done.all():
            break
        tokens = best.to(tokens.device)
    chosen, kept = np.stack(chosen), np.stack(kept)  # (steps, B) each
    return [Hypothesis(chosen[kept[:, b], b].tolist(), float(log_prob[b]), float(log_prob[b]), bool(done[b]))
            for b in range(batch_size)]


@torch.no_grad()
def beam_search(step: Callable, state, *, bos_id: int, eos_id: int, beam_width: int = 4, max_length: int = 50,
                length_normalization: float = 1.0, state_batch_dim: int = 1,
                reorder: Callable | None = None) -> list[Hypothesis]:
    """The ``beam_width`` best outputs for one input, best first, by breadth-first search with pruning.

    Args:
        step: ``(tokens (K,), state) -> (log_probs (K, V), state)`` (see the module docstring).
        state: the decoder's state for ONE hypothesis (batch size 1 along ``state_batch_dim``).
        bos_id, eos_id: the ids that start the decoder's input and end an output.
        beam_width: how many unfinished hypotheses are kept after each step.
        max_length: the most tokens an output may take (``<eos>`` included).
        length_normalization: α in ``score = log_prob / length ** α``; 0 ranks by log-probability
            (which favours short outputs), 1 by the mean log-probability per token.
        state_batch_dim: the axis of every state tensor that holds the hypotheses.
        reorder: ``(state, index (K,)) -> state`` to keep the hypotheses ``index``; by default
            :func:`reorder_state` along ``state_batch_dim``.

    At each step every kept hypothesis is extended by every token; of the
    ``2 * beam_width`` best extensions (by log-probability) those ending in
    ``<eos>`` are finished and the best ``beam_width`` others are kept. The
    search stops early once ``beam_width`` finished outputs score at least as
    well as any kept hypothesis could (its log-probability can only fall, and
    its length is at most ``max_length``), so with a beam as wide as the
    number of possible prefixes the result is the exhaustive search's.
    Returns up to ``beam_width`` hypotheses: finished ones by score, then any
    cut off at ``max_length``.
    """
    max_length = _check_search_args(step, bos_id, eos_id, max_length)
    beam_width = check_positive_int("beam_width", beam_width)
    if isinstance(length_normalization, bool) or not isinstance(length_normalization, (int, float)) \
            or not 0 <= length_normalization < float("inf"):
        raise ValueError(f"length_normalization must be a number >= 0 (the exponent α of the length); "
                         f"got {length_normalization!r}")
    alpha = float(length_normalization)
    if reorder is None:
        def reorder(s, index):
            return reorder_state(s, index, state_batch_dim)

    def score(log_prob: float, length: int) -> float:
        return log_prob / length**alpha

    alive_tokens: list[list[int]] = [[]]
    alive_log_prob = torch.zeros(1, dtype=torch.float64)
    last = torch.tensor([int(bos_id)], dtype=torch.long)
    finished: list[Hypothesis] = []
    for t in range(1, max_length + 1):
        log_probs, state = step(last, state)
        log_probs = _check_step_output(log_probs, len(alive_tokens))
        total = alive_log_prob[:, None] + log_probs  # (K, V)
        vocab = total.shape[1]
        top = torch.topk(total.flatten(), min(2 * beam_width, total.numel()))
        keep_rows, keep_tokens, keep_log_probs = [], [], []
        for value, flat in zip(top.values.tolist(), top.indices.tolist()):
            row, token = divmod(flat, vocab)
            if token == eos_id:
                finished.append(Hypothesis(alive_tokens[row], value, score(value, t), True))
            elif len(keep_rows) < beam_width:
                keep_rows.append(row)
                keep_tokens.append(token)
                keep_log_probs.append(value)
        if not keep_rows:  # every extension worth keeping ended
            alive_tokens = []
            break
        alive_tokens = [alive_tokens[r] + [tok] for r, tok in zip(keep_rows, keep_tokens)]
        alive_log_prob = torch.tensor(keep_log_probs, dtype=torch.float64)
        index = torch.tensor(keep_rows, dtype=torch.long)
        state = reorder(state, index)
        last = torch.tensor(keep_tokens, dtype=torch.long)
        if len(finished) >= beam_width and t < max_length:
            kth_best = sorted((h.score for h in finished), reverse=True)[beam_width - 1]
            # the best any kept hypothesis could still score: its log-probability (which only falls)
            # over the longest length it could reach (a longer length lifts a negative score the most)
            reachable = max(score(lp, max_length) if alpha > 0 else lp for lp in keep_log_probs)
            if kth_best >= reachable:
                alive_tokens = []
                break
    finished.sort(key=lambda h: h.score, reverse=True)
    cut_off = sorted((Hypothesis(toks, float(lp), score(float(lp), len(toks)), False)
                      for toks, lp in zip(alive_tokens, alive_log_prob.tolist())),
                     key=lambda h: h.score, reverse=True)
    return (finished + cut_off)[:beam_width]


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
