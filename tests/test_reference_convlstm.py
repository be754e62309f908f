"""lstmlib.reference.convlstm: gradient checks, the LSTM as its 1x1 special case, locality, init, bad input."""

import numpy as np
import pytest

from lstmlib.reference import (
    check_convlstm_gradients,
    convlstm_backward,
    convlstm_cell_backward,
    convlstm_cell_forward,
    convlstm_forward,
    gradient_errors,
    init_convlstm_params,
    init_lstm_params,
    lstm_backward,
    lstm_forward,
)


def make_problem(T, B, C, Hc, H, W, kernel_size=3, bias=True, peephole=False, seed=0):
    """Random params (non-zero biases and peepholes), frames and a non-zero initial state, float64."""
    rng = np.random.default_rng(seed)
    params = init_convlstm_params(C, Hc, kernel_size, rng=rng, peephole=peephole,
                                  frame_size=(H, W) if peephole else None)
    if not bias:
        del params["bias_ih_l0"], params["bias_hh_l0"]
    x = rng.standard_normal((T, B, C, H, W))
    state = (rng.standard_normal((B, Hc, H, W)), rng.standard_normal((B, Hc, H, W)))
    return params, x, state


# Each entry of each array costs two forward passes: these are kept tiny.
# (T, B, C, Hc, H, W, kernel_size, bias, peephole)
GRADCHECK_CASES = [
    (2, 2, 1, 2, 3, 3, 3, True, True),
    (3, 1, 2, 2, 3, 3, (3, 1), False, False),
    (2, 1, 1, 1, 2, 3, 5, True, True),  # a kernel wider than the frame
]


@pytest.mark.parametrize("T, B, C, Hc, H, W, kernel_size, bias, peephole", GRADCHECK_CASES)
def test_layer_gradients_match_central_differences(T, B, C, Hc, H, W, kernel_size, bias, peephole):
    params, x, state = make_problem(T, B, C, Hc, H, W, kernel_size, bias, peephole, seed=T + 10 * Hc)
    errors = check_convlstm_gradients(params, x, state, rng=1)
    assert set(errors) == set(params) | {"x", "h0", "c0"}
    assert max(errors.values()) < 1e-6, errors


def test_cell_gradients_match_central_differences():
    params, x, (h_prev, c_prev) = make_problem(1, 2, 2, 2, 3, 3, peephole=True, seed=5)
    x_t = x[0].copy()
    rng = np.random.default_rng(7)
    R_h, R_c = rng.standard_normal(h_prev.shape), rng.standard_normal(c_prev.shape)

    def loss():
        h, c, _ = convlstm_cell_forward(params, x_t, h_prev, c_prev)
        return np.sum(h * R_h) + np.sum(c * R_c)

    _, _, cache = convlstm_cell_forward(params, x_t, h_prev, c_prev)
    dparams, dx_t, dh_prev, dc_prev = convlstm_cell_backward(params, cache, R_h, R_c)
    assert list(dparams) == list(params)
    errors = gradient_errors(loss, {**params, "x_t": x_t, "h_prev": h_prev, "c_prev": c_prev},
                             {**dparams, "x_t": dx_t, "h_prev": dh_prev, "c_prev": dc_prev})
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("bias", [True, False])
def test_a_1x1_kernel_on_1x1_frames_is_the_plain_lstm(bias):
    """With one pixel and a 1x1 kernel every convolution is the LSTM's matrix product."""
    T, B, D, H = 4, 3, 2, 5
    rng = np.random.default_rng(11)
    lstm_params = init_lstm_params(D, H, rng=rng)
    if not bias:
        del lstm_params["bias_ih_l0"], lstm_params["bias_hh_l0"]
    conv_params = {k: v.reshape(v.shape + (1, 1)) if k.startswith("weight") else v for k, v in lstm_params.items()}
    x, h0, c0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dy, dh_T, dc_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    pixel = (1, 1)  # the two spatial axes

    y, (h_T, c_T), cache = lstm_forward(lstm_params, x, (h0, c0))
    dparams, dx, (dh0, dc0) = lstm_backward(lstm_params, cache, dy, (dh_T, dc_T))
    conv_y, (conv_h, conv_c), conv_cache = convlstm_forward(
        conv_params, x.reshape(x.shape + pixel), (h0.reshape(h0.shape + pixel), c0.reshape(c0.shape + pixel)))
    conv_dparams, conv_dx, (conv_dh0, conv_dc0) = convlstm_backward(
        conv_params, conv_cache, dy.reshape(dy.shape + pixel),
        (dh_T.reshape(dh_T.shape + pixel), dc_T.reshape(dc_T.shape + pixel)))

    pairs = {"y": (y, conv_y), "h_T": (h_T, conv_h), "c_T": (c_T, conv_c), "dx": (dx, conv_dx),
             "dh0": (dh0, conv_dh0), "dc0": (dc0, conv_dc0)}
    pairs.update({k: (dparams[k], conv_dparams[k]) for k in dparams})
    for name, (theirs, ours) in pairs.items():
        # the same products summed in another order: equal to rounding
        np.testing.assert_allclose(ours.reshape(theirs.shape), theirs, rtol=0, atol=1e-14, err_msg=name)


