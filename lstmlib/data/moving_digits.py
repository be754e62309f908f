"""Moving digits: small videos of handwritten digits bouncing around a canvas.

Shi et al. (2015) introduced the convolutional LSTM and tested it first on
*Moving MNIST*: 64 x 64 videos of two 28 x 28 MNIST digits that drift in
straight lines and bounce off the edges; the model sees some frames and
predicts the next ones. This module builds the same kind of video, smaller
and offline: the 8 x 8 handwritten digits that scikit-learn ships with
:func:`sklearn.datasets.load_digits` (1797 images, no download) bouncing in a
canvas of, say, 24 x 24 or 32 x 32 pixels.

How a video is made (:func:`moving_digits`):

* each of its ``n_digits`` digits is an image drawn at random from the
  chosen split, with intensities scaled from 0..16 to [0, 1];
* each starts at a uniformly random place, fully inside the canvas, and
  moves in a uniformly random direction at a speed (pixels per frame) drawn
  from ``speed``, the same for the whole video;
* when a digit would cross an edge it is reflected back, as a billiard ball
  bounces off a cushion (:func:`bouncing_trajectories`): it never leaves or
  gets clipped by the canvas;
* a frame draws each digit at its position rounded to whole pixels, and
  where digits overlap keeps the brighter pixel (the maximum), so every
  value stays in [0, 1].

Frames are ``(T, B, 1, H, W)`` float32 (time-major, one channel), or
``(B, T, 1, H, W)`` with ``batch_first=True``; :func:`next_frame_split`
turns them into input frames and the next-frame targets.

For a fair test loss, draw training videos from ``digits="train"`` and test
videos from ``digits="test"``: the two splits share no image.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from lstmlib._checks import (
    check_array_type,
    check_bool,
    check_choice,
    check_finite,
    check_float_dtype,
    check_positive_int,
    check_range,
    check_rank,
    check_rng,
)

__all__ = [
    "DIGIT_SPLITS",
    "load_digit_images",
    "bouncing_trajectories",
    "moving_digits",
    "next_frame_split",
]

DIGIT_SPLITS = ("train", "test", "all")
_N_TRAIN = 1437  # the first 80 % of sklearn's 1797 digits; the last 360 are the test split


@functools.cache
def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - scikit-learn is in requirements.txt
        raise ImportError(
            "the moving digits need scikit-learn for its bundled 8x8 digits (sklearn.datasets.load_digits); "
            "install the project's requirements.txt, or pass digits= an array of sprites (N, h, w)"
        ) from error
    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)  # (1797, 8, 8), 0..16 -> [0, 1]
    images.setflags(write=False)  # cached and shared: nobody may change it in place
    labels = bunch.target.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def load_digit_images(split: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8 x 8 handwritten digits, intensities in [0, 1].

    Args:
        split: ``"train"`` (the first 1437 images), ``"test"`` (the last 360)
            or ``"all"`` (1797).

    Returns:
        images: (N, 8, 8) float32 in [0, 1] (read-only; copy to change it).
        labels: (N,) int64, the digit 0-9 each image shows.
    """
    check_choice("split", split, DIGIT_SPLITS)
    images, labels = _sklearn_digits()
    part = {"train": slice(0, _N_TRAIN), "test": slice(_N_TRAIN, None), "all": slice(None)}[split]
    return images[part], labels[part]


def _reflect(u: np.ndarray, room: float) -> np.ndarray:
    """Fold free motion ``u`` into ``[0, room]`` as a ball bouncing between two walls would move.

    A triangle wave of period ``2 room``: ``u`` itself on ``[0, room]``, the
    mirror image ``2 room - u`` on ``[room, 2 room]``, and so on periodically.
    """
    return room - np.abs(np.mod(u, 2 * room) - room)


