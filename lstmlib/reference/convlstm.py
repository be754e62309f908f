"""The convolutional LSTM (Shi et al., 2015) in NumPy: forward and hand-written backward.

An LSTM whose inputs, hidden states and cell states are stacks of 2-D maps
and whose matrix products are "same"-padded convolutions (``*`` below, see
:mod:`lstmlib.reference.conv2d`), so every position of the frame runs its own
LSTM that sees a kernel-sized neighbourhood of the input and of the previous
hidden state::

    a   = W_ih * x_t + b_ih + W_hh * h_{t-1} + b_hh          (B, 4Hc, H, W): a_i, a_f, a_g, a_o
    i_t = σ(a_i + w_ci ⊙ c_{t-1})
    f_t = σ(a_f + w_cf ⊙ c_{t-1})
    g_t = tanh(a_g)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(a_o + w_co ⊙ c_t)
    h_t = o_t ⊙ tanh(c_t)

The Hadamard peepholes ``w_c· ⊙ c`` are the paper's ``W_c ∘ C`` and optional.

``params`` has the keys of :class:`lstmlib.nn.ConvLSTM`'s ``state_dict`` (layer 0):
``weight_ih_l0 (4Hc, C, kh, kw)``, ``weight_hh_l0 (4Hc, Hc, kh, kw)``, unless
without bias ``bias_ih_l0 (4Hc,)``, ``bias_hh_l0 (4Hc,)``, and with peepholes
``weight_ci_l0``, ``weight_cf_l0``, ``weight_co_l0``, each ``(Hc, H, W)``: one
weight per channel and position, so a ConvLSTM with peepholes is tied to one
frame size. The 4Hc axis stacks the gates in the order i, f, g, o; kh and kw
are odd. Functions are pure; the cache refers to the arrays you passed in.
The layer functions check the whole sequence once and run the cell through
the time loops of :mod:`lstmlib.reference.scan`.
"""

from collections.abc import Mapping

import numpy as np

from lstmlib._checks import (
    check_array_type,
    check_axis_size,
    check_floating,
    check_frame_size,
    check_kernel_size,
    check_keys,
    check_nonempty_time,
    check_positive_int,
    check_rank,
)
from lstmlib.reference.activations import dsigmoid, dtanh, sigmoid
from lstmlib.reference.conv2d import conv2d_backward, conv2d_forward
from lstmlib.reference.params import (
    NUMPY_ARRAY,
    check_array,
    check_state,
    checked_by,
    dtype_ref,
    init_uniform,
)
from lstmlib.reference.scan import scan_backward, scan_forward

GATES = 4  # i, f, g, o
BIASES = ("bias_ih_l0", "bias_hh_l0")
PEEPHOLES = ("weight_ci_l0", "weight_cf_l0", "weight_co_l0")
CELL_CACHE_KEYS = ("x_t", "h_prev", "c_prev", "i", "f", "g", "o", "c", "tanh_c")


def convlstm_param_shapes(in_channels, hidden_channels, kernel_size, bias=True, frame_size=None):
    """``{key: shape}`` of a ConvLSTM layer; ``frame_size=(H, W)`` adds the peephole weights."""
    C, Hc, (kh, kw) = in_channels, hidden_channels, kernel_size
    shapes = {"weight_ih_l0": (GATES * Hc, C, kh, kw), "weight_hh_l0": (GATES * Hc, Hc, kh, kw)}
    if bias:
        shapes.update(bias_ih_l0=(GATES * Hc,), bias_hh_l0=(GATES * Hc,))
    if frame_size is not None:
        shapes.update({key: (Hc, *frame_size) for key in PEEPHOLES})
    return shapes


def init_convlstm_params(in_channels, hidden_channels, kernel_size, rng=None, dtype=np.float64,
                         peephole=False, frame_size=None):
    """Parameters of a ConvLSTM layer, all ~ uniform(±1/sqrt(Hc·kh·kw)), as :class:`lstmlib.nn.ConvLSTM`.

    The bound is torch's LSTM rule 1/sqrt(H) with the recurrent fan-in Hc·kh·kw
    in place of H (the same for a 1×1 kernel). kernel_size: an odd int or a
    pair (kh, kw); frame_size: (H, W), required with ``peephole=True`` and only
    then. rng: None, an int seed or a ``np.random.Generator``. Returns the dict
    described in the module docstring; drop the two bias keys for a ConvLSTM
    without bias.
    """
    check_positive_int("in_channels", in_channels)
    check_positive_int("hidden_channels", hidden_channels)
    kh, kw = check_kernel_size(kernel_size)
    frame_size = check_frame_size(frame_size, peephole)
    shapes = convlstm_param_shapes(in_channels, hidden_channels, (kh, kw), frame_size=frame_size)
    return init_uniform(shapes, 1 / np.sqrt(hidden_channels * kh * kw), rng=rng, dtype=dtype)


