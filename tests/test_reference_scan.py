"""The one time loop of the reference layers (lstmlib.reference.scan), checked on its own and through every layer."""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import lstmlib.reference.params as reference_params
from lstmlib.reference import (
    convlstm_backward,
    convlstm_cell_backward,
    convlstm_cell_forward,
    convlstm_forward,
    gru_backward,
    gru_cell_backward,
    gru_cell_forward,
    gru_forward,
    init_convlstm_params,
    init_gru_params,
    init_lstm_params,
    init_peephole_params,
    init_rnn_params,
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    lstm_state_gradients,
    max_relative_error,
    numerical_gradient,
    peephole_backward,
    peephole_cell_backward,
    peephole_cell_forward,
    peephole_forward,
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    rnn_state_gradients,
)
from lstmlib.reference.params import checked_by
from lstmlib.reference.scan import scan_backward, scan_forward, scan_state_gradients
from lstmlib.show import source_of

B, D, H = 2, 3, 4
C, HC, FRAME = 2, 2, (4, 4)  # ConvLSTM: input channels, hidden channels, frame size


def vector_input(T, rng):
    return rng.standard_normal((T, B, D))


def map_input(T, rng):
    return rng.standard_normal((T, B, C, *FRAME))


# name: (init params, forward, backward, cell forward, cell backward, state is a tuple, input factory)
LAYERS = {
    "rnn": (lambda: init_rnn_params(D, H, rng=1), rnn_forward, rnn_backward, rnn_cell_forward, rnn_cell_backward,
            False, vector_input),
    "gru": (lambda: init_gru_params(D, H, rng=2), gru_forward, gru_backward, gru_cell_forward, gru_cell_backward,
            False, vector_input),
    "lstm": (lambda: init_lstm_params(D, H, rng=3), lstm_forward, lstm_backward, lstm_cell_forward,
             lstm_cell_backward, True, vector_input),
    "peephole": (lambda: init_peephole_params(D, H, rng=4), peephole_forward, peephole_backward,
                 peephole_cell_forward, peephole_cell_backward, True, vector_input),
    "convlstm": (lambda: init_convlstm_params(C, HC, 3, rng=5, peephole=True, frame_size=FRAME), convlstm_forward,
                 convlstm_backward, convlstm_cell_forward, convlstm_cell_backward, True, map_input),
}


def as_tuple(state, is_tuple):
    return tuple(state) if is_tuple else (state,)


def as_layer_state(state, is_tuple):
    return tuple(state) if is_tuple else state[0]


# ---- the scan on its own, with a cell whose answer is known: a running sum --------------------

def running_sum_forward(params, x_t, h_prev):
    h = h_prev + params["scale"] * x_t
    return h, {"x_t": x_t}


def running_sum_backward(params, cache, dh):
    return {"scale": np.sum(dh * cache["x_t"])}, params["scale"] * dh, dh


def test_scan_of_a_running_sum_is_the_cumulative_sum_and_its_gradients_are_suffix_sums():
    rng = np.random.default_rng(0)
    params = {"scale": np.array(1.5)}
    x, h0 = rng.standard_normal((6, 2, 3)), rng.standard_normal((2, 3))
    y, (h_T,), cache = scan_forward(running_sum_forward, params, x, (h0,))
    np.testing.assert_allclose(y, h0 + 1.5 * np.cumsum(x, axis=0), rtol=1e-14)
    np.testing.assert_array_equal(h_T, y[-1])
    assert len(cache["steps"]) == 6 and all(np.array_equal(step["x_t"], x[t]) for t, step in enumerate(cache["steps"]))

    dy, dh_T = rng.standard_normal(y.shape), rng.standard_normal(h0.shape)
    dparams, dx, (dh0,) = scan_backward(running_sum_backward, params, cache, dy, (dh_T,))
    # y[t] = h_{t+1}, and h_{t+1} enters every later output once: ∂L/∂h_{t+1} = Σ_{s >= t} dy[s] + dh_T
    suffix = np.cumsum(dy[::-1], axis=0)[::-1] + dh_T
    np.testing.assert_allclose(dx, 1.5 * suffix, rtol=1e-13)
    np.testing.assert_allclose(dh0, suffix[0], rtol=1e-13)
    np.testing.assert_allclose(dparams["scale"], np.sum(suffix * x), rtol=1e-13)

    (dh,) = scan_state_gradients(running_sum_backward, params, cache, dy, (dh_T,))
    np.testing.assert_allclose(dh[1:], suffix, rtol=1e-13)  # dh[t] = ∂L/∂h_t
    np.testing.assert_array_equal(dh[0], dh0)
    np.testing.assert_array_equal(dh[-1], dy[-1] + dh_T)


