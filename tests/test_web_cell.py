"""The JavaScript LSTM cell of the static pages computes what lstmlib.reference computes.

_ext/lstmbook/static/lstmbook/lstm-cell.js (the cell) and gate-explorer.js (the gate
explorer's step, number format and bars) run in the reader's browser; here they
run under node, on the same inputs as lstm_cell_forward and GateExplorer.
Skipped where node is not installed (the browser test checks the page too).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from book_files import ROOT

from lstmlib.reference import lstm_cell_forward
from lstmlib.widgets.gate_explorer import (
    DEFAULT_VALUES,
    DEFAULT_WEIGHTS,
    OUTPUT_KEYS,
    ROWS,
    SLIDER_KEYS,
    SLIDER_RANGES,
    GateExplorer,
    bar_geometry,
)

NODE = shutil.which("node")
SCRIPTS = ROOT / "_ext" / "lstmbook" / "static" / "lstmbook"
pytestmark = pytest.mark.skipif(
    NODE is None,
    reason="node is not installed (apt-get install nodejs, or .ci/install-browser): "
    "the JavaScript cell is not run under node",
)

# Reads {"function": ..., "calls": [[args...], ...]} on stdin, prints the results as JSON.
RUNNER = """
const cell = require(process.argv[1] + "/lstm-cell.js");
const explorer = require(process.argv[1] + "/gate-explorer.js");
const functions = {cellForward: cell.cellForward, sigmoid: cell.sigmoid, compute: explorer.compute,
                   signed: explorer.signed, barGeometry: explorer.barGeometry};
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  const results = job.calls.map((args) => functions[job.function](...args));
  process.stdout.write(JSON.stringify(results));
});
"""


def run_js(function: str, calls: list[list]) -> list:
    """``function(*args)`` in node for each ``args`` of ``calls``."""
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(SCRIPTS)],
        input=json.dumps({"function": function, "calls": calls}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cell_is_the_reference_step():
    rng = np.random.default_rng(7)
    cases, expected = [], []
    for D, H, bias in [(1, 1, True), (3, 2, True), (5, 4, False), (2, 7, True), (1, 3, True)]:
        params = {"weight_ih_l0": rng.normal(size=(4 * H, D)), "weight_hh_l0": rng.normal(size=(4 * H, H))}
        if bias:
            params["bias_ih_l0"], params["bias_hh_l0"] = rng.normal(size=4 * H), rng.normal(size=4 * H)
        x, h, c = rng.normal(size=(1, D)), rng.normal(size=(1, H)), 2 * rng.normal(size=(1, H))
        h_t, c_t, cache = lstm_cell_forward(params, x, h, c)
        cases.append([{k: v.tolist() for k, v in params.items()}, x[0].tolist(), h[0].tolist(), c[0].tolist()])
        expected.append({"i": cache["i"], "f": cache["f"], "g": cache["g"], "o": cache["o"], "c": c_t, "h": h_t})
    for got, want in zip(run_js("cellForward", cases), expected):
        assert sorted(got) == ["c", "f", "g", "h", "i", "o"]
        for key, value in want.items():
            np.testing.assert_allclose(got[key], value[0], rtol=1e-12, atol=1e-14, err_msg=key)


def test_saturated_gates_stay_finite():
    # |z| = 800: e^{800} overflows a double; the stable sigmoid gives exactly 0 and 1
    params = {"weight_ih_l0": [[400.0], [-400.0], [400.0], [-400.0]], "weight_hh_l0": [[0.0]] * 4}
    (got,) = run_js("cellForward", [[params, [2.0], [0.0], [0.5]]])
    assert got == {"i": [1.0], "f": [0.0], "g": [1.0], "o": [0.0], "c": [1.0], "h": [0.0]}
    assert run_js("sigmoid", [[-800.0], [800.0], [0.0]]) == [0.0, 1.0, 0.5]


def test_gate_explorer_step_is_python_s():
    rng = np.random.default_rng(3)
    weights = {"i": (0.5, -1.0), "f": (2.0, 0.3), "g": (-1.2, 0.8), "o": (0.0, 1.5)}
    explorers = [GateExplorer(), GateExplorer(weights=weights)]
    calls, expected = [], []
    for k in range(40):
        explorer = explorers[k % 2]
        values = {key: float(rng.uniform(*SLIDER_RANGES[key])) for key in SLIDER_KEYS}
        calls.append([{g: list(w) for g, w in explorer.weights.items()}, values])
        expected.append(explorer.compute(values))
    calls.append([{g: list(w) for g, w in DEFAULT_WEIGHTS.items()}, DEFAULT_VALUES])
    expected.append(GateExplorer().compute(DEFAULT_VALUES))
    for got, want in zip(run_js("compute", calls), expected):
        assert list(got) == list(OUTPUT_KEYS)
        for key in OUTPUT_KEYS:
            assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-14), key


def test_numbers_are_formatted_as_python_does():
    rng = np.random.default_rng(5)
    values = [0.0, -0.0, -0.0004, 0.0004, 1.0, -1.0, 0.9995123, -3.99999, 12.5, -0.12345]
    values += [float(v) for v in rng.uniform(-5, 5, size=200)]
    got = run_js("signed", [[v] for v in values])
    assert got == [f"{v:+.3f}" for v in values]


def test_bars_are_drawn_as_python_draws_them():
    rng = np.random.default_rng(11)
    calls, expected = [], []
    for key in OUTPUT_KEYS:
        low, high = ROWS[key][2]
        for value in [low - 1.0, low, 0.0, high, high + 1.0] + [float(v) for v in rng.uniform(low, high, size=5)]:
            calls.append([value, low, high, 220])
            expected.append(bar_geometry(value, (low, high), 220))
    for got, (zero, left, length) in zip(run_js("barGeometry", calls), expected):
        assert got == pytest.approx({"zero": zero, "left": left, "length": length}, abs=1e-12)