def _check_cell_inputs(params, x_t, h_prev, c_prev):
    C, Hc, frame_size = check_convlstm_params(params)
    B, _, H, W = check_array("x_t", x_t, (None, C, None, None), "(B, C, H, W)", like=dtype_ref(params))
    _check_frames("x_t", x_t, frame_size, "(B, C, H, W)")
    check_array("h_prev", h_prev, (B, Hc, H, W), "(B, Hc, H, W)", like=dtype_ref(params))
    check_array("c_prev", c_prev, (B, Hc, H, W), "(B, Hc, H, W)", like=dtype_ref(params))


def _check_cell_cache(name, cache, params, C, Hc):
    """The cache must come from :func:`convlstm_cell_forward` of a cell of this size; return ``(B, H, W)``."""
    check_array_type(name, cache, dict, "the cache dict returned by convlstm_cell_forward")
    check_keys(name, cache, CELL_CACHE_KEYS)
    B, _, H, W = check_array(f"{name}['x_t']", cache["x_t"], (None, C, None, None), "(B, C, H, W)",
                             like=dtype_ref(params))
    for key in CELL_CACHE_KEYS[1:]:
        check_array(f"{name}['{key}']", cache[key], (B, Hc, H, W), "(B, Hc, H, W)", like=dtype_ref(params))
    return B, H, W


def _check_cell_backward_inputs(params, cache, dh, dc):
    C, Hc, _ = check_convlstm_params(params)
    B, H, W = _check_cell_cache("cache", cache, params, C, Hc)
    check_array("dh", dh, (B, Hc, H, W), "(B, Hc, H, W)", like=dtype_ref(params))
    check_array("dc", dc, (B, Hc, H, W), "(B, Hc, H, W)", like=dtype_ref(params))


@checked_by(_check_cell_inputs)
def convlstm_cell_forward(params, x_t, h_prev, c_prev):
    """One ConvLSTM step.
    Book: :eq:`convlstm-step` (chapter II.3, Convolutional LSTMs).

    x_t: (B, C, H, W), h_prev, c_prev: (B, Hc, H, W) -> h, c: (B, Hc, H, W), cache (dict).
    """
    peephole = "weight_ci_l0" in params
    conv = conv2d_forward.unchecked  # the cell's own checks cover the convolutions' inputs
    # a = W_ih * x_t + b_ih + W_hh * h_{t-1} + b_hh, all four gates at once   (B, 4Hc, H, W)
    a = conv(x_t, params["weight_ih_l0"], params.get("bias_ih_l0"))
    a = a + conv(h_prev, params["weight_hh_l0"], params.get("bias_hh_l0"))
    # [a_i, a_f, a_g, a_o] = a, split along the channels in the gate order of torch.nn.LSTM
    a_i, a_f, a_g, a_o = np.split(a, GATES, axis=1)
    if peephole:
        # the input and forget gates look at the old cell: + w_ci ⊙ c_{t-1}, + w_cf ⊙ c_{t-1}
        a_i = a_i + params["weight_ci_l0"] * c_prev
        a_f = a_f + params["weight_cf_l0"] * c_prev
    # i_t = σ(a_i)        how much of the candidate to write
    i = sigmoid(a_i)
    # f_t = σ(a_f)        how much of the old cell to keep
    f = sigmoid(a_f)
    # g_t = tanh(a_g)     the candidate cell maps
    g = np.tanh(a_g)
    # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    c = f * c_prev + i * g
    if peephole:
        # the output gate looks at the new cell: + w_co ⊙ c_t
        a_o = a_o + params["weight_co_l0"] * c
    # o_t = σ(a_o)        how much of the cell to show
    o = sigmoid(a_o)
    # h_t = o_t ⊙ tanh(c_t)
    tanh_c = np.tanh(c)
    h = o * tanh_c

    cache = dict(x_t=x_t, h_prev=h_prev, c_prev=c_prev, i=i, f=f, g=g, o=o, c=c, tanh_c=tanh_c)
    return h, c, cache


