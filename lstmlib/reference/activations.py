"""Gate nonlinearities and their derivatives, written in terms of their outputs.

The backward pass never needs the pre-activation again: for ``s = σ(z)`` and
``t = tanh(z)`` the derivatives are ``σ'(z) = s (1 - s)`` and
``tanh'(z) = 1 - t²``, so the forward pass caches outputs only.
"""

import numpy as np


def sigmoid(z):
    """Logistic sigmoid ``σ(z) = 1 / (1 + e^{-z})``, any shape, without overflow.

    ``e^{-z}`` overflows for large negative ``z``; computing ``e^{-|z|}`` (always
    in (0, 1]) and choosing the matching formula for each sign avoids that.
    """
    e = np.exp(-np.abs(z))
    # σ(z) = 1 / (1 + e^{-z}) for z >= 0,   σ(z) = e^{z} / (1 + e^{z}) for z < 0
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def dsigmoid(s):
    """``σ'(z)`` from the output ``s = σ(z)``: ``s (1 - s)``."""
    return s * (1 - s)


def dtanh(t):
    """``tanh'(z)`` from the output ``t = tanh(z)``: ``1 - t²``."""
    return 1 - t * t
