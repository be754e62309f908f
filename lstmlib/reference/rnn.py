"""The vanilla (Elman) tanh RNN in NumPy: forward and hand-written backward.

The baseline the LSTM improves on: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.
Its state is a single array ``h`` (B, H): there is no cell state, so where the
LSTM functions take and return a tuple ``(h, c)``, these take and return one
array (``h0``, ``h_T``, ``dh_T``, ``dh0``).

``params`` has the keys and shapes of ``torch.nn.RNN(D, H).state_dict()``:
``weight_ih_l0 (H, D)``, ``weight_hh_l0 (H, H)`` and, unless built with
``bias=False``, ``bias_ih_l0 (H,)``, ``bias_hh_l0 (H,)``. Functions are pure;
the cache refers to the arrays you passed in, so do not modify them in place
between forward and backward.
"""

import numpy as np

from lstmlib.reference.activations import dtanh
from lstmlib.reference.params import check_array, check_cell_cache, check_layer_backward, check_params, check_sequence, dtype_ref, init_params

GATES = 1
CELL_CACHE_KEYS = ("x_t", "h_prev", "h")


def init_rnn_params(input_size, hidden_size, rng=None, dtype=np.float64):
    """Parameters like ``torch.nn.RNN(input_size, hidden_size)``: all ~ uniform(±1/sqrt(H)).

    rng: None (fresh generator), an int seed (same seed, same params) or a
    ``np.random.Generator``. Returns ``{weight_ih_l0: (H, D), weight_hh_l0: (H, H),
    bias_ih_l0: (H,), bias_hh_l0: (H,)}``; drop the two bias keys for an RNN
    without bias.
    """
    return init_params(input_size, hidden_size, GATES, rng=rng, dtype=dtype)


def rnn_cell_forward(params, x_t, h_prev):
    """One RNN step. x_t: (B, D), h_prev: (B, H) -> h: (B, H), cache (dict)."""
    _check_cell_inputs(params, x_t, h_prev)
    # z = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh   (B, H)
    z = x_t @ params["weight_ih_l0"].T + h_prev @ params["weight_hh_l0"].T
    if "bias_ih_l0" in params:
        z = z + params["bias_ih_l0"] + params["bias_hh_l0"]
    # h_t = tanh(z)
    h = np.tanh(z)
    return h, dict(x_t=x_t, h_prev=h_prev, h=h)


def rnn_cell_backward(params, cache, dh):
    """Backward of one RNN step, the mirror of :func:`rnn_cell_forward`.

    dh: (B, H) = ∂L/∂h_t. Returns ``dparams`` (keys of ``params``),
    dx_t: (B, D), dh_prev: (B, H).
    """
    _check_cell_backward_inputs(params, cache, dh)
    x_t, h_prev, h = cache["x_t"], cache["h_prev"], cache["h"]
    # h_t = tanh(z)
    dz = dh * dtanh(h)
    # z = W_ih x_t + W_hh h_{t-1} + b_ih + b_hh
    dparams = {"weight_ih_l0": dz.T @ x_t, "weight_hh_l0": dz.T @ h_prev}
    if "bias_ih_l0" in params:
        dparams["bias_ih_l0"] = dz.sum(axis=0)
        dparams["bias_hh_l0"] = dz.sum(axis=0)
    dx_t = dz @ params["weight_ih_l0"]
    dh_prev = dz @ params["weight_hh_l0"]
    return dparams, dx_t, dh_prev


def rnn_forward(params, x, h0=None):
    """Run the RNN over a sequence by looping :func:`rnn_cell_forward` over time.

    x: (T, B, D); h0: (B, H) or None for zeros (one array: the RNN has no cell state).
    Returns y: (T, B, H) (``y[t]`` is the hidden state after step t+1), the final
    hidden state h_T: (B, H), and a cache for :func:`rnn_backward`.
    """
    h = _check_forward_inputs(params, x, h0)
    T, B, H = x.shape[0], x.shape[1], h.shape[1]
    y = np.empty((T, B, H), x.dtype)
    steps = []
    for t in range(T):
        h, step = rnn_cell_forward(params, x[t], h)
        y[t] = h
        steps.append(step)
    return y, h, {"steps": steps}


