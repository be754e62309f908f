"""PyTorch twins of the book's models: fast, device-agnostic, drop-in for ``torch.nn``.

* :class:`LSTM`, :class:`LSTMCell` -- same arguments, ``state_dict`` keys,
  initialisation and shapes as ``torch.nn.LSTM`` / ``torch.nn.LSTMCell``.
* :class:`RNN`, :class:`RNNCell` -- likewise for ``torch.nn.RNN`` / ``torch.nn.RNNCell``.
* :class:`PeepholeLSTM`, :class:`PeepholeLSTMCell` -- the LSTM with peephole
  weights from the cell to its gates; ``torch.nn.LSTM``'s arguments and outputs.
* :class:`RecurrentBase` -- the shared composition (stacking, bidirectional,
  packed sequences) every recurrent layer is built on.
"""

from .lstm import LSTM, LSTMCell, lstm_cell, lstm_sequence
from .peephole import PeepholeLSTM, PeepholeLSTMCell, peephole_cell, peephole_sequence
from .recurrent import RecurrentBase, RecurrentCellBase
from .rnn import RNN, RNNCell, rnn_cell, rnn_sequence

__all__ = [
    "LSTM",
    "LSTMCell",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "RNN",
    "RNNCell",
    "RecurrentBase",
    "RecurrentCellBase",
    "lstm_cell",
    "lstm_sequence",
    "peephole_cell",
    "peephole_sequence",
    "rnn_cell",
    "rnn_sequence",
]
