"""lstmlib.reference.gru: gradient checks, a hand-computed step, parity with torch.nn.GRU, bad input."""

import numpy as np
import pytest
import torch

from lstmlib.reference import (
    check_gru_gradients,
    gradient_errors,
    gru_backward,
    gru_cell_backward,
    gru_cell_forward,
    gru_forward,
    init_gru_params,
    init_lstm_params,
    lstm_forward,
)

SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (6, 2, 3, 2), (4, 1, 5, 3), (3, 4, 2, 4)]  # (T, B, D, H)


def make_problem(T, B, D, H, bias=True, seed=0):
    """Random params (non-zero biases), input and non-zero initial state, float64."""
    rng = np.random.default_rng(seed)
    params = init_gru_params(D, H, rng=rng)
    if not bias:
        del params["bias_ih_l0"], params["bias_hh_l0"]
    return params, rng.standard_normal((T, B, D)), rng.standard_normal((B, H))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_layer_gradients_match_central_differences(T, B, D, H, bias):
    params, x, h0 = make_problem(T, B, D, H, bias, seed=T * 100 + H)
    errors = check_gru_gradients(params, x, h0, rng=1)
    assert set(errors) == set(params) | {"x", "h0"}
    assert max(errors.values()) < 1e-6, errors


def test_layer_gradients_with_zero_initial_state():
    params, x, _ = make_problem(4, 2, 3, 3, seed=2)
    errors = check_gru_gradients(params, x, None, rng=3)
    assert set(errors) == set(params) | {"x", "h0"} and max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("B, D, H", [(1, 1, 1), (3, 4, 5), (2, 5, 3)])
def test_cell_gradients_match_central_differences(B, D, H, bias):
    params, x, h_prev = make_problem(1, B, D, H, bias, seed=B + D + H)
    x_t = x[0].copy()
    R_h = np.random.default_rng(7).standard_normal((B, H))

    def loss():
        return np.sum(gru_cell_forward(params, x_t, h_prev)[0] * R_h)

    _, cache = gru_cell_forward(params, x_t, h_prev)
    dparams, dx_t, dh_prev = gru_cell_backward(params, cache, R_h)
    errors = gradient_errors(
        loss, {**params, "x_t": x_t, "h_prev": h_prev}, {**dparams, "x_t": dx_t, "h_prev": dh_prev}
    )
    assert max(errors.values()) < 1e-6, errors


def test_one_step_computed_by_hand():
    """D = H = B = 1, rows r, z, n. The reset gate multiplies W_hn h + b_hn, bias included."""
    params = {
        "weight_ih_l0": np.array([[0.5], [-1.0], [2.0]]),
        "weight_hh_l0": np.array([[1.0], [0.5], [-0.5]]),
        "bias_ih_l0": np.array([0.1, 0.2, 0.3]),
        "bias_hh_l0": np.array([-0.2, 0.1, 0.4]),
    }
    x_t, h_prev = np.array([[1.0]]), np.array([[0.5]])
    h, cache = gru_cell_forward(params, x_t, h_prev)
    # r = σ(0.5·1 + 0.1 + 1·0.5 − 0.2) = σ(0.9)
    assert cache["r"][0, 0] == pytest.approx(0.710949502625, abs=1e-12)
    # z = σ(−1·1 + 0.2 + 0.5·0.5 + 0.1) = σ(−0.45)
    assert cache["z"][0, 0] == pytest.approx(0.389360766051, abs=1e-12)
    # a_hn = −0.5·0.5 + 0.4 = 0.15;  n = tanh(2·1 + 0.3 + r·0.15)
    assert cache["a_hn"][0, 0] == pytest.approx(0.15, abs=1e-15)
    assert cache["n"][0, 0] == pytest.approx(0.983888564995, abs=1e-12)
    # h = (1 − z) n + z · 0.5
    assert h[0, 0] == pytest.approx(0.795481342645, abs=1e-12)

    # With dL/dh = 1: dL/db_in = (1 − z)(1 − n²); dL/db_hn carries r as well; dL/dh_prev = z + (through the gates)
    r, z, n = 0.710949502625, 0.389360766051, 0.983888564995
    dparams, dx_t, dh_prev = gru_cell_backward(params, cache, np.ones((1, 1)))
    assert dparams["bias_ih_l0"][2] == pytest.approx((1 - z) * (1 - n**2), abs=1e-11)
    assert dparams["bias_hh_l0"][2] == pytest.approx((1 - z) * (1 - n**2) * r, abs=1e-11)
    # r and z see the same gradient through both bias vectors; n's two biases differ by the factor r
    assert dparams["bias_ih_l0"][:2] == pytest.approx(dparams["bias_hh_l0"][:2], abs=0)
    # dL/dz = h_prev − n < 0 here, so the update-gate bias gradient is negative
    assert dparams["bias_ih_l0"][1] == pytest.approx((0.5 - n) * z * (1 - z), abs=1e-11)


