"""Interactive explorers used by the chapters (ipywidgets).

Each explorer is a class with a pure method that computes what it shows from
``lstmlib.reference`` and a widget built on top, so tests can move a slider
from code and check the numbers against the reference.

* :mod:`lstmlib.widgets.gate_explorer` -- sliders for one LSTM step's inputs
  and biases; shows the gates, c_t and h_t.
* :mod:`lstmlib.widgets.time_stepper` -- a slider over the time steps of a
  sequence; shows the gates, c_t and h_t at the chosen step.
* :mod:`lstmlib.widgets.temperature` -- a slider over sampling temperatures of a
  trained character LM; shows the next-character distribution and a sample at each.
* :mod:`lstmlib.widgets.attention_viewer` -- a drop-down over sentences; shows a translator's
  output and its attention weights for each one.
* :mod:`lstmlib.widgets.caption_stepper` -- a slider over the words of a generated caption;
  shows where the captioner's attention was when it emitted each word.
"""
