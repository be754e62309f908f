"""Captioned scenes and captioned motion clips, generated offline, for image and video captioning.

No captioned image set ships with a package the book can install, so the
captioning chapter draws its own, with captions that a small grammar
writes from what was drawn.

**Scenes** (:func:`make_scenes`): 32 x 32 RGB images on a black background
holding one to three objects. An object is a colour (:data:`COLOURS`) and a
kind: a shape (square, circle, triangle) or one of scikit-learn's 8 x 8
handwritten digit glyphs, "0" to "9" (:data:`KINDS`). Objects sit in the
cells of a 3 x 3 grid (jittered by a pixel); consecutive objects of a caption
share a row or a column, so one of four relations always holds between them
without doubt. The caption names the objects in a fixed order, by the rank
of their colour in :data:`COLOURS` (a scene never repeats a colour), with
the relation of each to the next::

    a red square
    a green 7 left of a white circle
    a red 3 above a blue triangle right of a yellow 0

**Held-out parts** test composition rather than memory: the colour x kind
pairs in :data:`HELD_OUT_PAIRS` and the (colour, relation, colour) triples in
:data:`HELD_OUT_RELATIONS` never occur in the ``"train"`` split. The splits:

* ``"train"`` and ``"test"``: neither held-out part; digit glyphs from the
  first 1437 of sklearn's digits for train, the last 360 for every other split;
* ``"heldout_pairs"``: every scene shows at least one held-out colour x kind pair;
* ``"heldout_relations"``: every scene has at least one held-out relation triple.

**Clips** (:func:`make_clips`): short grey videos of one digit glyph or shape
that moves in one direction for the first half of the clip and in a
perpendicular one for the second, captioned "the 3 moves left then up".
They are drawn with the same glyphs as :mod:`lstmlib.data.moving_digits`
(the ConvLSTM chapter's bouncing digits); the path here is scripted, not
bouncing, so that the caption can say what happened. A clip played
backwards is a clip of the reverse motion ("down then right" for "left then
up"), drawn by the same generator: the set of frames is the same, only
their order differs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lstmlib._checks import check_choice, check_positive_int, check_rng
from lstmlib.data.moving_digits import load_digit_images

__all__ = [
    "CLIP_SPLITS",
    "COLOURS",
    "DIRECTIONS",
    "HELD_OUT_PAIRS",
    "HELD_OUT_RELATIONS",
    "KINDS",
    "RELATIONS",
    "SCENE_SPLITS",
    "CaptionSlots",
    "ClipSet",
    "SceneSet",
    "clip_words",
    "make_clips",
    "make_scenes",
    "parse_caption",
    "scene_caption",
    "scene_words",
    "shape_masks",
]

#: The colours, in the order a caption names them (RGB in [0, 1]).
COLOURS = {"red": (1.0, 0.15, 0.1), "green": (0.1, 0.85, 0.15), "blue": (0.25, 0.4, 1.0),
           "yellow": (1.0, 0.9, 0.1), "white": (1.0, 1.0, 1.0)}
SHAPES = ("square", "circle", "triangle")
#: What an object can be: three shapes and the ten digits.
KINDS = SHAPES + tuple(str(d) for d in range(10))
#: The relation of an object to the next one in its caption (each a list of words).
RELATIONS = {"left": ("left", "of"), "right": ("right", "of"), "above": ("above",), "below": ("below",)}
#: Colour x kind pairs that no training scene shows.
HELD_OUT_PAIRS = (("red", "circle"), ("green", "triangle"), ("blue", "square"), ("yellow", "7"), ("white", "2"),
                  ("blue", "5"))
#: (colour of the first object, relation, colour of the next) triples that no training caption holds.
HELD_OUT_RELATIONS = (("red", "above", "blue"), ("green", "right", "white"), ("blue", "left", "yellow"),
                      ("yellow", "below", "white"))
SCENE_SPLITS = ("train", "test", "heldout_pairs", "heldout_relations")
CLIP_SPLITS = ("train", "test")
#: The four directions of motion, as (row, column) steps.
DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}

SCENE_SIZE = 32
OBJECT_SIZE = 8
_CELL_CORNERS = (1, 12, 23)  # top-left pixel of the objects in the three rows/columns of the grid


@functools.cache
def shape_masks() -> dict[str, np.ndarray]:
    """The three shapes as 8 x 8 float32 masks in [0, 1] (read-only): square, circle, triangle."""
    rows, cols = np.mgrid[0:OBJECT_SIZE, 0:OBJECT_SIZE] + 0.5
    square = np.zeros((OBJECT_SIZE, OBJECT_SIZE), np.float32)
    square[1:7, 1:7] = 1.0
    circle = (((rows - 4) ** 2 + (cols - 4) ** 2) <= 3.6**2).astype(np.float32)
    # apex at the top middle, base along the bottom row: |col - 4| <= half the height reached so far
    triangle = ((rows >= 0.5) & (np.abs(cols - 4) <= (rows - 0.5) * 0.5 + 0.5)).astype(np.float32)
    masks = {"square": square, "circle": circle, "triangle": triangle}
    for mask in masks.values():
        mask.setflags(write=False)
    return masks


def scene_words() -> list[str]:
    """Every word a scene caption can use, in a fixed order (build a ``WordVocab`` from it)."""
    relation_words = dict.fromkeys(word for words in RELATIONS.values() for word in words)
    return ["a", *COLOURS, *KINDS, *relation_words]


def clip_words() -> list[str]:
    """Every word a clip caption can use, in a fixed order."""
    return ["the", *KINDS, "moves", *DIRECTIONS, "then"]


@dataclass(frozen=True)
class CaptionSlots:
    """What a scene caption says, slot by slot: ``colours[k]``, ``kinds[k]`` of the k-th object named,
    ``relations[k]`` between objects k and k + 1 (a key of :data:`RELATIONS`)."""

    colours: tuple[str, ...]
    kinds: tuple[str, ...]
    relations: tuple[str, ...]


def scene_caption(slots: CaptionSlots) -> list[str]:
    """The caption's words for ``slots``: ``a <colour> <kind> (<relation words> a <colour> <kind>)*``."""
    words = ["a", slots.colours[0], slots.kinds[0]]
    for relation, colour, kind in zip(slots.relations, slots.colours[1:], slots.kinds[1:]):
        words += [*RELATIONS[relation], "a", colour, kind]
    return words


