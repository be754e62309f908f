"""lstmlib.reference.coupled: gradient checks, the coupling f = 1 - i, equality with a tied LSTM, bad input."""

import numpy as np
import pytest

from lstmlib.reference import check_sequence_gradients, gradient_errors, init_lstm_params, lstm_forward
from lstmlib.reference.coupled import (
    coupled_backward,
    coupled_cell_backward,
    coupled_cell_forward,
    coupled_forward,
    init_coupled_params,
)

# (T, B, D, H): small, all different, including the degenerate 1s
SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (6, 2, 3, 2), (4, 1, 5, 3)]


def make_problem(T, B, D, H, bias=True, seed=0):
    """Random params (non-zero biases), input and non-zero initial state, float64."""
    rng = np.random.default_rng(seed)
    params = init_coupled_params(D, H, rng=rng)
    if not bias:
        del params["bias_ih_l0"], params["bias_hh_l0"]
    x = rng.standard_normal((T, B, D))
    state = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    return params, x, state


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_layer_gradients_match_central_differences(T, B, D, H, bias):
    params, x, state = make_problem(T, B, D, H, bias, seed=T * 100 + H)
    errors = check_sequence_gradients(coupled_forward, coupled_backward, params, x, state, ("h0", "c0"), rng=1)
    assert set(errors) == set(params) | {"x", "h0", "c0"}
    assert max(errors.values()) < 1e-6, errors


def test_cell_gradients_match_central_differences():
    params, x, (h0, c0) = make_problem(1, 3, 4, 5, seed=7)
    rng = np.random.default_rng(8)
    R_h, R_c = rng.standard_normal((2, 3, 5))

    def loss():
        h, c, _ = coupled_cell_forward(params, x[0], h0, c0)
        return np.sum(h * R_h) + np.sum(c * R_c)

    _, _, cache = coupled_cell_forward(params, x[0], h0, c0)
    dparams, dx, dh0, dc0 = coupled_cell_backward(params, cache, R_h, R_c)
    errors = gradient_errors(loss, {**params, "x": x[0], "h0": h0, "c0": c0},
                             {**dparams, "x": dx, "h0": dh0, "c0": dc0})
    assert max(errors.values()) < 1e-6, errors


def test_equals_the_lstm_whose_forget_gate_is_the_negated_input_gate():
    """σ(-a) = 1 - σ(a): the LSTM with rows f = -i computes the CIFG."""
    params, x, state = make_problem(5, 2, 3, 4, seed=3)
    lstm = init_lstm_params(3, 4, rng=0)
    for key, value in params.items():
        i, g, o = np.split(value, 3, axis=0)
        lstm[key] = np.concatenate([i, -i, g, o], axis=0)
    y, (h, c), _ = coupled_forward(params, x, state)
    y2, (h2, c2), _ = lstm_forward(lstm, x, state)
    for got, want in [(y, y2), (h, h2), (c, c2)]:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_cell_stays_within_one_from_a_zero_cell():
    """c_t is a weighted average of c_{t-1} and g_t in (-1, 1): from c_0 = 0 it never leaves [-1, 1].

    (Mathematically the bound is strict; with gates saturated in float64, σ and tanh round to 1.)
    """
    params, _, _ = make_problem(1, 1, 2, 6, seed=4)
    params = {key: 4 * value for key, value in params.items()}  # large weights: gates near 0 and 1
    x = 5 * np.random.default_rng(5).standard_normal((300, 8, 2))
    y, (h, c), cache = coupled_forward(params, x)
    cells = np.stack([step["c"] for step in cache["steps"]])
    assert np.abs(cells).max() <= 1


def test_bad_input_names_the_argument():
    params, x, state = make_problem(3, 2, 3, 4)
    with pytest.raises(ValueError, match=r"x must have D=3 along axis 2 of \(T, B, D\)"):
        coupled_forward(params, x[:, :, :2], state)
    lstm_params = init_lstm_params(3, 4, rng=0)
    with pytest.raises(ValueError, match=r"weight_hh_l0'\] must have shape \(3H, H\) = \(12, 4\); got \(16, 4\)"):
        coupled_cell_forward(lstm_params, x[0], *state)