def test_information_travels_one_kernel_radius_per_step():
    """A 3x3 kernel: x_t reaches h_t one pixel away, and each further step one pixel more (locality)."""
    params, x, _ = make_problem(3, 1, 1, 2, 9, 9, kernel_size=3, seed=2)
    y, _, _ = convlstm_forward(params, x)
    nudged = x.copy()
    nudged[0, 0, 0, 4, 4] += 1.0  # the centre pixel of the first frame
    y_nudged, _, _ = convlstm_forward(params, nudged)
    rows, cols = np.indices((9, 9))
    distance = np.maximum(abs(rows - 4), abs(cols - 4))  # Chebyshev distance from the centre
    for t in range(3):
        changed = np.abs(y_nudged[t, 0] - y[t, 0]).max(axis=0) > 0  # (9, 9)
        assert np.array_equal(changed, distance <= t + 1), t


def test_zero_peepholes_change_nothing():
    params, x, state = make_problem(3, 2, 2, 3, 4, 4, peephole=True, seed=3)
    zeroed = {k: np.zeros_like(v) if k in ("weight_ci_l0", "weight_cf_l0", "weight_co_l0") else v
              for k, v in params.items()}
    plain = {k: v for k, v in params.items() if not k.startswith(("weight_c",))}
    (y1, s1, cache1), (y2, s2, cache2) = convlstm_forward(zeroed, x, state), convlstm_forward(plain, x, state)
    assert np.array_equal(y1, y2) and np.array_equal(s1[1], s2[1])
    dy = np.ones_like(y1)
    g1, g2 = convlstm_backward(zeroed, cache1, dy), convlstm_backward(plain, cache2, dy)
    assert all(np.array_equal(g1[0][k], g2[0][k]) for k in plain) and np.array_equal(g1[1], g2[1])
    assert np.abs(g1[0]["weight_co_l0"]).max() > 0  # the peepholes still get a gradient


def test_layer_is_the_cell_looped_over_time_and_none_state_is_zeros():
    params, x, (h, c) = make_problem(3, 2, 2, 3, 4, 5, seed=4)
    y, (h_T, c_T), cache = convlstm_forward(params, x, (h, c))
    for t in range(len(x)):
        h, c, _ = convlstm_cell_forward(params, x[t], h, c)
        assert np.array_equal(y[t], h)
    assert np.array_equal(h_T, h) and np.array_equal(c_T, c)
    zeros = (np.zeros_like(h), np.zeros_like(c))
    assert np.array_equal(convlstm_forward(params, x)[0], convlstm_forward(params, x, zeros)[0])


