"""The peephole LSTM in NumPy: forward pass and hand-written backward pass, side by side.

Gers & Schmidhuber (2000) let the gates look at the cell they guard: the LSTM
of :mod:`lstmlib.reference.lstm` plus three diagonal ("peephole") weight
vectors, ``w_ci`` and ``w_cf`` reading the previous cell ``c_{t-1}`` into the
input and forget gates, and ``w_co`` reading the NEW cell ``c_t`` into the
output gate (which is computed after the cell update for that reason)::

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi + w_ci ⊙ c_{t-1})
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf + w_cf ⊙ c_{t-1})
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho + w_co ⊙ c_t)
    h_t = o_t ⊙ tanh(c_t)

With the three vectors at zero it is exactly the LSTM. ``params`` has the keys
and shapes of ``lstmlib.nn.PeepholeLSTM(D, H).state_dict()``: the LSTM's
``weight_ih_l0 (4H, D)``, ``weight_hh_l0 (4H, H)``, optional ``bias_ih_l0 (4H,)``,
``bias_hh_l0 (4H,)`` (gate order i, f, g, o), plus ``weight_ci_l0``,
``weight_cf_l0``, ``weight_co_l0``, each ``(H,)``. The functions are pure, with
the signatures of their LSTM counterparts; the cache refers to the arrays you
passed in, so do not modify them in place between forward and backward. The
layer functions check the whole sequence once and run the cell through the
time loops of :mod:`lstmlib.reference.scan`.
"""

import numpy as np

from lstmlib._checks import check_rng
from lstmlib.reference.activations import dsigmoid, dtanh, sigmoid
from lstmlib.reference.params import (
    CellChecks,
    checked_by,
    init_params,
    init_uniform,
)
from lstmlib.reference.scan import scan_backward, scan_forward

GATES = 4  # i, f, g, o
PEEPHOLES = ("weight_ci_l0", "weight_cf_l0", "weight_co_l0")  # c_{t-1} -> i, c_{t-1} -> f, c_t -> o
CELL_CACHE_KEYS = ("x_t", "h_prev", "c_prev", "i", "f", "g", "o", "c", "tanh_c")
CHECKS = CellChecks(GATES, CELL_CACHE_KEYS, "peephole_cell_forward", "peephole_forward", vectors=PEEPHOLES,
                    dstate_name="dstate_T")


def init_peephole_params(input_size, hidden_size, rng=None, dtype=np.float64):
    """Parameters like ``lstmlib.nn.PeepholeLSTM(input_size, hidden_size)``: all ~ uniform(±1/sqrt(H)).

    rng: None (fresh generator), an int seed (same seed, same params) or a
    ``np.random.Generator``. The LSTM's entries are drawn first, so they equal
    ``init_lstm_params(input_size, hidden_size, rng)`` for the same seed; then
    ``weight_ci_l0``, ``weight_cf_l0``, ``weight_co_l0``, each (H,). Drop the two
    bias keys for a peephole LSTM without bias.
    """
    rng = check_rng("rng", rng)
    params = init_params(input_size, hidden_size, GATES, rng=rng, dtype=dtype)
    peepholes = {key: (hidden_size,) for key in PEEPHOLES}
    return params | init_uniform(peepholes, 1 / np.sqrt(hidden_size), rng=rng, dtype=dtype)


@checked_by(CHECKS.cell_inputs)
def peephole_cell_forward(params, x_t, h_prev, c_prev):
    """One peephole-LSTM step.
    Book: :eq:`peephole-step` (chapter II.2, The forget gate and peephole connections).

    x_t: (B, D), h_prev: (B, H), c_prev: (B, H) -> h: (B, H), c: (B, H), cache (dict).
    """
    w_ci, w_cf, w_co = (params[key] for key in PEEPHOLES)  # (H,) each
    # a = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh, all four gates at once   (B, 4H)
    a = x_t @ params["weight_ih_l0"].T + h_prev @ params["weight_hh_l0"].T
    if "bias_ih_l0" in params:
        a = a + params["bias_ih_l0"] + params["bias_hh_l0"]
    # [a_i, a_f, a_g, a_o] = a, the gate order of torch.nn.LSTM
    a_i, a_f, a_g, a_o = np.split(a, GATES, axis=1)
    # i_t = σ(a_i + w_ci ⊙ c_{t-1})     the input gate peeks at the old cell
    i = sigmoid(a_i + w_ci * c_prev)
    # f_t = σ(a_f + w_cf ⊙ c_{t-1})     so does the forget gate
    f = sigmoid(a_f + w_cf * c_prev)
    # g_t = tanh(a_g)                   the candidate cell value c̃_t (no peephole)
    g = np.tanh(a_g)
    # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    c = f * c_prev + i * g
    # o_t = σ(a_o + w_co ⊙ c_t)         the output gate peeks at the NEW cell
    o = sigmoid(a_o + w_co * c)
    # h_t = o_t ⊙ tanh(c_t)
    tanh_c = np.tanh(c)
    h = o * tanh_c

    cache = dict(x_t=x_t, h_prev=h_prev, c_prev=c_prev, i=i, f=f, g=g, o=o, c=c, tanh_c=tanh_c)
    return h, c, cache


