"""Bad input to lstmlib.nn fails early, naming the argument, what was expected and what arrived."""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lstmlib.nn as lnn

T, B, D, H = 5, 3, 4, 6


@pytest.fixture
def lstm():
    return lnn.LSTM(D, H, num_layers=2)


# ---- constructor -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(input_size=2.5), TypeError, r"input_size must be a positive int; got float 2.5"),
        (dict(input_size="4"), TypeError, r"input_size must be a positive int; got str"),
        (dict(hidden_size=0), ValueError, r"hidden_size must be a positive int \(>= 1\); got 0"),
        (dict(hidden_size=True), TypeError, r"hidden_size must be a positive int; got bool"),
        (dict(num_layers=0), ValueError, r"num_layers must be a positive int"),
        (dict(num_layers=2.0), TypeError, r"num_layers must be a positive int; got float"),
        (dict(dropout=1.5), ValueError, r"dropout must be a number in \[0, 1\]; got 1.5"),
        (dict(dropout=-0.1), ValueError, r"dropout must be a number in \[0, 1\]; got -0.1"),
        (dict(dropout="0.2"), TypeError, r"dropout must be a number in \[0, 1\]; got str"),
        (dict(bias=1), TypeError, r"bias must be a bool \(True or False\); got int 1"),
        (dict(batch_first="yes"), TypeError, r"batch_first must be a bool"),
        (dict(bidirectional=None), TypeError, r"bidirectional must be a bool"),
        (dict(proj_size=3), ValueError, r"proj_size must be 0: LSTM projections .* not supported.*got proj_size=3"),
    ],
)
def test_lstm_constructor_rejects_bad_arguments(kwargs, error, match):
    args = dict(input_size=D, hidden_size=H, num_layers=2) | kwargs
    with pytest.raises(error, match=match):
        lnn.LSTM(**args)


def test_rnn_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'tanh', 'relu'; got 'sigmoid'"):
        lnn.RNN(D, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'tanh', 'relu'; got 'Tanh'"):
        lnn.RNNCell(D, H, nonlinearity="Tanh")


def test_cell_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"hidden_size must be a positive int \(>= 1\); got -1"):
        lnn.LSTMCell(D, -1)
    with pytest.raises(TypeError, match=r"bias must be a bool"):
        lnn.LSTMCell(D, H, bias="no")


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match=r"dropout acts between stacked layers"):
        lnn.LSTM(D, H, dropout=0.5)


# ---- forward: the input ------------------------------------------------------------------

def test_wrong_rank(lstm):
    with pytest.raises(ValueError, match=r"input must have 3 or 2 dimensions \(T, B, D\), or \(T, D\) unbatched; "
                                         r"got 4 dimensions with shape \(5, 3, 4, 1\)"):
        lstm(torch.randn(T, B, D, 1))
    with pytest.raises(ValueError, match=r"input must have 3 or 2 dimensions \(B, T, D\)"):
        lnn.LSTM(D, H, batch_first=True)(torch.randn(D))


def test_wrong_feature_size(lstm):
    with pytest.raises(ValueError, match=r"input must have D=4 along axis 2 of \(T, B, D\); got shape \(5, 3, 7\)"):
        lstm(torch.randn(T, B, 7))
    with pytest.raises(ValueError, match=r"input must have D=4 along axis 1 of \(T, D\); got shape \(5, 2\)"):
        lstm(torch.randn(T, 2))


def test_dtype_mismatch_with_parameters(lstm):
    with pytest.raises(TypeError, match=r"input must have the dtype of the parameters \(float32\); got float64"):
        lstm(torch.randn(T, B, D, dtype=torch.float64))


def test_integer_input(lstm):
    with pytest.raises(TypeError, match=r"input must have a floating-point dtype; got int64"):
        lstm(torch.ones(T, B, D, dtype=torch.int64))


def test_input_not_a_tensor(lstm):
    with pytest.raises(TypeError, match=r"input must be a torch.Tensor or a PackedSequence; got list"):
        lstm([[0.0] * D] * T)


@pytest.mark.parametrize("batch_first, shape, axis", [(False, (0, B, D), 0), (True, (B, 0, D), 1), (False, (0, D), 0)])
def test_empty_sequence(batch_first, shape, axis):
    lstm = lnn.LSTM(D, H, batch_first=batch_first)
    with pytest.raises(ValueError, match=rf"input must hold at least one time step \(T >= 1 on axis {axis}\)"):
        lstm(torch.randn(shape))