@checked_by(_check_cell_backward_inputs)
def convlstm_cell_backward(params, cache, dh, dc):
    """Backward of one ConvLSTM step, the mirror of :func:`convlstm_cell_forward`.

    dh: (B, Hc, H, W) = ∂L/∂h_t, dc: (B, Hc, H, W) = ∂L/∂c_t from step t+1.
    Returns ``dparams`` (keys of ``params``), dx_t: (B, C, H, W),
    dh_prev: (B, Hc, H, W), dc_prev: (B, Hc, H, W).
    """
    peephole = "weight_ci_l0" in params
    x_t, h_prev, c_prev = cache["x_t"], cache["h_prev"], cache["c_prev"]
    i, f, g, o, c, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["c"], cache["tanh_c"]
    dparams = {}

    # h_t = o_t ⊙ tanh(c_t): to o_t, and to c_t on top of what step t+1 sent
    do = dh * tanh_c
    dc = dc + dh * o * dtanh(tanh_c)
    # o_t = σ(a_o + w_co ⊙ c_t)
    da_o = do * dsigmoid(o)
    if peephole:
        # the peephole w_co ⊙ c_t: to w_co (summed over the batch) and to c_t
        dparams["weight_co_l0"] = (da_o * c).sum(axis=0)
        dc = dc + da_o * params["weight_co_l0"]
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
    if peephole:
        dparams["weight_ci_l0"] = (da_i * c_prev).sum(axis=0)
        dparams["weight_cf_l0"] = (da_f * c_prev).sum(axis=0)
        dc_prev = dc_prev + da_i * params["weight_ci_l0"] + da_f * params["weight_cf_l0"]
    # [a_i, a_f, a_g, a_o] = a
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (B, 4Hc, H, W)
    # a = W_ih * x_t + b_ih + W_hh * h_{t-1} + b_hh
    conv_backward = conv2d_backward.unchecked  # the cell's own checks cover its inputs
    dx_t, dparams["weight_ih_l0"], db_ih = conv_backward(x_t, params["weight_ih_l0"], da)
    dh_prev, dparams["weight_hh_l0"], db_hh = conv_backward(h_prev, params["weight_hh_l0"], da)
    if "bias_ih_l0" in params:
        dparams["bias_ih_l0"], dparams["bias_hh_l0"] = db_ih, db_hh
    return {key: dparams[key] for key in params}, dx_t, dh_prev, dc_prev


def convlstm_forward(params, x, state=None):
    """Run the ConvLSTM over a sequence of frames: :func:`convlstm_cell_forward` at every step.

    x: (T, B, C, H, W); state: ``(h0, c0)``, each (B, Hc, H, W), or None for zeros.
    Returns y: (T, B, Hc, H, W) (``y[t]`` is the hidden state after step t+1),
    the final state ``(h_T, c_T)``, each (B, Hc, H, W), and a cache for
    :func:`convlstm_backward`. The loop is :func:`~lstmlib.reference.scan.scan_forward`.
    """
    state = _check_forward_inputs(params, x, state)
    return scan_forward(convlstm_cell_forward.unchecked, params, x, state)


def convlstm_backward(params, cache, dy, dstate_T=None):
    """Backpropagation through time: :func:`convlstm_cell_backward` at every step, last to first.

    dy: (T, B, Hc, H, W) = ∂L/∂y; dstate_T: ``(dh_T, dc_T)`` = ∂L/∂(h_T, c_T),
    each (B, Hc, H, W), or None. Returns ``dparams`` (keys of ``params``, each
    summed over time), dx: (T, B, C, H, W) and ``(dh0, dc0)``.
    The loop is :func:`~lstmlib.reference.scan.scan_backward`.
    """
    dstate_T = _check_backward_inputs(params, cache, dy, dstate_T)
    return scan_backward(convlstm_cell_backward.unchecked, params, cache, dy, dstate_T)


# ---- validation ----------------------------------------------------------------------------

