"""lstmlib.viz.colour_text: text coloured character by character, as static HTML."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lstmlib.viz import colour_text

SPAN = re.compile(r'<span style="background:(#[0-9a-f]{6});color:(#[0-9a-f]{3})" title="([^"]+)">(.*?)</span>')


def test_every_character_gets_one_span_with_its_value_and_colour():
    text = "a<b&\nc"
    values = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 7.0])
    spans = SPAN.findall(colour_text(text, values, cmap="Greys").data)
    assert [shown for *_, shown in spans] == ["a", "&lt;", "b", "&amp;", "⏎", "c"]  # escaped; newline drawn
    assert [float(value) for _, _, value, _ in spans] == [-1.0, -0.5, 0.0, 0.5, 1.0, 7.0]
    backgrounds = [background for background, *_ in spans]
    assert backgrounds[0] == "#ffffff" and backgrounds[4] == backgrounds[5] == "#000000"  # clipped at the top
    assert spans[0][1] == "#000" and spans[5][1] == "#fff"  # letters stay readable on dark backgrounds
    brightness = [int(b[1:3], 16) for b in backgrounds[:5]]
    assert brightness == sorted(brightness, reverse=True)  # a larger value, a darker grey


def test_the_line_breaks_of_the_text_are_kept_and_the_label_shown():
    page = colour_text("ab\ncd", np.zeros(5), label="cell <7>").data
    assert "⏎</span>\n<span" in page and "cell &lt;7&gt;" in page and "white-space:pre-wrap" in page


@pytest.mark.parametrize("text, values, kwargs, error, match", [
    (3, np.zeros(1), {}, TypeError, r"text must be a str; got int"),
    ("abc", np.zeros(2), {}, ValueError, r"values must hold one number per character of text, shape \(3,\); got"),
    ("abc", np.zeros((3, 1)), {}, ValueError, r"values"),
    ("ab", np.array([0.0, np.nan]), {}, ValueError, r"values"),
    ("ab", np.zeros(2), {"limits": (1.0, 1.0)}, ValueError, r"limits must be \(low, high\) with low < high"),
    ("ab", np.zeros(2), {"cmap": "no-such-map"}, (KeyError, ValueError), r"no-such-map"),
])
def test_bad_arguments_are_named(text, values, kwargs, error, match):
    with pytest.raises(error, match=match):
        colour_text(text, values, **kwargs)