# ---- every layer: its state gradients against central differences ---------------------------

def state_gradients(name, params, cache, dy, dstate):
    """The layer's state gradients: the public function where there is one, else the scan on its cell."""
    _, _, _, _, cell_backward, is_tuple, _ = LAYERS[name]
    if name == "rnn":
        return (rnn_state_gradients(params, cache, dy, dstate[0]),)
    if name == "lstm":
        return lstm_state_gradients(params, cache, dy, dstate)
    return scan_state_gradients(cell_backward.unchecked, params, cache, dy, dstate)


@pytest.mark.parametrize("name", LAYERS)
def test_state_gradients_match_central_differences_at_every_step(name):
    init, forward, backward, _, _, is_tuple, make_input = LAYERS[name]
    rng = np.random.default_rng(7)
    params, T = init(), 3
    x = make_input(T, rng)
    y, final, cache = forward(params, x, None)
    states = [tuple(np.zeros_like(s) for s in as_tuple(final, is_tuple))]  # the state after step t, t = 0 .. T
    for t in range(T):
        _, state_t, _ = forward(params, x[:t + 1], None)
        states.append(as_tuple(state_t, is_tuple))
    R_y = rng.standard_normal(y.shape)
    R_final = tuple(rng.standard_normal(s.shape) for s in as_tuple(final, is_tuple))
    grads = state_gradients(name, params, cache, R_y, R_final)
    assert len(grads) == len(R_final) and all(g.shape == (T + 1,) + s.shape for g, s in zip(grads, R_final))

    for t in range(T + 1):
        state = [s.copy() for s in states[t]]

        def loss_from_step_t():
            # the loss as a function of the state after step t: its h is the output y[t-1], and it feeds steps t+1 .. T
            total = np.sum(R_y[t - 1] * state[0]) if t > 0 else 0.0
            final = tuple(state)
            if t < T:
                y_rest, final, _ = forward(params, x[t:], as_layer_state(state, is_tuple))
                total += np.sum(R_y[t:] * y_rest)
            return total + sum(np.sum(R * s) for R, s in zip(R_final, as_tuple(final, is_tuple)))

        for k, part in enumerate(state):
            error = max_relative_error(grads[k][t], numerical_gradient(loss_from_step_t, part))
            assert error < 1e-7, (name, t, k, error)

    # and the first entry is the initial-state gradient of the layer backward
    _, _, dstate0 = backward(params, cache, R_y, as_layer_state(R_final, is_tuple))
    for g, d in zip(grads, as_tuple(dstate0, is_tuple), strict=True):
        np.testing.assert_array_equal(g[0], d)


# ---- validation: once per sequence, and the cells keep theirs --------------------------------

def count_finiteness_checks(monkeypatch):
    """Count the calls of the check every input array goes through (its NaN/inf scan, the costly part)."""
    calls = []
    original = reference_params.check_finite

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(reference_params, "check_finite", counting)
    return calls


@pytest.mark.parametrize("name", LAYERS)
def test_a_layer_checks_its_inputs_once_per_sequence_not_once_per_step(name, monkeypatch):
    init, forward, backward, _, _, _, make_input = LAYERS[name]
    rng = np.random.default_rng(3)
    params = init()
    calls = count_finiteness_checks(monkeypatch)
    counts = []
    for T in (2, 9):
        x = make_input(T, rng)
        calls.clear()
        y, final, cache = forward(params, x, None)
        backward(params, cache, np.ones_like(y), None)
        counts.append(len(calls))
    assert counts[0] == counts[1] > 0, counts
    assert "x" in calls and "dy" in calls


