"""Bouncing digits for next-frame prediction (lstmlib.data.moving_digits)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmlib.data.moving_digits import (
    bouncing_trajectories,
    load_digit_images,
    moving_digits,
    next_frame_split,
)

SQUARE = np.ones((1, 3, 3))  # a solid sprite: its position can be read off a frame exactly


def corners(frames: np.ndarray) -> np.ndarray:
    """Top-left (row, column) of the one lit 3 x 3 square in each frame of (T, 1, H, W)."""
    out = []
    for frame in frames[:, 0]:
        rows, cols = np.nonzero(frame)
        assert rows.max() - rows.min() == 2 and cols.max() - cols.min() == 2  # whole: never clipped
        out.append((rows.min(), cols.min()))
    return np.array(out)


def test_trajectories_bounce_like_billiard_balls():
    room = (13, 21)
    positions, velocities = bouncing_trajectories(16, 120, 2, room, speed=(0.5, 3.0), rng=0)
    assert positions.shape == velocities.shape == (120, 16, 2, 2)
    rooms = np.array(room, dtype=float)
    assert positions.min() >= 0 and np.all(positions <= rooms)
    # the speed is constant; only directions change
    speeds = np.linalg.norm(velocities, axis=-1)
    assert np.allclose(speeds, speeds[:1]) and 0.5 <= speeds.min() and speeds.max() <= 3.0
    # step by step: move, and reflect what crossed a wall (speed < room, so at most one wall per step)
    p, v = positions[0], velocities[0]
    flips = 0
    for t in range(1, 120):
        p = p + v
        low, high = p < 0, p > rooms
        p = np.where(low, -p, np.where(high, 2 * rooms - p, p))
        v = np.where(low | high, -v, v)
        flips += int((low | high).sum())
        assert np.allclose(positions[t], p, atol=1e-9) and np.allclose(velocities[t], v, atol=1e-9)
    assert flips > 100  # plenty of bounces were exercised


def test_trajectories_start_anywhere_and_head_anywhere():
    positions, velocities = bouncing_trajectories(4000, 1, 1, (20, 20), speed=(1.0, 1.0), rng=1)
    start = positions[0, :, 0]
    assert np.allclose(start.mean(axis=0), 10, atol=0.4)  # uniform over the room
    angles = np.arctan2(velocities[0, :, 0, 0], velocities[0, :, 0, 1])
    counts, _ = np.histogram(angles, bins=4, range=(-np.pi, np.pi))
    assert np.all(np.abs(counts - 1000) < 120)  # uniform directions


def test_a_digit_stays_whole_inside_the_canvas_and_turns_only_at_the_walls():
    canvas, speed = 12, 2.0
    frames = moving_digits(20, 60, canvas, n_digits=1, speed=(speed, speed), digits=SQUARE, rng=2)
    assert frames.shape == (60, 20, 1, canvas, canvas) and frames.dtype == np.float32
    assert np.all(frames.sum(axis=(2, 3, 4)) == 9)  # the 9 pixels of the square, in every frame
    room = canvas - 3
    turns = 0
    for b in range(20):
        c = corners(frames[:, b])  # (T, 2) whole pixels
        assert c.min() >= 0 and c.max() <= room
        step = np.diff(c, axis=0)  # (T - 1, 2)
        assert np.abs(step).max() <= speed + 1  # at most the speed, plus rounding
        # a coordinate turns back only where the square is near a wall
        for axis in range(2):
            moving = np.flatnonzero(step[:, axis])
            for i, j in zip(moving[:-1], moving[1:]):
                if np.sign(step[i, axis]) != np.sign(step[j, axis]):
                    turns += 1
                    at = c[j, axis]
                    assert at <= speed + 1 or at >= room - speed - 1, (b, axis, at)
    assert turns > 20


def test_overlapping_digits_keep_the_brighter_pixel():
    sprites = np.stack([np.full((3, 3), 0.25), np.ones((3, 3))])
    frames = moving_digits(50, 30, 6, n_digits=2, speed=(1.0, 2.0), digits=sprites, rng=3)
    assert set(np.unique(frames)) <= {0.0, 0.25, 1.0}  # a sum would make 0.5, 1.25 or 2
    lit = (frames > 0).sum(axis=(2, 3, 4))
    assert lit.max() <= 18 and lit.min() >= 9
    assert (lit < 18).any()  # overlaps happened on a 6 x 6 canvas


def test_the_number_of_digits_can_vary_between_videos():
    frames = moving_digits(200, 8, 16, n_digits=(1, 2), digits=SQUARE, rng=4)
    most = (frames > 0).sum(axis=(0, 2, 3, 4)) / 8  # mean lit pixels per frame, per video
    one, two = np.isclose(most, 9), most > 9
    assert np.all(one | two) and 70 < one.sum() < 130  # about half and half
    assert np.all(most <= 18)


def test_batch_first_is_the_time_major_video_transposed():
    a = moving_digits(3, 5, 12, digits=SQUARE, rng=5)
    b = moving_digits(3, 5, 12, digits=SQUARE, rng=5, batch_first=True)
    assert b.shape == (3, 5, 1, 12, 12) and np.array_equal(b, a.swapaxes(0, 1))
    assert moving_digits(2, 3, 12, digits=SQUARE, rng=5, dtype=np.float64).dtype == np.float64


def test_same_seed_same_video_and_a_generator_is_advanced():
    a = moving_digits(2, 6, 12, digits=SQUARE, rng=6)
    assert np.array_equal(a, moving_digits(2, 6, 12, digits=SQUARE, rng=np.random.default_rng(6)))
    gen = np.random.default_rng(6)
    first, second = moving_digits(2, 6, 12, digits=SQUARE, rng=gen), moving_digits(2, 6, 12, digits=SQUARE, rng=gen)
    assert np.array_equal(first, a) and not np.array_equal(first, second)


@pytest.mark.parametrize("batch_first", [False, True])
def test_next_frame_split_pairs_each_frame_with_the_next(batch_first):
    frames = moving_digits(2, 7, 12, digits=SQUARE, rng=7, batch_first=batch_first)
    inputs, targets = next_frame_split(frames, batch_first=batch_first)
    axis = 1 if batch_first else 0
    assert inputs.shape == targets.shape and inputs.shape[axis] == 6
    assert np.array_equal(np.take(inputs, range(1, 6), axis=axis), np.take(targets, range(5), axis=axis))
    assert np.array_equal(np.take(targets, [5], axis=axis), np.take(frames, [6], axis=axis))
    tensors = next_frame_split(torch.from_numpy(frames), batch_first=batch_first)
    assert all(isinstance(t, torch.Tensor) for t in tensors)
    assert np.array_equal(tensors[1].numpy(), targets)


def test_sklearn_digits_split_into_disjoint_train_and_test_images():
    pytest.importorskip("sklearn")
    train, train_labels = load_digit_images("train")
    test, test_labels = load_digit_images("test")
    everything, labels = load_digit_images()
    assert train.shape == (1437, 8, 8) and test.shape == (360, 8, 8) and everything.shape == (1797, 8, 8)
    assert train.dtype == np.float32 and everything.min() == 0 and everything.max() == 1
    assert np.array_equal(np.concatenate([train, test]), everything)
    assert np.array_equal(np.concatenate([train_labels, test_labels]), labels)
    assert set(labels) == set(range(10))
    assert not train.flags.writeable  # the cached images cannot be spoiled in place


def test_videos_of_sklearn_digits_show_whole_test_images():
    pytest.importorskip("sklearn")
    test_images, _ = load_digit_images("test")
    frames = moving_digits(6, 10, 24, n_digits=1, digits="test", rng=8)
    assert frames.shape == (10, 6, 1, 24, 24) and frames.min() >= 0 and frames.max() <= 1
    known = {image.tobytes() for image in test_images}
    for b in range(6):
        video = frames[:, b, 0]
        assert np.allclose(video.sum(axis=(1, 2)), video[0].sum())  # the same digit, never clipped
        # some 8 x 8 window of the first frame holds exactly a test image, and nothing lies outside it
        found = False
        for r in range(17):
            for c in range(17):
                window = video[0, r:r + 8, c:c + 8]
                if window.tobytes() in known and np.isclose(window.sum(), video[0].sum()):
                    found = True
        assert found, b


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0), ValueError, "batch_size must be a positive int"),
    (dict(length=2.0), TypeError, "length must be a positive int; got float"),
    (dict(canvas_size=3), ValueError, r"canvas_size must be larger than the digits \(3 x 3\)"),
    (dict(n_digits=0), ValueError, "n_digits must be a positive int"),
    (dict(n_digits=(2, 1)), ValueError, "n_digits must satisfy low <= high"),
    (dict(n_digits=(1, 2, 3)), TypeError, "n_digits must be a positive int or a pair"),
    (dict(speed=1.0), TypeError, r"speed must be a pair \(low, high\)"),
    (dict(speed=(2.0, 1.0)), ValueError, "speed must satisfy 0 <= low <= high"),
    (dict(speed=(-1.0, 1.0)), ValueError, "speed must satisfy 0 <= low <= high"),
    (dict(speed=(0.0, float("inf"))), TypeError, "finite numbers"),
    (dict(digits="validation"), ValueError, "digits must be one of 'train', 'test', 'all'"),
    (dict(digits=[[0.0]]), TypeError, "digits must be a split name"),
    (dict(digits=np.ones((3, 3))), ValueError, r"digits must have 3 dimensions \(N, h, w\)"),
    (dict(digits=np.ones((0, 3, 3))), ValueError, "digits must hold at least one sprite"),
    (dict(digits=np.ones((1, 3, 3), dtype=np.int64)), TypeError, "digits must have a floating-point dtype"),
    (dict(digits=np.full((1, 3, 3), 16.0)), ValueError, r"digits must have values in \[0, 1\]"),
    (dict(digits=np.full((1, 3, 3), np.nan)), ValueError, "digits must be finite"),
    (dict(rng=-1), ValueError, "rng must be a non-negative int seed"),
    (dict(dtype=np.uint8), TypeError, "dtype must be a floating-point"),
    (dict(batch_first=1), TypeError, "batch_first must be a bool"),
])
def test_moving_digits_rejects_bad_arguments(kwargs, error, match):
    arguments = dict(batch_size=2, length=4, canvas_size=12, digits=SQUARE) | kwargs
    with pytest.raises(error, match=match):
        moving_digits(**arguments)


@pytest.mark.parametrize("call, error, match", [
    (lambda: bouncing_trajectories(2, 5, 1, 10), TypeError, r"room must be a pair \(room_y, room_x\)"),
    (lambda: bouncing_trajectories(2, 5, 1, (10, 0)), ValueError, "room must be a positive int"),
    (lambda: bouncing_trajectories(2, 5, 0, (10, 10)), ValueError, "n_objects must be a positive int"),
    (lambda: next_frame_split(np.zeros((1, 2, 1, 4, 4))), ValueError, r"at least 2 frames \(T >= 2 on axis 0"),
    (lambda: next_frame_split(np.zeros((2, 1, 1, 4, 4)), batch_first=True), ValueError, "T >= 2 on axis 1"),
    (lambda: next_frame_split(np.zeros((3, 2, 4, 4))), ValueError, r"frames must have 5 dimensions \(T, B, C, H, W\)"),
    (lambda: next_frame_split([[1]]), TypeError, "frames must be a NumPy array or a torch tensor"),
    (lambda: next_frame_split(np.zeros((3, 2, 1, 4, 4)), batch_first="no"), TypeError, "batch_first must be a bool"),
    (lambda: load_digit_images("valid"), ValueError, "split must be one of"),
])
def test_helpers_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
