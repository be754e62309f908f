"""The time stepper shows, at every step, exactly the numbers in the reference's cache."""

import re

import numpy as np
import pytest

from lstmlib.reference import init_lstm_params, lstm_forward
from lstmlib.widgets.time_stepper import QUANTITIES, STYLE, TimeStepper, stepper_values

T, B, D, H = 4, 3, 2, 3
rng = np.random.default_rng(0)
P = init_lstm_params(D, H, rng=1)
X = rng.standard_normal((T, B, D))
STATE = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))  # non-zero, so step 0 is not trivial
BATCH_INDEX = 1
Y, _, CACHE = lstm_forward(P, X, STATE)
LABELS = ["a", "b<", "c", "d"]  # "<" checks that labels are escaped in the HTML


@pytest.fixture(scope="module")
def stepper():
    return TimeStepper(P, X, state=STATE, batch_index=BATCH_INDEX, step_labels=LABELS, title="a & b")


def cache_at(t):
    """What the reference computed at step t (1 .. T) for the shown sequence."""
    step = CACHE["steps"][t - 1]
    values = {q: step[q][BATCH_INDEX] for q in ("i", "f", "g", "o", "c")}
    values["h"] = Y[t - 1, BATCH_INDEX]
    return values


def shown_numbers(html):
    """The numbers of a frame's table, read back from its HTML: {q: [text of unit 0, ...]}."""
    found = re.findall(r"<tt data-q=(\w) data-unit=(\d+)>([^<]*)</tt>", html)
    numbers = {q: [""] * H for q in QUANTITIES}
    for q, unit, text in found:
        numbers[q][int(unit)] = text
    assert len(found) == len(QUANTITIES) * H
    return numbers


def test_values_at_every_step_are_the_cache(stepper):
    for t in range(1, T + 1):
        shown = stepper.values_at(t)
        assert set(shown) == set(QUANTITIES)
        for q, value in cache_at(t).items():
            assert np.array_equal(shown[q], value), (t, q)


def test_step_0_is_the_initial_state_with_no_gates(stepper):
    shown = stepper.values_at(0)
    assert np.array_equal(shown["h"], STATE[0][BATCH_INDEX])
    assert np.array_equal(shown["c"], STATE[1][BATCH_INDEX])
    for q in ("i", "f", "g", "o"):
        assert np.isnan(shown[q]).all()
    assert stepper.annotations(0)["f"] == [""] * H


def test_values_at_returns_copies(stepper):
    stepper.values_at(2)["c"][:] = 99.0
    assert np.array_equal(stepper.values_at(2)["c"], cache_at(2)["c"])


def test_moving_the_slider_shows_that_frame(stepper):
    assert stepper.step == 0 and stepper.frames.selected_index == 0
    for t in (3, 1, T):
        stepper.slider.value = t
        assert stepper.step == t
        assert stepper.frames.selected_index == t
        for q, value in cache_at(t).items():
            assert np.array_equal(stepper.shown()[q], value)
    stepper.slider.value = 0


def test_every_frame_prints_the_cache_numbers(stepper):
    assert len(stepper.frames.children) == T + 1
    for t in range(1, T + 1):
        numbers = shown_numbers(stepper.frames.children[t].value)
        expected = {q: [f"{v:+.3f}" for v in value] for q, value in cache_at(t).items()}
        assert numbers == expected == stepper.annotations(t)
        assert f"<b>t = {t}</b>" in stepper.frames.children[t].value


def test_labels_and_title_are_escaped(stepper):
    frame = stepper.frames.children[2].value
    assert "input <code>b&lt;</code>" in frame and "b<<" not in frame
    assert stepper.widget.children[0].value == STYLE + "<b>a &amp; b</b>"


def test_bars_span_the_value(stepper):
    # gates grow from the left edge of their bar, signed values from its middle
    frame = stepper.frames.children[1].value
    f_value = stepper.values_at(1)["f"][0]
    assert f"<tt data-q=f data-unit=0>{f_value:+.3f}</tt><i style=--a:0.0%;--b:{100 * f_value:.1f}%></i>" in frame
    h_value = stepper.values_at(1)["h"][0]
    lo, hi = sorted((50.0, 50 * (h_value + 1)))
    sign = "p" if h_value >= 0 else "n"
    assert f"<i class={sign} style=--a:{lo:.1f}%;--b:{hi:.1f}%></i>" in frame


def test_widget_parts_and_ranges(stepper):
    assert stepper.slider.min == stepper.play.min == 0
    assert stepper.slider.max == stepper.play.max == T
    assert bytes(stepper.overview.value).startswith(b"\x89PNG")
    assert stepper.overview in stepper.widget.children and stepper.frames in stepper.widget.children


def test_display_has_a_short_text_form(stepper):
    bundle = stepper._repr_mimebundle_()
    assert bundle["text/plain"] == f"TimeStepper(T={T}, H={H}, step=0)"
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == stepper.widget.model_id


def test_stepper_values_without_state_starts_from_zeros():
    values = stepper_values(P, X)
    assert values["c"].shape == (T + 1, H)
    assert np.array_equal(values["c"][0], np.zeros(H)) and np.array_equal(values["h"][0], np.zeros(H))
    _, _, cache = lstm_forward(P, X)
    assert np.array_equal(values["f"][T], cache["steps"][-1]["f"][0])


@pytest.mark.parametrize("t, error, match", [
    (T + 1, ValueError, r"t must be in \[0, 4\]"),
    (-1, ValueError, r"t must be in \[0, 4\]"),
    (1.0, TypeError, "t must be an int; got float"),
    (True, TypeError, "t must be an int; got bool"),
])
def test_bad_step(stepper, t, error, match):
    with pytest.raises(error, match=match):
        stepper.values_at(t)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_index=B), ValueError, r"batch_index must be in \[0, 2\] for the batch size B = 3; got 3"),
    (dict(batch_index="0"), TypeError, "batch_index must be an int; got str"),
    (dict(step_labels=["a"] * (T - 1)), ValueError, "step_labels must have one label per step, T=4; got 3"),
    (dict(step_labels="abcd"), TypeError, "step_labels must be None or a list of T=4 strings; got str"),
    (dict(step_labels=["a", "b", 3, "d"]), TypeError, r"step_labels\[2\] must be a str; got int"),
    (dict(title=5), TypeError, "title must be None or a str; got int"),
    (dict(interval=0), ValueError, "interval must be a positive number; got 0"),
    (dict(dpi="high"), TypeError, "dpi must be a positive number; got str"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        TimeStepper(P, X, **kwargs)


def test_bad_sequence_is_caught_by_the_reference():
    with pytest.raises(ValueError, match=r"x must have D=2 along axis 2"):
        TimeStepper(P, rng.standard_normal((T, B, D + 1)))
    with pytest.raises(TypeError, match="x must have the dtype of params"):
        TimeStepper(P, X.astype(np.float32))
