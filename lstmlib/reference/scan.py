"""The time loop of every recurrent reference layer, written once.

A recurrent layer is one cell applied at every step of a sequence, carrying a
state from step to step. These functions run such a cell forward over time,
backward over reversed time (backpropagation through time), and record the
gradient of the loss w.r.t. the state at every step. The RNN, GRU, LSTM,
peephole LSTM and ConvLSTM reference layers are each a cell plus these loops.

A cell, as the loops call it:

* ``cell_forward(params, x_t, *state) -> (*new_state, cache)``
* ``cell_backward(params, cache, *dstate) -> (dparams, dx_t, *dstate_prev)``

where ``state`` is a tuple of arrays with the hidden state ``h`` first: ``(h,)``
for the RNN and GRU, ``(h, c)`` for the LSTMs. ``h`` is also the step's output.
The arrays may have any shape: ``(B, H)`` vectors, or the ConvLSTM's
``(B, Hc, H, W)`` maps.

The loops do not validate: the layer checks the whole sequence once, then runs
the loop on its cell's unchecked step (``lstm_cell_forward.unchecked``, see
:func:`~lstmlib.reference.params.checked_by`), so the public cell functions keep
their own checks without paying for them T times.
"""

import numpy as np


def scan_forward(cell_forward, params, x, state):
    """Run a cell over a sequence: ``state_t = cell(x_t, state_{t-1})`` for t = 1 .. T.

    x: (T, B, ...); state: the initial state, a tuple with ``h_0`` first, each
    (B, ...). Returns y: (T, *h.shape) with ``y[t]`` the hidden state after
    step t+1, the final state (a tuple like ``state``) and the cache
    ``{"steps": [the cell's cache of every step]}`` for :func:`scan_backward`.
    """
    y = np.empty((len(x),) + state[0].shape, x.dtype)
    steps = []
    for t in range(len(x)):
        *state, step = cell_forward(params, x[t], *state)
        y[t] = state[0]  # the output of a step is its hidden state
        steps.append(step)
    return y, tuple(state), {"steps": steps}


def scan_backward(cell_backward, params, cache, dy, dstate):
    """Backpropagation through time: the cell's backward over reversed time.
    Book: :eq:`bptt` (chapter I.3, How an LSTM unit works, step by step).

    dy: (T, *h.shape) = ∂L/∂y; dstate: ∂L/∂(final state), a tuple like the
    state (zeros when the loss does not use it). Returns ``dparams`` (keys of
    ``params``, each summed over the steps: every step uses the same
    weights), dx: (T, *x_t.shape) and ∂L/∂(initial state), a tuple.
    """
    steps = cache["steps"]
    dparams = {key: np.zeros_like(value) for key, value in params.items()}
    dx = np.empty((len(steps),) + steps[0]["x_t"].shape, dy.dtype)
    for t in reversed(range(len(steps))):
        dh, *dcarry = dstate
        # h_t is both the output y_t and the input of step t+1: the two gradients add
        step_dparams, dx[t], *dstate = cell_backward(params, steps[t], dy[t] + dh, *dcarry)
        for key in dparams:
            dparams[key] += step_dparams[key]
    return dparams, dx, tuple(dstate)


def scan_state_gradients(cell_backward, params, cache, dy, dstate):
    """The gradient of the loss w.r.t. the state the recurrence carries, at every step.

    Arguments as for :func:`scan_backward`. Returns a tuple like the state of
    arrays (T+1, *shape): entry ``[t]`` is ∂L/∂(state after step t), the loss
    taken as a function of the state handed to step t+1. So ``[0]`` is the
    initial state's gradient (that of :func:`scan_backward`) and ``[T]`` is
    ``dstate`` with ``dy[T-1]`` added to its ``h`` part.
    """
    steps = cache["steps"]
    grads = tuple(np.empty((len(steps) + 1,) + d.shape, dy.dtype) for d in dstate)
    for t in reversed(range(len(steps))):
        dh, *dcarry = dstate
        # steps[t] maps the state after step t to the one after step t+1, whose h is also y[t]
        dstate = (dy[t] + dh, *dcarry)
        for grad, d in zip(grads, dstate, strict=True):
            grad[t + 1] = d
        _, _, *dstate = cell_backward(params, steps[t], *dstate)
    for grad, d in zip(grads, dstate, strict=True):
        grad[0] = d
    return grads
