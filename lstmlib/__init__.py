"""lstmlib: the companion library of the executable LSTM textbook.

Two implementations of every model the book teaches:

* :mod:`lstmlib.reference` -- NumPy, float64 by default, forward pass and a
  hand-written backward pass that mirror the book's equations line by line.
* :mod:`lstmlib.nn` -- PyTorch modules, drop-in twins of ``torch.nn.LSTM`` and
  friends, running on whatever device their tensors live on.

Around them: :mod:`lstmlib.models` (whole task models, models only),
:mod:`lstmlib.decoding` (sampling), :mod:`lstmlib.metrics` (bits per
character, scoring), :mod:`lstmlib.train` (the training loop),
:mod:`lstmlib.data` and :mod:`lstmlib.text` (datasets, vocabularies),
:mod:`lstmlib.explain` (word importance, and what attention weights do) and
:mod:`lstmlib.pretrained` (shipped models: ``load(name)``, ``available()``).
"""

__version__ = "0.1.0"
