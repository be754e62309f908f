"""lstmlib.widgets.gate_explorer: the sliders drive lstmlib.reference, and the read-out shows its numbers."""

import json
import re

import numpy as np
import pytest

from lstmlib.reference import lstm_cell_forward, sigmoid
from lstmlib.widgets.gate_explorer import (
    CSS_CLASS,
    DEFAULT_VALUES,
    DEFAULT_WEIGHTS,
    OUTPUT_KEYS,
    ROWS,
    SLIDER_KEYS,
    GateExplorer,
    bar_geometry,
    format_readout,
)


def shown(explorer):
    """The numbers the read-out displays, parsed back from its HTML."""
    cells = re.findall(r'<td data-key="(\w)"[^>]*>([+-]\d+\.\d{3})</td>', explorer.readout.value)
    return {key: float(text) for key, text in cells}


def by_hand(values, weights=DEFAULT_WEIGHTS):
    """The book's equations for one unit, written out with scalars."""
    def z(gate):
        W, U = weights[gate]
        return W * values["x_t"] + U * values["h_prev"] + values[f"b_{gate}"]
    f, i, o = sigmoid(z("f")), sigmoid(z("i")), sigmoid(z("o"))
    g = np.tanh(z("g"))
    c = f * values["c_prev"] + i * g
    return {"f": f, "i": i, "g": g, "o": o, "c": c, "h": o * np.tanh(c)}


def test_starts_at_the_defaults_and_shows_them():
    explorer = GateExplorer()
    assert explorer.values == DEFAULT_VALUES
    assert list(explorer.sliders) == list(SLIDER_KEYS)
    assert explorer.result == explorer.compute(DEFAULT_VALUES)
    assert list(shown(explorer)) == list(OUTPUT_KEYS)


def test_compute_is_the_reference_step():
    explorer = GateExplorer()
    values = dict(DEFAULT_VALUES, x_t=-1.3, h_prev=0.4, c_prev=-2.0, b_i=0.5, b_f=2.5, b_g=-0.25, b_o=1.0)
    result = explorer.compute(values)
    params = explorer.cell_params(values)
    assert params["weight_ih_l0"].shape == (4, 1) and params["weight_hh_l0"].shape == (4, 1)
    h, c, cache = lstm_cell_forward(params, np.array([[-1.3]]), np.array([[0.4]]), np.array([[-2.0]]))
    expected = {"f": cache["f"], "i": cache["i"], "g": cache["g"], "o": cache["o"], "c": c, "h": h}
    assert result == {key: float(expected[key][0, 0]) for key in OUTPUT_KEYS}      # exactly
    for key, value in by_hand(values).items():                                     # and the equations
        assert result[key] == pytest.approx(value, abs=1e-15), key


def test_setting_a_slider_updates_result_and_readout():
    explorer = GateExplorer()
    explorer.sliders["x_t"].value = 0.7
    explorer.sliders["b_f"].value = -2.0
    explorer.sliders["c_prev"].value = 2.5
    values = dict(DEFAULT_VALUES, x_t=0.7, b_f=-2.0, c_prev=2.5)
    assert explorer.values == values
    reference = explorer.compute(values)
    assert explorer.result == reference
    for key, number in shown(explorer).items():
        assert abs(number - reference[key]) <= 5e-4 + 1e-12, key                  # 3 decimals shown
    assert shown(explorer)["f"] == round(reference["f"], 3)


@pytest.mark.parametrize("key", SLIDER_KEYS)
def test_every_slider_matters(key):
    explorer = GateExplorer()
    before = dict(explorer.result)
    explorer.sliders[key].value = explorer.sliders[key].value + 0.5
    assert explorer.result != before
    assert explorer.result == explorer.compute(explorer.values)


def test_forget_bias_controls_how_much_is_kept():
    explorer = GateExplorer(initial={"b_i": -6.0})                                 # input gate nearly shut
    explorer.sliders["b_f"].value = 6.0
    assert explorer.result["f"] > 0.99
    assert explorer.result["c"] == pytest.approx(explorer.values["c_prev"], rel=0.02)
    explorer.sliders["b_f"].value = -6.0
    assert explorer.result["f"] < 0.01
    assert abs(explorer.result["c"]) < 0.05


def test_reset_and_custom_weights():
    explorer = GateExplorer(weights={"i": (0.0, 0.0), "f": (0.0, 0.0), "g": (0.0, 0.0), "o": (0.0, 0.0)},
                            initial={"b_o": 2.0})
    explorer.sliders["x_t"].value = 3.0                                            # no weights: x_t is ignored
    assert explorer.result["o"] == pytest.approx(sigmoid(2.0), abs=1e-15)
    explorer.sliders["b_o"].value = -1.0
    explorer.reset()
    assert explorer.values == dict(DEFAULT_VALUES, b_o=2.0)


