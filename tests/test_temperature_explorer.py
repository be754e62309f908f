"""The temperature explorer (lstmlib.widgets.temperature) on the shipped character LM.

Its precomputed frames must be exactly what decoding gives at that temperature:
the next-character distribution is softmax(logits / tau) of the model run on
the prompt, and the sample is lstmlib.decoding.sample with the same
temperature and seed. The HTML frames must show those numbers, and moving the
slider from code must show the matching frame.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from lstmlib import pretrained
from lstmlib.decoding import sample, softmax_with_temperature
from lstmlib.widgets.temperature import TemperatureExplorer, temperature_values

PROMPT = "MACBETH:\nIs this a dagger"
TEMPERATURES = (0.5, 1.0, 2.0)


@pytest.fixture(scope="module")
def lm():
    return pretrained.load("charlm-shakespeare")


@pytest.fixture(scope="module")
def explorer(lm):
    return TemperatureExplorer(lm, PROMPT, TEMPERATURES, n_chars=40, top_k=5, seed=3)


def next_char_logits(lm, prompt):
    with torch.no_grad():
        logits, _ = lm.model(torch.from_numpy(lm.vocab.encode(prompt))[:, None])
    return logits[-1, 0].double()


def test_frames_are_decoding_at_that_temperature(lm, explorer):
    logits = next_char_logits(lm, PROMPT)
    for k, tau in enumerate(TEMPERATURES):
        shown = explorer.values_at(k)
        assert shown["temperature"] == tau
        np.testing.assert_allclose(shown["probs"], softmax_with_temperature(logits, tau), rtol=0, atol=1e-12)
        drawn = sample(lm.model, lm.vocab.encode(PROMPT), 40, temperature=tau, rng=3)
        assert np.array_equal(shown["sample"], drawn)
        # the sample is the one the model's own sampler gives for that temperature and seed
        assert lm.vocab.decode(shown["sample"]) == lm.sample(PROMPT, 40, tau, rng=3)
        p = shown["probs"]
        assert shown["entropy_bits"] == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-9)


def test_temperature_sharpens_and_flattens_without_reordering(explorer):
    cold, model, hot = (explorer.values_at(k)["probs"] for k in range(3))
    favourite = int(np.argmax(model))
    assert cold[favourite] > model[favourite] > hot[favourite]
    entropies = [explorer.values_at(k)["entropy_bits"] for k in range(3)]
    assert entropies[0] < entropies[1] < entropies[2]
    assert np.array_equal(np.argsort(-cold)[:5], np.argsort(-hot)[:5])
    assert not np.array_equal(explorer.values_at(0)["sample"], explorer.values_at(2)["sample"])


def test_every_frame_prints_its_numbers(lm, explorer):
    for k in range(len(TEMPERATURES)):
        html, shown = explorer.frame_html(k), explorer.values_at(k)
        printed = {int(c): float(p) for c, p in re.findall(r"<tt data-char=(\d+)>([0-9.]+)</tt>", html)}
        assert list(printed) == list(explorer.top)
        for c, p in printed.items():
            assert p == pytest.approx(shown["probs"][c], abs=5e-4)
        assert f"<tt data-entropy>{shown['entropy_bits']:.2f}</tt>" in html
        text = re.search(r"<pre data-sample><b>.*?</b>(.*?)</pre>", html, re.S).group(1)
        assert text == lm.vocab.decode(shown["sample"]).replace("&", "&amp;").replace("<", "&lt;").replace(
            ">", "&gt;").replace('"', "&quot;").replace("'", "&#x27;")


def test_moving_the_slider_shows_that_frame(explorer):
    assert explorer.temperature == 1.0 and explorer.frames.selected_index == 1  # starts nearest 1
    explorer.slider.index = 2
    assert explorer.frames.selected_index == 2 and explorer.temperature == 2.0
    assert explorer.frames.children[2].value == explorer.frame_html(2)
    assert np.array_equal(explorer.shown()["probs"], explorer.values_at(2)["probs"])
    explorer.slider.index = 1
    assert "TemperatureExplorer(3 temperatures, τ = 1)" == repr(explorer)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"prompt": ""}, ValueError, "prompt must be a non-empty str"),
        ({"prompt": "MACBETH: ☃"}, ValueError, "prompt must use only the vocabulary"),
        ({"temperatures": ()}, TypeError, "temperatures must be a non-empty sequence"),
        ({"temperatures": (1.0, 0.5)}, ValueError, "strictly increasing"),
        ({"temperatures": (0.0, 1.0)}, ValueError, r"temperatures\[0\] must be a positive"),
        ({"n_chars": 0}, ValueError, "n_chars"),
        ({"seed": -1}, ValueError, "seed must be an int >= 0"),
        ({"top_k": 1000}, ValueError, "top_k must be at most the vocabulary size 75"),
        ({"start": 0.7}, ValueError, "start must be None or one of temperatures"),
    ],
)
def test_bad_arguments(lm, kwargs, error, match):
    arguments = {"prompt": PROMPT, "temperatures": TEMPERATURES, "n_chars": 5} | kwargs
    prompt = arguments.pop("prompt")
    with pytest.raises(error, match=match):
        TemperatureExplorer(lm, prompt, **arguments)


def test_bad_model_and_frame_index(explorer):
    with pytest.raises(TypeError, match="lm must be a lstmlib.pretrained.CharLanguageModel"):
        temperature_values(object(), PROMPT, TEMPERATURES)
    with pytest.raises(ValueError, match=r"k must be in \[0, 2\]"):
        explorer.values_at(3)
    with pytest.raises(TypeError, match="k must be an int"):
        explorer.values_at(1.0)
