"""lstmlib.reference.peephole: gradient checks, equality with the LSTM at zero peepholes, bad input."""

import numpy as np
import pytest
import torch

from lstmlib.reference import (
    check_peephole_gradients,
    gradient_errors,
    init_lstm_params,
    init_peephole_params,
    lstm_backward,
    lstm_cell_forward,
    lstm_forward,
    peephole_backward,
    peephole_cell_backward,
    peephole_cell_forward,
    peephole_forward,
    sigmoid,
)

PEEPHOLES = ("weight_ci_l0", "weight_cf_l0", "weight_co_l0")
# (T, B, D, H): small, all different, including the degenerate 1s
SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (6, 2, 3, 2), (4, 1, 5, 3), (3, 4, 2, 4)]


def make_problem(T, B, D, H, bias=True, seed=0, peephole_scale=1.0):
    """Random params (non-zero biases and peepholes, scaled), input and non-zero initial state, float64."""
    rng = np.random.default_rng(seed)
    params = init_peephole_params(D, H, rng=rng)
    for key in PEEPHOLES:
        params[key] *= peephole_scale
    if not bias:
        del params["bias_ih_l0"], params["bias_hh_l0"]
    x = rng.standard_normal((T, B, D))
    state = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    return params, x, state


def without_peepholes(params):
    return {k: v for k, v in params.items() if k not in PEEPHOLES}


# ---- gradient checks ---------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_layer_gradients_match_central_differences(T, B, D, H, bias):
    # peepholes of order 1 (scale 3 on init's ±1/sqrt(H)) so that their paths carry real weight
    params, x, state = make_problem(T, B, D, H, bias, seed=T * 100 + H, peephole_scale=3.0)
    errors = check_peephole_gradients(params, x, state, rng=1)
    assert set(errors) == set(params) | {"x", "h0", "c0"}
    assert set(PEEPHOLES) <= set(errors)
    assert max(errors.values()) < 1e-6, errors


def test_layer_gradients_from_a_zero_state():
    """From c0 = 0 the first step's i/f peepholes see nothing: their gradient comes from later steps only."""
    params, x, _ = make_problem(4, 3, 2, 3, seed=5, peephole_scale=3.0)
    errors = check_peephole_gradients(params, x, None, rng=2)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("B, D, H", [(1, 1, 1), (3, 4, 5), (2, 5, 3)])
def test_cell_gradients_match_central_differences(B, D, H, bias):
    params, x, (h_prev, c_prev) = make_problem(1, B, D, H, bias, seed=B + D + H, peephole_scale=3.0)
    x_t = x[0].copy()
    rng = np.random.default_rng(7)
    R_h, R_c = rng.standard_normal((B, H)), rng.standard_normal((B, H))

    def loss():
        h, c, _ = peephole_cell_forward(params, x_t, h_prev, c_prev)
        return np.sum(h * R_h) + np.sum(c * R_c)

    _, _, cache = peephole_cell_forward(params, x_t, h_prev, c_prev)
    dparams, dx_t, dh_prev, dc_prev = peephole_cell_backward(params, cache, R_h, R_c)
    arrays = {**params, "x_t": x_t, "h_prev": h_prev, "c_prev": c_prev}
    grads = {**dparams, "x_t": dx_t, "h_prev": dh_prev, "c_prev": dc_prev}
    errors = gradient_errors(loss, arrays, grads)
    assert max(errors.values()) < 1e-6, errors


