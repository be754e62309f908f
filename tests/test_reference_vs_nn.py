"""The two implementations agree: one params dict loads into both, float64.

The NumPy reference is the ground truth; lstmlib.nn is what the chapters train
with. Same weights, same inputs -> same outputs, final states and gradients
(the nn gradients come from its hand-written autograd.Function backward).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lstmlib.nn
from lstmlib.reference import (
    init_lstm_params,
    init_rnn_params,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
)

TOL = 1e-10


def _load(module, params):
    module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
    return module


@pytest.mark.parametrize("T, B, D, H", [(1, 1, 1, 1), (5, 3, 4, 6), (9, 2, 7, 3)])
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_reference_and_nn_agree(T, B, D, H, with_state):
    rng = np.random.default_rng(T * 100 + D)
    params = init_lstm_params(D, H, rng=rng)
    x = rng.standard_normal((T, B, D))
    state = (rng.standard_normal((B, H)), rng.standard_normal((B, H))) if with_state else None
    dy, dh_T, dc_T = (rng.standard_normal(s) for s in [(T, B, H), (B, H), (B, H)])

    y, (h_T, c_T), cache = lstm_forward(params, x, state)
    dparams, dx, (dh0, dc0) = lstm_backward(params, cache, dy, (dh_T, dc_T))

    module = _load(lstmlib.nn.LSTM(D, H).double(), params)
    xt = torch.from_numpy(x).requires_grad_()
    hx = tuple(torch.from_numpy(s[None]).requires_grad_() for s in state) if with_state else None
    yt, (ht, ct) = module(xt, hx)
    loss = (yt * torch.from_numpy(dy)).sum() + (ht[0] * torch.from_numpy(dh_T)).sum() + (ct[0] * torch.from_numpy(dc_T)).sum()
    loss.backward()

    for ours, theirs in [(yt, y), (ht[0], h_T), (ct[0], c_T), (xt.grad, dx)]:
        assert np.abs(ours.detach().numpy() - theirs).max() <= TOL
    for name, p in module.named_parameters():
        assert np.abs(p.grad.numpy() - dparams[name]).max() <= TOL, name
    if with_state:
        assert np.abs(hx[0].grad[0].numpy() - dh0).max() <= TOL
        assert np.abs(hx[1].grad[0].numpy() - dc0).max() <= TOL


@pytest.mark.parametrize("T, B, D, H", [(1, 1, 1, 1), (6, 3, 4, 5)])
def test_rnn_reference_and_nn_agree(T, B, D, H):
    rng = np.random.default_rng(T + H)
    params = init_rnn_params(D, H, rng=rng)
    x, h0, dy = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((T, B, H))

    y, h_T, cache = rnn_forward(params, x, h0)
    dparams, dx, dh0 = rnn_backward(params, cache, dy)

    module = _load(lstmlib.nn.RNN(D, H).double(), params)
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None]).requires_grad_()
    yt, ht = module(xt, h0t)
    (yt * torch.from_numpy(dy)).sum().backward()

    for ours, theirs in [(yt, y), (ht[0], h_T), (xt.grad, dx), (h0t.grad[0], dh0)]:
        assert np.abs(ours.detach().numpy() - theirs).max() <= TOL
    for name, p in module.named_parameters():
        assert np.abs(p.grad.numpy() - dparams[name]).max() <= TOL, name
