"""The coupled input-forget gate LSTM (CIFG) in NumPy: forward and hand-written backward.

The LSTM of :mod:`lstmlib.reference.lstm` with its forget gate tied to the
input gate, ``f_t = 1 - i_t`` (one of the eight variants of Greff et al.,
2017): what the cell writes, it erases from the old value in the same
proportion, so the forget gate and its weights disappear::

    [a_i, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    i_t = σ(a_i) ;  f_t = 1 - i_t ;  g_t = tanh(a_g) ;  o_t = σ(a_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

``params`` has the keys and shapes of ``lstmlib.nn.CoupledLSTM(D, H).state_dict()``:
``weight_ih_l0 (3H, D)``, ``weight_hh_l0 (3H, H)`` and, unless built with
``bias=False``, ``bias_ih_l0 (3H,)``, ``bias_hh_l0 (3H,)``; the 3H axis stacks
the blocks in the order i, g, o (the LSTM's, less f). The functions are pure,
with the signatures of their LSTM counterparts; the cache refers to the arrays
you passed in. The layer functions check the whole sequence once and run the
cell through the time loops of :mod:`lstmlib.reference.scan`.
"""

import numpy as np

from lstmlib.reference.activations import dsigmoid, dtanh, sigmoid
from lstmlib.reference.params import (
    CellChecks,
    checked_by,
    init_params,
)
from lstmlib.reference.scan import scan_backward, scan_forward

GATES = 3  # i, g, o
CELL_CACHE_KEYS = ("x_t", "h_prev", "c_prev", "i", "g", "o", "c", "tanh_c")
CHECKS = CellChecks(GATES, CELL_CACHE_KEYS, "coupled_cell_forward", "coupled_forward")


def init_coupled_params(input_size, hidden_size, rng=None, dtype=np.float64):
    """Parameters like ``lstmlib.nn.CoupledLSTM(input_size, hidden_size)``: all ~ uniform(±1/sqrt(H)).

    rng: None (fresh generator), an int seed or a ``np.random.Generator``.
    Returns ``{weight_ih_l0: (3H, D), weight_hh_l0: (3H, H), bias_ih_l0: (3H,),
    bias_hh_l0: (3H,)}``; drop the two bias keys for a CIFG without bias.
    """
    return init_params(input_size, hidden_size, GATES, rng=rng, dtype=dtype)


@checked_by(CHECKS.cell_inputs)
def coupled_cell_forward(params, x_t, h_prev, c_prev):
    """One CIFG step.
    Book: :eq:`cifg-step` (chapter II.6, Choosing a recurrent cell).

    x_t: (B, D), h_prev: (B, H), c_prev: (B, H) -> h: (B, H), c: (B, H), cache (dict).
    """
    # a = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh, three gate blocks at once   (B, 3H)
    a = x_t @ params["weight_ih_l0"].T + h_prev @ params["weight_hh_l0"].T
    if "bias_ih_l0" in params:
        a = a + params["bias_ih_l0"] + params["bias_hh_l0"]
    # [a_i, a_g, a_o] = a: the LSTM's order without the forget gate
    a_i, a_g, a_o = np.split(a, GATES, axis=1)
    # i_t = σ(a_i)        how much of the candidate to write
    i = sigmoid(a_i)
    # g_t = tanh(a_g)     the candidate cell value c̃_t
    g = np.tanh(a_g)
    # o_t = σ(a_o)        how much of the cell to show
    o = sigmoid(a_o)
    # c_t = (1 - i_t) ⊙ c_{t-1} + i_t ⊙ g_t: the forget gate is f_t = 1 - i_t
    c = (1 - i) * c_prev + i * g
    # h_t = o_t ⊙ tanh(c_t)
    tanh_c = np.tanh(c)
    h = o * tanh_c

    cache = dict(x_t=x_t, h_prev=h_prev, c_prev=c_prev, i=i, g=g, o=o, c=c, tanh_c=tanh_c)
    return h, c, cache


@checked_by(CHECKS.cell_backward_inputs)
def coupled_cell_backward(params, cache, dh, dc):
    """Backward of one CIFG step, the mirror of :func:`coupled_cell_forward`.

    dh: (B, H) = ∂L/∂h_t, dc: (B, H) = ∂L/∂c_t from step t+1. Returns
    ``dparams`` (keys of ``params``), dx_t: (B, D), dh_prev: (B, H), dc_prev: (B, H).
    """
    x_t, h_prev, c_prev = cache["x_t"], cache["h_prev"], cache["c_prev"]
    i, g, o, tanh_c = cache["i"], cache["g"], cache["o"], cache["tanh_c"]

    # h_t = o_t ⊙ tanh(c_t): to o_t, and to c_t on top of what step t+1 sent
    do = dh * tanh_c
    dc = dc + dh * o * dtanh(tanh_c)
    # c_t = (1 - i_t) ⊙ c_{t-1} + i_t ⊙ g_t: i_t both writes g_t and erases c_{t-1}
    di = dc * (g - c_prev)
    dg = dc * i
    dc_prev = dc * (1 - i)
    # o_t = σ(a_o)
    da_o = do * dsigmoid(o)
    # g_t = tanh(a_g)
    da_g = dg * dtanh(g)
    # i_t = σ(a_i)
    da_i = di * dsigmoid(i)
    # [a_i, a_g, a_o] = a
    da = np.concatenate([da_i, da_g, da_o], axis=1)  # (B, 3H)
    # a = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh
    dparams = {"weight_ih_l0": da.T @ x_t, "weight_hh_l0": da.T @ h_prev}
    if "bias_ih_l0" in params:
        dparams["bias_ih_l0"] = da.sum(axis=0)
        dparams["bias_hh_l0"] = da.sum(axis=0)
    dx_t = da @ params["weight_ih_l0"]
    dh_prev = da @ params["weight_hh_l0"]
    return dparams, dx_t, dh_prev, dc_prev


def coupled_forward(params, x, state=None):
    """Run the CIFG over a sequence: :func:`coupled_cell_forward` at every step.

    x: (T, B, D); state: ``(h0, c0)``, each (B, H), or None for zeros.
    Returns y: (T, B, H), the final state ``(h_T, c_T)`` and a cache for :func:`coupled_backward`.
    """
    state = CHECKS.forward_inputs(params, x, state)
    return scan_forward(coupled_cell_forward.unchecked, params, x, state)


def coupled_backward(params, cache, dy, dstate=None):
    """Backpropagation through time: :func:`coupled_cell_backward` at every step, last to first.

    dy: (T, B, H) = ∂L/∂y; dstate: ``(dh_T, dc_T)`` or None. Returns ``dparams``
    (keys of ``params``, each summed over time), dx: (T, B, D) and ``(dh0, dc0)``.
    """
    dstate = CHECKS.backward_inputs(params, cache, dy, dstate)
    return scan_backward(coupled_cell_backward.unchecked, params, cache, dy, dstate)
