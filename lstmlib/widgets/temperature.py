"""The temperature explorer: slide over sampling temperatures and see the next-character distribution and a sample.

Given a trained character language model (:class:`lstmlib.pretrained.CharLanguageModel`,
e.g. ``lstmlib.pretrained.load("charlm-shakespeare")``) and a prompt, the
explorer computes once, for every temperature ``tau`` of a list:

* the distribution of the character after the prompt,
  ``softmax(logits / tau)`` (:func:`lstmlib.decoding.softmax_with_temperature`),
  shown as its ``top_k`` likeliest characters with their probabilities, and its
  entropy in bits;
* a sample of ``n_chars`` characters drawn after the prompt at that temperature
  with a seeded generator (:func:`lstmlib.decoding.sample`), the same seed for
  every temperature.

Two layers, as in the time stepper, so that the numbers can be tested without a browser:

* :meth:`TemperatureExplorer.values_at` is pure: the index of a temperature ->
  the values shown in that frame;
* the widget (``explorer.widget``, or display ``explorer``) is built on top.
  Every frame is written in advance and the slider picks one with a link that
  runs in the browser (``jslink``), so it also works on a static page of the
  book, where no Python kernel is running. Setting ``explorer.slider.index = 2``
  in code moves it exactly as a reader does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from html import escape

import ipywidgets as widgets
import numpy as np
import torch
from ipywidgets.widgets.widget_string import HTMLStyle

from lstmlib._checks import check_int_at_least, check_positive_int, check_positive_number
from lstmlib.decoding import sample, softmax_with_temperature
from lstmlib.pretrained import CharLanguageModel

__all__ = ["TemperatureExplorer", "temperature_values"]

# The frames' style sheet, shown once above them; classes start with ``lstm-tx`` so the rules
# touch nothing else on the page. A bar is one ``<i>`` whose custom property --w is its width.
STYLE = (
    "<style>"
    ".lstm-tx{font-family:sans-serif;font-size:13px;line-height:1.35}"
    ".lstm-tx table{border-collapse:collapse;margin:4px 0}"
    ".lstm-tx td{padding:0 6px;white-space:nowrap}"
    ".lstm-tx code{font-size:12px}"
    ".lstm-tx i{display:inline-block;height:10px;vertical-align:middle;background:#2e6fb5;width:var(--w)}"
    ".lstm-tx pre{margin:4px 0;font-size:12px;line-height:1.3;white-space:pre-wrap;background:#f7f7f7;"
    "border:1px solid #ddd;padding:6px}"
    ".lstm-tx pre b{color:#555;font-weight:normal}"
    "</style>"
)
BAR_PIXELS = 260  # the width of a bar of probability 1


def temperature_values(lm, prompt: str, temperatures, *, n_chars: int = 200, seed: int = 0) -> list[dict]:
    """Everything the explorer shows, per temperature.

    lm: a :class:`lstmlib.pretrained.CharLanguageModel`; prompt: a non-empty
    str of characters in ``lm.vocab``; temperatures: increasing positive
    numbers; n_chars: the length of each sample; seed: the NumPy seed of every
    sample. Returns one dict per temperature, in order:
    ``{"temperature": float, "probs": (V,) float64, "entropy_bits": float,
    "sample": (n_chars,) int64 ids}``.
    """
    if not isinstance(lm, CharLanguageModel):
        raise TypeError(f"lm must be a lstmlib.pretrained.CharLanguageModel; got {type(lm).__name__}")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"prompt must be a non-empty str; got {prompt!r}")
    temperatures = _check_temperatures(temperatures)
    n_chars = check_positive_int("n_chars", n_chars)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an int >= 0; got {seed!r}")
    prompt_ids = lm.vocab.encode(prompt, name="prompt")
    with torch.no_grad():
        logits, _ = lm.model(torch.from_numpy(prompt_ids)[:, None])  # (P, 1, V)
    last = logits[-1, 0].double()  # the scores of the character after the prompt
    values = []
    for tau in temperatures:
        probs = softmax_with_temperature(last, tau)
        values.append({
            "temperature": tau,
            "probs": probs,
            "entropy_bits": float(-(probs * np.log2(np.where(probs > 0, probs, 1.0))).sum()),
            "sample": sample(lm.model, prompt_ids, n_chars, temperature=tau, rng=seed),
        })
    return values


class TemperatureExplorer:
    """A slider over sampling temperatures: the next-character distribution and a sample at each.

    lm: a :class:`lstmlib.pretrained.CharLanguageModel`; prompt: the text the model reads
    first; temperatures: increasing positive numbers (the slider's stops); n_chars: the length
    of each sample; top_k: how many of the likeliest next characters to show; seed: the seed of
    every sample; start: the temperature shown first (one of ``temperatures``; default the one
    nearest 1).

    ``values`` holds :func:`temperature_values`; ``slider`` selects the temperature (its
    ``index`` is the frame); ``frames`` is the ``Stack`` of HTML frames; ``widget`` the whole.
    """

    def __init__(self, lm, prompt: str, temperatures=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0), *,
                 n_chars: int = 200, top_k: int = 10, seed: int = 0, start=None):
        self.values = temperature_values(lm, prompt, temperatures, n_chars=n_chars, seed=seed)
        self.vocab, self.prompt = lm.vocab, prompt
        self.temperatures = [v["temperature"] for v in self.values]
        self.top_k = check_int_at_least("top_k", top_k, 1)
        if self.top_k > len(self.vocab):
            raise ValueError(f"top_k must be at most the vocabulary size {len(self.vocab)}; got {top_k}")
        # the same characters in every frame (the ranking does not depend on the temperature)
        self.top = np.argsort(-self.values[0]["probs"], kind="stable")[: self.top_k]
        if start is None:
            first = int(np.argmin([abs(math.log(t)) for t in self.temperatures]))
        elif start in self.temperatures:
            first = self.temperatures.index(start)
        else:
            raise ValueError(f"start must be None or one of temperatures {self.temperatures}; got {start!r}")

        self.slider = widgets.SelectionSlider(options=[(f"{t:g}", k) for k, t in enumerate(self.temperatures)],
                                              index=first, description="τ", continuous_update=True,
                                              layout=widgets.Layout(width="420px"))
        layout, style = widgets.Layout(), HTMLStyle()  # shared: each frame would otherwise store its own
        self.frames = widgets.Stack([widgets.HTML(self.frame_html(k), layout=layout, style=style)
                                     for k in range(len(self.temperatures))], selected_index=first)
        # In the browser: slider -> frame, with no kernel needed (static pages of the book).
        widgets.jslink((self.slider, "index"), (self.frames, "selected_index"))
        # In Python: the same link, so that code (and tests) moving the slider move the frame.
        self.slider.observe(self._on_change, names="index")
        self.widget = widgets.VBox([widgets.HTML(STYLE), self.slider, self.frames])

    # -- the pure part ---------------------------------------------------------------------------

    def values_at(self, k) -> dict:
        """The values of frame ``k`` (the k-th temperature): a copy of ``values[k]``."""
        k = _check_index(k, len(self.temperatures))
        return {key: (value.copy() if isinstance(value, np.ndarray) else value)
                for key, value in self.values[k].items()}

    def frame_html(self, k) -> str:
        """The HTML frame of temperature ``k``: the top characters as bars with their probabilities
        (each number in ``<tt data-char=ID>``), the entropy, and the sample after the prompt
        (in ``<pre data-sample>``, the prompt in ``<b>``)."""
        values = self.values_at(k)
        probs = values["probs"]
        rows = "".join(
            f"<tr><td><code>{escape(_visible(self.vocab.chars[c]))}</code></td>"
            f"<td><tt data-char={c}>{probs[c]:.3f}</tt></td>"
            f"<td><i style=--w:{BAR_PIXELS * probs[c]:.0f}px></i></td></tr>"
            for c in self.top)
        text = self.vocab.decode(values["sample"])
        return (f"<div class=lstm-tx><div><b>τ = {values['temperature']:g}</b>: the next character after the "
                f"prompt, its {self.top_k} likeliest values (entropy of the whole distribution "
                f"<tt data-entropy>{values['entropy_bits']:.2f}</tt> bits)</div><table>{rows}</table>"
                f"<div>a sample of {len(values['sample'])} characters at this temperature:</div>"
                f"<pre data-sample><b>{escape(self.prompt)}</b>{escape(text)}</pre></div>")

    # -- the widget on top -----------------------------------------------------------------------

    @property
    def temperature(self) -> float:
        """The temperature the slider shows now."""
        return self.temperatures[self.slider.index]

    def shown(self) -> dict:
        """``values_at`` of the frame on display."""
        return self.values_at(self.slider.index)

    def _on_change(self, change):
        self.frames.selected_index = int(change["new"])

    def __repr__(self) -> str:
        return f"TemperatureExplorer({len(self.temperatures)} temperatures, τ = {self.temperature:g})"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle


def _visible(char: str) -> str:
    """A character as a reader can see it: the line break and the space named."""
    return {"\n": "⏎ (line break)", " ": "␣ (space)"}.get(char, char)


def _check_temperatures(temperatures) -> list[float]:
    if isinstance(temperatures, str) or not isinstance(temperatures, Sequence) or not temperatures:
        raise TypeError(f"temperatures must be a non-empty sequence of positive numbers; got {temperatures!r}")
    values = [check_positive_number(f"temperatures[{k}]", t) for k, t in enumerate(temperatures)]
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"temperatures must be strictly increasing; got {values}")
    return values


def _check_index(k, size) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int; got {type(k).__name__} {k!r}")
    if not 0 <= k < size:
        raise ValueError(f"k must be in [0, {size - 1}] for {size} temperatures; got {k}")
    return int(k)
