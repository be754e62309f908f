"""lstmlib.viz.table: the one table helper of the chapters (padded cells, numbers right-aligned)."""

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from lstmlib.viz import table


class Cells(HTMLParser):
    """Every th/td of a table: (tag, attributes, text)."""

    def __init__(self, markup):
        super().__init__()
        self.cells, self.caption, self._open = [], None, None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self.cells.append([tag, dict(attrs), ""])
            self._open = "cell"
        elif tag == "caption":
            self._open = "caption"

    def handle_endtag(self, tag):
        self._open = None

    def handle_data(self, data):
        if self._open == "cell":
            self.cells[-1][2] += data
        elif self._open == "caption":
            self.caption = data


def parse(header, rows, **kw):
    return Cells(table(header, rows, **kw).data)


def test_numbers_are_right_aligned_and_text_left():
    found = parse(["model", "device", "H", "ms"], [("LSTM", "cpu", 128, "22.47"), ("GRU", "cpu", 64, "−1.5e-03")])
    by_column = {}
    for k, (tag, attrs, text) in enumerate(found.cells):
        by_column.setdefault(k % 4, []).append((tag, attrs, text))
    for column in (0, 1):
        assert all("text-align:left" in a["style"] and "class" not in a for _, a, _ in by_column[column])
    for column in (2, 3):  # the header of a numeric column is right-aligned with it
        assert all("text-align:right" in a["style"] and a["class"] == "lstm-num" for _, a, _ in by_column[column])
    assert [t for _, _, t in by_column[2]] == ["H", "128", "64"]
    # numbers stay on one line; a column's title may wrap
    assert all(("white-space:nowrap" in a["style"]) == (tag == "td") for tag, a, _ in by_column[3])


def test_every_cell_is_padded():
    found = parse(["a", "b"], [("x", "1"), ("y", "2")])
    assert len(found.cells) == 6
    for _, attrs, _ in found.cells:
        assert re.search(r"padding:0\.3em 0\.75em", attrs["style"])


def test_number_formats_and_blank_cells_keep_a_column_numeric():
    found = parse(["n", "x", "share"], [(12822, 0.125, "75%"), (np.int64(3), np.float64(2.5), "–")])
    texts = [t for _, _, t in found.cells]
    assert texts == ["n", "x", "share", "12822", "0.125", "75%", "3", "2.5", "–"]
    assert all(a.get("class") == "lstm-num" for _, a, _ in found.cells)


def test_a_column_with_any_text_is_text():
    found = parse(["value"], [("1.5",), ("about 2",)])
    assert all("text-align:left" in a["style"] for _, a, _ in found.cells)
    found = parse(["value"], [("–",), ("",)])  # only blanks: nothing to line up
    assert all("text-align:left" in a["style"] for _, a, _ in found.cells)


def test_cells_are_html_and_the_caption_is_shown():
    markup = table(["cell", "seed 0"], [("LSTM", "0.0123<br>step 40")], caption="adding: test MSE").data
    assert "<td" in markup and "0.0123<br>step 40</td>" in markup
    assert Cells(markup).caption == "adding: test MSE"
    assert table(["a"], []).data.count("<tr>") == 1  # header only


def test_bad_input_is_named():
    with pytest.raises(TypeError, match=r"header must be a non-empty list of column titles; got 'ab'"):
        table("ab", [])
    with pytest.raises(TypeError, match=r"header must hold strings; got \['str', 'int'\]"):
        table(["a", 1], [])
    with pytest.raises(ValueError, match=r"rows\[1\] must have one cell per column of header \(2\); got 3 cells"):
        table(["a", "b"], [("x", "y"), ("x", "y", "z")])
    with pytest.raises(ValueError, match=r"rows\[0\] must have one cell per column of header \(2\); got 'xy'"):
        table(["a", "b"], ["xy"])
    with pytest.raises(TypeError, match=r"rows\[0\]\[1\] must be a str, int or float; got NoneType None"):
        table(["a", "b"], [("x", None)])
    with pytest.raises(TypeError, match=r"rows must be an iterable of rows, each a sequence of 1 cells; got int"):
        table(["a"], 3)
    with pytest.raises(TypeError, match=r"caption must be a str or None; got int"):
        table(["a"], [], caption=1)