def bouncing_trajectories(batch_size: int, length: int, n_objects: int, room, speed=(1.0, 2.0), rng=None):
    """Positions of ``n_objects`` points moving in straight lines and bouncing inside a box.

    Each object starts uniformly in ``[0, room_y] x [0, room_x]``, moves in a
    uniformly random direction at a speed drawn uniformly from ``speed``,
    and is reflected at the walls ``0`` and ``room`` of each axis (its
    velocity along that axis flips sign). For a sprite of size ``h x w`` on
    an ``H x W`` canvas, ``room = (H - h, W - w)`` keeps the top-left corner
    where the whole sprite fits.

    Args:
        batch_size: B, number of videos.
        length: T, frames.
        n_objects: n, objects per video.
        room: ``(room_y, room_x)``, positive ints: the range of the positions.
        speed: ``(low, high)``, pixels per frame, ``0 <= low <= high``.
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).

    Returns:
        positions: (T, B, n, 2) float64, ``(row, column)`` of each object, in
            ``[0, room_y] x [0, room_x]``.
        velocities: (T, B, n, 2) float64, each object's velocity at frame
            ``t``: ``positions[t + 1]`` is ``positions[t] + velocities[t]``
            reflected at the walls, and a component flips sign from
            ``velocities[t]`` to ``velocities[t + 1]`` when its object hit a wall.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    n_objects = check_positive_int("n_objects", n_objects)
    if not isinstance(room, (tuple, list)) or len(room) != 2:
        raise TypeError(f"room must be a pair (room_y, room_x) of positive ints; got {room!r}")
    room_y, room_x = (check_positive_int("room", r) for r in room)
    low, high = check_range("speed", speed, 0.0)
    gen = check_rng("rng", rng)
    rooms = np.array([room_y, room_x], dtype=np.float64)  # (2,)
    start = gen.uniform(0.0, 1.0, size=(batch_size, n_objects, 2)) * rooms  # (B, n, 2)
    angle = gen.uniform(0.0, 2 * np.pi, size=(batch_size, n_objects))
    magnitude = gen.uniform(low, high, size=(batch_size, n_objects))
    velocity = magnitude[..., None] * np.stack([np.sin(angle), np.cos(angle)], axis=-1)  # (B, n, 2)
    t = np.arange(length, dtype=np.float64)[:, None, None, None]  # (T, 1, 1, 1)
    free = start + t * velocity  # (T, B, n, 2): where the objects would be without walls
    positions = _reflect(free, rooms)
    # Each wall hit flips the direction: free motion past k multiples of room has bounced k times.
    bounces = np.floor(free / rooms)  # (T, B, n, 2)
    sign = np.where(np.mod(bounces, 2) == 0, 1.0, -1.0)
    return positions, sign * velocity


def _check_sprites(digits: Any) -> np.ndarray:
    check_array_type("digits", digits, np.ndarray, 'a split name ("train", "test", "all") or an array (N, h, w)')
    check_rank("digits", digits, (3,), "(N, h, w)")
    if digits.shape[0] == 0:
        raise ValueError(f"digits must hold at least one sprite; got shape {digits.shape}")
    if not np.issubdtype(digits.dtype, np.floating):
        raise TypeError(f"digits must have a floating-point dtype with values in [0, 1]; got {digits.dtype}")
    check_finite("digits", digits)
    if digits.min() < 0 or digits.max() > 1:
        raise ValueError(f"digits must have values in [0, 1]; got values in [{digits.min()}, {digits.max()}]")
    return digits


def _check_n_digits(n_digits: Any) -> tuple[int, int]:
    """``n_digits`` as ``(low, high)``: an int n means exactly n; a pair draws the count per video."""
    if isinstance(n_digits, (tuple, list)):
        if len(n_digits) != 2:
            raise TypeError(f"n_digits must be a positive int or a pair (low, high) of them; got {n_digits!r}")
        low, high = (check_positive_int("n_digits", n) for n in n_digits)
        if low > high:
            raise ValueError(f"n_digits must satisfy low <= high; got {n_digits!r}")
        return low, high
    n = check_positive_int("n_digits", n_digits)
    return n, n


def moving_digits(batch_size: int, length: int, canvas_size: int = 32, n_digits=2, speed=(1.0, 2.0),
                  digits="all", rng=None, dtype=np.float32, batch_first: bool = False) -> np.ndarray:
    """``B`` videos of ``T`` frames: handwritten digits bouncing in a ``canvas_size`` square.

    Args:
        batch_size: B, number of videos.
        length: T, frames per video.
        canvas_size: H = W, the canvas side in pixels; larger than the digits (8).
        n_digits: digits per video: an int, or a pair ``(low, high)`` to draw
            the count uniformly per video (``(1, 2)``: one or two).
        speed: ``(low, high)``, each digit's speed in pixels per frame, drawn uniformly.
        digits: where the digit images come from: ``"train"``, ``"test"`` or
            ``"all"`` of sklearn's digits (:func:`load_digit_images`), or an
            array ``(N, h, w)`` of your own sprites with values in [0, 1].
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).
        dtype: floating-point dtype of the frames.
        batch_first: False for ``(T, B, 1, H, W)``, True for ``(B, T, 1, H, W)``.

    Returns:
        frames: (T, B, 1, H, W) (or (B, T, 1, H, W)), values in [0, 1].
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    canvas_size = check_positive_int("canvas_size", canvas_size)
    low_n, high_n = _check_n_digits(n_digits)
    dtype = check_float_dtype("dtype", dtype)
    batch_first = check_bool("batch_first", batch_first)
    if isinstance(digits, str):
        sprites, _ = load_digit_images(check_choice("digits", digits, DIGIT_SPLITS))
    else:
        sprites = _check_sprites(digits)
    h, w = sprites.shape[1:]
    if canvas_size <= max(h, w):
        raise ValueError(
            f"canvas_size must be larger than the digits ({h} x {w}) so that they can move; got {canvas_size}"
        )
    gen = check_rng("rng", rng)
    positions, _ = bouncing_trajectories(batch_size, length, high_n, (canvas_size - h, canvas_size - w), speed, gen)
    corner = np.rint(positions).astype(np.int64)  # (T, B, n, 2), whole pixels, still inside the room
    which = gen.integers(0, sprites.shape[0], size=(batch_size, high_n))  # (B, n) sprite of each digit
    count = gen.integers(low_n, high_n + 1, size=batch_size)  # (B,) digits shown in each video
    frames = np.zeros((length, batch_size, canvas_size, canvas_size), dtype=np.float32)
    t_index = np.arange(length)[:, None, None, None]  # (T, 1, 1, 1)
    b_index = np.arange(batch_size)[None, :, None, None]  # (1, B, 1, 1)
    for k in range(high_n):
        rows = corner[:, :, k, 0, None, None] + np.arange(h)[:, None]  # (T, B, h, 1)
        cols = corner[:, :, k, 1, None, None] + np.arange(w)[None, :]  # (T, B, 1, w)
        shown = sprites[which[:, k]] * (k < count)[:, None, None]  # (B, h, w), zero if digit k is not in video b
        layer = np.zeros_like(frames)
        layer[t_index, b_index, rows, cols] = shown[None]  # each (t, b) pastes its own sprite
        np.maximum(frames, layer, out=frames)  # overlapping digits: the brighter pixel wins
    frames = frames[:, :, None].astype(dtype, copy=False)  # (T, B, 1, H, W)
    return frames.swapaxes(0, 1).copy() if batch_first else frames


