"""Bad input to lstmlib.reference fails early, naming the argument, what was expected and what came."""

import numpy as np
import pytest
import torch

from lstmlib.reference import (
    init_lstm_params,
    init_rnn_params,
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    lstm_state_gradients,
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    rnn_state_gradients,
)

T, B, D, H = 3, 2, 4, 5
rng = np.random.default_rng(0)
P = init_lstm_params(D, H, rng=0)  # LSTM params
Q = init_rnn_params(D, H, rng=0)  # RNN params
X = rng.standard_normal((T, B, D))
S = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
Y, _, CACHE = lstm_forward(P, X, S)
YR, _, CACHE_R = rnn_forward(Q, X, S[0])
STEP = CACHE["steps"][0]
STEP_R = CACHE_R["steps"][0]


def with_value(array, index, value):
    array = array.copy()
    array[index] = value
    return array


def replace(params, **changes):
    return {**params, **changes}


def without(params, *keys):
    return {k: v for k, v in params.items() if k not in keys}


# (call, expected exception, regex that must appear in the message)
CASES = {
    # the input sequence x
    "x rank": (lambda: lstm_forward(P, X[0]), ValueError, r"x must have 3 dimensions \(T, B, D\); got 2"),
    "x feature size": (lambda: lstm_forward(P, X[..., :3]), ValueError, r"x must have D=4 .* \(D=3\)"),
    "x empty sequence": (lambda: lstm_forward(P, X[:0]), ValueError, r"x must hold at least one time step"),
    "x integer dtype": (
        lambda: lstm_forward(P, X.astype(int)),
        TypeError,
        r"x must have a floating-point dtype; got int64",
    ),
    "x float32 vs float64 params": (
        lambda: lstm_forward(P, X.astype(np.float32)),
        TypeError,
        r"x must have the dtype of params\['weight_ih_l0'\] \(float64\); got float32",
    ),
    "x torch tensor": (
        lambda: lstm_forward(P, torch.from_numpy(X)),
        TypeError,
        r"x must be a NumPy array .*got Tensor",
    ),
    "x nan": (
        lambda: lstm_forward(P, with_value(X, (1, 0, 2), np.nan)),
        ValueError,
        r"x must be finite; got 1 non-finite",
    ),
    "x inf": (lambda: lstm_forward(P, with_value(X, (0, 1, 0), np.inf)), ValueError, r"x must be finite"),
    "rnn x feature size": (lambda: rnn_forward(Q, X[..., :3]), ValueError, r"x must have D=4"),
    "rnn x empty sequence": (lambda: rnn_forward(Q, X[:0]), ValueError, r"x must hold at least one time step"),
    "rnn x nan": (lambda: rnn_forward(Q, with_value(X, 0, np.nan)), ValueError, r"x must be finite"),
    # the initial state
    "h0 wrong batch": (
        lambda: lstm_forward(P, X, (S[0][:1], S[1])),
        ValueError,
        r"h0 \(state\[0\]\) must have shape \(B, H\) = \(2, 5\); got \(1, 5\)",
    ),
    "c0 wrong size": (
        lambda: lstm_forward(P, X, (S[0], S[1][:, :4])),
        ValueError,
        r"c0 \(state\[1\]\) must have shape \(B, H\) = \(2, 5\); got \(2, 4\)",
    ),
    "c0 wrong rank": (
        lambda: lstm_forward(P, X, (S[0], S[1][None])),
        ValueError,
        r"c0 \(state\[1\]\) must have 2 dimensions",
    ),
    "h0 nan": (
        lambda: lstm_forward(P, X, (with_value(S[0], 0, np.nan), S[1])),
        ValueError,
        r"h0 \(state\[0\]\) must be finite",
    ),
    "c0 float32": (
        lambda: lstm_forward(P, X, (S[0], S[1].astype(np.float32))),
        TypeError,
        r"c0 \(state\[1\]\) must have the dtype",
    ),
    "state not a tuple": (
        lambda: lstm_forward(P, X, S[0]),
        TypeError,
        r"state must be None or a tuple \('h0', 'c0'\).*got ndarray",
    ),
    "state one entry": (
        lambda: lstm_forward(P, X, S[:1]),
        ValueError,
        r"state must be a tuple \('h0', 'c0'\) of 2 arrays .*got 1",
    ),
    "rnn h0 wrong batch": (
        lambda: rnn_forward(Q, X, S[0][:1]),
        ValueError,
        r"h0 must have shape \(B, H\) = \(2, 5\); got \(1, 5\)",
    ),
    "rnn h0 given an (h, c) tuple": (
        lambda: rnn_forward(Q, X, S),
        TypeError,
        r"h0 must be one array \(B, H\).*no cell state",
    ),
    "rnn h0 inf": (lambda: rnn_forward(Q, X, with_value(S[0], 0, -np.inf)), ValueError, r"h0 must be finite"),
    "rnn h0 integer": (lambda: rnn_forward(Q, X, S[0].astype(int)), TypeError, r"h0 must have a floating-point dtype"),
    # the parameters
    "params not a dict": (
        lambda: lstm_forward(list(P.values()), X),
        TypeError,
        r"params must be a dict of NumPy arrays.*got list",
    ),
    "params missing weight": (
        lambda: lstm_forward(without(P, "weight_hh_l0"), X),
        ValueError,
        r"params must have exactly the keys .*missing \['weight_hh_l0'\]",
    ),
    "params one bias only": (
        lambda: lstm_forward(without(P, "bias_hh_l0"), X),
        ValueError,
        r"params .*missing \['bias_hh_l0'\]",
    ),
    "params misspelt key": (
        lambda: lstm_forward(replace(P, bias_ih=P["bias_ih_l0"]), X),
        ValueError,
        r"params .*unexpected \['bias_ih'\]",
    ),
    "params torch tensors": (
        lambda: lstm_forward({k: torch.from_numpy(v) for k, v in P.items()}, X),
        TypeError,
        r"params\['weight_ih_l0'\] must be a NumPy array",
    ),
    "params weight_hh shape": (
        lambda: lstm_forward(replace(P, weight_hh_l0=P["weight_hh_l0"][:, :4]), X),
        ValueError,
        r"params\['weight_hh_l0'\] must have shape \(4H, H\) = \(16, 4\); got \(20, 4\)",
    ),
    "params bias shape": (
        lambda: lstm_forward(replace(P, bias_ih_l0=P["bias_ih_l0"][:-1]), X),
        ValueError,
        r"params\['bias_ih_l0'\] must have shape \(4H,\) = \(20,\); got \(19,\)",
    ),
    "params weight rank": (
        lambda: lstm_forward(replace(P, weight_ih_l0=P["bias_ih_l0"]), X),
        ValueError,
        r"params\['weight_ih_l0'\] must have 2 dimensions \(4H, D\)",
    ),
    "params integer dtype": (
        lambda: lstm_forward({k: v.astype(int) for k, v in P.items()}, X),
        TypeError,
        r"params\['weight_ih_l0'\] must have a floating-point dtype",
    ),
    "params mixed dtypes": (
        lambda: lstm_forward(replace(P, bias_hh_l0=P["bias_hh_l0"].astype(np.float32)), X),
        TypeError,
        r"params\['bias_hh_l0'\] must have the dtype of params\['weight_ih_l0'\] \(float64\); got float32",
    ),
    "params nan": (
        lambda: lstm_forward(replace(P, weight_hh_l0=with_value(P["weight_hh_l0"], 3, np.nan)), X),
        ValueError,
        r"params\['weight_hh_l0'\] must be finite; got 5 non-finite",
    ),
    "params inf bias": (
        lambda: lstm_forward(replace(P, bias_hh_l0=with_value(P["bias_hh_l0"], 0, np.inf)), X),
        ValueError,
        r"params\['bias_hh_l0'\] must be finite",
    ),
    "lstm params given to the rnn": (
        lambda: rnn_forward(P, X),
        ValueError,
        r"params\['weight_hh_l0'\] must have shape \(H, H\)",
    ),
    "rnn params missing key": (
        lambda: rnn_forward(without(Q, "weight_ih_l0"), X),
        ValueError,
        r"missing \['weight_ih_l0'\]",
    ),
    # the backward passes
    "dy wrong shape": (
        lambda: lstm_backward(P, CACHE, Y[:, :, :4]),
        ValueError,
        r"dy must have shape \(T, B, H\) = \(3, 2, 5\); got \(3, 2, 4\)",
    ),
    "dy wrong length": (
        lambda: lstm_backward(P, CACHE, Y[:2]),
        ValueError,
        r"dy must have shape \(T, B, H\) = \(3, 2, 5\); got \(2, 2, 5\)",
    ),
    "dy nan": (lambda: lstm_backward(P, CACHE, with_value(Y, 0, np.nan)), ValueError, r"dy must be finite"),
    "dy float32": (lambda: lstm_backward(P, CACHE, Y.astype(np.float32)), TypeError, r"dy must have the dtype"),
    "dh_T wrong shape": (
        lambda: lstm_backward(P, CACHE, Y, (S[0][:1], S[1])),
        ValueError,
        r"dh_T \(dstate\[0\]\) must have shape",
    ),
    "dc_T inf": (
        lambda: lstm_backward(P, CACHE, Y, (S[0], with_value(S[1], 0, np.inf))),
        ValueError,
        r"dc_T \(dstate\[1\]\) must be finite",
    ),
    "dstate not a tuple": (
        lambda: lstm_backward(P, CACHE, Y, S[0]),
        TypeError,
        r"dstate must be None or a tuple \('dh_T', 'dc_T'\)",
    ),
    "cache not a dict": (
        lambda: lstm_backward(P, [CACHE], Y),
        TypeError,
        r"cache must be the cache dict returned by lstm_forward; got list",
    ),
    "cache missing steps": (
        lambda: lstm_backward(P, {}, Y),
        ValueError,
        r"cache must have exactly the keys \['steps'\]",
    ),
    "cache empty": (
        lambda: lstm_backward(P, {"steps": []}, Y),
        ValueError,
        r"cache\['steps'\] must hold at least one time step",
    ),
    "cache of another size": (
        lambda: lstm_backward(init_lstm_params(D, H + 1, rng=0), CACHE, Y),
        ValueError,
        r"cache\['steps'\]\[0\]\['h_prev'\] must have shape",
    ),
    "state gradients dy nan": (
        lambda: lstm_state_gradients(P, CACHE, with_value(Y, 0, np.nan)),
        ValueError,
        r"dy must be finite",
    ),
    "rnn dy wrong shape": (
        lambda: rnn_backward(Q, CACHE_R, YR[..., :4]),
        ValueError,
        r"dy must have shape \(T, B, H\)",
    ),
    "rnn dy inf": (lambda: rnn_backward(Q, CACHE_R, with_value(YR, 0, np.inf)), ValueError, r"dy must be finite"),
    "rnn dh_T wrong shape": (
        lambda: rnn_backward(Q, CACHE_R, YR, S[0][0]),
        ValueError,
        r"dh_T must have 2 dimensions \(B, H\)",
    ),
    "rnn dh_T nan": (
        lambda: rnn_backward(Q, CACHE_R, YR, with_value(S[0], 0, np.nan)),
        ValueError,
        r"dh_T must be finite",
    ),
    "rnn lstm cache": (
        lambda: rnn_backward(Q, CACHE, YR),
        ValueError,
        r"cache\['steps'\]\[0\] must have exactly the keys",
    ),
    "rnn state gradients dy shape": (
        lambda: rnn_state_gradients(Q, CACHE_R, YR[:1]),
        ValueError,
        r"dy must have shape",
    ),
    # the single-step cells
    "x_t rank": (lambda: lstm_cell_forward(P, X, S[0], S[1]), ValueError, r"x_t must have 2 dimensions \(B, D\)"),
    "x_t feature size": (
        lambda: lstm_cell_forward(P, X[0, :, :3], S[0], S[1]),
        ValueError,
        r"x_t must have shape \(B, D\) = \(2, 4\); got \(2, 3\)",
    ),
    "h_prev wrong batch": (
        lambda: lstm_cell_forward(P, X[0], S[0][:1], S[1]),
        ValueError,
        r"h_prev must have shape \(B, H\) = \(2, 5\); got \(1, 5\)",
    ),
    "c_prev nan": (
        lambda: lstm_cell_forward(P, X[0], S[0], with_value(S[1], 0, np.nan)),
        ValueError,
        r"c_prev must be finite",
    ),
    "cell dh wrong shape": (
        lambda: lstm_cell_backward(P, STEP, S[0][:, :4], S[1]),
        ValueError,
        r"dh must have shape \(B, H\) = \(2, 5\)",
    ),
    "cell dc float32": (
        lambda: lstm_cell_backward(P, STEP, S[0], S[1].astype(np.float32)),
        TypeError,
        r"dc must have the dtype",
    ),
    "cell cache keys": (
        lambda: lstm_cell_backward(P, without(STEP, "tanh_c"), S[0], S[1]),
        ValueError,
        r"cache must have exactly the keys .*missing \['tanh_c'\]",
    ),
    "rnn x_t dtype": (
        lambda: rnn_cell_forward(Q, X[0].astype(np.float32), S[0]),
        TypeError,
        r"x_t must have the dtype",
    ),
    "rnn cell dh inf": (
        lambda: rnn_cell_backward(Q, STEP_R, with_value(S[0], 0, np.inf)),
        ValueError,
        r"dh must be finite",
    ),
    "rnn cell cache": (
        lambda: rnn_cell_backward(Q, None, S[0]),
        TypeError,
        r"cache must be the cache dict returned by rnn_cell_forward",
    ),
    # initialisation
    "input_size zero": (
        lambda: init_lstm_params(0, H),
        ValueError,
        r"input_size must be a positive int \(>= 1\); got 0",
    ),
    "hidden_size float": (lambda: init_rnn_params(D, 5.0), TypeError, r"hidden_size must be a positive int; got float"),
    "rng string": (
        lambda: init_lstm_params(D, H, rng="7"),
        TypeError,
        r"rng must be None, an int seed or a np.random.Generator; got str",
    ),
    "rng negative seed": (
        lambda: init_rnn_params(D, H, rng=-1),
        ValueError,
        r"rng must be a non-negative int seed; got -1",
    ),
    "dtype integer": (
        lambda: init_lstm_params(D, H, dtype=np.int32),
        TypeError,
        r"dtype must be a floating-point NumPy dtype .*got int32",
    ),
    "dtype unknown": (
        lambda: init_rnn_params(D, H, dtype="float65"),
        TypeError,
        r"dtype must be a floating-point NumPy dtype .*got 'float65'",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_rejected_with_a_message_naming_it(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def test_the_shared_fixtures_are_valid():
    """The cases above fail because of the one thing each changes, not the fixtures."""
    lstm_backward(P, CACHE, Y, S)
    rnn_backward(Q, CACHE_R, YR, S[0])
    lstm_cell_backward(P, STEP, S[0], S[1])
    rnn_cell_backward(Q, STEP_R, S[0])
