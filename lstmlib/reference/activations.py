"""Gate nonlinearities and their derivatives, written in terms of their outputs.

The backward pass never needs the pre-activation again: for ``s = σ(a)`` and
``t = tanh(a)`` the derivatives are ``σ'(a) = s (1 - s)`` and
``tanh'(a) = 1 - t²``, so the forward pass caches outputs only.
"""

import numpy as np


def sigmoid(a):
    """Logistic sigmoid ``σ(a) = 1 / (1 + e^{-a})``, any shape, without overflow.

    ``e^{-a}`` overflows for large negative ``a``; computing ``e^{-|a|}`` (always
    in (0, 1]) and choosing the matching formula for each sign avoids that.
    """
    e = np.exp(-np.abs(a))
    # σ(a) = 1 / (1 + e^{-a}) for a >= 0,   σ(a) = e^{a} / (1 + e^{a}) for a < 0
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def dsigmoid(s):
    """``σ'(a)`` from the output ``s = σ(a)``: ``s (1 - s)``."""
    return s * (1 - s)


def dtanh(t):
    """``tanh'(a)`` from the output ``t = tanh(a)``: ``1 - t²``."""
    return 1 - t * t
