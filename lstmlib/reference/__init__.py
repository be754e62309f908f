"""NumPy reference implementations: the book's ground truth.

Float64 by default, pure functions, a forward pass and a hand-written backward
pass for every cell, written to mirror the book's equations line by line. The
parameter dicts use the keys and shapes of the matching ``torch.nn`` module's
``state_dict``, so one set of weights loads into both.

* :mod:`~lstmlib.reference.lstm` -- the LSTM (state ``(h, c)``)
* :mod:`~lstmlib.reference.rnn` -- the vanilla tanh RNN (state ``h``)
* :mod:`~lstmlib.reference.gru` -- the gated recurrent unit, GRU (state ``h``)
* :mod:`~lstmlib.reference.tree_lstm` -- child-sum and N-ary Tree-LSTMs over a forest (states ``(h, c)`` per node)
* :mod:`~lstmlib.reference.convlstm` -- the convolutional LSTM of Shi et al. (2015), state ``(h, c)`` maps
* :mod:`~lstmlib.reference.conv2d` -- the "same"-padded 2-D convolution it is built on
* :mod:`~lstmlib.reference.coupled` -- the coupled input-forget gate LSTM (CIFG, f = 1 - i)
* :mod:`~lstmlib.reference.peephole` -- the peephole LSTM (the LSTM + diagonal weights from the cell to the gates)
* :mod:`~lstmlib.reference.scan` -- the one time loop (forward, backward, state gradients) of the layers above
  but the Tree-LSTMs, which walk trees
* :mod:`~lstmlib.reference.attention` -- additive (Bahdanau) attention over a set of keys
* :mod:`~lstmlib.reference.ctc` -- connectionist temporal classification: the loss (alpha recursion) and its
  gradient (beta recursion), in log space
* :mod:`~lstmlib.reference.crf` -- the linear-chain CRF: forward algorithm, forward-backward gradient, Viterbi
* :mod:`~lstmlib.reference.gradcheck` -- central differences to check backward passes
* :mod:`~lstmlib.reference.activations`, :mod:`~lstmlib.reference.params` -- shared pieces
"""

from lstmlib.reference.activations import dsigmoid, dtanh, sigmoid
from lstmlib.reference.attention import (
    additive_attention_backward,
    additive_attention_forward,
    init_additive_attention_params,
)
from lstmlib.reference.conv2d import conv2d_backward, conv2d_forward
from lstmlib.reference.convlstm import (
    convlstm_backward,
    convlstm_cell_backward,
    convlstm_cell_forward,
    convlstm_forward,
    init_convlstm_params,
)
from lstmlib.reference.coupled import (
    coupled_backward,
    coupled_cell_backward,
    coupled_cell_forward,
    coupled_forward,
    init_coupled_params,
)
from lstmlib.reference.crf import (
    crf_backward,
    crf_forward,
    crf_forward_backward,
    crf_marginals,
    crf_viterbi,
    init_crf_params,
)
from lstmlib.reference.ctc import ctc_backward, ctc_forward
from lstmlib.reference.gradcheck import (
    check_child_sum_tree_lstm_gradients,
    check_convlstm_gradients,
    check_gru_gradients,
    check_lstm_gradients,
    check_nary_tree_lstm_gradients,
    check_peephole_gradients,
    check_rnn_gradients,
    check_sequence_gradients,
    gradient_errors,
    max_relative_error,
    numerical_gradient,
)
from lstmlib.reference.gru import (
    gru_backward,
    gru_cell_backward,
    gru_cell_forward,
    gru_forward,
    init_gru_params,
)
from lstmlib.reference.lstm import (
    init_lstm_params,
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    lstm_state_gradients,
)
from lstmlib.reference.peephole import (
    init_peephole_params,
    peephole_backward,
    peephole_cell_backward,
    peephole_cell_forward,
    peephole_forward,
)
from lstmlib.reference.rnn import (
    init_rnn_params,
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    rnn_state_gradients,
)
from lstmlib.reference.scan import scan_backward, scan_forward, scan_state_gradients
from lstmlib.reference.tree_lstm import (
    child_sum_tree_lstm_backward,
    child_sum_tree_lstm_forward,
    init_child_sum_tree_lstm_params,
    init_nary_tree_lstm_params,
    nary_tree_lstm_backward,
    nary_tree_lstm_forward,
)

__all__ = [
    "sigmoid", "dsigmoid", "dtanh",
    "init_additive_attention_params", "additive_attention_forward", "additive_attention_backward",
    "init_lstm_params", "lstm_cell_forward", "lstm_cell_backward", "lstm_forward", "lstm_backward",
    "lstm_state_gradients",
    "init_rnn_params", "rnn_cell_forward", "rnn_cell_backward", "rnn_forward", "rnn_backward",
    "rnn_state_gradients",
    "init_gru_params", "gru_cell_forward", "gru_cell_backward", "gru_forward", "gru_backward",
    "numerical_gradient", "max_relative_error", "gradient_errors", "check_lstm_gradients", "check_rnn_gradients",
    "check_gru_gradients",
    "init_child_sum_tree_lstm_params", "child_sum_tree_lstm_forward", "child_sum_tree_lstm_backward",
    "init_nary_tree_lstm_params", "nary_tree_lstm_forward", "nary_tree_lstm_backward",
    "check_child_sum_tree_lstm_gradients", "check_nary_tree_lstm_gradients",
    "conv2d_forward", "conv2d_backward",
    "init_convlstm_params", "convlstm_cell_forward", "convlstm_cell_backward", "convlstm_forward", "convlstm_backward",
    "check_convlstm_gradients",
    "init_coupled_params", "coupled_cell_forward", "coupled_cell_backward", "coupled_forward", "coupled_backward",
    "init_peephole_params", "peephole_cell_forward", "peephole_cell_backward", "peephole_forward",
    "peephole_backward",
    "check_peephole_gradients", "check_sequence_gradients",
    "scan_forward", "scan_backward", "scan_state_gradients",
    "ctc_forward", "ctc_backward",
    "init_crf_params", "crf_forward", "crf_backward", "crf_marginals", "crf_viterbi", "crf_forward_backward",
]