def parse_caption(words) -> CaptionSlots | None:
    """The slots a scene caption fills, or None if ``words`` does not follow the grammar.

    The inverse of :func:`scene_caption` (a generated caption may be malformed:
    then every slot counts as wrong).
    """
    words = list(words)
    relation_of = {words_: name for name, words_ in RELATIONS.items()}
    colours, kinds, relations, k = [], [], [], 0
    while True:
        if words[k:k + 1] != ["a"] or len(words) < k + 3 or words[k + 1] not in COLOURS or words[k + 2] not in KINDS:
            return None
        colours.append(words[k + 1])
        kinds.append(words[k + 2])
        k += 3
        if k == len(words):
            return CaptionSlots(tuple(colours), tuple(kinds), tuple(relations))
        for relation_words, name in relation_of.items():
            if tuple(words[k:k + len(relation_words)]) == relation_words:
                relations.append(name)
                k += len(relation_words)
                break
        else:
            return None


@dataclass(frozen=True)
class SceneSet:
    """A batch of scenes and what is in them.

    ``images``: (N, 3, 32, 32) float32 in [0, 1]; ``captions``: N word lists;
    ``slots``: N :class:`CaptionSlots`; ``boxes``: N lists of ``(row0, col0, row1, col1)``
    pixel boxes (end exclusive), one per object in the caption's order; ``split``: its name.
    """

    images: np.ndarray
    captions: list[list[str]]
    slots: list[CaptionSlots]
    boxes: list[list[tuple[int, int, int, int]]]
    split: str

    def __len__(self) -> int:
        return len(self.captions)


def _split_rng(rng, split_index: int) -> np.random.Generator:
    """A generator for one split: an int seed is mixed with the split, so that the same seed
    never gives the same scenes in two splits; a Generator is used as it is."""
    gen = check_rng("rng", rng)
    if isinstance(rng, np.random.Generator):
        return gen
    return np.random.default_rng([int(gen.integers(2**32)), split_index])


