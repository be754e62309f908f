"""lstmlib.reference.rnn: gradient checks, parity with torch.nn.RNN, init, vanishing gradients."""

import numpy as np
import pytest
import torch

from lstmlib.reference import (
    check_rnn_gradients,
    gradient_errors,
    init_rnn_params,
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    rnn_state_gradients,
)

SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (6, 2, 3, 2), (4, 1, 5, 3), (3, 4, 2, 4)]  # (T, B, D, H)


def make_problem(T, B, D, H, bias=True, seed=0):
    """Random params (non-zero biases), input and non-zero initial state, float64."""
    rng = np.random.default_rng(seed)
    params = init_rnn_params(D, H, rng=rng)
    if not bias:
        del params["bias_ih_l0"], params["bias_hh_l0"]
    return params, rng.standard_normal((T, B, D)), rng.standard_normal((B, H))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_layer_gradients_match_central_differences(T, B, D, H, bias):
    params, x, h0 = make_problem(T, B, D, H, bias, seed=T * 100 + H)
    errors = check_rnn_gradients(params, x, h0, rng=1)
    assert set(errors) == set(params) | {"x", "h0"}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("B, D, H", [(1, 1, 1), (3, 4, 5), (2, 5, 3)])
def test_cell_gradients_match_central_differences(B, D, H, bias):
    params, x, h_prev = make_problem(1, B, D, H, bias, seed=B + D + H)
    x_t = x[0].copy()
    R_h = np.random.default_rng(7).standard_normal((B, H))

    def loss():
        return np.sum(rnn_cell_forward(params, x_t, h_prev)[0] * R_h)

    _, cache = rnn_cell_forward(params, x_t, h_prev)
    dparams, dx_t, dh_prev = rnn_cell_backward(params, cache, R_h)
    errors = gradient_errors(
        loss, {**params, "x_t": x_t, "h_prev": h_prev}, {**dparams, "x_t": dx_t, "h_prev": dh_prev}
    )
    assert max(errors.values()) < 1e-6, errors


def torch_rnn_run(params, x, h0, dy, dh_T):
    """Forward and autograd backward through torch.nn.RNN loaded with ``params``."""
    D, H = params["weight_ih_l0"].shape[1], params["weight_hh_l0"].shape[1]
    rnn = torch.nn.RNN(D, H, bias="bias_ih_l0" in params).double()
    rnn.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    x_t = torch.from_numpy(x).requires_grad_()
    h0_t = torch.from_numpy(h0)[None].requires_grad_()
    y, h_T = rnn(x_t, h0_t)
    ((y * torch.from_numpy(dy)).sum() + (h_T[0] * torch.from_numpy(dh_T)).sum()).backward()
    grads = {k: p.grad.numpy() for k, p in rnn.named_parameters()}
    grads.update(x=x_t.grad.numpy(), h0=h0_t.grad[0].numpy())
    return dict(y=y.detach().numpy(), h_T=h_T[0].detach().numpy()), grads


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_matches_torch_rnn_forward_and_backward(T, B, D, H, bias):
    params, x, h0 = make_problem(T, B, D, H, bias, seed=T + B * 10 + D * 100)
    rng = np.random.default_rng(3)
    dy, dh_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))

    y, h_T, cache = rnn_forward(params, x, h0)
    dparams, dx, dh0 = rnn_backward(params, cache, dy, dh_T)
    outputs, grads = torch_rnn_run(params, x, h0, dy, dh_T)

    np.testing.assert_allclose(y, outputs["y"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_T, outputs["h_T"], rtol=0, atol=1e-12)
    assert set(dparams) == set(params)
    for name, ours in {**dparams, "x": dx, "h0": dh0}.items():
        np.testing.assert_allclose(ours, grads[name], rtol=0, atol=1e-10, err_msg=name)


def test_init_matches_torch_keys_shapes_and_is_deterministic():
    D, H = 3, 5
    params = init_rnn_params(D, H, rng=0)
    expected = torch.nn.RNN(D, H).state_dict()
    assert list(params) == list(expected)
    for key, value in params.items():
        assert value.shape == tuple(expected[key].shape)
        assert np.abs(value).max() <= 1 / np.sqrt(H)
    again = init_rnn_params(D, H, rng=0)
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert init_rnn_params(D, H, dtype=np.float32)["weight_hh_l0"].dtype == np.float32


def test_none_h0_means_zeros_and_layer_is_the_cell_looped():
    params, x, h0 = make_problem(4, 2, 3, 3)
    y_none, h_none, _ = rnn_forward(params, x)
    y_zero, h_zero, _ = rnn_forward(params, x, np.zeros_like(h0))
    assert np.array_equal(y_none, y_zero) and np.array_equal(h_none, h_zero)
    y, h_T, _ = rnn_forward(params, x, h0)
    h = h0
    for t in range(len(x)):
        h, _ = rnn_cell_forward(params, x[t], h)
        assert np.array_equal(y[t], h)
    assert np.array_equal(h_T, h)


def test_state_gradients_at_every_step():
    """dh[t] equals dh0 of a backward restarted at step t, plus dy[t-1]."""
    T, B, D, H = 5, 2, 3, 4
    params, x, h0 = make_problem(T, B, D, H, seed=11)
    rng = np.random.default_rng(5)
    dy, dh_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    y, _, cache = rnn_forward(params, x, h0)
    dh = rnn_state_gradients(params, cache, dy, dh_T)
    assert dh.shape == (T + 1, B, H)
    np.testing.assert_array_equal(dh[0], rnn_backward(params, cache, dy, dh_T)[2])
    np.testing.assert_array_equal(dh[T], dy[T - 1] + dh_T)
    for t in range(1, T):
        _, _, rest = rnn_forward(params, x[t:], y[t - 1])
        np.testing.assert_allclose(dh[t], dy[t - 1] + rnn_backward(params, rest, dy[t:], dh_T)[2], rtol=0, atol=1e-14)


def test_gradient_from_the_last_step_vanishes_going_back():
    """The book's first experiment: with small recurrent weights |∂L/∂h_{T-k}| decays with k."""
    T, B, D, H = 30, 1, 2, 8
    params = init_rnn_params(D, H, rng=0)
    params["weight_hh_l0"] *= 0.5
    x = np.random.default_rng(1).standard_normal((T, B, D))
    y, _, cache = rnn_forward(params, x)
    dy = np.zeros_like(y)
    dy[-1] = 1.0  # the loss reads the last output only
    norms = np.linalg.norm(rnn_state_gradients(params, cache, dy)[:, 0], axis=1)
    assert norms[T] > 0 and norms[0] < 1e-6 * norms[T]
    assert np.all(np.diff(norms) > 0)  # each step back shrinks it
