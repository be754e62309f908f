"""Tables for chapter outputs: cells kept apart, numbers right-aligned, the same in the book and in Jupyter."""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Sequence

from IPython.display import HTML

__all__ = ["table"]

# A cell that reads as a number: an optional sign, digits with optional thousands separators
# (comma, space, thin space), an optional decimal part and exponent, an optional unit-free suffix
# (%, ×, or * for a footnote mark). "12,822", "−0.51", "22.47", "3.2e-05", "75%", "1.98*".
_NUMBER = re.compile(r"[+\-−±]?\d[\d,\u2009\u202f ]*(\.\d+)?([eE][+\-−]?\d+)?\s?[%×*]?")
# What a numeric column may also hold without turning into a text column: nothing, or a dash.
_BLANK = {"", "–", "—", "-"}
# Inline styles, so that the table looks the same in JupyterLab, in a plain HTML export and in
# the book (whose lstmbook.css styles every output table the same way).
_PAD = "padding:0.3em 0.75em"
_RIGHT = f"{_PAD};text-align:right;font-variant-numeric:tabular-nums"
_NOWRAP = ";white-space:nowrap"  # a number on one line; its column's title may wrap


def table(header: Sequence[str], rows: Iterable[Sequence], *, caption: str | None = None) -> HTML:
    """An HTML table with one header row: padded cells, and columns of numbers right-aligned.

    header: the column titles, ``(C,)`` strings; rows: each a sequence of ``C`` cells. A cell is
    an ``int`` or ``float`` (shown as ``str(value)``: format it yourself for fewer digits) or a string of HTML
    (``"1.998"``, ``"step 40<br>of 60"``; escape text that may hold ``<`` or ``&`` yourself). A
    column whose cells all read as numbers (or are empty or a dash) is right-aligned, header
    included, with the class ``lstm-num``; every cell is padded so that no two cells' text
    touches. caption: a line above the table. Returns an ``IPython.display.HTML``.
    """
    if isinstance(header, str) or not isinstance(header, Sequence) or not header:
        raise TypeError(f"header must be a non-empty list of column titles; got {header!r}")
    if not all(isinstance(title, str) for title in header):
        raise TypeError(f"header must hold strings; got {[type(t).__name__ for t in header]}")
    if caption is not None and not isinstance(caption, str):
        raise TypeError(f"caption must be a str or None; got {type(caption).__name__}")
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Iterable):
        raise TypeError(f"rows must be an iterable of rows, each a sequence of {len(header)} cells; "
                        f"got {type(rows).__name__}")
    shown = []
    for k, row in enumerate(rows):
        if isinstance(row, str) or not isinstance(row, Sequence) or len(row) != len(header):
            got = f"{len(row)} cells" if isinstance(row, Sequence) and not isinstance(row, str) else repr(row)
            raise ValueError(f"rows[{k}] must have one cell per column of header ({len(header)}); got {got}")
        shown.append([_cell_text(f"rows[{k}][{j}]", cell) for j, cell in enumerate(row)])
    numeric = [bool(shown) and all(_is_number(row[j]) or row[j].strip() in _BLANK for row in shown)
               and any(_is_number(row[j]) for row in shown) for j in range(len(header))]

    def cells(values, tag):
        return "".join(f'<{tag} class="lstm-num" style="{_RIGHT}{_NOWRAP * (tag == "td")}">{v}</{tag}>' if numeric[j]
                       else f'<{tag} style="{_PAD};text-align:left">{v}</{tag}>' for j, v in enumerate(values))

    head = f"<thead><tr>{cells(header, 'th')}</tr></thead>"
    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in shown)
    title = f"<caption>{caption}</caption>" if caption else ""
    return HTML(f'<table class="lstm-table" style="border-collapse:collapse">{title}{head}'
                f"<tbody>{body}</tbody></table>")


def _cell_text(name: str, cell) -> str:
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool) or not isinstance(cell, numbers.Real):
        raise TypeError(f"{name} must be a str, int or float; got {type(cell).__name__} {cell!r}")
    return str(cell)


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text.strip()) is not None