def test_update_gate_saturated_open_copies_the_state():
    """z = 1 (a large update-gate bias): h_t = h_{t-1} at every step, and dL/dh0 = sum of dy."""
    T, B, D, H = 5, 2, 3, 4
    params, x, h0 = make_problem(T, B, D, H, seed=4)
    params["bias_ih_l0"][H : 2 * H] = 1e3
    y, h_T, cache = gru_forward(params, x, h0)
    assert np.array_equal(h_T, h0) and all(np.array_equal(y[t], h0) for t in range(T))
    dy = np.random.default_rng(0).standard_normal((T, B, H))
    dparams, dx, dh0 = gru_backward(params, cache, dy)
    np.testing.assert_allclose(dh0, dy.sum(axis=0), rtol=0, atol=1e-14)  # summed in reverse order
    assert not dx.any() and not dparams["weight_hh_l0"].any()


def torch_gru_run(params, x, h0, dy, dh_T):
    """Forward and autograd backward through torch.nn.GRU loaded with ``params``."""
    D, H = params["weight_ih_l0"].shape[1], params["weight_hh_l0"].shape[1]
    gru = torch.nn.GRU(D, H, bias="bias_ih_l0" in params).double()
    gru.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    x_t = torch.from_numpy(x).requires_grad_()
    h0_t = torch.from_numpy(h0)[None].requires_grad_()
    y, h_T = gru(x_t, h0_t)
    ((y * torch.from_numpy(dy)).sum() + (h_T[0] * torch.from_numpy(dh_T)).sum()).backward()
    grads = {k: p.grad.numpy() for k, p in gru.named_parameters()}
    grads.update(x=x_t.grad.numpy(), h0=h0_t.grad[0].numpy())
    return dict(y=y.detach().numpy(), h_T=h_T[0].detach().numpy()), grads


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_matches_torch_gru_forward_and_backward(T, B, D, H, bias):
    params, x, h0 = make_problem(T, B, D, H, bias, seed=T + B * 10 + D * 100)
    rng = np.random.default_rng(3)
    dy, dh_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))

    y, h_T, cache = gru_forward(params, x, h0)
    dparams, dx, dh0 = gru_backward(params, cache, dy, dh_T)
    outputs, grads = torch_gru_run(params, x, h0, dy, dh_T)

    np.testing.assert_allclose(y, outputs["y"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_T, outputs["h_T"], rtol=0, atol=1e-12)
    assert set(dparams) == set(params)
    for name, ours in {**dparams, "x": dx, "h0": dh0}.items():
        np.testing.assert_allclose(ours, grads[name], rtol=0, atol=1e-10, err_msg=name)


def test_init_matches_torch_keys_shapes_and_is_deterministic():
    D, H = 3, 5
    params = init_gru_params(D, H, rng=0)
    expected = torch.nn.GRU(D, H).state_dict()
    assert list(params) == list(expected)
    for key, value in params.items():
        assert value.shape == tuple(expected[key].shape)
        assert np.abs(value).max() <= 1 / np.sqrt(H)
    again = init_gru_params(D, H, rng=0)
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert init_gru_params(D, H, dtype=np.float32)["weight_hh_l0"].dtype == np.float32


def test_float32_params_run_in_float32():
    params = init_gru_params(3, 4, rng=0, dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((2, 2, 3)).astype(np.float32)
    y, h_T, cache = gru_forward(params, x)
    dparams, dx, dh0 = gru_backward(params, cache, np.ones_like(y))
    assert y.dtype == h_T.dtype == dx.dtype == dh0.dtype == np.float32
    assert all(g.dtype == np.float32 for g in dparams.values())


def test_none_h0_means_zeros_and_layer_is_the_cell_looped():
    params, x, h0 = make_problem(4, 2, 3, 3)
    y_none, h_none, _ = gru_forward(params, x)
    y_zero, h_zero, _ = gru_forward(params, x, np.zeros_like(h0))
    assert np.array_equal(y_none, y_zero) and np.array_equal(h_none, h_zero)
    y, h_T, _ = gru_forward(params, x, h0)
    h = h0
    for t in range(len(x)):
        h, _ = gru_cell_forward(params, x[t], h)
        assert np.array_equal(y[t], h)
    assert np.array_equal(h_T, h)


# ---- bad input ----------------------------------------------------------------------------

T, B, D, H = 3, 2, 4, 5
P = init_gru_params(D, H, rng=0)
X = np.random.default_rng(0).standard_normal((T, B, D))
H0 = np.random.default_rng(1).standard_normal((B, H))
Y, _, CACHE = gru_forward(P, X, H0)
STEP = CACHE["steps"][0]

CASES = {
    "x feature size": (lambda: gru_forward(P, X[..., :3]), ValueError, r"x must have D=4 along axis 2 .* \(D=3\)"),
    "x empty": (lambda: gru_forward(P, X[:0]), ValueError, r"x must hold at least one time step"),
    "x float32": (
        lambda: gru_forward(P, X.astype(np.float32)),
        TypeError,
        r"x must have the dtype of params\['weight_ih_l0'\] \(float64\); got float32",
    ),
    "x nan": (
        lambda: gru_forward(P, np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X)),
        ValueError,
        r"x must be finite; got 1 non-finite",
    ),
    "h0 wrong batch": (
        lambda: gru_forward(P, X, H0[:1]),
        ValueError,
        r"h0 must have shape \(B, H\) = \(2, 5\); got \(1, 5\)",
    ),
    "h0 given an (h, c) tuple": (
        lambda: gru_forward(P, X, (H0, H0)),
        TypeError,
        r"h0 must be one array \(B, H\), not a tuple: the GRU has no cell state",
    ),
    "lstm params": (
        lambda: gru_forward(init_lstm_params(D, H, rng=0), X),
        ValueError,
        r"params\['weight_hh_l0'\] must have shape \(3H, H\) = \(15, 5\); got \(20, 5\)",
    ),
    "params one bias only": (
        lambda: gru_forward({k: v for k, v in P.items() if k != "bias_hh_l0"}, X),
        ValueError,
        r"params must have exactly the keys .*missing \['bias_hh_l0'\]",
    ),
    "bias shape": (
        lambda: gru_forward({**P, "bias_ih_l0": P["bias_ih_l0"][:-1]}, X),
        ValueError,
        r"params\['bias_ih_l0'\] must have shape \(3H,\) = \(15,\); got \(14,\)",
    ),
    "dy wrong shape": (
        lambda: gru_backward(P, CACHE, Y[..., :4]),
        ValueError,
        r"dy must have shape \(T, B, H\) = \(3, 2, 5\); got \(3, 2, 4\)",
    ),
    "dh_T as a tuple": (lambda: gru_backward(P, CACHE, Y, (H0,)), TypeError, r"dh_T must be a NumPy array"),
    "dh_T nan": (lambda: gru_backward(P, CACHE, Y, np.full((B, H), np.nan)), ValueError, r"dh_T must be finite"),
    "lstm cache": (
        lambda: gru_backward(P, lstm_forward(init_lstm_params(D, H, rng=0), X)[2], Y),
        ValueError,
        r"cache\['steps'\]\[0\] must have exactly the keys .*missing \['r', 'z', 'n', 'a_hn'\]",
    ),
    "cache not a dict": (
        lambda: gru_backward(P, [STEP], Y),
        TypeError,
        r"cache must be the cache dict returned by gru_forward",
    ),
    "cell cache keys": (
        lambda: gru_cell_backward(P, {k: v for k, v in STEP.items() if k != "a_hn"}, H0),
        ValueError,
        r"cache must have exactly the keys .*missing \['a_hn'\]",
    ),
    "cell cache of another size": (
        lambda: gru_cell_backward(init_gru_params(D, H + 1, rng=0), STEP, H0),
        ValueError,
        r"cache\['h_prev'\] must have shape \(B, H\) = \(2, 6\); got \(2, 5\)",
    ),
    "cell x_t rank": (lambda: gru_cell_forward(P, X, H0), ValueError, r"x_t must have 2 dimensions \(B, D\)"),
    "cell h_prev batch": (
        lambda: gru_cell_forward(P, X[0], H0[:1]),
        ValueError,
        r"h_prev must have shape \(B, H\) = \(2, 5\); got \(1, 5\)",
    ),
    "cell dh float32": (
        lambda: gru_cell_backward(P, STEP, H0.astype(np.float32)),
        TypeError,
        r"dh must have the dtype",
    ),
    "init hidden_size zero": (
        lambda: init_gru_params(D, 0),
        ValueError,
        r"hidden_size must be a positive int \(>= 1\); got 0",
    ),
    "init dtype integer": (
        lambda: init_gru_params(D, H, dtype=np.int64),
        TypeError,
        r"dtype must be a floating-point NumPy dtype .*got int64",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_rejected_with_a_message_naming_it(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def test_the_bad_input_fixtures_are_valid():
    """The cases above fail because of the one thing each changes, not the fixtures."""
    gru_backward(P, CACHE, Y, H0)
    gru_cell_backward(P, STEP, H0)