def next_frame_split(frames, batch_first: bool = False):
    """Inputs and next-frame targets: frames ``0 .. T-2`` predict frames ``1 .. T-1``.

    Args:
        frames: (T, B, C, H, W), or (B, T, C, H, W) with ``batch_first=True``:
            a NumPy array or a torch tensor, with T >= 2.
        batch_first: which axis is time.

    Returns:
        inputs: frames ``0 .. T-2``, same layout (views, not copies).
        targets: frames ``1 .. T-1``; ``targets[t]`` is the frame after ``inputs[t]``.
    """
    batch_first = check_bool("batch_first", batch_first)
    layout = "(B, T, C, H, W)" if batch_first else "(T, B, C, H, W)"
    if not hasattr(frames, "ndim") or not hasattr(frames, "shape"):
        raise TypeError(f"frames must be a NumPy array or a torch tensor {layout}; got {type(frames).__name__}")
    check_rank("frames", frames, (5,), layout)
    axis = 1 if batch_first else 0
    if frames.shape[axis] < 2:
        raise ValueError(
            f"frames must hold at least 2 frames (T >= 2 on axis {axis} of {layout}) to have a next frame; "
            f"got shape {tuple(frames.shape)}"
        )
    if batch_first:
        return frames[:, :-1], frames[:, 1:]
    return frames[:-1], frames[1:]