def _draw_layout(gen: np.random.Generator) -> tuple[list[tuple[int, int]], list[str]]:
    """Grid cells of 1-3 objects in caption order, each sharing a row or a column with the one before,
    and the relations between consecutive ones."""
    n_objects = int(gen.integers(1, 4))
    cells = [(int(gen.integers(3)), int(gen.integers(3)))]
    relations = []
    while len(cells) < n_objects:
        r, c = cells[-1]
        options = [(r, c2) for c2 in range(3) if c2 != c] + [(r2, c) for r2 in range(3) if r2 != r]
        options = [cell for cell in options if cell not in cells]
        r2, c2 = options[int(gen.integers(len(options)))]
        relations.append("left" if c < c2 else "right" if c > c2 else "above" if r < r2 else "below")
        cells.append((r2, c2))
    return cells, relations


def _wanted(slots: CaptionSlots, split: str) -> bool:
    pairs = set(zip(slots.colours, slots.kinds))
    triples = set(zip(slots.colours, slots.relations, slots.colours[1:]))
    has_pair = bool(pairs & set(HELD_OUT_PAIRS))
    has_relation = bool(triples & set(HELD_OUT_RELATIONS))
    if split in ("train", "test"):
        return not has_pair and not has_relation
    if split == "heldout_pairs":
        return has_pair and not has_relation
    return has_relation and not has_pair


def make_scenes(n: int, split: str = "train", rng=None) -> SceneSet:
    """``n`` captioned scenes of the split ``split`` (see the module docstring).

    Args:
        n: number of scenes.
        split: one of :data:`SCENE_SPLITS`.
        rng: None, an int seed (mixed with the split: one seed gives different scenes in
            different splits) or a ``numpy.random.Generator`` (advanced in place).

    Scenes are drawn (layout, then colours and kinds) until ``n`` belong to the
    split; each object's brightness is scaled by a factor in [0.75, 1], and its
    grid cell's corner is jittered by up to one pixel.
    """
    n = check_positive_int("n", n)
    check_choice("split", split, SCENE_SPLITS)
    gen = _split_rng(rng, SCENE_SPLITS.index(split))
    glyphs, labels = load_digit_images("train" if split == "train" else "test")
    glyphs_of = {str(d): np.flatnonzero(labels == d) for d in range(10)}
    masks = shape_masks()
    colour_names = list(COLOURS)
    images = np.zeros((n, 3, SCENE_SIZE, SCENE_SIZE), np.float32)
    captions, all_slots, all_boxes = [], [], []
    while len(captions) < n:
        cells, relations = _draw_layout(gen)
        colour_ids = np.sort(gen.choice(len(colour_names), size=len(cells), replace=False))  # caption order
        kinds = tuple(KINDS[int(k)] for k in gen.integers(len(KINDS), size=len(cells)))
        slots = CaptionSlots(tuple(colour_names[int(c)] for c in colour_ids), kinds, tuple(relations))
        if not _wanted(slots, split):
            continue
        image, boxes = images[len(captions)], []
        for (row, col), colour, kind in zip(cells, slots.colours, kinds):
            top, left = (_CELL_CORNERS[row] + int(gen.integers(-1, 2)), _CELL_CORNERS[col] + int(gen.integers(-1, 2)))
            if kind in masks:
                mask = masks[kind]
            else:
                candidates = glyphs_of[kind]
                mask = glyphs[candidates[int(gen.integers(candidates.size))]]
            paint = np.asarray(COLOURS[colour], np.float32)[:, None, None] * mask * gen.uniform(0.75, 1.0)
            window = image[:, top:top + OBJECT_SIZE, left:left + OBJECT_SIZE]
            np.maximum(window, paint, out=window)
            boxes.append((top, left, top + OBJECT_SIZE, left + OBJECT_SIZE))
        captions.append(scene_caption(slots))
        all_slots.append(slots)
        all_boxes.append(boxes)
    return SceneSet(images, captions, all_slots, all_boxes, split)


