"""The LSTM in NumPy: forward pass and hand-written backward pass, side by side.

Notation (the book's): ``x_t`` input, ``h_prev``/``c_prev`` the state from the
previous step, gates ``i`` (input), ``f`` (forget), ``o`` (output), ``g`` the
candidate cell value c̃_t, their pre-activations ``a_i``, ``a_f``, ``a_g``,
``a_o``, and the new state ``c``, ``h``. Shapes: ``T`` time steps, ``B``
batch, ``D`` input features, ``H`` hidden units.

``params`` has the keys and shapes of ``torch.nn.LSTM(D, H).state_dict()``:
``weight_ih_l0 (4H, D)``, ``weight_hh_l0 (4H, H)`` and, unless built with
``bias=False``, ``bias_ih_l0 (4H,)``, ``bias_hh_l0 (4H,)``; the 4H axis stacks
the gates in the order i, f, g, o.

Every function is pure: the forward returns a ``cache`` (a dict holding the
inputs and the gate values it computed) and the backward reads it. The cache
refers to the arrays you passed in, so do not modify them in place between
forward and backward. The layer functions check the whole sequence once and
run the cell through the time loops of :mod:`lstmlib.reference.scan`.
"""

import numpy as np

from lstmlib.reference.activations import dsigmoid, dtanh, sigmoid
from lstmlib.reference.params import (
    CellChecks,
    checked_by,
    init_params,
)
from lstmlib.reference.scan import scan_backward, scan_forward, scan_state_gradients

GATES = 4  # i, f, g, o
CELL_CACHE_KEYS = ("x_t", "h_prev", "c_prev", "i", "f", "g", "o", "c", "tanh_c")
CHECKS = CellChecks(GATES, CELL_CACHE_KEYS, "lstm_cell_forward", "lstm_forward")


def init_lstm_params(input_size, hidden_size, rng=None, dtype=np.float64):
    """Parameters like ``torch.nn.LSTM(input_size, hidden_size)``: all ~ uniform(±1/sqrt(H)).

    rng: None (fresh generator), an int seed (same seed, same params) or a
    ``np.random.Generator``. Returns ``{weight_ih_l0: (4H, D), weight_hh_l0: (4H, H),
    bias_ih_l0: (4H,), bias_hh_l0: (4H,)}``; drop the two bias keys for an LSTM
    without bias.
    """
    return init_params(input_size, hidden_size, GATES, rng=rng, dtype=dtype)


@checked_by(CHECKS.cell_inputs)
def lstm_cell_forward(params, x_t, h_prev, c_prev):
    """One LSTM step.
    Book: :eq:`lstm-step` (chapter I.2, Anatomy of an LSTM unit).

    x_t: (B, D), h_prev: (B, H), c_prev: (B, H) -> h: (B, H), c: (B, H), cache (dict).
    """
    # a = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh, all four gates at once   (B, 4H)
    a = x_t @ params["weight_ih_l0"].T + h_prev @ params["weight_hh_l0"].T
    if "bias_ih_l0" in params:
        a = a + params["bias_ih_l0"] + params["bias_hh_l0"]
    # [a_i, a_f, a_g, a_o] = a, the gate order of torch.nn.LSTM
    a_i, a_f, a_g, a_o = np.split(a, GATES, axis=1)
    # i_t = σ(a_i)        how much of the candidate to write
    i = sigmoid(a_i)
    # f_t = σ(a_f)        how much of the old cell to keep
    f = sigmoid(a_f)
    # g_t = tanh(a_g)     the candidate cell value c̃_t
    g = np.tanh(a_g)
    # o_t = σ(a_o)        how much of the cell to show
    o = sigmoid(a_o)
    # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    c = f * c_prev + i * g
    # h_t = o_t ⊙ tanh(c_t)
    tanh_c = np.tanh(c)
    h = o * tanh_c

    cache = dict(x_t=x_t, h_prev=h_prev, c_prev=c_prev, i=i, f=f, g=g, o=o, c=c, tanh_c=tanh_c)
    return h, c, cache