def test_functions_are_pure_and_float32_stays_float32():
    params, x, state = make_problem(2, 2, 2, 2, 3, 3, peephole=True, seed=6)
    before = {k: v.copy() for k, v in params.items()}, x.copy(), tuple(s.copy() for s in state)
    y, _, cache = convlstm_forward(params, x, state)
    convlstm_backward(params, cache, np.ones_like(y))
    assert all(np.array_equal(params[k], before[0][k]) for k in params)
    assert np.array_equal(x, before[1]) and all(np.array_equal(a, b) for a, b in zip(state, before[2]))
    params32 = {k: v.astype(np.float32) for k, v in params.items()}
    y32, (h32, c32), cache32 = convlstm_forward(params32, x.astype(np.float32))
    assert y32.dtype == h32.dtype == c32.dtype == np.float32
    dparams, dx, _ = convlstm_backward(params32, cache32, np.ones_like(y32))
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in dparams.values())


def test_init_keys_shapes_bound_and_seed():
    params = init_convlstm_params(3, 4, (3, 5), rng=0, peephole=True, frame_size=(6, 7))
    assert {k: v.shape for k, v in params.items()} == {
        "weight_ih_l0": (16, 3, 3, 5), "weight_hh_l0": (16, 4, 3, 5), "bias_ih_l0": (16,), "bias_hh_l0": (16,),
        "weight_ci_l0": (4, 6, 7), "weight_cf_l0": (4, 6, 7), "weight_co_l0": (4, 6, 7)}
    bound = 1 / np.sqrt(4 * 3 * 5)  # 1/sqrt(Hc kh kw)
    assert all(np.abs(v).max() <= bound and np.abs(v).max() > 0.9 * bound for v in params.values())
    again = init_convlstm_params(3, 4, (3, 5), rng=0, peephole=True, frame_size=(6, 7))
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert list(init_convlstm_params(1, 2, 1, rng=0)) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert init_convlstm_params(1, 2, 3, rng=0, dtype=np.float32)["weight_hh_l0"].dtype == np.float32


# ---- bad input -------------------------------------------------------------------------------

P, X, S = make_problem(3, 2, 2, 3, 4, 5, seed=8)
PP, _, _ = make_problem(3, 2, 2, 3, 4, 5, peephole=True, seed=8)
Y, _, CACHE = convlstm_forward(P, X, S)


def replace(params, **changes):
    return {**params, **changes}


