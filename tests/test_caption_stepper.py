"""The caption stepper: one precomputed frame per word, picked by a slider that also works without a kernel."""

from __future__ import annotations

from html import escape

import numpy as np
import pytest

from lstmlib.widgets.caption_stepper import CaptionStepper, attention_overlay

IMAGE = np.zeros((3, 32, 32))
IMAGE[0, 8:16, 12:20] = 1.0  # a red square


def one_hot_grids(cells):
    grids = np.zeros((len(cells), 8, 8))
    for k, (r, c) in enumerate(cells):
        grids[k, r, c] = 1.0
    return grids


def test_the_overlay_lights_the_attended_patch_only():
    picture = attention_overlay(IMAGE, one_hot_grids([(0, 7)])[0])
    assert picture.shape == (32, 32, 3) and 0 <= picture.min() and picture.max() <= 1
    heat = np.abs(picture - IMAGE.transpose(1, 2, 0) * 0.6).sum(axis=-1) > 1e-9
    assert heat[0:4, 28:32].all() and heat.sum() == 16  # the one 4 x 4 patch of cell (0, 7)
    with pytest.raises(ValueError, match=r"weights must be a grid \(h, w\) whose sides divide"):
        attention_overlay(IMAGE, np.ones((5, 5)) / 25)


def test_each_word_has_its_frame_and_the_slider_picks_it():
    words = ["a", "red", "square"]
    stepper = CaptionStepper(IMAGE, words, one_hot_grids([(2, 3), (2, 4), (3, 3), (0, 0)]))
    assert stepper.words == words + ["<eos>"] and len(stepper.frames.children) == 4
    for k, frame in enumerate(stepper.frames.children):
        assert f"<b data-word={k}>{escape(stepper.words[k])}</b>" in frame.value
        assert "data:image/png;base64," in frame.value
    stepper.slider.value = 2
    assert stepper.frames.selected_index == 2 and "word=2" in repr(stepper)
    with pytest.raises(ValueError, match=r"weights must have shape \(K, h, w\) with K = len\(words\) = 3"):
        CaptionStepper(IMAGE, words, one_hot_grids([(0, 0)] * 2))