# ---- the LSTM is the special case w_ci = w_cf = w_co = 0 --------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_zero_peepholes_give_exactly_the_lstm(T, B, D, H, bias):
    params, x, state = make_problem(T, B, D, H, bias, seed=T + 10 * B + 100 * D, peephole_scale=0.0)
    rng = np.random.default_rng(3)
    dy, dstate = rng.standard_normal((T, B, H)), (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    lstm = without_peepholes(params)

    y, (h_T, c_T), cache = peephole_forward(params, x, state)
    y_l, (h_l, c_l), cache_l = lstm_forward(lstm, x, state)
    for ours, theirs in ((y, y_l), (h_T, h_l), (c_T, c_l)):
        np.testing.assert_array_equal(ours, theirs)
    for step, step_l in zip(cache["steps"], cache_l["steps"], strict=True):
        assert step.keys() == step_l.keys()
        assert all(np.array_equal(step[k], step_l[k]) for k in step)

    dparams, dx, (dh0, dc0) = peephole_backward(params, cache, dy, dstate)
    dparams_l, dx_l, (dh0_l, dc0_l) = lstm_backward(lstm, cache_l, dy, dstate)
    assert set(dparams) == set(params)
    for key in lstm:
        np.testing.assert_array_equal(dparams[key], dparams_l[key], err_msg=key)
    for ours, theirs in ((dx, dx_l), (dh0, dh0_l), (dc0, dc0_l)):
        np.testing.assert_array_equal(ours, theirs)
    # the peepholes still get a gradient at zero: they would change the output
    assert all(np.abs(dparams[key]).max() > 0 for key in PEEPHOLES)


def test_peepholes_change_the_output():
    params, x, state = make_problem(4, 2, 3, 4, seed=1)
    y, _, _ = peephole_forward(params, x, state)
    y_l, _, _ = lstm_forward(without_peepholes(params), x, state)
    assert np.abs(y - y_l).max() > 1e-2


@pytest.mark.parametrize("key, gate", [("weight_ci_l0", "i"), ("weight_cf_l0", "f"), ("weight_co_l0", "o")])
def test_each_peephole_reads_the_cell_it_should(key, gate):
    """w_ci and w_cf see c_{t-1}; w_co sees c_t, computed by the same step."""
    params, x, (h, c) = make_problem(1, 3, 2, 4, seed=4, peephole_scale=0.0)
    params[key] = np.linspace(-1.0, 1.0, 4)
    _, _, cache = peephole_cell_forward(params, x[0], h, c)
    _, _, plain = lstm_cell_forward(without_peepholes(params), x[0], h, c)
    z = np.log(plain[gate]) - np.log1p(-plain[gate])  # the pre-activation without peephole: logit(gate)
    seen = c if gate in "if" else cache["c"]
    np.testing.assert_allclose(cache[gate], sigmoid(z + params[key] * seen), rtol=1e-12, atol=0)


# ---- init, layer = looped cell, dtypes ---------------------------------------------------


def test_init_keys_shapes_range_and_lstm_part():
    D, H = 3, 5
    params = init_peephole_params(D, H, rng=0)
    assert list(params) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", *PEEPHOLES]
    assert all(params[key].shape == (H,) for key in PEEPHOLES)
    assert all(v.dtype == np.float64 and np.abs(v).max() <= 1 / np.sqrt(H) for v in params.values())
    lstm = init_lstm_params(D, H, rng=0)  # same seed: the LSTM's entries are the LSTM's
    assert all(np.array_equal(params[k], lstm[k]) for k in lstm)
    assert all(np.abs(params[k]).min() > 0 for k in PEEPHOLES)
    again = init_peephole_params(D, H, rng=np.random.default_rng(0))
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert init_peephole_params(D, H, dtype=np.float32)["weight_co_l0"].dtype == np.float32


def test_layer_is_the_cell_looped_over_time():
    params, x, (h, c) = make_problem(5, 2, 3, 4)
    y, (h_T, c_T), cache = peephole_forward(params, x, (h, c))
    for t in range(len(x)):
        h, c, step = peephole_cell_forward(params, x[t], h, c)
        assert np.array_equal(y[t], h)
        assert step.keys() == cache["steps"][t].keys()
    assert np.array_equal(h_T, h) and np.array_equal(c_T, c)


def test_float32_params_run_in_float32_and_none_state_means_zeros():
    params, x, (h0, c0) = make_problem(3, 2, 4, 5)
    params32 = {k: v.astype(np.float32) for k, v in params.items()}
    y32, (h32, c32), cache = peephole_forward(params32, x.astype(np.float32))
    y64, _, _ = peephole_forward(params, x, (np.zeros_like(h0), np.zeros_like(c0)))
    assert y32.dtype == h32.dtype == c32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, atol=1e-5)
    dparams, dx, (dh0, dc0) = peephole_backward(params32, cache, np.ones_like(y32))
    assert all(g.dtype == np.float32 for g in [*dparams.values(), dx, dh0, dc0])


def test_functions_are_pure():
    params, x, state = make_problem(4, 2, 3, 4)
    before = {k: v.copy() for k, v in {**params, "x": x, "h0": state[0], "c0": state[1]}.items()}
    y1, _, cache = peephole_forward(params, x, state)
    peephole_backward(params, cache, np.ones_like(y1), state)
    after = {**params, "x": x, "h0": state[0], "c0": state[1]}
    assert all(np.array_equal(before[k], after[k]) for k in before)


# ---- bad input ---------------------------------------------------------------------------

T, B, D, H = 3, 2, 4, 5
P, X, S = make_problem(T, B, D, H, seed=0)
Y, _, CACHE = peephole_forward(P, X, S)
STEP = CACHE["steps"][0]
_, _, LSTM_CACHE = lstm_forward(without_peepholes(P), X, S)

