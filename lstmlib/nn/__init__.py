"""PyTorch twins of the book's models: fast, device-agnostic, drop-in for ``torch.nn``.

* :class:`LSTM`, :class:`LSTMCell` -- same arguments, ``state_dict`` keys,
  initialisation and shapes as ``torch.nn.LSTM`` / ``torch.nn.LSTMCell``.
* :class:`RNN`, :class:`RNNCell` -- likewise for ``torch.nn.RNN`` / ``torch.nn.RNNCell``.
* :class:`GRU`, :class:`GRUCell` -- likewise for ``torch.nn.GRU`` / ``torch.nn.GRUCell``.
* :func:`set_forget_bias` -- open the forget gate at initialisation (any LSTM-layout module).
* :class:`ChildSumTreeLSTM`, :class:`NaryTreeLSTM` -- Tree-LSTMs over a forest
  ``(x: (N, D), parent: (N,))``, all the nodes of one height in one step.
* :class:`ConvLSTM`, :class:`ConvLSTMCell` -- the convolutional LSTM (Shi et al., 2015)
  over sequences of frames ``(T, B, C, H, W)``, optional Hadamard peepholes.
* :class:`PeepholeLSTM`, :class:`PeepholeLSTMCell` -- the LSTM with peephole
  weights from the cell to its gates; ``torch.nn.LSTM``'s arguments and outputs.
* :class:`CoupledLSTM`, :class:`CoupledLSTMCell` -- the coupled input-forget gate LSTM
  (CIFG, f = 1 - i; Greff et al., 2017); ``torch.nn.LSTM``'s outputs, 3H gate rows (i, g, o).
* :class:`AdditiveAttention`, :class:`MultiplicativeAttention` -- attention over a set of keys
  (Bahdanau et al., 2014; Luong et al., 2015): ``(query (B, Hq), keys (B, S, Hk), mask) ->
  (context (B, Hk), weights (B, S))``.
* :class:`CRF` -- a linear-chain conditional random field over per-step tag scores, with
  ``torchcrf.CRF``'s parameters and methods (log-likelihood ``forward``, Viterbi ``decode``).
* :class:`RecurrentBase` -- the shared composition (stacking, bidirectional,
  packed sequences) every recurrent layer is built on.
* :mod:`lstmlib.nn.fast_paths` -- the version-specific speed tricks, and the switch
  (``LSTMLIB_FAST_PATHS=0``, ``fast_paths.set_enabled(False)``) that turns them all off.
* :mod:`lstmlib.nn.deploy` -- importing :mod:`lstmlib.nn` registers every module class
  as a ``torch.load`` safe global (whole saved models load with ``weights_only=True``);
  ``torch.export`` / ONNX / ``torch.compile`` trace a plain step-by-step path;
  TorchScript raises :class:`TorchScriptUnsupported`, pointing to ``torch.export``.
* :mod:`lstmlib.nn.higher_order` -- why every module also supports second derivatives
  (``create_graph=True``: ``hvp``, ``hessian``, ``gradgradcheck``), ``torch.func.grad`` with
  ``functional_call``, and per-sample gradients ``vmap(grad(...))``. Not supported, as for
  ``torch.nn.LSTM`` in torch 2.13: ``vmap`` of a forward alone, and ``torch.func`` over a
  ``PackedSequence`` (torch's ``pack_padded_sequence`` fails under ``torch.func.grad``).
"""

from .attention import AdditiveAttention, MultiplicativeAttention
from .convlstm import ConvLSTM, ConvLSTMCell, convlstm_cell, convlstm_sequence
from .coupled import CoupledLSTM, CoupledLSTMCell, coupled_cell, coupled_sequence
from .crf import CRF
from .deploy import TorchScriptUnsupported, register_safe_globals
from .gru import GRU, GRUCell, gru_cell, gru_sequence
from .init import set_forget_bias
from .lstm import LSTM, LSTMCell, lstm_cell, lstm_sequence
from .peephole import PeepholeLSTM, PeepholeLSTMCell, peephole_cell, peephole_sequence
from .recurrent import RecurrentBase, RecurrentCellBase
from .rnn import RNN, RNNCell, rnn_cell, rnn_sequence
from .tree_lstm import ChildSumTreeLSTM, NaryTreeLSTM

__all__ = [
    "AdditiveAttention",
    "CRF",
    "ChildSumTreeLSTM",
    "ConvLSTM",
    "ConvLSTMCell",
    "CoupledLSTM",
    "CoupledLSTMCell",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "MultiplicativeAttention",
    "NaryTreeLSTM",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "RNN",
    "RNNCell",
    "RecurrentBase",
    "RecurrentCellBase",
    "TorchScriptUnsupported",
    "convlstm_cell",
    "convlstm_sequence",
    "coupled_cell",
    "coupled_sequence",
    "gru_cell",
    "gru_sequence",
    "lstm_cell",
    "lstm_sequence",
    "peephole_cell",
    "peephole_sequence",
    "rnn_cell",
    "rnn_sequence",
    "set_forget_bias",
]

register_safe_globals()  # every module class above: torch.load(path) of a whole saved model works
