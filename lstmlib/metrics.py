"""How good a model is, as one number: bits per character and a text's log-probability under a model; error rates.

(Later: BLEU/chrF wrappers, span F1, forecast errors.) The
scoring functions take any *next-token model* (see :mod:`lstmlib.decoding`):
a ``torch.nn.Module`` with an int ``vocab_size`` mapping ids ``(T, B)`` to
``(logits (T, B, vocab_size), state)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from lstmlib._checks import check_next_token_model, check_positive_int, check_token_ids

__all__ = ["bits_per_char", "edit_distance", "error_rate", "lstm_cross_entropy", "lstm_log_probs"]


def bits_per_char(nats: float) -> float:
    """Convert a cross-entropy from nats (natural log) to bits (log base 2) per character."""
    return float(nats) / math.log(2.0)


@torch.no_grad()
def lstm_log_probs(model, ids: np.ndarray, *, tracks: int = 32, chunk: int = 256) -> np.ndarray:
    """``log p(ids[t] | ids[:t])`` in nats under ``model`` for ``t = 1 .. N-1``: shape ``(N - 1,)``.

    The text is cut into ``tracks`` contiguous pieces run side by side as one
    batch, each from a zero state, ``chunk`` steps at a time with the state
    carried across chunks. Only the first few characters of each piece miss
    their true history, a negligible handicap for long texts.
    """
    model = check_next_token_model("model", model)
    ids = check_token_ids("ids", ids, vocab_size=model.vocab_size, min_tokens=2)
    tracks, chunk = check_positive_int("tracks", tracks), check_positive_int("chunk", chunk)
    n = ids.size - 1  # number of predictions
    tracks = min(tracks, n)
    steps = -(-n // tracks)  # ceil: time steps per track
    pad = np.zeros(steps * tracks - n, dtype=np.int64)
    inputs = np.concatenate([ids[:-1], pad]).reshape(tracks, steps).T  # (steps, B): track b is column b
    targets = np.concatenate([ids[1:], pad]).reshape(tracks, steps).T
    device = next(model.parameters()).device
    inputs, targets = torch.from_numpy(inputs.copy()).to(device), torch.from_numpy(targets.copy()).to(device)
    was_training = model.training
    model.eval()
    log_p, state = torch.empty(steps, tracks, dtype=torch.float64, device=device), None
    for start in range(0, steps, chunk):
        logits, state = model(inputs[start:start + chunk], state)  # (chunk, B, V)
        log_softmax = F.log_softmax(logits.double(), dim=-1)
        log_p[start:start + chunk] = log_softmax.gather(2, targets[start:start + chunk, :, None])[..., 0]
    model.train(was_training)
    return log_p.T.reshape(-1)[:n].cpu().numpy()  # back to text order, padding dropped


def lstm_cross_entropy(model, ids: np.ndarray, *, tracks: int = 32, chunk: int = 256) -> float:
    """Mean negative log-probability of ``ids[1:]`` under ``model``, in nats per character."""
    return float(-lstm_log_probs(model, ids, tracks=tracks, chunk=chunk).mean())


def edit_distance(reference, hypothesis) -> int:
    """Levenshtein distance: the fewest substitutions, insertions and deletions that turn one sequence into the other.

    ``reference`` and ``hypothesis`` are sequences (str, list, tuple) of
    comparable items, e.g. digit strings ``"407"`` or lists of label ids.
    """
    for name, value in (("reference", reference), ("hypothesis", hypothesis)):
        if not isinstance(value, (str, list, tuple)):
            raise TypeError(f"{name} must be a str, list or tuple; got {type(value).__name__}")
    previous = list(range(len(hypothesis) + 1))  # distances from reference[:0] to every prefix of hypothesis
    for i, ref_item in enumerate(reference, start=1):
        current = [i]
        for j, hyp_item in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1,  # delete ref_item
                               current[j - 1] + 1,  # insert hyp_item
                               previous[j - 1] + (ref_item != hyp_item)))  # substitute (free if equal)
        previous = current
    return previous[-1]


def error_rate(references, hypotheses) -> float:
    """Total edit distance over total reference length: the word, character or digit error rate.

    ``references`` and ``hypotheses`` are equally long lists of sequences
    (see :func:`edit_distance`); pooled over the whole list, so long
    references weigh more. Can exceed 1 when the hypotheses insert a lot.
    """
    if not isinstance(references, (list, tuple)) or not isinstance(hypotheses, (list, tuple)):
        raise TypeError(f"references and hypotheses must be lists of sequences; got {type(references).__name__} and "
                        f"{type(hypotheses).__name__}")
    if len(references) != len(hypotheses):
        raise ValueError(f"hypotheses must have one entry per reference ({len(references)}); got {len(hypotheses)}")
    total = sum(len(reference) for reference in references)
    if total == 0:
        raise ValueError("references must hold at least one item in all (the rate divides by their total length)")
    return sum(edit_distance(r, h) for r, h in zip(references, hypotheses)) / total
