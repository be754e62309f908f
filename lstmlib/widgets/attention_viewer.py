"""The attention viewer: pick a sentence, see what a translator wrote and where it looked for each word.

Given a :class:`lstmlib.models.seq2seq.Translator` with attention and a few
source sentences, the viewer decodes each one greedily once
(:meth:`Translator.attention_map`) and keeps, for every sentence, its
tokens, its output and the attention weights ``(T, S)``: row ``t`` is how
the decoder spread its attention over the ``S`` source tokens while writing
output token ``t`` (the last row writes ``<eos>``).

Two layers, as in :mod:`lstmlib.widgets.time_stepper`:

* :meth:`AttentionViewer.frame_html` is pure: sentence ``k`` -> the HTML
  shown for it (output, reference, and the weights as a shaded table with
  the numbers in it);
* the widget (``viewer.widget``, or display ``viewer``) is a drop-down over
  the sentences and a ``Stack`` of the precomputed frames, linked in the
  browser (``jslink``), so it also works on a static page of the book.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from html import escape

import ipywidgets as widgets
import numpy as np
from ipywidgets.widgets.widget_string import HTMLStyle

from lstmlib._checks import check_array_type

__all__ = ["AttentionViewer"]

# Class names start with ``lstm-av`` so the rules cannot touch anything else on the page.
STYLE = (
    "<style>"
    ".lstm-av{font-family:sans-serif;font-size:13px;line-height:1.35}"
    ".lstm-av table{border-collapse:collapse;margin-top:6px}"
    ".lstm-av td{border:1px solid #ddd;padding:1px 4px;text-align:center;min-width:2.4em;font-size:11px}"
    ".lstm-av th{font-weight:normal;padding:1px 4px;white-space:nowrap}"
    ".lstm-av th.s{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;vertical-align:bottom}"
    ".lstm-av th.o{text-align:right}"
    ".lstm-av .ok{color:#2e7d32}.lstm-av .bad{color:#c0392b}"
    "</style>"
)


class AttentionViewer:
    """A drop-down over ``sources``; for the chosen one, the translation and its attention weights.

    translator: a :class:`lstmlib.models.seq2seq.Translator` whose model has attention;
    sources: the sentences to offer (each in the translator's vocabulary);
    references: None or one correct translation per source, shown beside the output;
    title: a line above the widget.

    ``maps[k] = (source_tokens, output_tokens, weights (T, S) float64)``;
    ``dropdown`` selects the sentence, ``frames`` is the ``Stack`` of HTML
    frames (one per sentence), ``widget`` the whole.
    """

    def __init__(self, translator, sources: Sequence[str], *, references: Sequence[str] | None = None,
                 title: str | None = None):
        from lstmlib.models.seq2seq import Translator

        check_array_type("translator", translator, Translator, "a Translator")
        if isinstance(sources, str) or not isinstance(sources, Sequence) or not sources:
            raise TypeError(f"sources must be a non-empty list of str sentences; got {type(sources).__name__}")
        if references is not None and (isinstance(references, str) or len(references) != len(sources)):
            raise ValueError(f"references must be None or one str per source ({len(sources)}); got {references!r}")
        if title is not None and not isinstance(title, str):
            raise TypeError(f"title must be None or a str; got {type(title).__name__}")
        self.sources, self.references, self.title = list(sources), references, title
        self.maps = []
        for sentence in self.sources:
            source_tokens, output_tokens, weights = translator.attention_map(sentence)
            self.maps.append((source_tokens, output_tokens, weights.double().numpy()))
        self.outputs = [_detokenize(output) for _, output, _ in self.maps]

        self.dropdown = widgets.Dropdown(options=[(s, k) for k, s in enumerate(self.sources)], value=0,
                                         description="source", layout=widgets.Layout(width="560px"))
        layout, style = widgets.Layout(), HTMLStyle()  # shared: each frame would otherwise store its own copy
        self.frames = widgets.Stack([widgets.HTML(self.frame_html(k), layout=layout, style=style)
                                     for k in range(len(self.sources))], selected_index=0)
        # In the browser: drop-down -> frame, with no kernel needed (static pages of the book).
        widgets.jslink((self.dropdown, "index"), (self.frames, "selected_index"))
        # In Python: the same link, so that code (and tests) choosing a sentence move the frame.
        self.dropdown.observe(self._on_choice, names="index")
        header = f"<b>{escape(self.title)}</b>" if self.title else ""
        self.widget = widgets.VBox([widgets.HTML(STYLE + header), self.dropdown, self.frames])

    def weights_at(self, k) -> np.ndarray:
        """The attention weights ``(T, S)`` of sentence ``k`` (rows: output tokens then ``<eos>``)."""
        return self.maps[_check_index(k, len(self.sources))][2].copy()

    def frame_html(self, k) -> str:
        """The frame of sentence ``k``: output (and reference, marked right or wrong), then a table with
        one row per output token and one column per source token, each cell shaded by its weight and
        showing it to two decimals (blank below 0.05). Each cell is ``<td data-t=T data-s=S>``.
        """
        k = _check_index(k, len(self.sources))
        source_tokens, output_tokens, weights = self.maps[k]
        lines = [f"output: <b>{escape(self.outputs[k])}</b>"]
        if self.references is not None:
            right = self.outputs[k] == self.references[k]
            mark = "<span class=ok>✓ exact</span>" if right else "<span class=bad>✗ differs</span>"
            lines.append(f"reference: {escape(self.references[k])} {mark}")
        head = "<tr><th>" + "".join(f"<th class=s>{escape(s)}" for s in source_tokens)
        rows = []
        for t, word in enumerate([*output_tokens, "<eos>"]):
            cells = "".join(
                f"<td data-t={t} data-s={s} style=background:rgba(46,111,181,{w:.2f});"
                f"color:{'#fff' if w > 0.55 else '#222'}>{f'{w:.2f}' if w >= 0.05 else ''}"
                for s, w in enumerate(weights[t]))
            rows.append(f"<tr><th class=o>{escape(word)}{cells}")
        return f"<div class=lstm-av>{'<br>'.join(lines)}<table>{head}{''.join(rows)}</table></div>"

    @property
    def chosen(self) -> int:
        """The position of the sentence on display."""
        return int(self.dropdown.index)

    def _on_choice(self, change):
        self.frames.selected_index = int(change["new"])

    def __repr__(self) -> str:
        return f"AttentionViewer({len(self.sources)} sentences, showing {self.chosen})"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle


def _detokenize(tokens):
    from lstmlib.text import detokenize

    return detokenize(tokens)


def _check_index(k, size) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int; got {type(k).__name__} {k!r}")
    if not 0 <= k < size:
        raise ValueError(f"k must be in [0, {size - 1}] for the {size} sentences; got {k}")
    return int(k)
