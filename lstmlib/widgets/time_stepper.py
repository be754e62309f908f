"""The time stepper: move through a sequence and watch an LSTM's gates and states step by step.

Given a reference parameter dict and a sequence, the stepper runs
:func:`lstmlib.reference.lstm_forward` once and shows, for every unit, the
forget, input and output gates ``f_t, i_t, o_t``, the candidate ``c̃_t``
(``g``), the cell state ``c_t`` and the hidden state ``h_t``:

* an **overview**: one heatmap per quantity over the whole sequence (units
  down, steps across), drawn once;
* a **step frame** for the step ``t`` picked by a slider (or a play button):
  the sequence with step ``t`` marked, and every quantity of every unit at
  that step as a number and a bar.

Two layers, so that the numbers can be tested without a browser:

* :meth:`TimeStepper.values_at` is pure: step ``t`` -> the values shown in
  that frame, read from the reference's cache;
* the widget (``stepper.widget``, or just display ``stepper``) is built on top.
  Every step frame is written in advance and the slider picks one with a link
  that runs in the browser (``jslink``), so the stepper also works on a static
  page of the book, where no Python kernel is running. Setting
  ``stepper.slider.value = 5`` in code moves it exactly like a reader does.

Steps follow the book's equations: ``t = 1 .. T`` are the steps of the
sequence and ``t = 0`` is the initial state ``(h_0, c_0)``, before any gate
has been computed.
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Sequence
from html import escape

import ipywidgets as widgets
import matplotlib
import numpy as np
from ipywidgets.widgets.widget_string import HTMLStyle
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from lstmlib._checks import check_array_type
from lstmlib.reference import lstm_forward

__all__ = ["TimeStepper", "stepper_values"]

# In the order of the three steps: forget; write (input gate, candidate, new cell); output.
QUANTITIES = ("f", "i", "g", "c", "o", "h")
GATE_KEYS = ("i", "f", "g", "o")  # computed at steps 1..T only
NAMES = {  # (plain words, symbol as HTML, symbol as matplotlib TeX)
    "f": ("forget gate", "f<sub>t</sub>", r"$f_t$"),
    "i": ("input gate", "i<sub>t</sub>", r"$i_t$"),
    "g": ("candidate", "c̃<sub>t</sub>", r"$\tilde c_t$"),
    "c": ("cell state", "c<sub>t</sub>", r"$c_t$"),
    "o": ("output gate", "o<sub>t</sub>", r"$o_t$"),
    "h": ("hidden state", "h<sub>t</sub>", r"$h_t$"),
}
# The frames' style sheet, shown once at the top of the widget. Class names start with
# ``lstm-ts`` so the rules cannot touch anything else on the page. A bar is one ``<i>`` whose
# custom properties --a and --b give, in percent, where its coloured stretch starts and ends.
STYLE = (
    "<style>"
    ".lstm-ts{font-family:sans-serif;font-size:13px;line-height:1.35}"
    ".lstm-ts table{border-collapse:collapse;margin-top:4px}"
    ".lstm-ts td,.lstm-ts th{padding:1px 8px;white-space:nowrap;text-align:left}"
    ".lstm-ts tt{display:inline-block;width:4.2em;margin-right:4px;text-align:right}"
    ".lstm-ts i{display:inline-block;width:70px;height:9px;vertical-align:middle;--c:#2e7d32;"
    "background:linear-gradient(90deg,#eee var(--a),var(--c) var(--a) var(--b),#eee var(--b))}"
    ".lstm-ts i.p{--c:#c0392b}.lstm-ts i.n{--c:#2e6fb5}"
    ".lstm-ts pre{margin:0;font-size:12px;line-height:1.25;background:none;border:none;padding:0}"
    ".lstm-ts pre b{background:#222;color:#fff}"
    "</style>"
)


def stepper_values(params, x, state=None, batch_index=0) -> dict[str, np.ndarray]:
    """Every quantity the stepper shows, at every step, for one sequence of a batch.

    params: a :mod:`lstmlib.reference` LSTM dict; x: (T, B, D); state:
    ``(h0, c0)`` each (B, H), or None for zeros; batch_index: which of the B
    sequences. Returns ``{q: (T+1, H)}`` for ``q`` in :data:`QUANTITIES`: row
    ``t`` holds step ``t`` (row 0 the initial state, whose gates are NaN
    because no step has run yet). Values are copied from the cache of
    :func:`lstmlib.reference.lstm_forward`, never recomputed.
    """
    _, _, cache = lstm_forward(params, x, state)  # validates params, x and state
    b = _check_index("batch_index", batch_index, x.shape[1], "the batch size B")
    steps = cache["steps"]
    H = steps[0]["c"].shape[1]
    values = {q: np.full((len(steps) + 1, H), np.nan) for q in QUANTITIES}
    values["c"][0], values["h"][0] = steps[0]["c_prev"][b], steps[0]["h_prev"][b]
    for t, step in enumerate(steps, start=1):
        for q in GATE_KEYS + ("c",):
            values[q][t] = step[q][b]
        # h_t = o_t ⊙ tanh(c_t), exactly as the cell computed it
        values["h"][t] = step["o"][b] * step["tanh_c"][b]
    return values


class TimeStepper:
    """Step through one sequence and watch the gates, ``c_t`` and ``h_t`` of every unit.

    params: a :mod:`lstmlib.reference` LSTM dict (D inputs, H units); x: (T, B, D);
    state: ``(h0, c0)`` or None for zeros; batch_index: the sequence to show;
    step_labels: T short strings naming the inputs (e.g. the symbols), shown
    under the time axis; title: a line above the widget; interval:
    milliseconds per step when playing; dpi: resolution of the overview image.

    ``values`` holds :func:`stepper_values`; ``slider`` and ``play`` select the
    step; ``overview`` is the heatmap image, ``frames`` the ``Stack`` of step
    frames (HTML, one per step 0 .. T); ``widget`` the whole.
    """

    def __init__(self, params, x, *, state=None, batch_index=0, step_labels=None, title=None,
                 interval=900, dpi=80):
        self.values = stepper_values(params, x, state, batch_index)
        self.T, self.H = self.values["c"].shape[0] - 1, self.values["c"].shape[1]
        self.step_labels = _check_labels(step_labels, self.T)
        self.title = _check_title(title)
        interval = _check_positive("interval", interval)
        dpi = _check_positive("dpi", dpi)
        # the bars of c_t share one scale over the whole sequence, like its heatmap
        self.c_max = max(1.0, float(np.abs(self.values["c"]).max()))

        self.overview = widgets.Image(value=self._draw_overview(dpi), format="png")
        # the label sized to its text (the default width clipped it), t typeset by MathJax
        self.slider = widgets.IntSlider(value=0, min=0, max=self.T, description=r"step \(t\)",
                                        style={"description_width": "initial"},
                                        continuous_update=True, layout=widgets.Layout(width="420px"))
        self.play = widgets.Play(value=0, min=0, max=self.T, interval=interval)
        # one Layout and one style for all frames: each widget would otherwise store its own copy
        layout, style = widgets.Layout(), HTMLStyle()
        self.frames = widgets.Stack([widgets.HTML(self.frame_html(t), layout=layout, style=style)
                                     for t in range(self.T + 1)], selected_index=0)
        # In the browser: play -> slider -> frame, with no kernel needed (static pages of the book).
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        widgets.jslink((self.slider, "value"), (self.frames, "selected_index"))
        # In Python: the same link, so that code (and tests) moving the slider move the frame.
        self.slider.observe(self._on_step, names="value")
        header = f"<b>{escape(self.title)}</b>" if self.title else ""
        self.widget = widgets.VBox([widgets.HTML(STYLE + header), self.overview,
                                    widgets.HBox([self.play, self.slider]), self.frames])

    # -- the pure part ---------------------------------------------------------------------------

    def values_at(self, t) -> dict[str, np.ndarray]:
        """The values shown at step ``t`` (0 .. T): ``{q: (H,)}`` for ``q`` in :data:`QUANTITIES`.

        At ``t = 0`` only the initial state is defined: the gates are NaN.
        """
        t = _check_index("t", t, self.T + 1, "T + 1 (steps 0 .. T)")
        return {q: self.values[q][t].copy() for q in QUANTITIES}

    def annotations(self, t) -> dict[str, list[str]]:
        """The numbers printed in the frame of step ``t``: ``{q: [text for unit 0, unit 1, ...]}``.

        Three decimals with a sign; ``""`` where a value is not defined (the gates at t = 0).
        """
        return {q: ["" if np.isnan(v) else f"{v:+.3f}" for v in values] for q, values in self.values_at(t).items()}

    def frame_html(self, t) -> str:
        """The HTML frame of step ``t``: the sequence with step ``t`` marked, then a table of every
        quantity of every unit as a number and a bar. Each number sits in an element
        ``<tt data-q=Q data-unit=U>``, so tests can read back what is shown. The frames use the
        style sheet :data:`STYLE`, which the widget shows once above them.
        """
        t = _check_index("t", t, self.T + 1, "T + 1 (steps 0 .. T)")
        texts, spans = self.annotations(t), self._spans()
        if t == 0:
            heading = "<b>t = 0</b>: the initial state (h<sub>0</sub>, c<sub>0</sub>), before the first step"
        else:
            label = self.step_labels[t - 1]
            heading = f"<b>t = {t}</b>" + (f": input <code>{escape(label)}</code>" if label else "")
        head = "".join(f"<th>unit {u}" for u in range(self.H))
        rows = []
        for q in QUANTITIES:
            words, symbol, _ = NAMES[q]
            # attribute values without quotes: every quote would cost two bytes in the stored notebook
            entries = "".join(f"<td><tt data-q={q} data-unit={u}>{text}</tt>{_bar(self.values[q][t, u], spans[q])}</td>"
                              for u, text in enumerate(texts[q]))
            rows.append(f"<tr><td>{words} {symbol}{entries}")
        return (f"<div class=lstm-ts><div>{heading}</div>{self._timeline(t)}"
                f"<table><tr><th>{head}{''.join(rows)}</table></div>")

    # -- the widget on top -----------------------------------------------------------------------

    @property
    def step(self) -> int:
        """The step the slider shows now."""
        return int(self.slider.value)

    def shown(self) -> dict[str, np.ndarray]:
        """``values_at(step)``: the values of the frame on display."""
        return self.values_at(self.step)

    def _on_step(self, change):
        self.frames.selected_index = int(change["new"])

    def _spans(self) -> dict[str, tuple[float, float]]:
        """The range of each quantity's colour scale and bars: gates (0, 1); c̃ and h (-1, 1); c symmetric."""
        return {"f": (0, 1), "i": (0, 1), "o": (0, 1), "g": (-1, 1), "c": (-self.c_max, self.c_max), "h": (-1, 1)}

    def _timeline(self, t) -> str:
        """Steps 0 .. T with their input labels in two aligned monospace rows; step ``t`` marked."""
        width = max([3] + [len(label) + 1 for label in self.step_labels])
        numbers_row, labels_row = [], []
        for k in range(self.T + 1):
            number, label = str(k).rjust(width), ("" if k == 0 else self.step_labels[k - 1]).rjust(width)
            if k == t:
                number, label = f"<b>{number}</b>", f"<b>{escape(label)}</b>"
            else:
                label = escape(label)
            numbers_row.append(number)
            labels_row.append(label)
        return f"<pre>step {''.join(numbers_row)}\n     {''.join(labels_row)}</pre>"

    def _draw_overview(self, dpi) -> bytes:
        """One heatmap per quantity over the whole sequence, as a PNG (drawn once)."""
        T, H = self.T, self.H
        fig = Figure(figsize=(9.6, 3 * (0.2 * H + 0.7) + 0.45), dpi=dpi)
        FigureCanvasAgg(fig)
        axes = fig.subplots(3, 2, sharex=True)
        spans = self._spans()
        # gates on the left (f, i, o), the candidate and the states on the right (c̃, c, h)
        for ax, q in zip(axes.T.ravel(), ("f", "i", "o", "g", "c", "h")):
            low, high = spans[q]
            # 16 colour levels are plenty to read a heatmap (the frames give the exact values), and
            # they let the whole image fit a small palette: a third of the bytes of a full-colour PNG
            cmap = matplotlib.colormaps["Greens" if low == 0 else "RdBu_r"].resampled(16)
            image = np.ma.masked_invalid(self.values[q].T)  # (H, T+1); the gates' column 0 stays blank
            mappable = ax.imshow(image, cmap=cmap, vmin=low, vmax=high, aspect="auto", interpolation="nearest",
                                 extent=(-0.5, T + 0.5, H - 0.5, -0.5))
            words, _, symbol = NAMES[q]
            ax.set_title(f"{words} {symbol}", fontsize=10, loc="left")
            ax.set_yticks(range(H), [f"unit {u}" for u in range(H)], fontsize=8)
            fig.colorbar(mappable, ax=ax, fraction=0.03, pad=0.01).ax.tick_params(labelsize=7)
        labels = ["0"] + [f"{t}\n{lab}" if lab else str(t) for t, lab in zip(range(1, T + 1), self.step_labels)]
        for ax in axes[-1]:
            ax.set_xticks(range(T + 1), labels, fontsize=8 if T <= 30 else 6)
            ax.set_xlabel("step t", fontsize=9)
        fig.suptitle("the whole sequence (units down, steps across); the slider below picks one step",
                     fontsize=10)
        fig.subplots_adjust(left=0.07, right=0.96, top=0.88, bottom=0.14, hspace=0.6, wspace=0.25)
        fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        image = Image.fromarray(rgb).quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        image.save(buffer, format="png", optimize=True)
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"TimeStepper(T={self.T}, H={self.H}, step={self.step})"

    def _repr_mimebundle_(self, **kwargs):
        # Display the widget, with a short plain-text form (the widget's own would list its children).
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle


