"""lstmlib.reference.lstm: gradient checks, parity with torch.nn.LSTM, init, purity."""

import warnings

import numpy as np
import pytest
import torch

from lstmlib.reference import (
    check_lstm_gradients,
    gradient_errors,
    init_lstm_params,
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    lstm_state_gradients,
    sigmoid,
)

# (T, B, D, H): small, all different, including the degenerate 1s
SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (6, 2, 3, 2), (4, 1, 5, 3), (3, 4, 2, 4)]


def make_problem(T, B, D, H, bias=True, seed=0):
    """Random params (non-zero biases), input and non-zero initial state, float64."""
    rng = np.random.default_rng(seed)
    params = init_lstm_params(D, H, rng=rng)
    if not bias:
        del params["bias_ih_l0"], params["bias_hh_l0"]
    x = rng.standard_normal((T, B, D))
    state = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    return params, x, state


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_layer_gradients_match_central_differences(T, B, D, H, bias):
    params, x, state = make_problem(T, B, D, H, bias, seed=T * 100 + H)
    errors = check_lstm_gradients(params, x, state, rng=1)
    assert set(errors) == set(params) | {"x", "h0", "c0"}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("B, D, H", [(1, 1, 1), (3, 4, 5), (2, 5, 3)])
def test_cell_gradients_match_central_differences(B, D, H, bias):
    params, x, (h_prev, c_prev) = make_problem(1, B, D, H, bias, seed=B + D + H)
    x_t = x[0].copy()
    rng = np.random.default_rng(7)
    R_h, R_c = rng.standard_normal((B, H)), rng.standard_normal((B, H))

    def loss():
        h, c, _ = lstm_cell_forward(params, x_t, h_prev, c_prev)
        return np.sum(h * R_h) + np.sum(c * R_c)

    _, _, cache = lstm_cell_forward(params, x_t, h_prev, c_prev)
    dparams, dx_t, dh_prev, dc_prev = lstm_cell_backward(params, cache, R_h, R_c)
    arrays = {**params, "x_t": x_t, "h_prev": h_prev, "c_prev": c_prev}
    grads = {**dparams, "x_t": dx_t, "h_prev": dh_prev, "c_prev": dc_prev}
    errors = gradient_errors(loss, arrays, grads)
    assert max(errors.values()) < 1e-6, errors


def torch_lstm_run(params, x, state, dy, dstate):
    """Forward and autograd backward through torch.nn.LSTM loaded with ``params``."""
    D, H = params["weight_ih_l0"].shape[1], params["weight_hh_l0"].shape[1]
    lstm = torch.nn.LSTM(D, H, bias="bias_ih_l0" in params).double()
    lstm.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    x_t = torch.from_numpy(x).requires_grad_()
    h0, c0 = (torch.from_numpy(s)[None].requires_grad_() for s in state)
    y, (h_T, c_T) = lstm(x_t, (h0, c0))
    loss = (y * torch.from_numpy(dy)).sum() + (h_T[0] * torch.from_numpy(dstate[0])).sum()
    loss = loss + (c_T[0] * torch.from_numpy(dstate[1])).sum()
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in lstm.named_parameters()}
    grads.update(x=x_t.grad.numpy(), h0=h0.grad[0].numpy(), c0=c0.grad[0].numpy())
    outputs = dict(y=y.detach().numpy(), h_T=h_T[0].detach().numpy(), c_T=c_T[0].detach().numpy())
    return outputs, grads


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_matches_torch_lstm_forward_and_backward(T, B, D, H, bias):
    params, x, state = make_problem(T, B, D, H, bias, seed=T + B * 10 + D * 100)
    rng = np.random.default_rng(3)
    dy, dstate = rng.standard_normal((T, B, H)), (rng.standard_normal((B, H)), rng.standard_normal((B, H)))

    y, (h_T, c_T), cache = lstm_forward(params, x, state)
    dparams, dx, (dh0, dc0) = lstm_backward(params, cache, dy, dstate)
    outputs, grads = torch_lstm_run(params, x, state, dy, dstate)

    for name, ours in dict(y=y, h_T=h_T, c_T=c_T).items():
        np.testing.assert_allclose(ours, outputs[name], rtol=0, atol=1e-12, err_msg=name)
    assert set(dparams) == set(params)
    for name, ours in {**dparams, "x": dx, "h0": dh0, "c0": dc0}.items():
        np.testing.assert_allclose(ours, grads[name], rtol=0, atol=1e-10, err_msg=name)


def test_init_matches_torch_keys_shapes_and_range():
    D, H = 3, 5
    params = init_lstm_params(D, H, rng=0)
    expected = torch.nn.LSTM(D, H).state_dict()
    assert list(params) == list(expected)
    for key, value in params.items():
        assert value.shape == tuple(expected[key].shape)
        assert value.dtype == np.float64
        assert np.abs(value).max() <= 1 / np.sqrt(H)
    assert all(np.abs(v).min() > 0 for v in params.values())  # biases are not zeros