@dataclass(frozen=True)
class ClipSet:
    """A batch of motion clips.

    ``frames``: (T, N, 1, H, W) float32 in [0, 1], time-major; ``captions``: N word lists
    ``the <kind> moves <first> then <second>``; ``kinds``, ``first``, ``second``: N strings each;
    ``positions``: (T, N, 2) int64, the object's top-left (row, column) in each frame.
    """

    frames: np.ndarray
    captions: list[list[str]]
    kinds: list[str]
    first: list[str]
    second: list[str]
    positions: np.ndarray

    def __len__(self) -> int:
        return len(self.captions)


def make_clips(n: int, split: str = "train", *, length: int = 9, canvas_size: int = 24, speed: int = 2,
               rng=None) -> ClipSet:
    """``n`` clips of one object moving one way, then a perpendicular way (see the module docstring).

    Args:
        n: number of clips.
        split: ``"train"`` or ``"test"``: which of sklearn's digit glyphs are drawn.
        length: T, frames per clip, odd: frame 0, then ``(T - 1) / 2`` moves each way.
        canvas_size: H = W in pixels; the path must fit: ``canvas_size >= 8 + speed * (T - 1) / 2``.
        speed: pixels per frame.
        rng: None, an int seed (mixed with the split) or a ``numpy.random.Generator``.

    Directions are drawn uniformly (the second perpendicular to the first), so a
    clip and its time reversal are equally likely. The start is uniform among the
    corners from which the whole path stays on the canvas.
    """
    n = check_positive_int("n", n)
    check_choice("split", split, CLIP_SPLITS)
    length = check_positive_int("length", length)
    if length < 3 or length % 2 == 0:
        raise ValueError(f"length must be an odd number of frames >= 3 (two equal halves of motion); got {length}")
    speed = check_positive_int("speed", speed)
    canvas_size = check_positive_int("canvas_size", canvas_size)
    half = (length - 1) // 2
    if canvas_size < OBJECT_SIZE + speed * half:
        raise ValueError(f"canvas_size must be at least {OBJECT_SIZE + speed * half} for the path of "
                         f"{half} moves of {speed} pixels each way; got {canvas_size}")
    gen = _split_rng(rng, CLIP_SPLITS.index(split))
    glyphs, labels = load_digit_images(split)
    masks = shape_masks()
    names = list(DIRECTIONS)
    frames = np.zeros((length, n, 1, canvas_size, canvas_size), np.float32)
    positions = np.zeros((length, n, 2), np.int64)
    captions, kinds, firsts, seconds = [], [], [], []
    for b in range(n):
        first = names[int(gen.integers(4))]
        perpendicular = [d for d in names if DIRECTIONS[d][0] * DIRECTIONS[first][0] + DIRECTIONS[d][1]
                         * DIRECTIONS[first][1] == 0]
        second = perpendicular[int(gen.integers(2))]
        steps = np.array([DIRECTIONS[first]] * half + [DIRECTIONS[second]] * half) * speed  # (T-1, 2)
        path = np.concatenate([[[0, 0]], np.cumsum(steps, axis=0)])  # (T, 2) relative to the start
        low, high = -path.min(axis=0), canvas_size - OBJECT_SIZE - path.max(axis=0)  # start range per axis
        start = np.array([gen.integers(low[a], high[a] + 1) for a in range(2)])
        kind = KINDS[int(gen.integers(len(KINDS)))]
        if kind in masks:
            sprite = masks[kind]
        else:
            candidates = np.flatnonzero(labels == int(kind))
            sprite = glyphs[candidates[int(gen.integers(candidates.size))]]
        sprite = sprite * gen.uniform(0.75, 1.0)
        for t, (row, col) in enumerate(start + path):
            frames[t, b, 0, row:row + OBJECT_SIZE, col:col + OBJECT_SIZE] = sprite
        positions[:, b] = start + path
        captions.append(["the", kind, "moves", first, "then", second])
        kinds.append(kind)
        firsts.append(first)
        seconds.append(second)
    return ClipSet(frames, captions, kinds, firsts, seconds, positions)
