"""Initialisation helpers for LSTM-style modules.

:func:`reset_uniform_` is the one initialisation rule of every recurrent module
here: torch's ``U(-1/sqrt(fan), 1/sqrt(fan))`` for every parameter, drawn in
registration order, so that with the same seed a drop-in twin draws exactly
torch's weights.

:func:`set_forget_bias` opens the forget gate at the start of training, the
remedy of Gers et al. (2000) and Jozefowicz et al. (2015): with the gate's
bias at ``b_f`` the memory starts with ``σ(b_f)`` per step instead of about
0.5, so gradients survive many more steps. Several chapters use it.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

__all__ = ["reset_uniform_", "set_forget_bias"]

# Gate blocks in torch's LSTM layout: rows [i | f | g | o] of every weight and bias.
_GATES = 4
_FORGET_BLOCK = 1


def reset_uniform_(module: nn.Module, fan: int) -> None:
    """Draw every parameter of ``module`` from U(-1/sqrt(fan), 1/sqrt(fan)), in registration order.

    fan: the recurrent fan-in that sets the bound -- ``hidden_size`` H for the
    LSTM, GRU, RNN and Tree-LSTMs (torch's rule), ``Hc * kh * kw`` for a
    ConvLSTM (so a 1x1 kernel gives the LSTM's bound). Changes ``module`` in place.
    """
    bound = 1.0 / math.sqrt(fan)
    for weight in module.parameters():
        nn.init.uniform_(weight, -bound, bound)


def set_forget_bias(module: nn.Module, value: float) -> nn.Module:
    """Set the forget gate's total bias to ``value`` in every layer and direction.

    module: any module with torch's LSTM parameter layout -- ``lstmlib.nn.LSTM``,
    ``LSTMCell``, ``PeepholeLSTM``, ``torch.nn.LSTM``, ``torch.nn.LSTMCell`` --
    i.e. biases named ``bias_ih*`` / ``bias_hh*`` of shape ``(4H,)`` in gate
    order (i, f, g, o). The forget block of each ``bias_ih*`` becomes
    ``value`` and that of the matching ``bias_hh*`` becomes 0, so
    ``b_f = bias_ih + bias_hh = value``. Returns ``module`` (changed in place,
    without recording the change in autograd).

    The coupled-gate LSTM (``CoupledLSTM``, ``CoupledLSTMCell``, biases ``(3H,)``
    in order i, g, o) has no forget block: its forget gate is
    ``1 - σ(a_i) = σ(-a_i)``, whose bias is ``-b_i``; so there the input block
    becomes ``-value`` (and 0 in ``bias_hh*``), which opens f to ``σ(value)`` as in the LSTM.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module with LSTM biases; got {type(module).__name__}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value must be a real number (the forget-gate bias); got {type(value).__name__} {value!r}")
    hidden_size = getattr(module, "hidden_size", None)
    if not isinstance(hidden_size, int):
        raise TypeError(
            f"module must be an LSTM-style module with a hidden_size attribute; got {type(module).__name__}"
        )
    biases = {
        name: p for name, p in module.named_parameters() if name.split(".")[-1].startswith(("bias_ih", "bias_hh"))
    }
    if not biases:
        raise ValueError(
            f"module must have LSTM biases (bias_ih*/bias_hh*, gate order i, f, g, o); "
            f"{type(module).__name__} has none (built with bias=False?)"
        )
    from .coupled import CoupledLSTM, CoupledLSTMCell  # here, not at the top: the modules import this one

    # The CIFG's forget gate is σ(-a_i): its bias is the input block's, negated.
    coupled = isinstance(module, (CoupledLSTM, CoupledLSTMCell))
    gates, order, block, sign = (3, "(i, g, o)", 0, -1.0) if coupled else (_GATES, "(i, f, g, o)", _FORGET_BLOCK, 1.0)
    with torch.no_grad():
        for name, bias in biases.items():
            H = hidden_size
            if tuple(bias.shape) != (gates * H,):
                raise ValueError(
                    f"module's {name} must have shape ({gates}H,) = ({gates * H},) in gate order {order}; "
                    f"got {tuple(bias.shape)} (not an LSTM?)"
                )
            forget = bias[block * H:(block + 1) * H]
            forget.fill_(sign * float(value) if name.split(".")[-1].startswith("bias_ih") else 0.0)
    return module
