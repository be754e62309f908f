"""How good a model is, as one number: bits per character, BLEU and chrF, accuracy with its interval, error
rates, forecast errors, caption slots and where attention looked.

The language-model scoring functions take any *next-token model* (see :mod:`lstmlib.decoding`):
a ``torch.nn.Module`` with an int ``vocab_size`` mapping ids ``(T, B)`` to
``(logits (T, B, vocab_size), state)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import torch
from scipy import stats
from torch.nn import functional as F

from lstmlib._checks import check_next_token_model, check_positive_int, check_token_ids

__all__ = [
    "accuracy_interval",
    "bio_spans",
    "attention_in_box",
    "bits_per_char",
    "clip_slot_accuracy",
    "diebold_mariano",
    "directional_accuracy",
    "edit_distance",
    "entity_f1",
    "error_rate",
    "interval_coverage",
    "localisation_scores",
    "lstm_cross_entropy",
    "lstm_log_probs",
    "mae",
    "mape",
    "mase",
    "rmse",
    "scene_slot_accuracy",
    "translation_scores",
]


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


# ---- forecast errors -------------------------------------------------------------------------------------------
# Forecasts come as (N, H) arrays: N forecast origins, H steps ahead (lstmlib.forecasting). Every error below is
# averaged over the origins, axis 0, and so returns one number per horizon, (H,) (a scalar for (N,) input).


def _forecast_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_pred must have the shape of y_true {y_true.shape} (N, H); got {y_pred.shape}")
    if y_true.ndim not in (1, 2) or y_true.shape[0] == 0:
        raise ValueError(f"y_true must be (N,) or (N, H) with N >= 1; got shape {y_true.shape}")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise ValueError("y_true and y_pred must be finite (no NaN or inf)")
    return y_true, y_pred


def mae(y_true, y_pred) -> np.ndarray:
    """Mean absolute error over the origins (axis 0): ``mean |y - y_hat|``, shape ``(H,)``."""
    y_true, y_pred = _forecast_pair(y_true, y_pred)
    return np.abs(y_true - y_pred).mean(axis=0)


def rmse(y_true, y_pred) -> np.ndarray:
    """Root mean squared error over the origins (axis 0), shape ``(H,)``."""
    y_true, y_pred = _forecast_pair(y_true, y_pred)
    return np.sqrt(((y_true - y_pred) ** 2).mean(axis=0))


def mape(y_true, y_pred) -> np.ndarray:
    """Mean absolute percentage error, ``100 mean |y - y_hat| / |y|``, shape ``(H,)``; y must not be 0."""
    y_true, y_pred = _forecast_pair(y_true, y_pred)
    if (y_true == 0).any():
        raise ValueError("y_true must not contain 0 for MAPE (a percentage of 0 is undefined); use mae or mase")
    return 100.0 * np.abs((y_true - y_pred) / y_true).mean(axis=0)


def mase(y_true, y_pred, train, period: int = 1) -> np.ndarray:
    """Mean absolute scaled error (Hyndman & Koehler 2006), shape ``(H,)``.

    The MAE divided by the in-sample MAE of the seasonal-naive forecast on
    the training values, ``mean_t |train[t] - train[t - period]|``: below 1,
    the forecasts beat what repeating last season did on the training data.
    ``period=1`` is Hyndman & Koehler's own scale (the one-step naive
    forecast); ``period > 1`` is its usual seasonal variant.

    Book: :eq:`mase` (chapter III.8, Forecasting time series: an LSTM against honest baselines).
    """
    y_true, y_pred = _forecast_pair(y_true, y_pred)
    period = check_positive_int("period", period)
    train = np.asarray(train, dtype=np.float64)
    if train.ndim != 1 or train.size <= period:
        raise ValueError(f"train must be a 1-D series longer than period={period}; got shape {train.shape}")
    scale = np.abs(train[period:] - train[:-period]).mean()
    if not scale > 0:
        raise ValueError("train must not repeat exactly every period steps (the seasonal-naive error is 0)")
    return np.abs(y_true - y_pred).mean(axis=0) / scale


def diebold_mariano(errors_a, errors_b, horizon: int = 1, power: int = 2) -> tuple[float, float]:
    """Diebold--Mariano test of equal accuracy for two forecasts of the same targets: ``(statistic, p_value)``.

    ``errors_a`` and ``errors_b`` are ``(N,)`` forecast errors at one
    horizon, on the same N consecutive origins. The loss differential
    ``d_n = |e_a|^power - |e_b|^power`` has mean ``d_bar``; its variance
    counts autocovariances up to lag ``horizon - 1`` (errors of h-step
    forecasts overlap; where their plain sum is not positive, with Newey--West
    weights ``1 - k / h``). The statistic, with Harvey, Leybourne & Newbold's
    small-sample correction, is compared with Student's t on N - 1 degrees of
    freedom (two-sided). Negative: forecast a has the smaller loss.
    """
    a, b = _forecast_pair(errors_a, errors_b)
    horizon = check_positive_int("horizon", horizon)
    power = check_positive_int("power", power)
    if a.ndim != 1 or a.size < 3:
        raise ValueError(f"errors_a must be (N,) with N >= 3; got shape {a.shape}")
    d = np.abs(a) ** power - np.abs(b) ** power
    n, d_bar = d.size, d.mean()
    centred = d - d_bar
    gamma = np.array([centred[k:] @ centred[:n - k] / n for k in range(min(horizon, n))])  # lags 0 .. h-1
    variance = (gamma[0] + 2 * gamma[1:].sum()) / n
    if not variance > 0 and horizon > 1:
        # The plain sum of autocovariances can come out negative for long horizons; Newey and West's
        # tapering weights 1 - k / h always give a positive estimate.
        weights = 1 - np.arange(1, gamma.size) / horizon
        variance = (gamma[0] + 2 * (weights * gamma[1:]).sum()) / n
    if not variance > 0:
        raise ValueError("errors_a and errors_b must differ in loss (the loss differential has no variance)")
    correction = np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    statistic = correction * d_bar / np.sqrt(variance)
    return float(statistic), float(2 * stats.t.sf(abs(statistic), df=n - 1))


def interval_coverage(y_true, lower, upper) -> np.ndarray:
    """Share of targets inside ``[lower, upper]``, per horizon: ``(H,)`` in [0, 1]."""
    y_true, lower = _forecast_pair(y_true, lower)
    _, upper = _forecast_pair(y_true, upper)
    if (lower > upper).any():
        raise ValueError("lower must not exceed upper anywhere")
    return ((y_true >= lower) & (y_true <= upper)).mean(axis=0)


def directional_accuracy(y_true, y_pred, y_last) -> float:
    """Share of forecasts that move in the direction the series moved from ``y_last`` (ties in the truth dropped).

    All three are ``(N,)``; a forecast equal to ``y_last`` counts as a wrong call.
    """
    y_true, y_pred = _forecast_pair(y_true, y_pred)
    _, y_last = _forecast_pair(y_true, y_last)
    moved = y_true != y_last
    if not moved.any():
        raise ValueError("y_true must differ from y_last somewhere (no move, no direction)")
    return float((np.sign(y_pred - y_last) == np.sign(y_true - y_last))[moved].mean())


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


# -- captions (the captioning chapter; exact match and BLEU come from translation_scores on the joined words) --

def _check_caption_pairs(predicted, references) -> None:
    for name, value in (("predicted", predicted), ("references", references)):
        if isinstance(value, str) or not isinstance(value, Sequence) or not all(
                isinstance(words, (list, tuple)) for words in value):
            raise TypeError(f"{name} must be a list of captions, each a list of words; got {type(value).__name__}")
    if len(predicted) != len(references) or not predicted:
        raise ValueError(f"predicted and references must hold the same number (>= 1) of captions; "
                         f"got {len(predicted)} and {len(references)}")


def scene_slot_accuracy(predicted: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """``{"colour", "kind", "relation"}``: the fraction of the references' slots the predictions fill correctly.

    Slots are compared by position (the k-th object named, the k-th relation);
    a prediction that does not parse, or names fewer objects, gets the missing
    slots wrong.
    """
    from lstmlib.data.scenes import parse_caption

    _check_caption_pairs(predicted, references)
    right = {"colour": 0, "kind": 0, "relation": 0}
    total = dict.fromkeys(right, 0)
    for p, r in zip(predicted, references):
        truth, guess = parse_caption(r), parse_caption(p)
        if truth is None:
            raise ValueError(f"references must follow the scene grammar; got {' '.join(r)!r}")
        for slot, attribute in (("colour", "colours"), ("kind", "kinds"), ("relation", "relations")):
            expected = getattr(truth, attribute)
            got = getattr(guess, attribute) if guess is not None else ()
            total[slot] += len(expected)
            right[slot] += sum(e == g for e, g in zip(expected, got))
    return {slot: right[slot] / total[slot] if total[slot] else float("nan") for slot in right}


def clip_slot_accuracy(predicted: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """``{"kind", "direction"}`` for captions ``the <kind> moves <first> then <second>``: the kind word,
    and the two direction words (each counted on its own)."""
    _check_caption_pairs(predicted, references)
    kind = direction = 0
    for p, r in zip(predicted, references):
        p = list(p) + [""] * max(0, 6 - len(p))
        kind += p[1] == r[1]
        direction += (p[3] == r[3]) + (p[5] == r[5])
    return {"kind": kind / len(references), "direction": direction / (2 * len(references))}


def attention_in_box(weights: np.ndarray, box: tuple[int, int, int, int], image_size: int) -> float:
    """The share of the attention ``weights (h, w)`` (summing to 1) that falls inside ``box``.

    Each grid cell covers an ``image_size / h`` square of pixels and spreads its
    weight evenly over them; ``box = (row0, col0, row1, col1)`` in pixels, end
    exclusive. Uniform weights give the box's share of the image's area.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1] or image_size % weights.shape[0]:
        raise ValueError(f"weights must be a square grid (h, h) with h dividing image_size={image_size}; "
                         f"got shape {weights.shape}")
    cell = image_size // weights.shape[0]
    pixels = np.kron(weights, np.ones((cell, cell))) / cell**2  # (image_size, image_size), sums to 1
    row0, col0, row1, col1 = box
    return float(pixels[row0:row1, col0:col1].sum())