BAD = {
    "lstm params (no peepholes)": (
        lambda: peephole_forward(without_peepholes(P), X),
        ValueError,
        r"params must have exactly the keys .*missing \['weight_ci_l0', 'weight_cf_l0', 'weight_co_l0'\]",
    ),
    "one peephole misspelt": (
        lambda: peephole_forward(
            {
                **without_peepholes(P),
                "weight_ci_l0": P["weight_ci_l0"],
                "weight_cf_l0": P["weight_cf_l0"],
                "weight_co": P["weight_co_l0"],
            },
            X,
        ),
        ValueError,
        r"missing \['weight_co_l0'\], unexpected \['weight_co'\]",
    ),
    "peephole wrong size": (
        lambda: peephole_forward({**P, "weight_cf_l0": P["weight_cf_l0"][:4]}, X),
        ValueError,
        r"params\['weight_cf_l0'\] must have shape \(H,\) = \(5,\); got \(4,\)",
    ),
    "peephole a matrix": (
        lambda: peephole_forward({**P, "weight_co_l0": np.diag(P["weight_co_l0"])}, X),
        ValueError,
        r"params\['weight_co_l0'\] must have 1 dimensions \(H,\); got 2",
    ),
    "peephole float32": (
        lambda: peephole_forward({**P, "weight_ci_l0": P["weight_ci_l0"].astype(np.float32)}, X),
        TypeError,
        r"params\['weight_ci_l0'\] must have the dtype of params\['weight_ih_l0'\] \(float64\); got float32",
    ),
    "peephole nan": (
        lambda: peephole_forward({**P, "weight_ci_l0": np.full(H, np.nan)}, X),
        ValueError,
        r"params\['weight_ci_l0'\] must be finite; got 5 non-finite",
    ),
    "peephole torch tensor": (
        lambda: peephole_forward({**P, "weight_co_l0": torch.from_numpy(P["weight_co_l0"])}, X),
        TypeError,
        r"params\['weight_co_l0'\] must be a NumPy array",
    ),
    "x feature size": (lambda: peephole_forward(P, X[..., :3]), ValueError, r"x must have D=4 .* \(D=3\)"),
    "x empty": (lambda: peephole_forward(P, X[:0]), ValueError, r"x must hold at least one time step"),
    "c0 wrong shape": (
        lambda: peephole_forward(P, X, (S[0], S[1][:, :4])),
        ValueError,
        r"c0 \(state\[1\]\) must have shape \(B, H\) = \(2, 5\); got \(2, 4\)",
    ),
    "dy wrong shape": (
        lambda: peephole_backward(P, CACHE, Y[:2]),
        ValueError,
        r"dy must have shape \(T, B, H\) = \(3, 2, 5\)",
    ),
    "dstate_T not a tuple": (
        lambda: peephole_backward(P, CACHE, Y, S[0]),
        TypeError,
        r"dstate_T must be None or a tuple \('dh_T', 'dc_T'\)",
    ),
    "dc_T nan": (
        lambda: peephole_backward(P, CACHE, Y, (S[0], np.full((B, H), np.nan))),
        ValueError,
        r"dc_T \(dstate_T\[1\]\) must be finite",
    ),
    "cache not a dict": (
        lambda: peephole_backward(P, [CACHE], Y),
        TypeError,
        r"cache must be the cache dict returned by peephole_forward",
    ),
    "lstm cache with peephole params is fine, a cache of another size is not": (
        lambda: peephole_backward(init_peephole_params(D, H + 1, rng=0), LSTM_CACHE, Y),
        ValueError,
        r"cache\['steps'\]\[0\]\['h_prev'\] must have shape",
    ),
    "cell x_t rank": (lambda: peephole_cell_forward(P, X, *S), ValueError, r"x_t must have 2 dimensions \(B, D\)"),
    "cell c_prev nan": (
        lambda: peephole_cell_forward(P, X[0], S[0], np.full((B, H), np.nan)),
        ValueError,
        r"c_prev must be finite",
    ),
    "cell cache keys": (
        lambda: peephole_cell_backward(P, {k: v for k, v in STEP.items() if k != "c"}, *S),
        ValueError,
        r"cache must have exactly the keys .*missing \['c'\]",
    ),
    "cell cache not a dict": (
        lambda: peephole_cell_backward(P, None, *S),
        TypeError,
        r"cache must be the cache dict returned by peephole_cell_forward",
    ),
    "cell dh wrong shape": (
        lambda: peephole_cell_backward(P, STEP, S[0][:, :4], S[1]),
        ValueError,
        r"dh must have shape \(B, H\) = \(2, 5\)",
    ),
    "init hidden_size zero": (lambda: init_peephole_params(D, 0), ValueError, r"hidden_size must be a positive int"),
    "init rng string": (lambda: init_peephole_params(D, H, rng="7"), TypeError, r"rng must be None, an int seed"),
    "init dtype integer": (
        lambda: init_peephole_params(D, H, dtype=np.int32),
        TypeError,
        r"dtype must be a floating-point NumPy dtype",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_rejected_with_a_message_naming_it(case):
    call, error, message = BAD[case]
    with pytest.raises(error, match=message):
        call()


def test_the_shared_fixtures_are_valid():
    """The cases above fail because of the one thing each changes, not the fixtures."""
    peephole_backward(P, CACHE, Y, S)
    peephole_backward(P, LSTM_CACHE, Y, S)  # an LSTM cache has the same keys and shapes
    peephole_cell_backward(P, STEP, *S)
