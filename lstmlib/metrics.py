"""How good a model is, as one number: bits per character and a text's log-probability under a model.

(Later: BLEU/chrF wrappers, error rates, span F1, forecast errors.) The
scoring functions take any *next-token model* (see :mod:`lstmlib.decoding`):
a ``torch.nn.Module`` with an int ``vocab_size`` mapping ids ``(T, B)`` to
``(logits (T, B, vocab_size), state)``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import torch
from torch.nn import functional as F

from lstmlib._checks import check_next_token_model, check_positive_int, check_token_ids

__all__ = ["accuracy_interval", "bits_per_char", "lstm_cross_entropy", "lstm_log_probs", "translation_scores"]


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


def translation_scores(outputs, references) -> dict[str, float]:
    """Exact match, BLEU and chrF of ``outputs`` against one reference each, as fractions in [0, 1].

    ``outputs`` and ``references`` are equal-length lists of sentences (str).
    Returns ``{"exact_match", "bleu", "chrf"}``: the share of outputs equal
    to their reference, and sacrebleu's corpus BLEU and chrF (default
    settings, its 13a tokeniser) divided by 100.
    """
    import sacrebleu

    for name, texts in (("outputs", outputs), ("references", references)):
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"{name} must be a list of str sentences; got {type(texts).__name__}")
    if len(outputs) != len(references) or not outputs:
        raise ValueError(f"outputs and references must be non-empty and of equal length; "
                         f"got {len(outputs)} and {len(references)}")
    exact = sum(o == r for o, r in zip(outputs, references)) / len(outputs)
    bleu = sacrebleu.corpus_bleu(list(outputs), [list(references)]).score / 100
    chrf = sacrebleu.corpus_chrf(list(outputs), [list(references)]).score / 100
    return {"exact_match": float(exact), "bleu": float(bleu), "chrf": float(chrf)}


def accuracy_interval(correct, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(accuracy, low, high)``: the share of True in ``correct`` and its Wilson score interval.

    ``correct`` is a 1-D bool (or 0/1) array, one entry per test example.
    The interval treats the examples as independent draws (Wilson 1927); it
    covers the accuracy a model would reach on more text like the test set at
    the stated ``confidence``, and is never wider than [0, 1].
    """
    correct = np.asarray(correct)
    if correct.ndim != 1 or correct.size == 0:
        raise ValueError(f"correct must be a non-empty 1-D array (one entry per example); got shape {correct.shape}")
    if correct.dtype != bool and not (np.issubdtype(correct.dtype, np.integer) and np.isin(correct, (0, 1)).all()):
        raise TypeError(f"correct must hold bools or 0/1 ints; got dtype {correct.dtype}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number in (0, 1); got {confidence!r}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n, accuracy = correct.size, float(correct.mean())
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n))
    return accuracy, max(0.0, centre - half), min(1.0, centre + half)