def localisation_scores(captions, weights, references, boxes, image_size: int) -> dict[str, float]:
    """Mean attention mass inside the named object's box, when its colour and its kind word are emitted.

    For every caption that names as many objects as its reference (so the k-th
    object named is the reference's k-th object), the weights of the step that
    emitted the k-th colour word (and kind word) are scored against the k-th
    box with :func:`attention_in_box`. Returns ``{"colour", "kind", "uniform", "words"}``:
    the two means, what uniform attention scores on the same boxes, and how many
    kind words were scored.
    """
    from lstmlib.data.scenes import parse_caption

    scores: dict[str, list[float]] = {"colour": [], "kind": [], "uniform": []}
    for words, grid_weights, reference, scene_boxes in zip(captions, weights, references, boxes):
        guess, truth = parse_caption(words), parse_caption(reference)
        if guess is None or len(guess.kinds) != len(truth.kinds):
            continue
        object_starts = [k for k, word in enumerate(words) if word == "a"]  # "a <colour> <kind>"
        uniform = np.full(grid_weights.shape[1:], 1.0 / grid_weights[0].size)
        for start, box in zip(object_starts, scene_boxes):
            scores["colour"].append(attention_in_box(grid_weights[start + 1], box, image_size))
            scores["kind"].append(attention_in_box(grid_weights[start + 2], box, image_size))
            scores["uniform"].append(attention_in_box(uniform, box, image_size))
    out = {name: float(np.mean(values)) if values else float("nan") for name, values in scores.items()}
    out["words"] = len(scores["kind"])
    return out
# ----------------------------------------------------------------------------------------------------------------
# Named entities: exact-span precision, recall and F1 over BIO tags.

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