CASES = {
    "x rank": (lambda: convlstm_forward(P, X[0]), ValueError, r"x must have 5 dimensions \(T, B, C, H, W\); got 4"),
    "x channels": (lambda: convlstm_forward(P, X[:, :, :1]), ValueError,
                   r"x must have C=2 along axis 2 of \(T, B, C, H, W\); got shape \(3, 2, 1, 4, 5\) \(C=1\)"),
    "x empty": (lambda: convlstm_forward(P, X[:0]), ValueError, r"x must hold at least one time step"),
    "x float32": (lambda: convlstm_forward(P, X.astype(np.float32)), TypeError, r"x must have the dtype of params"),
    "x nan": (lambda: convlstm_forward(P, np.where(X > 2, np.nan, X)), ValueError, r"x must be finite"),
    "x frames vs peepholes": (lambda: convlstm_forward(PP, X[..., :4]), ValueError,
                              r"x must have frames of size \(H, W\) = \(4, 5\), the size of the peephole weights"),
    "h0 wrong frame": (lambda: convlstm_forward(P, X, (S[0][..., :4], S[1])), ValueError,
                       r"h0 \(state\[0\]\) must have shape \(B, Hc, H, W\) = \(2, 3, 4, 5\); got \(2, 3, 4, 4\)"),
    "c0 wrong channels": (lambda: convlstm_forward(P, X, (S[0], S[1][:, :2])), ValueError,
                          r"c0 \(state\[1\]\) must have shape \(B, Hc, H, W\) = \(2, 3, 4, 5\); got \(2, 2, 4, 5\)"),
    "state not a tuple": (lambda: convlstm_forward(P, X, S[0]), TypeError,
                          r"state must be None or a tuple \('h0', 'c0'\) of arrays \(B, Hc, H, W\); got ndarray"),
    "even kernel in params": (lambda: convlstm_forward(replace(P, weight_hh_l0=P["weight_hh_l0"][:, :, :2]), X),
                              ValueError, r"params\['weight_hh_l0'\] must have odd kernel sizes"),
    "weight_ih kernel differs": (lambda: convlstm_forward(replace(P, weight_ih_l0=P["weight_ih_l0"][:, :, :1, :1]), X),
                                 ValueError,
                                 r"params\['weight_ih_l0'\] must have shape \(4Hc, C, kh, kw\) = \(12, 2, 3, 3\)"),
    "one peephole missing": (lambda: convlstm_forward({k: v for k, v in PP.items() if k != "weight_co_l0"}, X),
                             ValueError, r"params must have exactly the keys .*missing \['weight_co_l0'\]"),
    "peephole shape": (lambda: convlstm_forward(replace(PP, weight_cf_l0=PP["weight_cf_l0"][:2]), X), ValueError,
                       r"params\['weight_cf_l0'\] must have shape \(Hc, H, W\) = \(3, 4, 5\); got \(2, 4, 5\)"),
    "lstm-shaped weights": (lambda: convlstm_forward(replace(P, weight_ih_l0=P["weight_ih_l0"][..., 0, 0]), X),
                            ValueError, r"params\['weight_ih_l0'\] must have 4 dimensions \(4Hc, C, kh, kw\)"),
    "dy wrong frame": (lambda: convlstm_backward(P, CACHE, Y[..., :4]), ValueError,
                       r"dy must have shape \(T, B, Hc, H, W\) = \(3, 2, 3, 4, 5\); got \(3, 2, 3, 4, 4\)"),
    "dstate_T wrong shape": (lambda: convlstm_backward(P, CACHE, Y, (S[0], S[1][:1])), ValueError,
                             r"dc_T \(dstate_T\[1\]\) must have shape \(B, Hc, H, W\)"),
    "cache of an lstm": (lambda: convlstm_backward(P, {"steps": [{}]}, Y), ValueError,
                         r"cache\['steps'\]\[0\] must have exactly the keys"),
    "cache not a dict": (lambda: convlstm_backward(P, [CACHE], Y), TypeError,
                         r"cache must be the cache dict returned by convlstm_forward; got list"),
    "cell x channels": (lambda: convlstm_cell_forward(P, X[0][:, :1], *S), ValueError,
                        r"x_t must have shape \(B, C, H, W\) = \(2, 2, 4, 5\); got \(2, 1, 4, 5\)"),
    "cell dh shape": (lambda: convlstm_cell_backward(P, CACHE["steps"][0], S[0][:1], S[1]), ValueError,
                      r"dh must have shape \(B, Hc, H, W\)"),
    "init even kernel": (lambda: init_convlstm_params(2, 3, 4), ValueError,
                         r"kernel_size must be odd .*got 4"),
    "init kernel triple": (lambda: init_convlstm_params(2, 3, (3, 3, 3)), ValueError,
                           r"kernel_size must be an odd int or a pair \(kh, kw\) of odd ints; got \(3, 3, 3\)"),
    "init peephole without frame_size": (lambda: init_convlstm_params(2, 3, 3, peephole=True), ValueError,
                                         r"frame_size=\(H, W\) is required with peephole=True"),
    "init frame_size without peephole": (lambda: init_convlstm_params(2, 3, 3, frame_size=(4, 4)), ValueError,
                                         r"frame_size is only used by the peephole weights"),
    "init frame_size not a pair": (lambda: init_convlstm_params(2, 3, 3, peephole=True, frame_size=4), TypeError,
                                   r"frame_size must be a pair \(H, W\) of positive ints; got 4"),
    "init zero channels": (lambda: init_convlstm_params(0, 3, 3), ValueError, r"in_channels must be a positive int"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_rejected_with_a_message_naming_it(case):
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()


def test_the_shared_fixtures_are_valid():
    convlstm_forward(PP, X, S)
    convlstm_backward(P, CACHE, Y, S)