def test_readout_splits_the_cell_state():
    explorer = GateExplorer()
    r, v = explorer.result, explorer.values
    html = format_readout(r, v)
    assert html == explorer.readout.value
    assert f"= {r['f'] * v['c_prev']:+.3f} kept + {r['i'] * r['g']:+.3f} written" in html


def test_displays_as_its_widget():
    explorer = GateExplorer()
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id


def test_carries_what_the_static_page_needs():
    # _ext/lstmbook/static/lstmbook/gate-explorer.js finds these classes and this hidden element
    weights = {"i": (0.5, -1.0), "f": (2.0, 0.25), "g": (-1.5, 1.0), "o": (0.0, 3.0)}
    explorer = GateExplorer(weights=weights)
    assert CSS_CLASS in explorer.widget._dom_classes
    for key, slider in explorer.sliders.items():
        assert f"lstm-gate-{key}" in slider._dom_classes
    assert "lstm-gate-readout" in explorer.readout._dom_classes
    (hidden,) = [w for w in explorer.widget.children if "lstm-gate-weights" in w._dom_classes]
    assert hidden.layout.display == "none"
    assert json.loads(hidden.value) == {gate: list(pair) for gate, pair in weights.items()}


def test_readout_marks_the_bars_and_the_note():
    explorer = GateExplorer()
    html = explorer.readout.value
    for key in OUTPUT_KEYS:
        low, high = ROWS[key][2]
        row = re.search(rf'<td data-key="{key}".*?</tr>', html).group(0)
        assert f'data-low="{low}" data-high="{high}" data-width="220"' in row
        _, left, length = bar_geometry(explorer.result[key], (low, high))
        assert f"left:{left:.1f}px;top:2px;width:{length:.1f}px" in row
        assert f'<td data-note="{key}"' in row


@pytest.mark.parametrize("value,span,expected", [
    (0.25, (0.0, 1.0), (0.0, 0.0, 55.0)),       # a gate: from the left edge
    (-0.5, (-1.0, 1.0), (110.0, 55.0, 55.0)),   # a signed value: from the middle, to the left
    (9.0, (-4.0, 4.0), (110.0, 110.0, 110.0)),  # clipped at the end
    (-9.0, (0.0, 1.0), (0.0, 0.0, 0.0)),
])
def test_bar_geometry(value, span, expected):
    assert bar_geometry(value, span) == pytest.approx(expected, abs=1e-12)


FULL = dict(DEFAULT_VALUES)
BAD = {
    "values not a dict": (lambda e: e.compute([0.5] * 7), TypeError, r"values must be a dict of numbers"),
    "values missing key": (lambda e: e.compute({k: v for k, v in FULL.items() if k != "b_f"}), ValueError,
                           r"values must have exactly the keys .* missing \['b_f'\]"),
    "values extra key": (lambda e: e.compute(dict(FULL, b_c=0.0)), ValueError, r"unexpected \['b_c'\]"),
    "values string": (lambda e: e.compute(dict(FULL, x_t="0.5")), TypeError,
                      r"values\['x_t'\] must be a real number; got str"),
    "values bool": (lambda e: e.compute(dict(FULL, h_prev=True)), TypeError, r"values\['h_prev'\] must be a real"),
    "values nan": (lambda e: e.compute(dict(FULL, c_prev=np.nan)), ValueError, r"values\['c_prev'\] must be finite"),
    "readout result keys": (lambda e: format_readout({"f": 0.5}, FULL), ValueError, r"result must have exactly"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_values(case):
    call, error, message = BAD[case]
    with pytest.raises(error, match=message):
        call(GateExplorer())


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(weights=[(1, 1)] * 4), TypeError, r"weights must be a dict \{gate: \(W, U\)\}"),
    (dict(weights={"i": (1, 1), "f": (1, 1), "c": (1, 1), "o": (1, 1)}), ValueError, r"missing \['g'\]"),
    (dict(weights=dict(DEFAULT_WEIGHTS, o=(1.0,))), ValueError, r"weights\['o'\] must be a pair \(W, U\)"),
    (dict(weights=dict(DEFAULT_WEIGHTS, f=(1.0, np.inf))), ValueError, r"weights\['f'\]\[1\] must be finite"),
    (dict(initial={"x": 1.0}), ValueError, r"initial may only have the keys .* unexpected \['x'\]"),
    (dict(initial={"b_f": 11.0}), ValueError,
     r"initial\['b_f'\] must lie in the slider's range \[-10.0, 10.0\]; got 11.0"),
])
def test_bad_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        GateExplorer(**kwargs)
