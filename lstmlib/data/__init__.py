"""Task generators and offline datasets used by the chapters.

Every generator takes an explicit ``rng`` (an int seed or a
``numpy.random.Generator``) and returns NumPy arrays, time-major:
inputs ``(T, B, D)``, so the same data feeds ``lstmlib.reference`` and,
through ``torch.from_numpy``, ``lstmlib.nn``.
"""

from lstmlib.data.synthetic import first_symbol

__all__ = ["first_symbol"]
