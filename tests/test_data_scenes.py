"""Captioned scenes and motion clips (lstmlib.data.scenes): the captions say what was drawn."""

from __future__ import annotations

import numpy as np
import pytest

from lstmlib.data.scenes import (
    COLOURS,
    DIRECTIONS,
    HELD_OUT_PAIRS,
    HELD_OUT_RELATIONS,
    KINDS,
    CaptionSlots,
    clip_words,
    make_clips,
    make_scenes,
    parse_caption,
    scene_caption,
    scene_words,
)


@pytest.fixture(scope="module")
def scenes():
    return {split: make_scenes(150, split, rng=7) for split in ("train", "test", "heldout_pairs", "heldout_relations")}


def test_captions_follow_the_grammar_and_parse_back_to_their_slots(scenes):
    words = set(scene_words())
    for scene_set in scenes.values():
        for caption, slots in zip(scene_set.captions, scene_set.slots):
            assert set(caption) <= words
            assert parse_caption(caption) == slots and scene_caption(slots) == caption
            assert 1 <= len(slots.kinds) <= 3 and len(slots.relations) == len(slots.kinds) - 1
            ranks = [list(COLOURS).index(c) for c in slots.colours]
            assert ranks == sorted(set(ranks))  # named by colour rank, no colour twice


@pytest.mark.parametrize("words", [[], ["a", "red"], ["a", "red", "square", "left"], ["a", "red", "square", "above"],
                                   ["the", "red", "square"], ["a", "pink", "square"], ["a", "red", "square", "of"]])
def test_malformed_captions_do_not_parse(words):
    assert parse_caption(words) is None


def test_every_object_is_drawn_inside_its_box_in_its_colour_and_the_relations_hold(scenes):
    for scene_set in scenes.values():
        for image, slots, boxes in zip(scene_set.images, scene_set.slots, scene_set.boxes):
            assert image.shape == (3, 32, 32) and image.dtype == np.float32
            outside = np.ones((32, 32), bool)
            for colour, (r0, c0, r1, c1) in zip(slots.colours, boxes):
                outside[r0:r1, c0:c1] = False
                patch = image[:, r0:r1, c0:c1].reshape(3, -1)
                lit = patch.max(axis=0) > 0
                assert lit.sum() >= 8
                # the brightest channel of the object's pixels is the brightest channel of its colour
                assert np.argmax(patch[:, lit].sum(axis=1)) == np.argmax(COLOURS[colour])
            assert not image[:, outside].any()  # nothing drawn outside the boxes
            for relation, a, b in zip(slots.relations, boxes, boxes[1:]):
                (ra, ca), (rb, cb) = (a[0], a[1]), (b[0], b[1])
                expected = {"left": ca < cb - 8 and abs(ra - rb) <= 2, "right": ca > cb + 8 and abs(ra - rb) <= 2,
                            "above": ra < rb - 8 and abs(ca - cb) <= 2, "below": ra > rb + 8 and abs(ca - cb) <= 2}
                assert expected[relation], (relation, a, b)


def test_the_held_out_parts_appear_only_in_their_own_splits(scenes):
    def parts(slots):
        pairs = set(zip(slots.colours, slots.kinds)) & set(HELD_OUT_PAIRS)
        triples = set(zip(slots.colours, slots.relations, slots.colours[1:])) & set(HELD_OUT_RELATIONS)
        return bool(pairs), bool(triples)

    for split in ("train", "test"):
        assert all(parts(s) == (False, False) for s in scenes[split].slots)
    assert all(parts(s) == (True, False) for s in scenes["heldout_pairs"].slots)
    assert all(parts(s) == (False, True) for s in scenes["heldout_relations"].slots)
    # every colour and every kind of the held-out pairs is still seen in training
    train = make_scenes(800, "train", rng=1)
    seen_colours = {c for s in train.slots for c in s.colours}
    seen_kinds = {k for s in train.slots for k in s.kinds}
    assert seen_colours == set(COLOURS) and seen_kinds == set(KINDS)


def test_scenes_are_reproducible_and_splits_differ_for_one_seed():
    a, b = make_scenes(20, "test", rng=3), make_scenes(20, "test", rng=3)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert make_scenes(20, "train", rng=3).captions != a.captions
    gen = np.random.default_rng(3)
    assert make_scenes(5, "test", rng=gen).captions != make_scenes(5, "test", rng=gen).captions


def test_clips_move_as_their_captions_say():
    clips = make_clips(40, "test", length=9, canvas_size=24, speed=2, rng=0)
    assert clips.frames.shape == (9, 40, 1, 24, 24) and clips.positions.shape == (9, 40, 2)
    assert all(set(c) <= set(clip_words()) for c in clips.captions)
    for b, (first, second) in enumerate(zip(clips.first, clips.second)):
        moves = np.diff(clips.positions[:, b], axis=0)  # (8, 2)
        assert np.array_equal(moves[:4], np.tile(np.array(DIRECTIONS[first]) * 2, (4, 1)))
        assert np.array_equal(moves[4:], np.tile(np.array(DIRECTIONS[second]) * 2, (4, 1)))
        assert np.dot(DIRECTIONS[first], DIRECTIONS[second]) == 0
        assert clips.captions[b] == ["the", clips.kinds[b], "moves", first, "then", second]
        for t in range(9):
            r, c = clips.positions[t, b]
            lit = np.argwhere(clips.frames[t, b, 0] > 0)
            assert lit.min(axis=0).tolist() >= [r, c] and lit.max(axis=0).tolist() <= [r + 7, c + 7]


def test_a_clip_played_backwards_is_the_reverse_motion():
    clips = make_clips(2000, "train", rng=1)
    opposite = {"left": "right", "right": "left", "up": "down", "down": "up"}
    pairs = set(zip(clips.first, clips.second))
    assert len(pairs) == 8  # four directions, two perpendicular turns each, all drawn
    assert all((opposite[s], opposite[f]) in pairs for f, s in pairs)


@pytest.mark.parametrize("call, error, match", [
    (lambda: make_scenes(0), ValueError, r"n must be a positive int"),
    (lambda: make_scenes(3, "valid"), ValueError, r"split must be one of 'train', 'test', 'heldout_pairs'"),
    (lambda: make_clips(3, "heldout_pairs"), ValueError, r"split must be one of 'train', 'test'; got"),
    (lambda: make_clips(3, length=8), ValueError, r"length must be an odd number of frames >= 3"),
    (lambda: make_clips(3, canvas_size=12), ValueError, r"canvas_size must be at least 16"),
    (lambda: make_scenes(3, rng=-1), ValueError, r"rng must be a non-negative int seed"),
])
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_slots_round_trip_for_every_relation():
    slots = CaptionSlots(("red", "blue", "white"), ("square", "3", "circle"), ("right", "below"))
    words = scene_caption(slots)
    assert " ".join(words) == "a red square right of a blue 3 below a white circle"
    assert parse_caption(words) == slots