@pytest.mark.parametrize("name", LAYERS)
def test_a_bad_value_late_in_the_sequence_is_rejected_by_the_layer_naming_x(name):
    init, forward, _, _, _, _, make_input = LAYERS[name]
    x = make_input(4, np.random.default_rng(4))
    x[(3, 1) + (0,) * (x.ndim - 2)] = np.nan
    with pytest.raises(ValueError, match=r"^x must be finite; got 1 non-finite"):
        forward(init(), x, None)


@pytest.mark.parametrize("name", LAYERS)
def test_the_cell_functions_still_reject_bad_inputs(name):
    init, forward, _, cell_forward, cell_backward, is_tuple, make_input = LAYERS[name]
    params = init()
    x = make_input(1, np.random.default_rng(5))
    y, final, cache = forward(params, x, None)
    state = as_tuple(final, is_tuple)
    bad_x_t = x[0].copy()
    bad_x_t[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"^x_t must be finite"):
        cell_forward(params, bad_x_t, *state)
    with pytest.raises(ValueError, match=r"^h_prev must have shape"):
        cell_forward(params, x[0], state[0][:1], *state[1:])
    dstate = tuple(np.ones_like(s) for s in state)
    with pytest.raises(ValueError, match=r"^dh must have shape"):
        cell_backward(params, cache["steps"][0], dstate[0][:1], *dstate[1:])
    with pytest.raises(TypeError, match=r"cache must be the cache dict returned by \w+_cell_forward"):
        cell_backward(params, list(cache["steps"][0]), *dstate)


@pytest.mark.parametrize("name", LAYERS)
def test_the_unchecked_cell_is_the_same_computation_without_the_checks(name):
    init, forward, _, cell_forward, _, is_tuple, make_input = LAYERS[name]
    params = init()
    x = make_input(2, np.random.default_rng(6))
    _, final, _ = forward(params, x[:1], None)
    state = as_tuple(final, is_tuple)
    *checked_state, _ = cell_forward(params, x[1], *state)
    *unchecked_state, _ = cell_forward.unchecked(params, x[1], *state)
    for a, b in zip(checked_state, unchecked_state, strict=True):
        np.testing.assert_array_equal(a, b)
    bad_x_t = x[1].copy()
    bad_x_t[0, 0] = np.nan
    h, *_ = cell_forward.unchecked(params, bad_x_t, *state)  # no check: the NaN goes through
    assert np.isnan(h).any()


def test_checked_by_keeps_the_name_docstring_and_signature_and_names_a_missing_argument():
    seen = []

    def check(a, b):
        seen.append((a, b))
        if b < 0:
            raise ValueError(f"b must be >= 0; got {b}")

    @checked_by(check)
    def add(a, b):
        """Add two numbers."""
        return a + b

    assert add.__name__ == "add" and add.__doc__ == "Add two numbers."
    assert str(inspect.signature(add)) == "(a, b)"
    assert "@checked_by(check)" in inspect.getsource(add)  # what show_source displays
    assert add(1, b=2) == 3 and seen == [(1, 2)]
    assert add.unchecked(1, -2) == -1 and len(seen) == 1
    with pytest.raises(ValueError, match=r"b must be >= 0; got -2"):
        add(1, -2)
    with pytest.raises(TypeError, match=r"missing a required argument: 'b'"):
        add(1)


@pytest.mark.parametrize("cell", [lstm_cell_forward, lstm_cell_backward, rnn_cell_forward, convlstm_cell_forward])
def test_show_source_displays_the_checked_cell_from_its_own_file_with_true_line_numbers(cell):
    source, path, first, last = source_of(cell)
    module_file = Path(inspect.getsourcefile(cell.unchecked))
    assert path == f"lstmlib/reference/{module_file.name}"
    # the decorator line that names the cell's checks (ConvLSTM's are its own; the others share CellChecks)
    assert re.fullmatch(r"@checked_by\((CHECKS\.|_check_)cell_(backward_)?inputs\)", source.splitlines()[0])
    assert f"def {cell.__name__}(" in source.splitlines()[1]
    assert module_file.read_text().splitlines()[first - 1:last] == source.splitlines()