def _bar(value, span) -> str:
    """An inline bar for ``value`` on the interval ``span`` (see :data:`STYLE`): from the left edge
    for gates (span starting at 0), from the middle for signed quantities; an empty track for NaN."""
    if np.isnan(value):
        return "<i style=--a:0%;--b:0%></i>"
    low, high = span
    origin = 100 * (max(low, 0.0) - low) / (high - low)
    end = 100 * (np.clip(value, low, high) - low) / (high - low)
    sign_class = "" if low == 0 else (" class=p" if value >= 0 else " class=n")  # gates green; +red, -blue
    return f"<i{sign_class} style=--a:{min(origin, end):.1f}%;--b:{max(origin, end):.1f}%></i>"


def _check_index(name, value, size, what) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__} {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{name} must be in [0, {size - 1}] for {what} = {size}; got {value}")
    return int(value)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number; got {type(value).__name__} {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return value


def _check_labels(labels, T) -> list[str]:
    if labels is None:
        return [""] * T
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(f"step_labels must be None or a list of T={T} strings; got {type(labels).__name__}")
    if len(labels) != T:
        raise ValueError(f"step_labels must have one label per step, T={T}; got {len(labels)}")
    for k, label in enumerate(labels):
        check_array_type(f"step_labels[{k}]", label, str, "a str")
    return list(labels)


def _check_title(title) -> str | None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be None or a str; got {type(title).__name__}")
    return title