@checked_by(CHECKS.cell_backward_inputs)
def peephole_cell_backward(params, cache, dh, dc):
    """Backward of one peephole-LSTM step, the mirror of :func:`peephole_cell_forward`.

    dh: (B, H) = ∂L/∂h_t, dc: (B, H) = ∂L/∂c_t from everything except h_t and
    o_t (that is, from step t+1). Returns ``dparams`` (keys of ``params``),
    dx_t: (B, D), dh_prev: (B, H), dc_prev: (B, H).
    """
    w_ci, w_cf, w_co = (params[key] for key in PEEPHOLES)
    x_t, h_prev, c_prev, c = cache["x_t"], cache["h_prev"], cache["c_prev"], cache["c"]
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]

    # h_t = o_t ⊙ tanh(c_t): to o_t, and to c_t on top of what step t+1 sent
    do = dh * tanh_c
    dc = dc + dh * o * dtanh(tanh_c)
    # o_t = σ(a_o + w_co ⊙ c_t): to a_o, and through the peephole to c_t once more
    da_o = do * dsigmoid(o)
    dc = dc + da_o * w_co
    # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    df = dc * c_prev
    dc_prev = dc * f
    di = dc * g
    dg = dc * i
    # g_t = tanh(a_g)
    da_g = dg * dtanh(g)
    # f_t = σ(a_f + w_cf ⊙ c_{t-1})
    da_f = df * dsigmoid(f)
    # i_t = σ(a_i + w_ci ⊙ c_{t-1})
    da_i = di * dsigmoid(i)
    # the peepholes of i and f: c_{t-1} reaches step t's gates too
    dc_prev = dc_prev + da_i * w_ci + da_f * w_cf
    # [a_i, a_f, a_g, a_o] = a
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (B, 4H)
    # a = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh
    dparams = {"weight_ih_l0": da.T @ x_t, "weight_hh_l0": da.T @ h_prev}
    if "bias_ih_l0" in params:
        dparams["bias_ih_l0"] = da.sum(axis=0)
        dparams["bias_hh_l0"] = da.sum(axis=0)
    # w_ci ⊙ c_{t-1}, w_cf ⊙ c_{t-1}, w_co ⊙ c_t: one weight per unit, summed over the batch
    dparams["weight_ci_l0"] = (da_i * c_prev).sum(axis=0)
    dparams["weight_cf_l0"] = (da_f * c_prev).sum(axis=0)
    dparams["weight_co_l0"] = (da_o * c).sum(axis=0)
    dx_t = da @ params["weight_ih_l0"]
    dh_prev = da @ params["weight_hh_l0"]
    return dparams, dx_t, dh_prev, dc_prev


def peephole_forward(params, x, state=None):
    """Run the peephole LSTM over a sequence: :func:`peephole_cell_forward` at every step.

    x: (T, B, D); state: ``(h0, c0)``, each (B, H), or None for zeros.
    Returns y: (T, B, H) (``y[t]`` is the hidden state after step t+1),
    the final state ``(h_T, c_T)``, each (B, H), and a cache for :func:`peephole_backward`.
    The loop is :func:`~lstmlib.reference.scan.scan_forward`.
    """
    state = CHECKS.forward_inputs(params, x, state)
    return scan_forward(peephole_cell_forward.unchecked, params, x, state)


def peephole_backward(params, cache, dy, dstate_T=None):
    """Backpropagation through time: :func:`peephole_cell_backward` at every step, last to first.

    dy: (T, B, H) = ∂L/∂y; dstate_T: ``(dh_T, dc_T)`` = ∂L/∂(h_T, c_T) when the
    loss also uses the final state, or None. Returns ``dparams`` (keys of
    ``params``, each summed over time), dx: (T, B, D) and ``(dh0, dc0)``.
    The loop is :func:`~lstmlib.reference.scan.scan_backward`.
    """
    dstate_T = CHECKS.backward_inputs(params, cache, dy, dstate_T)
    return scan_backward(peephole_cell_backward.unchecked, params, cache, dy, dstate_T)
