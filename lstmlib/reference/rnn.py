"""The vanilla (Elman) tanh RNN in NumPy: forward and hand-written backward.

The baseline the LSTM improves on: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.
Its state is a single array ``h`` (B, H): there is no cell state, so where the
LSTM functions take and return a tuple ``(h, c)``, these take and return one
array (``h0``, ``h_T``, ``dh_T``, ``dh0``).

``params`` has the keys and shapes of ``torch.nn.RNN(D, H).state_dict()``:
``weight_ih_l0 (H, D)``, ``weight_hh_l0 (H, H)`` and, unless built with
``bias=False``, ``bias_ih_l0 (H,)``, ``bias_hh_l0 (H,)``. Functions are pure;
the cache refers to the arrays you passed in, so do not modify them in place
between forward and backward. The layer functions check the whole sequence
once and run the cell through the time loops of :mod:`lstmlib.reference.scan`.
"""

import numpy as np

from lstmlib.reference.activations import dtanh
from lstmlib.reference.params import (
    CellChecks,
    checked_by,
    init_params,
)
from lstmlib.reference.scan import scan_backward, scan_forward, scan_state_gradients

GATES = 1
CELL_CACHE_KEYS = ("x_t", "h_prev", "h")
CHECKS = CellChecks(GATES, CELL_CACHE_KEYS, "rnn_cell_forward", "rnn_forward", cell_state=False, model="RNN")


def init_rnn_params(input_size, hidden_size, rng=None, dtype=np.float64):
    """Parameters like ``torch.nn.RNN(input_size, hidden_size)``: all ~ uniform(±1/sqrt(H)).

    rng: None (fresh generator), an int seed (same seed, same params) or a
    ``np.random.Generator``. Returns ``{weight_ih_l0: (H, D), weight_hh_l0: (H, H),
    bias_ih_l0: (H,), bias_hh_l0: (H,)}``; drop the two bias keys for an RNN
    without bias.
    """
    return init_params(input_size, hidden_size, GATES, rng=rng, dtype=dtype)


@checked_by(CHECKS.cell_inputs)
def rnn_cell_forward(params, x_t, h_prev):
    """One RNN step.
    Book: :eq:`rnn-step` (chapter I.1, From RNNs to LSTMs: the vanishing gradient).

    x_t: (B, D), h_prev: (B, H) -> h: (B, H), cache (dict).
    """
    # a = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh   (B, H)
    a = x_t @ params["weight_ih_l0"].T + h_prev @ params["weight_hh_l0"].T
    if "bias_ih_l0" in params:
        a = a + params["bias_ih_l0"] + params["bias_hh_l0"]
    # h_t = tanh(a)
    h = np.tanh(a)
    return h, dict(x_t=x_t, h_prev=h_prev, h=h)


@checked_by(CHECKS.cell_backward_inputs)
def rnn_cell_backward(params, cache, dh):
    """Backward of one RNN step, the mirror of :func:`rnn_cell_forward`.

    dh: (B, H) = ∂L/∂h_t. Returns ``dparams`` (keys of ``params``),
    dx_t: (B, D), dh_prev: (B, H).
    """
    x_t, h_prev, h = cache["x_t"], cache["h_prev"], cache["h"]
    # h_t = tanh(a)
    da = dh * dtanh(h)
    # a = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh
    dparams = {"weight_ih_l0": da.T @ x_t, "weight_hh_l0": da.T @ h_prev}
    if "bias_ih_l0" in params:
        dparams["bias_ih_l0"] = da.sum(axis=0)
        dparams["bias_hh_l0"] = da.sum(axis=0)
    dx_t = da @ params["weight_ih_l0"]
    dh_prev = da @ params["weight_hh_l0"]
    return dparams, dx_t, dh_prev


def rnn_forward(params, x, h0=None):
    """Run the RNN over a sequence: :func:`rnn_cell_forward` at every step.

    x: (T, B, D); h0: (B, H) or None for zeros (one array: the RNN has no cell state).
    Returns y: (T, B, H) (``y[t]`` is the hidden state after step t+1), the final
    hidden state h_T: (B, H), and a cache for :func:`rnn_backward`.
    The loop is :func:`~lstmlib.reference.scan.scan_forward`.
    """
    h0 = CHECKS.forward_inputs(params, x, h0)
    y, (h_T,), cache = scan_forward(rnn_cell_forward.unchecked, params, x, (h0,))
    return y, h_T, cache


def rnn_backward(params, cache, dy, dh_T=None):
    """Backpropagation through time: :func:`rnn_cell_backward` at every step, last to first.

    dy: (T, B, H) = ∂L/∂y; dh_T: (B, H) = ∂L/∂h_T when the loss also uses the
    final state, or None. Returns ``dparams`` (keys of ``params``, each summed
    over time), dx: (T, B, D) and dh0: (B, H).
    The loop is :func:`~lstmlib.reference.scan.scan_backward`.
    """
    dh_T = CHECKS.backward_inputs(params, cache, dy, dh_T)
    dparams, dx, (dh0,) = scan_backward(rnn_cell_backward.unchecked, params, cache, dy, (dh_T,))
    return dparams, dx, dh0


def rnn_state_gradients(params, cache, dy, dh_T=None):
    """Gradient of the loss w.r.t. the hidden state at every step.

    Same arguments as :func:`rnn_backward`. Returns dh: (T+1, B, H) with
    ``dh[t] = ∂L/∂h_t`` for t = 0 (the initial state, the ``dh0`` of
    :func:`rnn_backward`) .. T (the final state: ``dh[T] = dy[T-1] + dh_T``).
    With ``dy`` non-zero only at the last step, ``|dh[T-k]|`` shows how much
    gradient survives k steps back (vanishing gradients).
    """
    dh_T = CHECKS.backward_inputs(params, cache, dy, dh_T)
    (dh,) = scan_state_gradients(rnn_cell_backward.unchecked, params, cache, dy, (dh_T,))
    return dh
