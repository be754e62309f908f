"""Numerical gradients, to check the hand-written backward passes.

A backward pass is trusted once it agrees with central differences,
``∂f/∂a_k ≈ (f(a + ε e_k) - f(a - ε e_k)) / 2ε``, whose error is O(ε²) plus
the rounding of ``f`` amplified by ``1/ε``. In float64 with ε = 1e-6 that
leaves agreement to about 1e-9 relative to the gradient's size.
"""

import numbers

import numpy as np

from lstmlib._checks import check_array_type, check_floating, check_keys, check_rng
from lstmlib.reference.convlstm import convlstm_backward, convlstm_forward
from lstmlib.reference.gru import gru_backward, gru_forward
from lstmlib.reference.lstm import lstm_backward, lstm_forward
from lstmlib.reference.params import NUMPY_ARRAY
from lstmlib.reference.peephole import peephole_backward, peephole_forward
from lstmlib.reference.rnn import rnn_backward, rnn_forward
from lstmlib.reference.tree_lstm import (
    child_sum_tree_lstm_backward,
    child_sum_tree_lstm_forward,
    nary_tree_lstm_backward,
    nary_tree_lstm_forward,
)


def numerical_gradient(f, array, eps=1e-6):
    """Central-difference gradient of a scalar function w.r.t. ``array``.

    f: a function of no arguments returning a number; it must read ``array``
    (e.g. close over the params dict that holds it). Each entry of ``array`` is
    nudged in place by ±eps and restored exactly afterwards. Returns an array
    of ``array``'s shape.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of no arguments returning a number; got {type(f).__name__}")
    check_array_type("array", array, np.ndarray, NUMPY_ARRAY)
    check_floating("array", array)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a positive number; got {type(eps).__name__} {eps!r}")
    if not eps > 0:
        raise ValueError(f"eps must be a positive number; got {eps!r}")
    grad = np.zeros_like(array)
    for k in np.ndindex(array.shape):
        original = array[k]
        array[k] = original + eps
        f_plus = _scalar(f())
        array[k] = original - eps
        f_minus = _scalar(f())
        array[k] = original
        # ∂f/∂a_k ≈ (f(a + ε e_k) − f(a − ε e_k)) / 2ε
        grad[k] = (f_plus - f_minus) / (2 * eps)
    return grad


def max_relative_error(analytic, numeric):
    """Largest entrywise gap between two gradients, relative to their size.

    ``max_k |a_k - n_k| / max(max_k |a_k| + max_k |n_k|, tiny)``: 0 when they
    agree, 1 when they have nothing in common. The scale is the whole array's,
    not each entry's, because the numerical gradient's error is absolute (about
    1e-10 of the function's value, whatever the entry): an entry that happens
    to be near zero would otherwise look wrong. ``tiny`` (the smallest normal
    float64) only keeps 0/0 away when both gradients are exactly zero.
    """
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"analytic and numeric must have the same shape; got {analytic.shape} and {numeric.shape}")
    scale = np.abs(analytic).max(initial=0.0) + np.abs(numeric).max(initial=0.0)
    return float(np.abs(analytic - numeric).max(initial=0.0) / max(scale, np.finfo(np.float64).tiny))


def gradient_errors(f, arrays, grads, eps=1e-6):
    """Compare hand-written gradients with numerical ones, array by array.

    f: scalar function of no arguments that reads every array in ``arrays``;
    arrays, grads: dicts ``{name: array}`` and ``{name: ∂f/∂array}`` with the same
    keys. Returns ``{name: max_relative_error}``.
    """
    check_keys("grads", grads, list(arrays))
    return {name: max_relative_error(grads[name], numerical_gradient(f, arrays[name], eps)) for name in arrays}


def check_lstm_gradients(params, x, state, rng=0, eps=1e-6):
    """Gradient-check :func:`lstm_backward` on ``loss = Σ y⊙R_y + Σ h_T⊙R_h + Σ c_T⊙R_c``.

    The random weights R (drawn from ``rng``) make every output and both final
    states matter. params, x: (T, B, D) and state ``(h0, c0)`` (or None for
    zeros) are nudged in place and restored. Returns ``{name: max_relative_error}`` for every
    parameter key, ``"x"``, ``"h0"`` and ``"c0"``.
    """
    return check_sequence_gradients(lstm_forward, lstm_backward, params, x, state, ("h0", "c0"), rng, eps)


def check_peephole_gradients(params, x, state, rng=0, eps=1e-6):
    """Gradient-check :func:`~lstmlib.reference.peephole.peephole_backward`, as :func:`check_lstm_gradients`.

    Same loss and arguments; params also hold the three peephole vectors.
    """
    return check_sequence_gradients(peephole_forward, peephole_backward, params, x, state, ("h0", "c0"), rng, eps)


def check_convlstm_gradients(params, x, state, rng=0, eps=1e-6):
    """Gradient-check :func:`convlstm_backward`, as :func:`check_lstm_gradients`.

    x: (T, B, C, H, W), state ``(h0, c0)``, each (B, Hc, H, W), or None for
    zeros. Every entry of every array costs two forward passes: keep the sizes small.
    """
    return check_sequence_gradients(convlstm_forward, convlstm_backward, params, x, state, ("h0", "c0"), rng, eps)


def check_rnn_gradients(params, x, h0, rng=0, eps=1e-6):
    """Gradient-check :func:`rnn_backward` on ``loss = Σ y⊙R_y + Σ h_T⊙R_h``.

    Like :func:`check_lstm_gradients`; h0: (B, H) or None for zeros. Returns
    ``{name: max_relative_error}`` for every parameter key, ``"x"`` and ``"h0"``.
    """
    return check_sequence_gradients(rnn_forward, rnn_backward, params, x, h0, ("h0",), rng, eps)


def check_gru_gradients(params, x, h0, rng=0, eps=1e-6):
    """Gradient-check :func:`gru_backward`, as :func:`check_rnn_gradients`."""
    return check_sequence_gradients(gru_forward, gru_backward, params, x, h0, ("h0",), rng, eps)


def check_sequence_gradients(forward, backward, params, x, state, state_names, rng=0, eps=1e-6):
    """Gradient-check any sequence layer on ``loss = Σ y⊙R_y + Σ_s Σ s_T⊙R_s``.

    The random weights R (drawn from ``rng``) make every output and every final
    state matter. ``forward(params, x, state) -> (y, final, cache)`` and
    ``backward(params, cache, dy, dfinal) -> (dparams, dx, dstate0)``, where a
    state is one array (``state_names`` has one name, e.g. ``("h0",)``) or a
    tuple of arrays (``("h0", "c0")``); ``state`` None means zeros. Returns
    ``{name: max_relative_error}`` for every parameter key, ``"x"`` and each
    name in ``state_names``.
    """
    rng = check_rng("rng", rng)
    single = len(state_names) == 1
    as_tuple = (lambda s: (s,)) if single else tuple
    as_state = (lambda t: t[0]) if single else tuple
    y, final, cache = forward(params, x, state)
    initial = as_tuple(state) if state is not None else tuple(np.zeros_like(s) for s in as_tuple(final))
    R_y, *R_final = (rng.standard_normal(a.shape).astype(a.dtype) for a in (y, *as_tuple(final)))

    def loss():
        y, final, _ = forward(params, x, as_state(initial))
        return np.sum(y * R_y) + sum(np.sum(s * R) for s, R in zip(as_tuple(final), R_final))

    dparams, dx, dinitial = backward(params, cache, R_y, as_state(R_final))
    arrays = {**params, "x": x, **dict(zip(state_names, initial))}
    grads = {**dparams, "x": dx, **dict(zip(state_names, as_tuple(dinitial)))}
    return gradient_errors(loss, arrays, grads, eps)


def check_child_sum_tree_lstm_gradients(params, x, parent, rng=0, eps=1e-6):
    """Gradient-check :func:`child_sum_tree_lstm_backward` on ``loss = Σ h⊙R_h + Σ c⊙R_c``.

    The random weights R (drawn from ``rng``) make the state of every node
    matter, not only the roots'. params and x: (N, D) are nudged in place and
    restored; parent: (N,). Returns ``{name: max_relative_error}`` for every
    parameter key and ``"x"``.
    """
    return _check_tree_gradients(child_sum_tree_lstm_forward, child_sum_tree_lstm_backward, params, x, parent,
                                 rng, eps)


def check_nary_tree_lstm_gradients(params, x, parent, rng=0, eps=1e-6):
    """Gradient-check :func:`nary_tree_lstm_backward`, as :func:`check_child_sum_tree_lstm_gradients`."""
    return _check_tree_gradients(nary_tree_lstm_forward, nary_tree_lstm_backward, params, x, parent, rng, eps)


def _check_tree_gradients(forward, backward, params, x, parent, rng, eps):
    rng = check_rng("rng", rng)
    h, c, cache = forward(params, x, parent)
    R_h, R_c = (rng.standard_normal(a.shape).astype(a.dtype) for a in (h, c))

    def loss():
        h, c, _ = forward(params, x, parent)
        return np.sum(h * R_h) + np.sum(c * R_c)

    dparams, dx = backward(params, cache, R_h, R_c)
    return gradient_errors(loss, {**params, "x": x}, {**dparams, "x": dx}, eps)


def _scalar(value):
    if np.ndim(value) != 0:
        raise ValueError(f"f must return a single number; got an array of shape {np.shape(value)}")
    return float(value)
