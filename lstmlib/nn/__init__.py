"""PyTorch twins of the book's models: fast, device-agnostic, drop-in for ``torch.nn``.

* :class:`LSTM`, :class:`LSTMCell` -- same arguments, ``state_dict`` keys,
  initialisation and shapes as ``torch.nn.LSTM`` / ``torch.nn.LSTMCell``.
* :class:`RNN`, :class:`RNNCell` -- likewise for ``torch.nn.RNN`` / ``torch.nn.RNNCell``.
* :func:`set_forget_bias` -- open the forget gate at initialisation (any LSTM-layout module).
* :class:`ChildSumTreeLSTM`, :class:`NaryTreeLSTM` -- Tree-LSTMs over a forest
  ``(x: (N, D), parent: (N,))``, all the nodes of one height in one step.
* :class:`RecurrentBase` -- the shared composition (stacking, bidirectional,
  packed sequences) every recurrent layer is built on.
"""

from .init import set_forget_bias
from .lstm import LSTM, LSTMCell, lstm_cell, lstm_sequence
from .recurrent import RecurrentBase, RecurrentCellBase
from .rnn import RNN, RNNCell, rnn_cell, rnn_sequence
from .tree_lstm import ChildSumTreeLSTM, NaryTreeLSTM

__all__ = [
    "ChildSumTreeLSTM",
    "LSTM",
    "LSTMCell",
    "NaryTreeLSTM",
    "RNN",
    "RNNCell",
    "RecurrentBase",
    "RecurrentCellBase",
    "lstm_cell",
    "lstm_sequence",
    "rnn_cell",
    "rnn_sequence",
    "set_forget_bias",
]
