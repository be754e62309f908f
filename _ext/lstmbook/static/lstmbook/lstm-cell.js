/*
 * lstm-cell.js -- one step of an LSTM cell, computed in the reader's browser.
 *
 * The JavaScript twin of lstmlib.reference.lstm_cell_forward for one sequence
 * (no batch dimension), written line by line after it so that the book's
 * static pages can recompute a cell without a Python kernel. Its numbers are
 * tested against the reference in tests/test_web_cell.py (under node).
 *
 *   params: PyTorch's layout, the four gate blocks in the order i, f, g, o
 *     weight_ih_l0  4H rows of D numbers (W)
 *     weight_hh_l0  4H rows of H numbers (U)
 *     bias_ih_l0, bias_hh_l0  4H numbers each (optional, as in the reference)
 *   x: D numbers, hPrev, cPrev: H numbers
 *   -> {i, f, g, o, c, h}: H numbers each
 *
 * In a page it defines the global `lstmCell`; under node, module.exports.
 * (No AMD `define`: the widget pages load require.js, which would claim an
 * anonymous module and fail.)
 */
(function (root) {
  "use strict";

  // σ(z) = 1 / (1 + e^{-z}) for z >= 0 and e^{z} / (1 + e^{z}) for z < 0:
  // e^{-|z|} lies in (0, 1], so nothing overflows (as in lstmlib.reference.sigmoid).
  function sigmoid(z) {
    const e = Math.exp(-Math.abs(z));
    return z >= 0 ? 1 / (1 + e) : e / (1 + e);
  }

  // row · v, summed left to right
  function dot(row, v) {
    let sum = 0;
    for (let k = 0; k < v.length; k++) sum += row[k] * v[k];
    return sum;
  }

  function cellForward(params, x, hPrev, cPrev) {
    const H = hPrev.length;
    if (params.weight_ih_l0.length !== 4 * H || params.weight_hh_l0.length !== 4 * H || cPrev.length !== H) {
      throw new Error("lstmCell.cellForward: weight_ih_l0 and weight_hh_l0 need 4H rows and c_prev H numbers, " +
                      "H = h_prev.length = " + H);
    }
    const hasBias = "bias_ih_l0" in params;
    // z = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh, all four gates at once   (4H)
    const z = [];
    for (let r = 0; r < 4 * H; r++) {
      let zr = dot(params.weight_ih_l0[r], x) + dot(params.weight_hh_l0[r], hPrev);
      if (hasBias) zr = zr + params.bias_ih_l0[r] + params.bias_hh_l0[r];
      z.push(zr);
    }
    // [z_i, z_f, z_g, z_o] = z, the gate order of torch.nn.LSTM
    const block = (n) => z.slice(n * H, (n + 1) * H);
    const i = block(0).map(sigmoid);   // i_t = σ(z_i)      how much of the candidate to write
    const f = block(1).map(sigmoid);   // f_t = σ(z_f)      how much of the old cell to keep
    const g = block(2).map(Math.tanh); // g_t = tanh(z_g)   the candidate cell value c̃_t
    const o = block(3).map(sigmoid);   // o_t = σ(z_o)      how much of the cell to show
    // c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    const c = f.map((fu, u) => fu * cPrev[u] + i[u] * g[u]);
    // h_t = o_t ⊙ tanh(c_t)
    const h = o.map((ou, u) => ou * Math.tanh(c[u]));
    return { i: i, f: f, g: g, o: o, c: c, h: h };
  }

  const api = { sigmoid: sigmoid, cellForward: cellForward };
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.lstmCell = api;
  }
})(typeof globalThis !== "undefined" ? globalThis : this);