def check_convlstm_params(params, name="params"):
    """Validate a ConvLSTM parameter dict; return ``(C, Hc, frame_size)`` (frame_size None without peepholes).

    Both biases or neither, all three peepholes or none, nothing else; 4-D
    weights with odd kernels; every entry a finite floating NumPy array of the
    implied shape, all of one dtype.
    """
    check_array_type(name, params, Mapping, "a dict of NumPy arrays keyed like lstmlib.nn.ConvLSTM's state_dict")
    bias = any(key in params for key in BIASES)
    peephole = any(key in params for key in PEEPHOLES)
    expected = ["weight_ih_l0", "weight_hh_l0", *(BIASES if bias else ()), *(PEEPHOLES if peephole else ())]
    check_keys(name, params, expected)
    for key, layout in (("weight_ih_l0", "(4Hc, C, kh, kw)"), ("weight_hh_l0", "(4Hc, Hc, kh, kw)")):
        check_array_type(f"{name}['{key}']", params[key], np.ndarray, NUMPY_ARRAY)
        check_rank(f"{name}['{key}']", params[key], (4,), layout)
    Hc, C = params["weight_hh_l0"].shape[1], params["weight_ih_l0"].shape[1]
    kernel = params["weight_hh_l0"].shape[2:]
    if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
        raise ValueError(f"{name}['weight_hh_l0'] must have odd kernel sizes (kh, kw) for 'same' padding; "
                         f"got shape {params['weight_hh_l0'].shape}")
    frame_size = None
    if peephole:
        check_array_type(f"{name}['weight_ci_l0']", params["weight_ci_l0"], np.ndarray, NUMPY_ARRAY)
        check_rank(f"{name}['weight_ci_l0']", params["weight_ci_l0"], (3,), "(Hc, H, W)")
        frame_size = params["weight_ci_l0"].shape[1:]
    ref = dtype_ref(params, name)
    check_floating(*ref)
    shapes = convlstm_param_shapes(C, Hc, kernel, bias, frame_size)
    layouts = {"weight_ih_l0": "(4Hc, C, kh, kw)", "weight_hh_l0": "(4Hc, Hc, kh, kw)",
               **{key: "(4Hc,)" for key in BIASES}, **{key: "(Hc, H, W)" for key in PEEPHOLES}}
    for key in sorted(shapes, key=lambda k: k != "weight_hh_l0"):  # W_hh first: it defines Hc and the kernel
        check_array(f"{name}['{key}']", params[key], shapes[key], layouts[key], like=ref)
    return C, Hc, frame_size


def _check_frames(name, arr, frame_size, layout):
    """With peepholes, the frames of ``arr`` (its last two axes) must have the size of the peephole weights."""
    if frame_size is not None and tuple(arr.shape[-2:]) != tuple(frame_size):
        raise ValueError(
            f"{name} must have frames of size (H, W) = {tuple(frame_size)}, the size of the peephole weights "
            f"(Hc, H, W); got {layout} = {tuple(arr.shape)}"
        )


def _check_forward_inputs(params, x, state):
    """Validate the arguments of :func:`convlstm_forward`; return the initial state (zeros for None)."""
    C, Hc, frame_size = check_convlstm_params(params)
    layout = "(T, B, C, H, W)"
    check_array_type("x", x, np.ndarray, NUMPY_ARRAY)
    check_rank("x", x, (5,), layout)
    check_nonempty_time("x", x)
    check_axis_size("x", x, 2, C, "C", layout)
    check_array("x", x, x.shape, layout, like=dtype_ref(params))
    _check_frames("x", x, frame_size, layout)
    B, H, W = x.shape[1], x.shape[3], x.shape[4]
    if state is None:
        return np.zeros((B, Hc, H, W), x.dtype), np.zeros((B, Hc, H, W), x.dtype)
    return check_state("state", state, ("h0", "c0"), B, (Hc, H, W), like=dtype_ref(params), layout="(B, Hc, H, W)")


def _check_backward_inputs(params, cache, dy, dstate_T):
    """Validate the arguments of :func:`convlstm_backward`; return the final-state gradients (zeros for None)."""
    C, Hc, _ = check_convlstm_params(params)
    check_array_type("cache", cache, dict, "the cache dict returned by convlstm_forward")
    check_keys("cache", cache, ("steps",))
    T = len(cache["steps"])
    if T == 0:
        raise ValueError("cache['steps'] must hold at least one time step; got an empty list")
    B, H, W = _check_cell_cache("cache['steps'][0]", cache["steps"][0], params, C, Hc)
    check_array("dy", dy, (T, B, Hc, H, W), "(T, B, Hc, H, W)", like=dtype_ref(params))
    if dstate_T is None:
        return np.zeros((B, Hc, H, W), dy.dtype), np.zeros((B, Hc, H, W), dy.dtype)
    return check_state("dstate_T", dstate_T, ("dh_T", "dc_T"), B, (Hc, H, W), like=dtype_ref(params),
                       layout="(B, Hc, H, W)")
