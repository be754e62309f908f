"""lstmlib.convert: PyTorch (i, f, g, o) <-> Keras (i, f, c, o) LSTM weights, checked against torch.nn.LSTM."""

import numpy as np
import pytest
import torch

from lstmlib.convert import KERAS_GATE_ORDER, TORCH_GATE_ORDER, keras_to_torch, torch_to_keras
from lstmlib.reference import init_lstm_params, lstm_forward, sigmoid


def keras_lstm_forward(weights, x):
    """What keras.layers.LSTM computes, in NumPy, in Keras's own layout.

    x: (B, T, D), batch-major like Keras. Returns the hidden states (B, T, H)
    and the final (h, c), each (B, H). Zero initial state, sigmoid gates, tanh.
    """
    kernel, recurrent_kernel = weights["kernel"], weights["recurrent_kernel"]
    bias = weights.get("bias", np.zeros(kernel.shape[1], kernel.dtype))
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h, c = np.zeros((B, H), x.dtype), np.zeros((B, H), x.dtype)
    outputs = []
    for t in range(T):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias  # row vectors times matrices
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=1)  # Keras's order i, f, c, o
        i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)
        c = f * c + i * np.tanh(z_c)
        h = o * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1), (h, c)


def random_torch_lstm(D, H, seed, bias=True, **kwargs):
    """A float64 torch.nn.LSTM whose biases are all non-zero and distinct."""
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(D, H, bias=bias, **kwargs).double()
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-1.0, 1.0)
    return lstm


def as_numpy(state_dict):
    return {k: v.detach().numpy() for k, v in state_dict.items()}


def test_gate_orders_name_the_same_blocks():
    # the candidate is "g" in PyTorch and "c" in Keras; every gate sits in the same block
    assert TORCH_GATE_ORDER == ("i", "f", "g", "o")
    assert KERAS_GATE_ORDER == ("i", "f", "c", "o")


@pytest.mark.parametrize("D,H", [(1, 1), (3, 5), (7, 2)])
def test_torch_to_keras_shapes_and_blocks(D, H):
    torch_weights = as_numpy(random_torch_lstm(D, H, seed=D + H).state_dict())
    keras = torch_to_keras(torch_weights)
    assert list(keras) == ["kernel", "recurrent_kernel", "bias"]  # get_weights() order
    assert keras["kernel"].shape == (D, 4 * H)
    assert keras["recurrent_kernel"].shape == (H, 4 * H)
    assert keras["bias"].shape == (4 * H,)
    for k, gate in enumerate(TORCH_GATE_ORDER):  # block k is the same gate in both
        rows, cols = slice(k * H, (k + 1) * H), (slice(None), slice(k * H, (k + 1) * H))
        assert np.array_equal(keras["kernel"][cols], torch_weights["weight_ih_l0"][rows].T), gate
        assert np.array_equal(keras["recurrent_kernel"][cols], torch_weights["weight_hh_l0"][rows].T), gate
    assert np.array_equal(keras["bias"], torch_weights["bias_ih_l0"] + torch_weights["bias_hh_l0"])


def test_torch_to_keras_accepts_tensors_and_returns_new_arrays():
    lstm = random_torch_lstm(2, 3, seed=0)
    keras = torch_to_keras(lstm.state_dict())  # tensors, not arrays
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in keras.values())
    keras["kernel"][0, 0] = 123.0
    assert lstm.weight_ih_l0[0, 0].item() != 123.0