def test_init_is_deterministic_for_a_seed_and_accepts_generators():
    a, b, c = init_lstm_params(4, 3, rng=42), init_lstm_params(4, 3, rng=42), init_lstm_params(4, 3, rng=43)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["weight_ih_l0"], c["weight_ih_l0"])
    d = init_lstm_params(4, 3, rng=np.random.default_rng(42))
    assert all(np.array_equal(a[k], d[k]) for k in a)
    assert init_lstm_params(4, 3).keys() == a.keys()  # rng=None: a fresh generator


def test_float32_params_run_in_float32():
    params, x, state = make_problem(3, 2, 4, 5)
    params32 = {k: v.astype(np.float32) for k, v in params.items()}
    state32 = tuple(s.astype(np.float32) for s in state)
    y32, (h32, c32), cache = lstm_forward(params32, x.astype(np.float32), state32)
    y64, _, _ = lstm_forward(params, x, state)
    assert y32.dtype == h32.dtype == c32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, atol=1e-5)
    dparams, dx, (dh0, dc0) = lstm_backward(params32, cache, np.ones_like(y32))
    assert all(g.dtype == np.float32 for g in [*dparams.values(), dx, dh0, dc0])


def test_none_state_means_zeros():
    params, x, (h0, c0) = make_problem(4, 2, 3, 3)
    zeros = (np.zeros_like(h0), np.zeros_like(c0))
    y_none, (h_none, c_none), cache_none = lstm_forward(params, x)
    y_zero, (h_zero, c_zero), cache_zero = lstm_forward(params, x, zeros)
    assert np.array_equal(y_none, y_zero) and np.array_equal(h_none, h_zero) and np.array_equal(c_none, c_zero)
    dy = np.ones_like(y_none)
    grads_none = lstm_backward(params, cache_none, dy)
    grads_zero = lstm_backward(params, cache_zero, dy, zeros)
    assert np.array_equal(grads_none[1], grads_zero[1])
    assert all(np.array_equal(grads_none[0][k], grads_zero[0][k]) for k in params)


def test_layer_is_the_cell_looped_over_time():
    params, x, (h, c) = make_problem(5, 2, 3, 4)
    y, (h_T, c_T), cache = lstm_forward(params, x, (h, c))
    for t in range(len(x)):
        h, c, step = lstm_cell_forward(params, x[t], h, c)
        assert np.array_equal(y[t], h)
        assert step.keys() == cache["steps"][t].keys()
    assert np.array_equal(h_T, h) and np.array_equal(c_T, c)


def test_functions_are_pure():
    params, x, state = make_problem(4, 2, 3, 4)
    before = {k: v.copy() for k, v in {**params, "x": x, "h0": state[0], "c0": state[1]}.items()}
    y1, _, cache1 = lstm_forward(params, x, state)
    dy = np.random.default_rng(0).standard_normal(y1.shape)
    g1 = lstm_backward(params, cache1, dy)
    y2, _, cache2 = lstm_forward(params, x, state)
    g2 = lstm_backward(params, cache2, dy)
    after = {**params, "x": x, "h0": state[0], "c0": state[1]}
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert np.array_equal(y1, y2) and np.array_equal(g1[1], g2[1])
    assert all(np.array_equal(g1[0][k], g2[0][k]) for k in params)


def test_state_gradients_at_every_step():
    """dh[t], dc[t] equal (dh0, dc0) of a backward restarted at step t, plus dy[t-1] for h."""
    T, B, D, H = 5, 2, 3, 4
    params, x, state = make_problem(T, B, D, H, seed=11)
    rng = np.random.default_rng(5)
    dy, dstate = rng.standard_normal((T, B, H)), (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    y, _, cache = lstm_forward(params, x, state)
    dh, dc = lstm_state_gradients(params, cache, dy, dstate)
    assert dh.shape == dc.shape == (T + 1, B, H)

    _, _, (dh0, dc0) = lstm_backward(params, cache, dy, dstate)
    np.testing.assert_array_equal(dh[0], dh0)
    np.testing.assert_array_equal(dc[0], dc0)
    np.testing.assert_array_equal(dh[T], dy[T - 1] + dstate[0])
    np.testing.assert_array_equal(dc[T], dstate[1])
    states = [cache["steps"][t]["h_prev"] for t in range(T)], [cache["steps"][t]["c_prev"] for t in range(T)]
    for t in range(1, T):
        _, _, rest = lstm_forward(params, x[t:], (states[0][t], states[1][t]))
        _, _, (dh_t, dc_t) = lstm_backward(params, rest, dy[t:], dstate)
        np.testing.assert_allclose(dh[t], dy[t - 1] + dh_t, rtol=0, atol=1e-14)
        np.testing.assert_allclose(dc[t], dc_t, rtol=0, atol=1e-14)


def test_saturated_gates_raise_no_warnings():
    params, x, state = make_problem(3, 2, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, (h_T, c_T), cache = lstm_forward(params, 1e4 * x, state)
        lstm_backward(params, cache, np.ones_like(y))
        assert sigmoid(np.array([-1e4, 0.0, 1e4])).tolist() == [0.0, 0.5, 1.0]
    assert np.isfinite(y).all() and np.abs(y).max() <= 1