def test_packed_data_with_wrong_feature_size(lstm):
    packed = pack_padded_sequence(torch.randn(T, B, D + 1), torch.tensor([5, 3, 2]))
    with pytest.raises(ValueError, match=r"input.data must have D=4 along axis 1 of \(sum of lengths, D\)"):
        lstm(packed)


# ---- forward: the initial state ----------------------------------------------------------

def test_hx_given_as_a_single_tensor_to_lstm(lstm):
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\) of 2 tensors; got Tensor"):
        lstm(torch.randn(T, B, D), torch.zeros(2, B, H))


def test_hx_with_wrong_number_of_states(lstm):
    with pytest.raises(ValueError, match=r"hx must be a tuple \(h_0, c_0\) of 2 tensors; got a tuple of 3 item"):
        lstm(torch.randn(T, B, D), (torch.zeros(2, B, H),) * 3)


def test_hx_item_not_a_tensor(lstm):
    with pytest.raises(TypeError, match=r"hx\[1\] \(c_0\) must be a torch.Tensor; got NoneType"):
        lstm(torch.randn(T, B, D), (torch.zeros(2, B, H), None))


@pytest.mark.parametrize(
    "shape, got",
    [((2, B + 1, H), r"\(2, 4, 6\)"), ((1, B, H), r"\(1, 3, 6\)"), ((2, B, H + 1), r"\(2, 3, 7\)"),
     ((2, H), r"\(2, 6\)")],
    ids=["batch", "layers", "hidden", "rank"],
)
def test_hx_of_wrong_shape(lstm, shape, got):
    good = torch.zeros(2, B, H)
    with pytest.raises(ValueError, match=rf"hx\[0\] \(h_0\) must have shape \(num_layers \* num_directions, B, H\) "
                                         rf"= \(2, 3, 6\); got {got}"):
        lstm(torch.randn(T, B, D), (torch.zeros(shape), good))


def test_hx_must_be_unbatched_for_unbatched_input(lstm):
    with pytest.raises(ValueError, match=r"hx\[0\] \(h_0\) must have shape \(num_layers \* num_directions, H\) "
                                         r"= \(2, 6\); got \(2, 1, 6\)"):
        lstm(torch.randn(T, D), (torch.zeros(2, 1, H), torch.zeros(2, 1, H)))


def test_hx_dtype_mismatch(lstm):
    with pytest.raises(TypeError, match=r"hx\[1\] \(c_0\) must have the dtype of input \(float32\); got float64"):
        lstm(torch.randn(T, B, D), (torch.zeros(2, B, H), torch.zeros(2, B, H, dtype=torch.float64)))


def test_rnn_hx_must_be_a_tensor():
    with pytest.raises(TypeError, match=r"hx must be a torch.Tensor h_0; got tuple"):
        lnn.RNN(D, H)(torch.randn(T, B, D), (torch.zeros(1, B, H),))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(num_layers \* num_directions, B, H\) = \(1, 3, 6\)"):
        lnn.RNN(D, H)(torch.randn(T, B, D), torch.zeros(1, B + 2, H))


# ---- cells -------------------------------------------------------------------------------

def test_cell_bad_input():
    cell = lnn.LSTMCell(D, H)
    with pytest.raises(ValueError, match=r"input must have 2 or 1 dimensions \(B, D\), or \(D,\) unbatched; got 3"):
        cell(torch.randn(T, B, D))
    with pytest.raises(ValueError, match=r"input must have D=4 along axis 1 of \(B, D\); got shape \(3, 5\)"):
        cell(torch.randn(B, 5))
    with pytest.raises(TypeError, match=r"input must have the dtype of the parameters \(float32\); got float64"):
        cell(torch.randn(B, D, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\) of 2 tensors; got Tensor"):
        cell(torch.randn(B, D), torch.zeros(B, H))
    with pytest.raises(ValueError, match=r"hx\[0\] \(h_0\) must have shape \(B, H\) = \(3, 6\); got \(2, 6\)"):
        cell(torch.randn(B, D), (torch.zeros(2, H), torch.zeros(B, H)))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(H,\) = \(6,\); got \(1, 6\)"):
        lnn.RNNCell(D, H)(torch.randn(D), torch.zeros(1, H))
