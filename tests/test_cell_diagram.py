"""lstmlib.viz.cell_diagram: the LSTM cell drawn in the book's notation."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch  # noqa: E402

from lstmlib.viz.cell_diagram import COLORS, GROUPS, MUTED, draw_lstm_cell  # noqa: E402

# every symbol of the notation table that the cell shows
LABELS = [r"$x_t$", r"$h_{t-1}$", r"$c_{t-1}$", r"$f_t$", r"$i_t$", r"$\tilde{c}_t$", r"$o_t$", r"$c_t$", r"$h_t$"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax):
    return [t.get_text() for t in ax.texts]


def gate_block_colors(ax):
    """Face colours of the four gate blocks (the small rounded boxes), left to right."""
    blocks = [p for p in ax.patches if isinstance(p, FancyBboxPatch) and p.get_width() < 2]
    blocks.sort(key=lambda p: p.get_x())
    return [to_hex(p.get_facecolor()) for p in blocks]


def test_draws_every_label_of_the_notation():
    ax = draw_lstm_cell()
    shown = texts(ax)
    for label in LABELS:
        assert any(text.startswith(label) for text in shown), label
    assert shown.count(r"$\sigma$") == 3 and shown.count(r"$\tanh$") == 2   # 3 σ gates; tanh of c̃ and of c_t
    assert ax.get_title() == "one LSTM cell at time step t"
    assert not ax.axison


def test_product_and_sum_nodes():
    ax = draw_lstm_cell()
    big_circles = [p for p in ax.patches if isinstance(p, Circle) and p.get_radius() > 0.2]
    assert len(big_circles) == 4                      # ⊙ forget, ⊙ input, + , ⊙ output
    assert texts(ax).count("+") == 1


def test_draws_into_given_axes_and_blocks_in_gate_order():
    fig, ax = plt.subplots()
    assert draw_lstm_cell(ax, title=None) is ax
    assert ax.get_title() == ""
    assert gate_block_colors(ax) == [COLORS[g] for g in ("f", "i", "g", "o")]


def test_highlight_greys_out_the_rest():
    ax = draw_lstm_cell(highlight="f")
    assert gate_block_colors(ax) == [COLORS["f"], MUTED, MUTED, MUTED]
    ax = draw_lstm_cell(highlight=["i", "g"])
    assert gate_block_colors(ax) == [MUTED, COLORS["i"], COLORS["g"], MUTED]
    ax = draw_lstm_cell(highlight=list(GROUPS))
    assert MUTED not in gate_block_colors(ax)


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(ax="axes"), TypeError, r"ax must be a matplotlib Axes or None; got str"),
    (dict(highlight="forget"), ValueError, r"highlight must be one of 'f', 'i', 'g', 'o', 'c', 'h'; got 'forget'"),
    (dict(highlight=["f", "c~"]), ValueError, r"highlight must be one of .*got 'c~'"),
    (dict(highlight=3), TypeError, r"highlight must be None, a group name or a list of them; got int"),
    (dict(title=5), TypeError, r"title must be a str or None; got int"),
])
def test_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        draw_lstm_cell(**kwargs)