@checked_by(CHECKS.cell_backward_inputs)
def lstm_cell_backward(params, cache, dh, dc):
    """Backward of one LSTM step, the mirror of :func:`lstm_cell_forward`.
    Book: :eq:`lstm-step-backward` (chapter I.3, How an LSTM unit works, step by step).

    dh: (B, H) = ∂L/∂h_t, dc: (B, H) = ∂L/∂c_t from everything except h_t
    (that is, from step t+1). Returns ``dparams`` (keys of ``params``),
    dx_t: (B, D), dh_prev: (B, H), dc_prev: (B, H).
    """
    x_t, h_prev, c_prev = cache["x_t"], cache["h_prev"], cache["c_prev"]
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]

    # h_t = o_t ⊙ tanh(c_t): to o_t, and to c_t on top of what step t+1 sent
    do = dh * tanh_c
    dc = dc + dh * o * dtanh(tanh_c)
    # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    df = dc * c_prev
    dc_prev = dc * f
    di = dc * g
    dg = dc * i
    # o_t = σ(a_o)
    da_o = do * dsigmoid(o)
    # g_t = tanh(a_g)
    da_g = dg * dtanh(g)
    # f_t = σ(a_f)
    da_f = df * dsigmoid(f)
    # i_t = σ(a_i)
    da_i = di * dsigmoid(i)
    # [a_i, a_f, a_g, a_o] = a
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (B, 4H)
    # a = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh
    dparams = {"weight_ih_l0": da.T @ x_t, "weight_hh_l0": da.T @ h_prev}
    if "bias_ih_l0" in params:
        dparams["bias_ih_l0"] = da.sum(axis=0)
        dparams["bias_hh_l0"] = da.sum(axis=0)
    dx_t = da @ params["weight_ih_l0"]
    dh_prev = da @ params["weight_hh_l0"]
    return dparams, dx_t, dh_prev, dc_prev


def lstm_forward(params, x, state=None):
    """Run the LSTM over a sequence: :func:`lstm_cell_forward` at every step.

    x: (T, B, D); state: ``(h0, c0)``, each (B, H), or None for zeros.
    Returns y: (T, B, H) (``y[t]`` is the hidden state after step t+1),
    the final state ``(h_T, c_T)``, each (B, H), and a cache for :func:`lstm_backward`.
    The loop is :func:`~lstmlib.reference.scan.scan_forward`.
    """
    state = CHECKS.forward_inputs(params, x, state)
    return scan_forward(lstm_cell_forward.unchecked, params, x, state)


def lstm_backward(params, cache, dy, dstate=None):
    """Backpropagation through time: :func:`lstm_cell_backward` at every step, last to first.
    Book: :eq:`bptt` (chapter I.3, How an LSTM unit works, step by step).

    dy: (T, B, H) = ∂L/∂y; dstate: ``(dh_T, dc_T)`` = ∂L/∂(h_T, c_T) when the
    loss also uses the final state, or None. Returns ``dparams`` (keys of
    ``params``, each summed over time), dx: (T, B, D) and ``(dh0, dc0)``.
    The loop is :func:`~lstmlib.reference.scan.scan_backward`.
    """
    dstate = CHECKS.backward_inputs(params, cache, dy, dstate)
    return scan_backward(lstm_cell_backward.unchecked, params, cache, dy, dstate)


def lstm_state_gradients(params, cache, dy, dstate=None):
    """Gradient of the loss w.r.t. the state the recurrence carries, at every step.

    Same arguments as :func:`lstm_backward`. Returns dh, dc: (T+1, B, H) with
    ``dh[t] = ∂L/∂h_t`` and ``dc[t] = ∂L/∂c_t`` for t = 0 (the initial state) .. T
    (the final state), taking the loss as a function of the state ``(h_t, c_t)``
    handed to step t+1. So ``dh[0], dc[0]`` are the ``(dh0, dc0)`` of
    :func:`lstm_backward`, and ``dh[T] = dy[T-1] + dh_T``, ``dc[T] = dc_T``.
    With ``dy`` non-zero only at the last step, ``|dh[T-k]|`` shows how much
    gradient survives k steps back (vanishing gradients).
    """
    dstate = CHECKS.backward_inputs(params, cache, dy, dstate)
    dh, dc = scan_state_gradients(lstm_cell_backward.unchecked, params, cache, dy, dstate)
    return dh, dc
