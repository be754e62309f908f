"""PyTorch twins of the book's models: fast, device-agnostic, drop-in for ``torch.nn``.

* :class:`LSTM`, :class:`LSTMCell` -- same arguments, ``state_dict`` keys,
  initialisation and shapes as ``torch.nn.LSTM`` / ``torch.nn.LSTMCell``.
* :class:`RNN`, :class:`RNNCell` -- likewise for ``torch.nn.RNN`` / ``torch.nn.RNNCell``.
* :class:`ConvLSTM`, :class:`ConvLSTMCell` -- the convolutional LSTM (Shi et al., 2015)
  over sequences of frames ``(T, B, C, H, W)``, optional Hadamard peepholes.
* :class:`RecurrentBase` -- the shared composition (stacking, bidirectional,
  packed sequences) every recurrent layer is built on.
"""

from .convlstm import ConvLSTM, ConvLSTMCell, convlstm_cell, convlstm_sequence
from .lstm import LSTM, LSTMCell, lstm_cell, lstm_sequence
from .recurrent import RecurrentBase, RecurrentCellBase
from .rnn import RNN, RNNCell, rnn_cell, rnn_sequence

__all__ = [
    "ConvLSTM",
    "ConvLSTMCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNCell",
    "RecurrentBase",
    "RecurrentCellBase",
    "convlstm_cell",
    "convlstm_sequence",
    "lstm_cell",
    "lstm_sequence",
    "rnn_cell",
    "rnn_sequence",
]
