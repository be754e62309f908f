"""The caption stepper: move through a generated caption word by word and see where the model looked.

Given an image, the words a :class:`lstmlib.models.captioning.ShowAttendTell`
generated for it and the attention weights of each step
(:func:`lstmlib.models.captioning.decode_with_attention`), the stepper shows one
frame per emitted word: the image with that word's attention laid over it,
and the caption with the word marked.

As in :mod:`lstmlib.widgets.time_stepper`, every frame is drawn in advance and
a slider picks one through a browser-side link (``jslink``), so the stepper
also works on a static page of the book with no Python kernel running.
:func:`attention_overlay` is the picture itself, also used for static figures.
"""

from __future__ import annotations

import base64
import io
from html import escape

import ipywidgets as widgets
import matplotlib
import numpy as np
from ipywidgets.widgets.widget_string import HTMLStyle
from PIL import Image

__all__ = ["CaptionStepper", "attention_overlay"]

STYLE = ("<style>.lstm-cs{font-family:sans-serif;font-size:14px;line-height:1.5}"
         ".lstm-cs img{image-rendering:pixelated;margin:4px 0}"
         ".lstm-cs b{background:#222;color:#fff;padding:0 3px}</style>")


def attention_overlay(image: np.ndarray, weights: np.ndarray, *, strength: float = 0.75) -> np.ndarray:
    """The image ``(3, H, W)`` in [0, 1] under a heat map of ``weights (h, w)``: ``(H, W, 3)`` float in [0, 1].

    Each grid cell's weight covers its ``H/h x W/w`` patch; weights are scaled by
    their maximum, so the most attended cell is the brightest; ``strength`` is how
    much of each pixel the heat map takes at the most attended cell.
    """
    image = np.asarray(image, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"image must have shape (3, H, W); got {image.shape}")
    if weights.ndim != 2 or image.shape[1] % weights.shape[0] or image.shape[2] % weights.shape[1]:
        raise ValueError(f"weights must be a grid (h, w) whose sides divide the image's {image.shape[1:]}; "
                         f"got {weights.shape}")
    cell = (image.shape[1] // weights.shape[0], image.shape[2] // weights.shape[1])
    level = np.kron(weights / weights.max(), np.ones(cell))  # (H, W) in [0, 1]
    heat = matplotlib.colormaps["inferno"](level)[..., :3]
    alpha = strength * level[..., None]
    return (1 - alpha) * image.transpose(1, 2, 0) * 0.6 + alpha * heat


def _png(rgb: np.ndarray, scale: int) -> str:
    """``(H, W, 3)`` in [0, 1] as a base64 PNG, each pixel a ``scale x scale`` block."""
    pixels = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="png", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class CaptionStepper:
    """Step through a caption: frame ``k`` shows where the model looked when it emitted word ``k``.

    image: ``(3, H, W)`` in [0, 1]; words: the caption's words; weights: ``(K, h, w)``
    with ``K`` = ``len(words)`` or ``len(words) + 1`` (the last for ``<eos>``), each
    grid summing to 1; title: a line above; scale: pixels per image pixel in the frames.

    ``slider`` and ``play`` pick the word, ``frames`` is the ``Stack`` of frames, ``widget`` the whole.
    """

    def __init__(self, image, words, weights, *, title: str | None = None, scale: int = 5, interval: int = 900):
        weights = np.asarray(weights, dtype=np.float64)
        words = list(words)
        if not all(isinstance(word, str) for word in words):
            raise TypeError("words must be a list of str")
        if weights.ndim != 3 or weights.shape[0] not in (len(words), len(words) + 1):
            raise ValueError(f"weights must have shape (K, h, w) with K = len(words) = {len(words)} or one more "
                             f"(for <eos>); got {weights.shape}")
        self.words = words + ["<eos>"] * (weights.shape[0] - len(words))
        self.image, self.weights = np.asarray(image, dtype=np.float64), weights
        self.title, self.scale = title, int(scale)
        self.slider = widgets.IntSlider(value=0, min=0, max=len(self.words) - 1, description="word",
                                        layout=widgets.Layout(width="360px"))
        self.play = widgets.Play(value=0, min=0, max=len(self.words) - 1, interval=interval)
        layout, style = widgets.Layout(), HTMLStyle()
        self.frames = widgets.Stack([widgets.HTML(self.frame_html(k), layout=layout, style=style)
                                     for k in range(len(self.words))], selected_index=0)
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        widgets.jslink((self.slider, "value"), (self.frames, "selected_index"))
        self.slider.observe(lambda change: setattr(self.frames, "selected_index", int(change["new"])), names="value")
        header = f"<strong>{escape(title)}</strong>" if title else ""  # <b> marks the current word
        self.widget = widgets.VBox([widgets.HTML(STYLE + f"<div class=lstm-cs>{header}</div>"),
                                    widgets.HBox([self.play, self.slider]), self.frames])

    def frame_html(self, k: int) -> str:
        """The frame of word ``k``: the caption with word ``k`` marked (``<b data-word=k>``), the image
        with its attention, and the share of attention on the most attended cell."""
        if not 0 <= k < len(self.words):
            raise ValueError(f"k must be in [0, {len(self.words) - 1}]; got {k}")
        caption = " ".join(f"<b data-word={k}>{escape(w)}</b>" if j == k else escape(w)
                           for j, w in enumerate(self.words))
        picture = _png(attention_overlay(self.image, self.weights[k]), self.scale)
        return (f"<div class=lstm-cs><div>{caption}</div><img alt='attention for word {k}' "
                f"src='data:image/png;base64,{picture}'><div>most attended cell: "
                f"{self.weights[k].max():.0%} of the attention</div></div>")

    def __repr__(self) -> str:
        return f"CaptionStepper({' '.join(self.words)!r}, word={int(self.slider.value)})"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle
