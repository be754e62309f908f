"""The gate explorer: sliders for one step of a 1-unit LSTM cell, with its gates shown live.

The cell has one input (D = 1) and one unit (H = 1), so every quantity of the
step is a single number: the reader sets ``x_t``, ``h_{t-1}``, ``c_{t-1}`` and
the bias of each gate, and sees ``f_t``, ``i_t``, ``c̃_t``, ``o_t``, ``c_t``
and ``h_t`` change. The weights ``W`` and ``U`` of the four gates are fixed
numbers (:data:`DEFAULT_WEIGHTS`, or your own).

Two layers, so that the numbers can be tested without a browser:

* :meth:`GateExplorer.compute` is a pure function from the slider values to the
  step's values, computed by :func:`lstmlib.reference.lstm_cell_forward`;
* the widget (``explorer.widget``, or just display ``explorer``) is built on
  top: moving a slider calls ``compute`` and redraws the read-out. Setting
  ``explorer.sliders["x_t"].value = 0.7`` in code does exactly the same.

On a static page of the book there is no Python kernel to call ``compute``, so
the widget also carries what the reader's browser needs to do it:
``_ext/lstmbook/static/lstmbook/gate-explorer.js`` finds the explorer by its CSS classes
(:data:`CSS_CLASS`, ``lstm-gate-<slider key>``, ``lstm-gate-readout``), reads
the weights from a hidden element (``lstm-gate-weights``), and on every slider
move recomputes the step with ``lstm-cell.js`` (the JavaScript twin of
``lstm_cell_forward``) and rewrites the numbers, bars and note of the read-out,
which :func:`format_readout` marks for it. Inside Jupyter none of that runs and
Python draws the read-out.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from html import escape

import ipywidgets as widgets
import numpy as np

from lstmlib._checks import check_array_type, check_keys
from lstmlib.reference import lstm_cell_forward

GATES = ("i", "f", "g", "o")                 # the block order of every weight matrix
SLIDER_KEYS = ("x_t", "h_prev", "c_prev", "b_i", "b_f", "b_g", "b_o")
OUTPUT_KEYS = ("f", "i", "g", "o", "c", "h")  # the order of the read-out, as in the cell diagram

# gate: (W, U), so that gate = activation(W x_t + U h_{t-1} + b). Every gate
# grows with x_t and h_{t-1}: a positive input opens the input gate and writes
# a positive candidate.
DEFAULT_WEIGHTS = {"i": (2.0, 1.0), "f": (1.0, 1.0), "g": (1.5, 1.0), "o": (1.0, 1.0)}
# b_f = 1: the forget-gate bias Keras starts from (unit_forget_bias)
DEFAULT_VALUES = {"x_t": 0.5, "h_prev": 0.2, "c_prev": 1.0, "b_i": 0.0, "b_f": 1.0, "b_g": 0.0, "b_o": 0.0}
SLIDER_RANGES = {"x_t": (-3.0, 3.0), "h_prev": (-1.0, 1.0), "c_prev": (-3.0, 3.0),
                 "b_i": (-10.0, 10.0), "b_f": (-10.0, 10.0), "b_g": (-10.0, 10.0), "b_o": (-10.0, 10.0)}
# Labels in TeX, between \( and \) (the delimiters the book's MathJax and JupyterLab's both read): the
# widget typesets them (HTML subscripts would be stripped by the widget's sanitiser: "bf (forget)").
SLIDER_LABELS = {
    "x_t": r"input \(x_t\)", "h_prev": r"\(h_{t-1}\)", "c_prev": r"\(c_{t-1}\)",
    "b_i": r"\(b_i\) (input)", "b_f": r"\(b_f\) (forget)", "b_g": r"\(b_g\) (candidate)",
    "b_o": r"\(b_o\) (output)",
}
# the read-out: label, formula, and the interval its bar spans
ROWS = {
    "f": ("f<sub>t</sub> forget gate", "σ(W<sub>f</sub>x<sub>t</sub> + U<sub>f</sub>h<sub>t−1</sub> + b<sub>f</sub>)",
          (0.0, 1.0)),
    "i": ("i<sub>t</sub> input gate", "σ(W<sub>i</sub>x<sub>t</sub> + U<sub>i</sub>h<sub>t−1</sub> + b<sub>i</sub>)",
          (0.0, 1.0)),
    "g": ("c̃<sub>t</sub> candidate",
          "tanh(W<sub>g</sub>x<sub>t</sub> + U<sub>g</sub>h<sub>t−1</sub> + b<sub>g</sub>)", (-1.0, 1.0)),
    "o": ("o<sub>t</sub> output gate", "σ(W<sub>o</sub>x<sub>t</sub> + U<sub>o</sub>h<sub>t−1</sub> + b<sub>o</sub>)",
          (0.0, 1.0)),
    "c": ("c<sub>t</sub> cell state", "f<sub>t</sub>c<sub>t−1</sub> + i<sub>t</sub>c̃<sub>t</sub>", (-4.0, 4.0)),
    "h": ("h<sub>t</sub> hidden state", "o<sub>t</sub> tanh(c<sub>t</sub>)", (-1.0, 1.0)),
}
COLORS = {"f": "#1f77b4", "i": "#2ca02c", "g": "#ff7f0e", "o": "#9467bd", "c": "#222222", "h": "#555555"}
BAR_WIDTH = 220  # px
# the class by which the static page's script (_ext/lstmbook/static/lstmbook/gate-explorer.js) finds an explorer
CSS_CLASS = "lstm-gate-explorer"


class GateExplorer:
    """Sliders for one step of a 1-unit LSTM cell and a live read-out of its gates and state.

    weights: ``{gate: (W, U)}`` for the gates ``"i", "f", "g", "o"`` (default
    :data:`DEFAULT_WEIGHTS`); initial: slider values to start from, any
    subset of :data:`SLIDER_KEYS` (the rest from :data:`DEFAULT_VALUES`).

    ``sliders`` maps each key of :data:`SLIDER_KEYS` to its ``FloatSlider``;
    ``values`` reads them; ``result`` is ``compute(values)`` for the current
    sliders and ``readout`` the ``HTML`` widget that shows it.
    """

    def __init__(self, weights: Mapping[str, tuple[float, float]] | None = None,
                 initial: Mapping[str, float] | None = None):
        self.weights = _check_weights(DEFAULT_WEIGHTS if weights is None else weights)
        self.initial = {**DEFAULT_VALUES, **_check_numbers("initial", {} if initial is None else initial,
                                                           exact=False)}
        self.sliders = {key: self._slider(key) for key in SLIDER_KEYS}
        self.readout = widgets.HTML().add_class("lstm-gate-readout")
        inputs = widgets.VBox([widgets.HTML("<b>state and input</b>")]
                              + [self.sliders[k] for k in ("x_t", "h_prev", "c_prev")])
        biases = widgets.VBox([widgets.HTML("<b>gate biases</b>")]
                              + [self.sliders[k] for k in ("b_f", "b_i", "b_g", "b_o")])
        # for the static page's script: the weights {gate: [W, U]}, never shown
        weights = widgets.HTML(json.dumps({g: list(self.weights[g]) for g in GATES}),
                               layout=widgets.Layout(display="none")).add_class("lstm-gate-weights")
        # the two columns fit the book's page (2 x 340 px) and wrap onto two rows where it is narrower
        columns = widgets.HBox([inputs, biases], layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([columns, self.readout, weights]).add_class(CSS_CLASS)
        for slider in self.sliders.values():
            slider.observe(self._refresh, names="value")
        self._refresh()

    # -- the pure part ---------------------------------------------------------------------------

    def cell_params(self, values: Mapping[str, float]) -> dict[str, np.ndarray]:
        """The 1-unit cell as a :mod:`lstmlib.reference` params dict (D = H = 1) for these biases.

        ``weight_ih_l0`` (4, 1) holds W and ``weight_hh_l0`` (4, 1) holds U in
        the gate order i, f, g, o; ``bias_ih_l0`` (4,) holds the biases
        ``b_i, b_f, b_g, b_o`` of ``values`` and ``bias_hh_l0`` is zero.
        """
        values = _check_numbers("values", values, exact=True)
        return {
            "weight_ih_l0": np.array([[self.weights[g][0]] for g in GATES]),
            "weight_hh_l0": np.array([[self.weights[g][1]] for g in GATES]),
            "bias_ih_l0": np.array([values[f"b_{g}"] for g in GATES]),
            "bias_hh_l0": np.zeros(len(GATES)),
        }

    def compute(self, values: Mapping[str, float]) -> dict[str, float]:
        """One step of the cell for the slider values ``values`` (every key of :data:`SLIDER_KEYS`).

        Returns ``{"f", "i", "g", "o", "c", "h"}`` as floats, straight from
        :func:`lstmlib.reference.lstm_cell_forward` (batch of one, D = H = 1).
        """
        params = self.cell_params(values)
        values = _check_numbers("values", values, exact=True)
        x_t, h_prev, c_prev = (np.array([[values[k]]]) for k in ("x_t", "h_prev", "c_prev"))  # (B=1, 1)
        h, c, cache = lstm_cell_forward(params, x_t, h_prev, c_prev)
        step = {"f": cache["f"], "i": cache["i"], "g": cache["g"], "o": cache["o"], "c": c, "h": h}
        return {key: float(step[key][0, 0]) for key in OUTPUT_KEYS}

    # -- the widget on top -----------------------------------------------------------------------

    @property
    def values(self) -> dict[str, float]:
        """The sliders' current values, keyed by :data:`SLIDER_KEYS`."""
        return {key: float(slider.value) for key, slider in self.sliders.items()}

    def reset(self) -> None:
        """Put every slider back to its initial value."""
        for key, slider in self.sliders.items():
            slider.value = self.initial[key]

    def _slider(self, key):
        low, high = SLIDER_RANGES[key]
        if not low <= self.initial[key] <= high:
            raise ValueError(f"initial[{key!r}] must lie in the slider's range [{low}, {high}]; "
                             f"got {self.initial[key]}")
        return widgets.FloatSlider(
            value=self.initial[key], min=low, max=high, step=0.05, description=SLIDER_LABELS[key],
            readout_format=".2f", continuous_update=True,
            style={"description_width": "105px"}, layout=widgets.Layout(width="340px"),
        ).add_class(f"lstm-gate-{key}")

    def _refresh(self, change=None):
        self.result = self.compute(self.values)
        self.readout.value = format_readout(self.result, self.values)

    def _repr_mimebundle_(self, **kwargs):
        # displaying the explorer displays its widget
        return self.widget._repr_mimebundle_(**kwargs)


def format_readout(result: Mapping[str, float], values: Mapping[str, float]) -> str:
    """The read-out as an HTML table: one row per quantity, its value to 3 decimals and a bar.

    result: :meth:`GateExplorer.compute`'s dict; values: the slider values it
    came from (for the split of ``c_t`` into what was kept and what was written).
    Each value sits in a cell ``<td data-key="KEY">``, so tests can read it back; each bar is a
    ``<div data-low data-high data-width>`` whose first child is the coloured stretch, and the
    note of ``c_t`` sits in ``<td data-note="c">``: the static page's script rewrites those three.
    """
    result = _check_numbers("result", result, exact=True, keys=OUTPUT_KEYS)
    values = _check_numbers("values", values, exact=True)
    kept, written = result["f"] * values["c_prev"], result["i"] * result["g"]
    rows = []
    for key in OUTPUT_KEYS:
        label, formula, span = ROWS[key]
        note = f"= {kept:+.3f} kept + {written:+.3f} written" if key == "c" else formula
        rows.append(
            f'<tr><td style="padding:2px 10px 2px 0;white-space:nowrap">{label}</td>'
            f'<td data-key="{key}" style="padding:2px 10px;font-family:monospace;text-align:right">'
            f"{result[key]:+.3f}</td>"
            f'<td style="padding:2px 10px">{_bar(result[key], span, COLORS[key])}</td>'
            f'<td data-note="{key}" style="padding:2px 0;color:#666;font-size:90%;white-space:nowrap">'
            f"{note}</td></tr>"
        )
    return '<table style="border-collapse:collapse;margin-top:6px">' + "".join(rows) + "</table>"


