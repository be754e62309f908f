/*
 * gate-explorer.js -- the gate explorer responds on the book's static pages.
 *
 * Inside Jupyter, lstmlib.widgets.gate_explorer.GateExplorer recomputes its
 * read-out in Python whenever a slider moves. A page of the HTML book has no
 * Python kernel: the widget manager (embed-amd.js) draws the widget from its
 * stored state, and the sliders move, but nothing would recompute. This script
 * does it in the reader's browser:
 *
 * 1. it waits for the manager to draw each explorer (the element with the
 *    class lstm-gate-explorer; the manager draws widgets asynchronously, so a
 *    MutationObserver looks again whenever the page changes);
 * 2. it reads the cell's weights from the explorer's hidden element
 *    (lstm-gate-weights: {"i": [W, U], ...}) and listens to the seven sliders
 *    (lstm-gate-x_t, lstm-gate-h_prev, ..., each holding a noUiSlider);
 * 3. on every move it computes the step with lstmCell.cellForward
 *    (lstm-cell.js) exactly as GateExplorer.compute builds it (D = H = 1,
 *    b_hh = 0), and rewrites the read-out's numbers, bars and the note of c_t
 *    the way format_readout writes them.
 *
 * Each number cell also gets data-value, the full-precision number, which the
 * browser test compares with lstmlib.reference; an explorer gets
 * data-lstm-live once it is connected.
 *
 * Under node it exports its pure functions (compute, signed, barGeometry) for
 * tests/test_web_cell.py and touches no DOM.
 */
(function (root) {
  "use strict";

  const inNode = typeof module === "object" && module.exports;
  const cell = inNode ? require("./lstm-cell.js") : root.lstmCell;

  // as in lstmlib/widgets/gate_explorer.py
  const GATES = ["i", "f", "g", "o"];
  const SLIDER_KEYS = ["x_t", "h_prev", "c_prev", "b_i", "b_f", "b_g", "b_o"];
  const OUTPUT_KEYS = ["f", "i", "g", "o", "c", "h"];

  // GateExplorer.compute: the slider values -> {f, i, g, o, c, h} of the 1-unit cell
  function compute(weights, values) {
    const params = {
      weight_ih_l0: GATES.map((g) => [weights[g][0]]),   // W, (4, 1)
      weight_hh_l0: GATES.map((g) => [weights[g][1]]),   // U, (4, 1)
      bias_ih_l0: GATES.map((g) => values["b_" + g]),
      bias_hh_l0: [0, 0, 0, 0],
    };
    const step = cell.cellForward(params, [values.x_t], [values.h_prev], [values.c_prev]);
    const result = {};
    OUTPUT_KEYS.forEach((key) => { result[key] = step[key][0]; });
    return result;
  }

  // Python's f"{v:+.3f}": a sign always, "-0.000" for small negatives and for -0
  function signed(v) {
    return (v < 0 || Object.is(v, -0) ? "-" : "+") + Math.abs(v).toFixed(3);
  }

  // gate_explorer.bar_geometry: a bar from 0 to value (clipped) on a track spanning [low, high]
  function barGeometry(value, low, high, width) {
    const scale = width / (high - low);
    const zero = (0 - low) * scale;
    const end = (Math.min(Math.max(value, low), high) - low) * scale;
    return { zero: zero, left: Math.min(zero, end), length: Math.abs(end - zero) };
  }

  const api = { compute: compute, signed: signed, barGeometry: barGeometry };
  if (inNode) {
    module.exports = api;
    return;
  }
  root.lstmGateExplorer = api;

  // -- the page ----------------------------------------------------------------------------------

  function show(readout, result, values) {
    OUTPUT_KEYS.forEach((key) => {
      const number = readout.querySelector('td[data-key="' + key + '"]');
      number.textContent = signed(result[key]);
      number.dataset.value = String(result[key]);
      const track = number.nextElementSibling.querySelector("div[data-low]");
      const bar = barGeometry(result[key], Number(track.dataset.low), Number(track.dataset.high),
                              Number(track.dataset.width));
      track.firstElementChild.style.left = bar.left.toFixed(1) + "px";
      track.firstElementChild.style.width = bar.length.toFixed(1) + "px";
    });
    // c_t = f_t c_{t-1} + i_t c̃_t: what was kept and what was written
    const note = readout.querySelector('td[data-note="c"]');
    note.textContent = "= " + signed(result.f * values.c_prev) + " kept + " + signed(result.i * result.g) + " written";
  }

  // Connect one drawn explorer; false while the manager has not finished drawing it.
  function connect(explorer) {
    const weightsElement = explorer.querySelector(".lstm-gate-weights");
    const readout = explorer.querySelector(".lstm-gate-readout");
    const sliders = SLIDER_KEYS.map((key) => explorer.querySelector(".lstm-gate-" + key + " .noUi-target"));
    if (!weightsElement || !readout || !readout.querySelector("td[data-note]") ||
        sliders.some((slider) => !slider || !slider.noUiSlider)) {
      return false;
    }
    const weights = JSON.parse(weightsElement.textContent);
    function refresh() {
      const values = {};
      SLIDER_KEYS.forEach((key, k) => { values[key] = Number(sliders[k].noUiSlider.get()); });
      show(readout, compute(weights, values), values);
    }
    // noUiSlider's "update" fires on every move (drag, click, keys, the typed-in read-out) and
    // once when bound; ".lstmbook" names our listener apart from the widget's own.
    sliders.forEach((slider) => slider.noUiSlider.on("update.lstmbook", refresh));
    explorer.dataset.lstmLive = "";
    return true;
  }

  let pending = null;
  function scan() {
    pending = null;
    document.querySelectorAll(".lstm-gate-explorer:not([data-lstm-live])").forEach(connect);
  }
  new MutationObserver(() => {
    if (pending === null) pending = setTimeout(scan, 20);
  }).observe(document.documentElement, { childList: true, subtree: true });
  scan();
})(typeof globalThis !== "undefined" ? globalThis : this);
