"""Parameters and input checks shared by every reference cell.

A reference layer keeps its weights in a dict whose keys and shapes are those
of the matching ``torch.nn`` module's ``state_dict``, so one set of weights
loads into both. For a cell with ``G`` gate blocks (RNN 1, GRU 3, LSTM 4)::

    weight_ih_l0  (G*H, D)    input -> gates
    weight_hh_l0  (G*H, H)    previous hidden state -> gates
    bias_ih_l0    (G*H,)      optional: both biases or neither
    bias_hh_l0    (G*H,)

The gate blocks are stacked along the first axis in the module's order
(LSTM: i, f, g, o). A cell with further per-unit vectors on top of these
(the peephole LSTM's ``weight_ci_l0``, ``weight_cf_l0``, ``weight_co_l0``, each
``(H,)``) names them in ``vectors=`` of :func:`check_params` and
:func:`check_layer_backward`. Cells whose parameters differ altogether
(ConvLSTM, Tree-LSTM) can still reuse :func:`init_uniform`,
:func:`check_array`, :func:`check_sequence` and :func:`check_state`.
:func:`checked_by` gives a cell function its checks while keeping the
unchecked step for the time loops.
"""

import functools
import inspect
from collections.abc import Mapping

import numpy as np

from lstmlib._checks import (
    check_array_type,
    check_axis_size,
    check_bool,
    check_finite,
    check_float_dtype,
    check_floating,
    check_keys,
    check_nonempty_time,
    check_positive_int,
    check_rank,
    check_rng,
    check_same_dtype,
    check_shape,
)

NUMPY_ARRAY = "a NumPy array (convert a torch tensor with .detach().numpy())"


def param_shapes(input_size, hidden_size, gates, bias=True):
    """Shapes of a torch-style parameter dict with ``gates`` blocks: ``{key: shape}``."""
    G, D, H = gates, input_size, hidden_size
    shapes = {"weight_ih_l0": (G * H, D), "weight_hh_l0": (G * H, H)}
    if bias:
        shapes.update(bias_ih_l0=(G * H,), bias_hh_l0=(G * H,))
    return shapes


def param_layouts(gates):
    """The book's names for those shapes, e.g. ``"(4H, D)"``, for error messages."""
    G = "" if gates == 1 else str(gates)
    return {
        "weight_ih_l0": f"({G}H, D)",
        "weight_hh_l0": f"({G}H, H)",
        "bias_ih_l0": f"({G}H,)",
        "bias_hh_l0": f"({G}H,)",
    }


def checked_by(check):
    """Decorate a function (a cell's forward or backward) so that it runs ``check`` on its arguments first.

    ``check`` takes the same arguments as the function (defaults filled in)
    and raises on a bad one. The decorated function keeps the name, docstring
    and signature of the original, which stays reachable, without the check,
    as ``.unchecked``: the time loops of :mod:`lstmlib.reference.scan` call
    that, after the layer has checked the whole sequence once.
    """

    def decorate(step):
        signature = inspect.signature(step)

        @functools.wraps(step)
        def checked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)  # a missing argument: TypeError naming it
            bound.apply_defaults()
            check(*bound.args)
            return step(*bound.args)

        checked.unchecked = step
        return checked

    return decorate


def init_uniform(shapes, bound, rng=None, dtype=np.float64):
    """Draw every array of ``shapes`` from uniform(-bound, bound), in the dict's order.

    rng: None (fresh generator), an int seed or a ``np.random.Generator``.
    """
    rng = check_rng("rng", rng)
    dtype = check_float_dtype("dtype", dtype)
    return {key: rng.uniform(-bound, bound, size=shape).astype(dtype) for key, shape in shapes.items()}


def init_params(input_size, hidden_size, gates, rng=None, dtype=np.float64, bias=True):
    """Torch's default init: every weight and bias ~ uniform(-1/sqrt(H), 1/sqrt(H))."""
    check_positive_int("input_size", input_size)
    check_positive_int("hidden_size", hidden_size)
    check_bool("bias", bias)
    shapes = param_shapes(input_size, hidden_size, gates, bias=bias)
    return init_uniform(shapes, 1 / np.sqrt(hidden_size), rng=rng, dtype=dtype)