def bar_geometry(value, span, width=BAR_WIDTH) -> tuple[float, float, float]:
    """Where a bar for ``value`` on the interval ``span`` is drawn, in px: ``(zero, left, length)``.

    The bar runs from 0 to ``value`` (clipped to ``span``) on a track ``width`` px wide that
    spans ``span``; ``zero`` is where 0 sits. gate-explorer.js has the same function.
    """
    low, high = span
    scale = width / (high - low)
    zero = (0.0 - low) * scale
    end = (float(np.clip(value, low, high)) - low) * scale
    return zero, min(zero, end), abs(end - zero)


def _bar(value, span, color, width=BAR_WIDTH):
    """An inline bar for ``value`` on the interval ``span``, drawn from 0 (clipped at the ends)."""
    zero, left, length = bar_geometry(value, span, width)
    marks = f'<div style="position:absolute;left:{zero:.0f}px;top:0;width:1px;height:14px;background:#888"></div>'
    return (
        f'<div data-low="{span[0]}" data-high="{span[1]}" data-width="{width}" '
        f'style="position:relative;width:{width}px;height:14px;background:#eee;border-radius:2px">'
        f'<div style="position:absolute;left:{left:.1f}px;top:2px;width:{length:.1f}px;height:10px;'
        f'background:{escape(color)}"></div>{marks}</div>'
    )


def _check_weights(weights) -> dict[str, tuple[float, float]]:
    check_array_type("weights", weights, Mapping, "a dict {gate: (W, U)} for the gates 'i', 'f', 'g', 'o'")
    check_keys("weights", weights, GATES)
    checked = {}
    for gate in GATES:
        pair = weights[gate]
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"weights[{gate!r}] must be a pair (W, U) of numbers; got {pair!r}")
        checked[gate] = tuple(_check_number(f"weights[{gate!r}][{k}]", v) for k, v in enumerate(pair))
    return checked


def _check_numbers(name, mapping, exact, keys=SLIDER_KEYS) -> dict[str, float]:
    """Validate a dict of finite real numbers keyed by ``keys`` (all of them if ``exact``, else a subset)."""
    check_array_type(name, mapping, Mapping, f"a dict of numbers keyed by {list(keys)}")
    if exact:
        check_keys(name, mapping, keys)
    else:
        unexpected = [k for k in mapping if k not in keys]
        if unexpected:
            raise ValueError(f"{name} may only have the keys {list(keys)}; unexpected {unexpected}")
    return {key: _check_number(f"{name}[{key!r}]", mapping[key]) for key in keys if key in mapping}


def _check_number(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return float(value)
