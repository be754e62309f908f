"""Text coloured character by character: a static HTML rendering that works in any page, no kernel needed."""

from __future__ import annotations

import html

import matplotlib
import numpy as np
from IPython.display import HTML

from lstmlib._checks import check_finite, check_rank

__all__ = ["colour_text"]


def colour_text(text: str, values, *, limits: tuple[float, float] = (-1.0, 1.0), cmap: str = "RdBu_r",
                label: str = "") -> HTML:
    """``text`` with each character's background coloured by its value, as HTML.

    ``values: (len(text),)``, one number per character, mapped linearly from
    ``limits = (low, high)`` onto the matplotlib colour map ``cmap`` (values
    outside are clipped to the ends). A newline is drawn as ``⏎`` and then
    breaks the line, so the value it carries stays visible. ``label`` is
    written above the text (e.g. which cell is shown). Hovering over a
    character shows its value. Returns an ``IPython.display.HTML`` whose
    markup is ``.data``: inline styles only, so the book's static pages show
    it as the notebook does.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    values = np.asarray(values, dtype=np.float64)
    check_rank("values", values, (1,), "(len(text),)")
    if values.shape[0] != len(text):
        raise ValueError(f"values must hold one number per character of text, shape ({len(text)},); "
                         f"got shape {values.shape}")
    check_finite("values", values)
    low, high = (float(v) for v in limits)
    if not low < high:
        raise ValueError(f"limits must be (low, high) with low < high; got {limits}")
    colour_map = matplotlib.colormaps[cmap]  # raises KeyError listing the known names
    shade = colour_map(np.clip((values - low) / (high - low), 0.0, 1.0))  # (N, 4) RGBA in [0, 1]
    spans = []
    for char, value, rgba in zip(text, values, shade):
        shown = "⏎" if char == "\n" else html.escape(char)
        background = matplotlib.colors.to_hex(rgba)
        # dark backgrounds get white letters (perceived brightness below one half)
        ink = "#fff" if 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5 else "#000"
        spans.append(f'<span style="background:{background};color:{ink}" title="{value:+.2f}">{shown}</span>'
                     + ("\n" if char == "\n" else ""))
    caption = f'<div style="font-size:0.85em;margin-bottom:0.3em">{html.escape(label)}</div>' if label else ""
    body = ('<pre style="white-space:pre-wrap;line-height:1.45;font-size:0.85em;padding:0.5em;'
            f'background:#fff;color:#000">{"".join(spans)}</pre>')
    return HTML(f"<div>{caption}{body}</div>")
