"""Scores for generated captions: exact match, BLEU-4, per-slot accuracy, and where attention looked.

* :func:`exact_match` -- the fraction of captions equal, word for word, to the reference;
* :func:`bleu4` -- corpus BLEU-4 from ``sacrebleu`` (0-100), the usual captioning score;
* :func:`scene_slot_accuracy` -- colour, kind and relation accuracy, slot by slot
  (:func:`lstmlib.data.scenes.parse_caption`), so a score says which part of a caption fails;
* :func:`clip_slot_accuracy` -- kind and direction accuracy of clip captions;
* :func:`attention_in_box` and :func:`localisation_scores` -- the share of a word's
  attention that falls inside the box of the object the word names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstmlib.data.scenes import parse_caption

__all__ = ["attention_in_box", "bleu4", "clip_slot_accuracy", "exact_match", "localisation_scores",
           "scene_slot_accuracy"]


def _check_pairs(predicted, references) -> None:
    for name, value in (("predicted", predicted), ("references", references)):
        if isinstance(value, str) or not isinstance(value, Sequence) or not all(
                isinstance(words, (list, tuple)) for words in value):
            raise TypeError(f"{name} must be a list of captions, each a list of words; got {type(value).__name__}")
    if len(predicted) != len(references) or not predicted:
        raise ValueError(f"predicted and references must hold the same number (>= 1) of captions; "
                         f"got {len(predicted)} and {len(references)}")


def exact_match(predicted: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """The fraction of ``predicted`` captions (word lists) equal to their reference."""
    _check_pairs(predicted, references)
    return float(np.mean([list(p) == list(r) for p, r in zip(predicted, references)]))


def bleu4(predicted: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU-4 (``sacrebleu.corpus_bleu``, one reference per caption, no extra tokenisation), 0-100."""
    import sacrebleu

    _check_pairs(predicted, references)
    hypotheses = [" ".join(p) for p in predicted]
    return float(sacrebleu.corpus_bleu(hypotheses, [[" ".join(r) for r in references]], tokenize="none").score)


def scene_slot_accuracy(predicted: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """``{"colour", "kind", "relation"}``: the fraction of the references' slots the predictions fill correctly.

    Slots are compared by position (the k-th object named, the k-th relation);
    a prediction that does not parse, or names fewer objects, gets the missing
    slots wrong.
    """
    _check_pairs(predicted, references)
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
    _check_pairs(predicted, references)
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