def rnn_backward(params, cache, dy, dh_T=None):
    """Backpropagation through time: :func:`rnn_cell_backward` looped over reversed time.

    dy: (T, B, H) = ∂L/∂y; dh_T: (B, H) = ∂L/∂h_T when the loss also uses the
    final state, or None. Returns ``dparams`` (keys of ``params``, each summed
    over time), dx: (T, B, D) and dh0: (B, H).
    """
    dh_next = _check_backward_inputs(params, cache, dy, dh_T)
    steps = cache["steps"]
    dparams = {key: np.zeros_like(value) for key, value in params.items()}
    dx = np.empty((len(steps),) + steps[0]["x_t"].shape, dy.dtype)
    for t in reversed(range(len(steps))):
        # h_t is both the output y_t and the input of step t+1: the two gradients add
        step_dparams, dx[t], dh_next = rnn_cell_backward(params, steps[t], dy[t] + dh_next)
        for key in dparams:
            dparams[key] += step_dparams[key]
    return dparams, dx, dh_next


def rnn_state_gradients(params, cache, dy, dh_T=None):
    """Gradient of the loss w.r.t. the hidden state at every step.

    Same arguments as :func:`rnn_backward`. Returns dh: (T+1, B, H) with
    ``dh[t] = ∂L/∂h_t`` for t = 0 (the initial state, the ``dh0`` of
    :func:`rnn_backward`) .. T (the final state: ``dh[T] = dy[T-1] + dh_T``).
    With ``dy`` non-zero only at the last step, ``|dh[T-k]|`` shows how much
    gradient survives k steps back (vanishing gradients).
    """
    dh_next = _check_backward_inputs(params, cache, dy, dh_T)
    steps = cache["steps"]
    dh = np.empty((len(steps) + 1,) + dy.shape[1:], dy.dtype)
    for t in reversed(range(len(steps))):
        # steps[t] maps h_t to h_{t+1}, which is also the output y[t]
        dh[t + 1] = dy[t] + dh_next
        _, _, dh_next = rnn_cell_backward(params, steps[t], dh[t + 1])
    dh[0] = dh_next
    return dh


def _check_cell_inputs(params, x_t, h_prev):
    D, H = check_params(params, GATES)
    B = check_array("x_t", x_t, (None, D), "(B, D)", like=dtype_ref(params))[0]
    check_array("h_prev", h_prev, (B, H), "(B, H)", like=dtype_ref(params))


def _check_cell_cache(name, cache, params, D, H):
    """The cache must come from a forward pass of a cell of this size; return its batch size B."""
    return check_cell_cache(name, cache, params, D, H, CELL_CACHE_KEYS, "rnn_cell_forward")


def _check_cell_backward_inputs(params, cache, dh):
    D, H = check_params(params, GATES)
    B = _check_cell_cache("cache", cache, params, D, H)
    check_array("dh", dh, (B, H), "(B, H)", like=dtype_ref(params))


def _check_forward_inputs(params, x, h0):
    """Validate the arguments of :func:`rnn_forward`; return the initial state (zeros for None)."""
    D, H = check_params(params, GATES)
    T, B = check_sequence("x", x, D, like=dtype_ref(params))
    if h0 is None:
        return np.zeros((B, H), x.dtype)
    if isinstance(h0, (tuple, list)):
        raise TypeError(f"h0 must be one array (B, H), not a {type(h0).__name__}: the RNN has no cell state")
    check_array("h0", h0, (B, H), "(B, H)", like=dtype_ref(params))
    return h0


def _check_backward_inputs(params, cache, dy, dh_T):
    """Validate the arguments of the layer backward; return the final-state gradient (zeros for None)."""
    B, H = check_layer_backward(params, GATES, cache, dy, "rnn_forward", _check_cell_cache)
    if dh_T is None:
        return np.zeros((B, H), dy.dtype)
    check_array("dh_T", dh_T, (B, H), "(B, H)", like=dtype_ref(params))
    return dh_T
