"""How good a model is, as one number: bits per character and a text's log-probability under a model.

(Later: BLEU/chrF wrappers, error rates, span F1, forecast errors.) The
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

__all__ = ["bits_per_char", "lstm_cross_entropy", "lstm_log_probs"]


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


# ----------------------------------------------------------------------------------------------------------------
# Named entities: exact-span precision, recall and F1 over BIO tags.

__all__ += ["bio_spans", "entity_f1"]


def bio_spans(tags) -> set[tuple[str, int, int]]:
    """The entities of one BIO tag sequence as ``{(type, start, end)}`` (``end`` exclusive).

    ``B-X`` opens an entity of type X and ``I-X`` continues an open X. As in
    the CoNLL evaluation script, an ``I-X`` that continues nothing (after
    ``O`` or after another type) opens a new entity rather than being dropped.

    >>> sorted(bio_spans(["B-PER", "I-PER", "O", "I-LOC"]))
    [('LOC', 3, 4), ('PER', 0, 2)]
    """
    if isinstance(tags, str):
        raise TypeError("tags must be a list of BIO tags (str), not one str")
    spans, kind, start = set(), None, 0
    for t, tag in enumerate(list(tags) + ["O"]):
        if not isinstance(tag, str) or not (tag == "O" or tag[:2] in ("B-", "I-") and len(tag) > 2):
            raise ValueError(f"tags[{t}] must be 'O', 'B-<type>' or 'I-<type>'; got {tag!r}")
        continues = tag.startswith("I-") and tag[2:] == kind
        if kind is not None and not continues:
            spans.add((kind, start, t))
            kind = None
        if tag != "O" and not continues:
            kind, start = tag[2:], t
    return spans


def entity_f1(gold, predicted) -> dict[str, dict[str, float]]:
    """Exact-span scores of ``predicted`` against ``gold`` tag sequences (lists of lists of BIO tags).

    An entity counts as found only if its type and both its ends are right.
    Returns ``{"all": {...}, "<type>": {...}}``, each ``{"precision", "recall",
    "f1", "support"}`` (``support``: the number of gold entities). A type with
    no gold and no predicted entity is left out; 0/0 counts as 0. Keys come
    in a fixed order: ``"all"``, then the types alphabetically.
    """
    if isinstance(gold, str) or isinstance(predicted, str) or len(gold) != len(predicted):
        raise ValueError(f"gold and predicted must be lists of the same number of tag sequences; got "
                         f"{len(gold)} and {len(predicted)}")
    found: dict[str, list[int]] = {}  # type -> [true positives, predicted, gold]
    for k, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"predicted[{k}] must have as many tags as gold[{k}] ({len(g)}); got {len(p)}")
        gold_spans, predicted_spans = bio_spans(g), bio_spans(p)
        for spans, column in ((gold_spans & predicted_spans, 0), (predicted_spans, 1), (gold_spans, 2)):
            for kind, *_ in spans:
                found.setdefault(kind, [0, 0, 0])[column] += 1
    found["all"] = [sum(counts[i] for counts in found.values()) for i in range(3)]

    def scores(hits: int, guessed: int, actual: int) -> dict[str, float]:
        precision, recall = hits / guessed if guessed else 0.0, hits / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": actual}

    # "all" first, then the types in alphabetical order (never in a set's order, which varies from run to run)
    return {kind: scores(*counts) for kind, counts in sorted(found.items(), key=lambda kv: (kv[0] != "all", kv[0]))}
