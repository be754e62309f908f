"""lstmlib: the companion library of the executable LSTM textbook.

Two implementations of every model the book teaches:

* :mod:`lstmlib.reference` -- NumPy, float64 by default, forward pass and a
  hand-written backward pass that mirror the book's equations line by line.
* :mod:`lstmlib.nn` -- PyTorch modules, drop-in twins of ``torch.nn.LSTM`` and
  friends, running on whatever device their tensors live on.
"""

__version__ = "0.1.0"
