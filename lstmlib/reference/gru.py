"""The gated recurrent unit (GRU) in NumPy: forward and hand-written backward.

Cho et al. (2014)'s cell as ``torch.nn.GRU`` computes it, with a reset gate
``r``, an update gate ``z`` and a candidate ``n``::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

The reset gate multiplies ``W_hn h_{t-1} + b_hn``, bias included (torch's and
cuDNN's form), not ``h_{t-1}`` before the product: that is why the two biases
``b_in`` and ``b_hn`` cannot be merged as the LSTM's can. Like the RNN's, the
GRU's state is one array ``h`` (B, H): these functions take and return one
array (``h0``, ``h_T``, ``dh_T``, ``dh0``) where the LSTM's take a tuple.

``params`` has the keys and shapes of ``torch.nn.GRU(D, H).state_dict()``:
``weight_ih_l0 (3H, D)``, ``weight_hh_l0 (3H, H)`` and, unless built with
``bias=False``, ``bias_ih_l0 (3H,)``, ``bias_hh_l0 (3H,)``; the 3H axis stacks
the blocks in the order r, z, n. Functions are pure; the cache refers to the
arrays you passed in, so do not modify them in place between forward and backward.
The layer functions check the whole sequence once and run the cell through
the time loops of :mod:`lstmlib.reference.scan`.
"""

import numpy as np

from lstmlib.reference.activations import dsigmoid, dtanh, sigmoid
from lstmlib.reference.params import (
    CellChecks,
    checked_by,
    init_params,
)
from lstmlib.reference.scan import scan_backward, scan_forward

GATES = 3  # r, z, n
CELL_CACHE_KEYS = ("x_t", "h_prev", "r", "z", "n", "a_hn")
CHECKS = CellChecks(GATES, CELL_CACHE_KEYS, "gru_cell_forward", "gru_forward", cell_state=False, model="GRU")


def init_gru_params(input_size, hidden_size, rng=None, dtype=np.float64):
    """Parameters like ``torch.nn.GRU(input_size, hidden_size)``: all ~ uniform(±1/sqrt(H)).

    rng: None (fresh generator), an int seed (same seed, same params) or a
    ``np.random.Generator``. Returns ``{weight_ih_l0: (3H, D), weight_hh_l0: (3H, H),
    bias_ih_l0: (3H,), bias_hh_l0: (3H,)}``; drop the two bias keys for a GRU
    without bias.
    """
    return init_params(input_size, hidden_size, GATES, rng=rng, dtype=dtype)


@checked_by(CHECKS.cell_inputs)
def gru_cell_forward(params, x_t, h_prev):
    """One GRU step.
    Book: :eq:`gru-step` (chapter II.5, Gated recurrent units).

    x_t: (B, D), h_prev: (B, H) -> h: (B, H), cache (dict).
    """
    # a_x = W_ih x_t + b_ih,  a_h = W_hh h_{t-1} + b_hh: the two halves stay apart   (B, 3H) each
    a_x = x_t @ params["weight_ih_l0"].T
    a_h = h_prev @ params["weight_hh_l0"].T
    if "bias_ih_l0" in params:
        a_x = a_x + params["bias_ih_l0"]
        a_h = a_h + params["bias_hh_l0"]
    # [a_xr, a_xz, a_xn] = a_x,  [a_hr, a_hz, a_hn] = a_h: the block order of torch.nn.GRU
    a_xr, a_xz, a_xn = np.split(a_x, GATES, axis=1)
    a_hr, a_hz, a_hn = np.split(a_h, GATES, axis=1)
    # r_t = σ(a_xr + a_hr)          how much of the old state the candidate may read
    r = sigmoid(a_xr + a_hr)
    # z_t = σ(a_xz + a_hz)          how much of the old state to keep
    z = sigmoid(a_xz + a_hz)
    # n_t = tanh(a_xn + r_t ⊙ a_hn)  the candidate state
    n = np.tanh(a_xn + r * a_hn)
    # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    h = (1 - z) * n + z * h_prev
    return h, dict(x_t=x_t, h_prev=h_prev, r=r, z=z, n=n, a_hn=a_hn)


@checked_by(CHECKS.cell_backward_inputs)
def gru_cell_backward(params, cache, dh):
    """Backward of one GRU step, the mirror of :func:`gru_cell_forward`.

    dh: (B, H) = ∂L/∂h_t. Returns ``dparams`` (keys of ``params``),
    dx_t: (B, D), dh_prev: (B, H).
    """
    x_t, h_prev, r, z, n, a_hn = (cache[k] for k in CELL_CACHE_KEYS)
    # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}: to n_t, z_t and directly to h_{t-1}
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dh_prev = dh * z
    # n_t = tanh(a_xn + r_t ⊙ a_hn)
    da_xn = dn * dtanh(n)
    dr = da_xn * a_hn
    da_hn = da_xn * r
    # z_t = σ(a_xz + a_hz): both halves get the same gradient
    da_z = dz * dsigmoid(z)
    # r_t = σ(a_xr + a_hr)
    da_r = dr * dsigmoid(r)
    # [a_xr, a_xz, a_xn] = a_x,  [a_hr, a_hz, a_hn] = a_h
    da_x = np.concatenate([da_r, da_z, da_xn], axis=1)  # (B, 3H)
    da_h = np.concatenate([da_r, da_z, da_hn], axis=1)  # (B, 3H)
    # a_x = W_ih x_t + b_ih,  a_h = W_hh h_{t-1} + b_hh
    dparams = {"weight_ih_l0": da_x.T @ x_t, "weight_hh_l0": da_h.T @ h_prev}
    if "bias_ih_l0" in params:
        dparams["bias_ih_l0"] = da_x.sum(axis=0)
        dparams["bias_hh_l0"] = da_h.sum(axis=0)
    dx_t = da_x @ params["weight_ih_l0"]
    dh_prev = dh_prev + da_h @ params["weight_hh_l0"]  # h_{t-1} reaches h_t directly and through a_h
    return dparams, dx_t, dh_prev


def gru_forward(params, x, h0=None):
    """Run the GRU over a sequence: :func:`gru_cell_forward` at every step.

    x: (T, B, D); h0: (B, H) or None for zeros (one array: the GRU has no cell state).
    Returns y: (T, B, H) (``y[t]`` is the hidden state after step t+1), the final
    hidden state h_T: (B, H), and a cache for :func:`gru_backward`.
    The loop is :func:`~lstmlib.reference.scan.scan_forward`.
    """
    h0 = CHECKS.forward_inputs(params, x, h0)
    y, (h_T,), cache = scan_forward(gru_cell_forward.unchecked, params, x, (h0,))
    return y, h_T, cache


def gru_backward(params, cache, dy, dh_T=None):
    """Backpropagation through time: :func:`gru_cell_backward` at every step, last to first.

    dy: (T, B, H) = ∂L/∂y; dh_T: (B, H) = ∂L/∂h_T when the loss also uses the
    final state, or None. Returns ``dparams`` (keys of ``params``, each summed
    over time), dx: (T, B, D) and dh0: (B, H).
    The loop is :func:`~lstmlib.reference.scan.scan_backward`.
    """
    dh_T = CHECKS.backward_inputs(params, cache, dy, dh_T)
    dparams, dx, (dh0,) = scan_backward(gru_cell_backward.unchecked, params, cache, dy, (dh_T,))
    return dparams, dx, dh0