def check_array(name, arr, shape, layout, like):
    """Validate one input array: NumPy, rank and shape, dtype of ``like``, finite.

    shape: the expected sizes, ``None`` for a free axis (e.g. ``(None, D)`` for
    a batch of any size); like: ``(ref_name, ref_array)`` whose dtype ``arr``
    must share. Returns ``arr.shape``.
    """
    check_array_type(name, arr, np.ndarray, NUMPY_ARRAY)
    check_rank(name, arr, (len(shape),), layout)
    check_shape(name, arr, [arr.shape[k] if s is None else s for k, s in enumerate(shape)], layout)
    check_floating(name, arr)
    check_same_dtype(name, arr, *like)
    check_finite(name, arr)
    return arr.shape


def dtype_ref(params, name="params", key="weight_ih_l0"):
    """The ``(name, array)`` whose dtype every other input must share (for ``like=``)."""
    return f"{name}['{key}']", params[key]


def check_params(params, gates, name="params", vectors=()):
    """Validate a torch-style parameter dict with ``gates`` blocks; return ``(D, H)``.

    Checks the keys (both biases or neither, the ``vectors`` keys, nothing
    else), that every entry is a finite floating NumPy array of the shape
    implied by ``weight_ih_l0`` and ``weight_hh_l0`` (``(H,)`` for each key of
    ``vectors``), and that all entries share one dtype.
    """
    check_array_type(name, params, Mapping, "a dict of NumPy arrays keyed like a torch state_dict")
    bias = "bias_ih_l0" in params or "bias_hh_l0" in params
    check_keys(name, params, list(param_shapes(1, 1, gates, bias)) + list(vectors))
    layouts = param_layouts(gates) | {key: "(H,)" for key in vectors}
    for key in ("weight_ih_l0", "weight_hh_l0"):
        check_array_type(f"{name}['{key}']", params[key], np.ndarray, NUMPY_ARRAY)
        check_rank(f"{name}['{key}']", params[key], (2,), layouts[key])
    D, H = params["weight_ih_l0"].shape[1], params["weight_hh_l0"].shape[1]
    ref = dtype_ref(params, name)
    check_floating(*ref)
    shapes = param_shapes(D, H, gates, bias) | {key: (H,) for key in vectors}
    for key in sorted(shapes, key=lambda k: k != "weight_hh_l0"):  # W_hh first: it defines H
        check_array(f"{name}['{key}']", params[key], shapes[key], layouts[key], like=ref)
    return D, H


def check_sequence(name, x, input_size, like):
    """Validate an input sequence ``x: (T, B, D)`` with ``T >= 1``; return ``(T, B)``."""
    check_array_type(name, x, np.ndarray, NUMPY_ARRAY)
    check_rank(name, x, (3,), "(T, B, D)")
    check_nonempty_time(name, x)
    check_axis_size(name, x, 2, input_size, "D", "(T, B, D)")
    check_floating(name, x)
    check_same_dtype(name, x, *like)
    check_finite(name, x)
    return x.shape[0], x.shape[1]


def check_state(name, state, parts, batch, hidden_size, like, layout="(B, H)"):
    """Validate a state tuple of ``len(parts)`` arrays ``(B, H)``, e.g. ``parts=("h0", "c0")``.

    For states that are not vectors, ``hidden_size`` is the tuple of trailing
    sizes and ``layout`` names the axes (ConvLSTM: ``(Hc, H, W)``, ``"(B, Hc, H, W)"``).
    """
    if not isinstance(state, (tuple, list)):
        raise TypeError(f"{name} must be None or a tuple {parts} of arrays {layout}; got {type(state).__name__}")
    if len(state) != len(parts):
        raise ValueError(f"{name} must be a tuple {parts} of {len(parts)} arrays {layout}; got {len(state)} entries")
    dims = hidden_size if isinstance(hidden_size, tuple) else (hidden_size,)
    for k, (part, arr) in enumerate(zip(parts, state)):
        check_array(f"{part} ({name}[{k}])", arr, (batch, *dims), layout, like=like)
    return tuple(state)


def check_layer_backward(params, gates, cache, dy, producer, check_step_cache, vectors=()):
    """Validate what a layer backward receives: params, the layer cache and ``dy``.

    cache: ``{"steps": [one cell cache per step]}`` from ``producer`` (named in
    the message); ``check_step_cache(name, step, params, D, H) -> B`` validates
    one cell's cache; vectors: as in :func:`check_params`. dy: (T, B, H).
    Returns ``(B, H)``.
    """
    D, H = check_params(params, gates, vectors=vectors)
    check_array_type("cache", cache, dict, f"the cache dict returned by {producer}")
    check_keys("cache", cache, ("steps",))
    T = len(cache["steps"])
    if T == 0:
        raise ValueError("cache['steps'] must hold at least one time step; got an empty list")
    B = check_step_cache("cache['steps'][0]", cache["steps"][0], params, D, H)
    check_array("dy", dy, (T, B, H), "(T, B, H)", like=dtype_ref(params))
    return B, H