@pytest.mark.parametrize("D,H,B,T", [(1, 1, 1, 1), (3, 4, 2, 6), (5, 2, 3, 4)])
def test_keras_layout_by_hand_equals_torch(D, H, B, T):
    lstm = random_torch_lstm(D, H, seed=10 * D + H, batch_first=True)
    keras = torch_to_keras(lstm.state_dict())
    x = np.random.default_rng(D * H).standard_normal((B, T, D))
    y_keras, (h_keras, c_keras) = keras_lstm_forward(keras, x)
    with torch.no_grad():
        y, (h_n, c_n) = lstm(torch.from_numpy(x))
    np.testing.assert_allclose(y_keras, y.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_keras, h_n[0].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(c_keras, c_n[0].numpy(), rtol=0, atol=1e-12)


def test_keras_to_torch_loads_into_torch_and_reference():
    D, H, B, T = 4, 3, 2, 5
    rng = np.random.default_rng(7)
    keras = {
        "kernel": rng.normal(size=(D, 4 * H)),
        "recurrent_kernel": rng.normal(size=(H, 4 * H)),
        "bias": rng.normal(size=4 * H),
    }
    x = rng.standard_normal((B, T, D))
    y_keras, (h_keras, c_keras) = keras_lstm_forward(keras, x)

    params = keras_to_torch(keras)
    assert np.array_equal(params["bias_ih_l0"], keras["bias"])
    assert np.array_equal(params["bias_hh_l0"], np.zeros(4 * H))
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    lstm.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    with torch.no_grad():
        y, (h_n, c_n) = lstm(torch.from_numpy(x))
    np.testing.assert_allclose(y.numpy(), y_keras, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c_n[0].numpy(), c_keras, rtol=0, atol=1e-12)

    y_ref, (h_ref, _), _ = lstm_forward(params, x.transpose(1, 0, 2))  # the reference is time-major
    np.testing.assert_allclose(y_ref.transpose(1, 0, 2), y_keras, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_ref, h_keras, rtol=0, atol=1e-12)


def test_round_trip_keras_torch_keras_is_exact():
    rng = np.random.default_rng(3)
    keras = {
        "kernel": rng.normal(size=(2, 20)),
        "recurrent_kernel": rng.normal(size=(5, 20)),
        "bias": rng.normal(size=20),
    }
    back = torch_to_keras(keras_to_torch(keras))
    assert list(back) == list(keras)
    for key in keras:
        assert np.array_equal(back[key], keras[key]), key


def test_round_trip_torch_keras_torch_keeps_weights_and_bias_sum():
    params = init_lstm_params(3, 4, rng=5)
    back = keras_to_torch(torch_to_keras(params))
    assert list(back) == list(params)
    assert np.array_equal(back["weight_ih_l0"], params["weight_ih_l0"])
    assert np.array_equal(back["weight_hh_l0"], params["weight_hh_l0"])
    assert np.array_equal(back["bias_ih_l0"] + back["bias_hh_l0"], params["bias_ih_l0"] + params["bias_hh_l0"])
    # and so the same function: identical outputs from the reference
    x = np.random.default_rng(6).standard_normal((5, 2, 3))
    np.testing.assert_allclose(lstm_forward(back, x)[0], lstm_forward(params, x)[0], rtol=0, atol=1e-15)


def test_without_bias_both_ways():
    lstm = random_torch_lstm(3, 2, seed=1, bias=False, batch_first=True)
    keras = torch_to_keras(lstm.state_dict())
    assert list(keras) == ["kernel", "recurrent_kernel"]
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    with torch.no_grad():
        y, _ = lstm(torch.from_numpy(x))
    np.testing.assert_allclose(keras_lstm_forward(keras, x)[0], y.numpy(), rtol=0, atol=1e-12)
    assert list(keras_to_torch(keras)) == ["weight_ih_l0", "weight_hh_l0"]


def test_get_weights_list_and_float32_dtype():
    rng = np.random.default_rng(2)
    kernel, recurrent, bias = (rng.normal(size=s).astype(np.float32) for s in [(3, 8), (2, 8), (8,)])
    from_list = keras_to_torch([kernel, recurrent, bias])
    from_dict = keras_to_torch({"kernel": kernel, "recurrent_kernel": recurrent, "bias": bias})
    assert all(np.array_equal(from_list[k], from_dict[k]) for k in from_dict)
    assert all(v.dtype == np.float32 for v in from_list.values())
    assert list(keras_to_torch([kernel, recurrent])) == ["weight_ih_l0", "weight_hh_l0"]


def test_suffix_picks_a_layer_and_direction():
    stack = random_torch_lstm(3, 4, seed=2, num_layers=2, bidirectional=True)
    weights = stack.state_dict()
    keras = torch_to_keras(weights, suffix="_l1_reverse")
    assert keras["kernel"].shape == (2 * 4, 16)  # layer 1 reads both directions
    assert np.array_equal(keras["recurrent_kernel"], weights["weight_hh_l1_reverse"].numpy().T)
    back = keras_to_torch(keras, suffix="_l1_reverse")
    assert sorted(back) == sorted(k for k in weights if k.endswith("_l1_reverse"))


GOOD = init_lstm_params(3, 2, rng=0)  # torch layout, D=3, H=2
GOOD_KERAS = torch_to_keras(GOOD)


def replace(mapping, **changes):
    return {**mapping, **changes}


def without(mapping, *keys):
    return {k: v for k, v in mapping.items() if k not in keys}


BAD = {
    "torch: not a mapping": (
        lambda: torch_to_keras([1, 2]),
        TypeError,
        r"state_dict must be a PyTorch LSTM state_dict",
    ),
    "torch: wrong suffix": (
        lambda: torch_to_keras(GOOD, suffix="_l1"),
        ValueError,
        r"state_dict must hold 'weight_ih_l1' \(suffix='_l1'\); its keys are \['bias_hh_l0'",
    ),
    "torch: suffix type": (lambda: torch_to_keras(GOOD, suffix=0), TypeError, r"suffix must be a str"),
    "torch: one bias": (
        lambda: torch_to_keras(without(GOOD, "bias_hh_l0")),
        ValueError,
        r"both 'bias_ih_l0' and 'bias_hh_l0' or neither; 'bias_hh_l0' is missing",
    ),
    "torch: weight_hh not 4H x H": (
        lambda: torch_to_keras(replace(GOOD, weight_hh_l0=np.zeros((6, 2)))),
        ValueError,
        r"weight_hh_l0'\] must have shape \(4H, H\).*got \(6, 2\)",
    ),
    "torch: weight_ih rows": (
        lambda: torch_to_keras(replace(GOOD, weight_ih_l0=np.zeros((4, 3)))),
        ValueError,
        r"weight_ih_l0'\] must have shape \(4H, D\) with 4H=8 \(H=2 from .*got \(4, 3\)",
    ),
    "torch: weight_ih rank": (
        lambda: torch_to_keras(replace(GOOD, weight_ih_l0=np.zeros(8))),
        ValueError,
        r"weight_ih_l0'\] must have 2 dimensions \(4H, D\)",
    ),
    "torch: bias length": (
        lambda: torch_to_keras(replace(GOOD, bias_ih_l0=np.zeros(4))),
        ValueError,
        r"bias_ih_l0'\] must have shape \(4H,\) = \(8,\)",
    ),
    "torch: integer dtype": (
        lambda: torch_to_keras(replace(GOOD, weight_ih_l0=np.zeros((8, 3), int))),
        TypeError,
        r"weight_ih_l0'\] must have a floating-point dtype; got int64",
    ),
    "torch: mixed dtypes": (
        lambda: torch_to_keras(replace(GOOD, bias_hh_l0=np.zeros(8, np.float32))),
        TypeError,
        r"bias_hh_l0'\] must have the dtype of .*weight_hh_l0'\] \(float64\); got float32",
    ),
    "torch: nan": (
        lambda: torch_to_keras(replace(GOOD, weight_hh_l0=np.full((8, 2), np.nan))),
        ValueError,
        r"weight_hh_l0'\] must be finite",
    ),
    "torch: not an array": (
        lambda: torch_to_keras(replace(GOOD, weight_ih_l0=[[0.0] * 3] * 8)),
        TypeError,
        r"weight_ih_l0'\] must be a NumPy array or a torch tensor; got list",
    ),
    "keras: wrong type": (lambda: keras_to_torch("kernel"), TypeError, r"weights must be a dict .* got str"),
    "keras: list length": (
        lambda: keras_to_torch([GOOD_KERAS["kernel"]]),
        ValueError,
        r"weights as a list must be \[kernel, recurrent_kernel, bias\].*got 1 entries",
    ),
    "keras: missing key": (
        lambda: keras_to_torch(without(GOOD_KERAS, "recurrent_kernel")),
        ValueError,
        r"missing \['recurrent_kernel'\]",
    ),
    "keras: unexpected key": (
        lambda: keras_to_torch(replace(GOOD_KERAS, bias_hh=GOOD_KERAS["bias"])),
        ValueError,
        r"unexpected \['bias_hh'\]",
    ),
    "keras: torch-shaped kernel": (
        lambda: keras_to_torch(replace(GOOD_KERAS, kernel=GOOD["weight_ih_l0"])),
        ValueError,
        r"weights\['kernel'\] must have shape \(D, 4H\) with 4H=8 .*got \(8, 3\)",
    ),
    "keras: torch-shaped recurrent": (
        lambda: keras_to_torch(replace(GOOD_KERAS, recurrent_kernel=GOOD["weight_hh_l0"])),
        ValueError,
        r"recurrent_kernel'\] must have shape \(H, 4H\).*got \(8, 2\)",
    ),
    "keras: bias length": (
        lambda: keras_to_torch(replace(GOOD_KERAS, bias=np.zeros(16))),
        ValueError,
        r"weights\['bias'\] must have shape \(4H,\) = \(8,\).*got \(16,\)",
    ),
    "keras: inf": (
        lambda: keras_to_torch(replace(GOOD_KERAS, bias=np.full(8, np.inf))),
        ValueError,
        r"weights\['bias'\] must be finite",
    ),
    "keras: empty": (
        lambda: keras_to_torch(replace(GOOD_KERAS, recurrent_kernel=np.zeros((0, 0)))),
        ValueError,
        r"recurrent_kernel'\] must have shape \(H, 4H\)",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input(case):
    call, error, message = BAD[case]
    with pytest.raises(error, match=message):
        call()
