"""What is special about lstmlib.nn.RNN and RNNCell: the choice of nonlinearity.

Their contract with every recurrent module -- parity with torch.nn.RNN / RNNCell
(tanh and relu) and the NumPy reference in every layout, errors, state_dict,
CUDA -- is checked in tests/contract/.
"""

import pytest

import lstmlib.nn as lnn


def test_rejects_an_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'tanh', 'relu'; got 'sigmoid'"):
        lnn.RNN(4, 6, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'tanh', 'relu'; got 'Tanh'"):
        lnn.RNNCell(4, 6, nonlinearity="Tanh")


def test_repr_names_nonlinearity():
    assert "nonlinearity='relu'" in repr(lnn.RNN(2, 3, nonlinearity="relu"))
    assert "nonlinearity" not in repr(lnn.RNN(2, 3))