def check_cell_cache(name, cache, params, D, H, keys, producer):
    """Validate one cell's cache (a dict with ``keys`` from ``producer``) for a cell of size D, H; return B."""
    check_array_type(name, cache, dict, f"the cache dict returned by {producer}")
    check_keys(name, cache, keys)
    B = check_array(f"{name}['x_t']", cache["x_t"], (None, D), "(B, D)", like=dtype_ref(params))[0]
    check_array(f"{name}['h_prev']", cache["h_prev"], (B, H), "(B, H)", like=dtype_ref(params))
    return B


class CellChecks:
    """The input checks of one reference cell and its layer, written once for the RNN, GRU and LSTMs.

    gates: weight blocks (RNN 1, GRU 3, LSTM 4, CIFG 3); cache_keys: what the
    cell's forward caches; cell, layer: the names of the cell forward and of the
    layer forward (for messages); vectors: extra ``(H,)`` parameters (peepholes);
    cell_state: True for an ``(h, c)`` state, False for a bare ``h`` (then
    ``model`` names the cell in the message refusing a tuple); dstate_name: the
    layer backward's name of its final-state gradient.
    """

    def __init__(self, gates, cache_keys, cell, layer, *, vectors=(), cell_state=True, model=None,
                 dstate_name="dstate"):
        self.gates, self.cache_keys, self.cell, self.layer = gates, cache_keys, cell, layer
        self.vectors, self.cell_state, self.model, self.dstate_name = vectors, cell_state, model, dstate_name

    def params(self, params):
        """``(D, H)`` of a valid parameter dict."""
        return check_params(params, self.gates, vectors=self.vectors)

    def cell_inputs(self, params, x_t, *state):
        """The arguments of the cell forward: x_t (B, D) and the state, ``h_prev`` (and ``c_prev``), each (B, H)."""
        D, H = self.params(params)
        B = check_array("x_t", x_t, (None, D), "(B, D)", like=dtype_ref(params))[0]
        for name, array in zip(("h_prev", "c_prev"), state):
            check_array(name, array, (B, H), "(B, H)", like=dtype_ref(params))

    def cell_cache(self, name, cache, params, D, H):
        """The cache must come from a forward pass of a cell of this size; return its batch size B."""
        return check_cell_cache(name, cache, params, D, H, self.cache_keys, self.cell)

    def cell_backward_inputs(self, params, cache, *dstate):
        """The arguments of the cell backward: its cache and ``dh`` (and ``dc``), each (B, H)."""
        D, H = self.params(params)
        B = self.cell_cache("cache", cache, params, D, H)
        for name, array in zip(("dh", "dc"), dstate):
            check_array(name, array, (B, H), "(B, H)", like=dtype_ref(params))

    def forward_inputs(self, params, x, state):
        """Validate the layer forward's arguments; return the initial state (zeros for None).

        With a cell state, ``state`` is a tuple ``(h0, c0)`` and so is the result;
        without, it is one array ``h0`` (B, H), returned as it is.
        """
        D, H = self.params(params)
        T, B = check_sequence("x", x, D, like=dtype_ref(params))
        if state is None:
            zeros = np.zeros((B, H), x.dtype)
            return (zeros, zeros.copy()) if self.cell_state else zeros
        if self.cell_state:
            return check_state("state", state, ("h0", "c0"), B, H, like=dtype_ref(params))
        if isinstance(state, (tuple, list)):
            raise TypeError(
                f"h0 must be one array (B, H), not a {type(state).__name__}: the {self.model} has no cell state"
            )
        check_array("h0", state, (B, H), "(B, H)", like=dtype_ref(params))
        return state

    def backward_inputs(self, params, cache, dy, dstate):
        """Validate the layer backward's arguments; return the final-state gradient(s) (zeros for None)."""
        B, H = check_layer_backward(params, self.gates, cache, dy, self.layer, self.cell_cache, vectors=self.vectors)
        if dstate is None:
            zeros = np.zeros((B, H), dy.dtype)
            return (zeros, zeros.copy()) if self.cell_state else zeros
        if self.cell_state:
            return check_state(self.dstate_name, dstate, ("dh_T", "dc_T"), B, H, like=dtype_ref(params))
        check_array("dh_T", dstate, (B, H), "(B, H)", like=dtype_ref(params))
        return dstate
