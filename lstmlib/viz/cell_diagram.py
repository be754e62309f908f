"""A diagram of one LSTM cell, drawn with matplotlib in the book's notation.

The cell state runs along the top: ``c_{t-1}`` enters on the left, is scaled
by the forget gate (⊙) and receives the gated candidate (+), and leaves as
``c_t``. ``h_{t-1}`` and ``x_t`` meet on a bus along the bottom that feeds the
four layers: σ for ``f_t``, ``i_t``, ``o_t`` and tanh for the candidate
``c̃_t``. On the right, ``tanh(c_t)`` is scaled by ``o_t`` to give ``h_t``,
which leaves both to the next step and upwards as the cell's output.

Each part belongs to a group named like the code (``"f"``, ``"i"``, ``"g"``,
``"o"``, ``"c"``, ``"h"``); ``highlight`` draws some groups in colour and
greys out the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Circle, Ellipse, FancyArrowPatch, FancyBboxPatch

from lstmlib._checks import check_choice

GROUPS = ("f", "i", "g", "o", "c", "h")
COLORS = {"f": "#1f77b4", "i": "#2ca02c", "g": "#ff7f0e", "o": "#9467bd", "c": "#222222", "h": "#555555"}
BUS_COLOR = "#555555"
MUTED = "#cccccc"

# Layout in data units (the axes use an equal aspect ratio).
CELL_Y, BUS_Y, GATE_Y = 6.0, 1.0, 3.0       # heights of the cell-state line, the input bus, the gate layers
GATE_X = {"f": 2.4, "i": 4.0, "g": 5.4, "o": 7.6}
X_IN = 0.9                                   # where x_t joins the bus
PROD_I = (5.4, 4.6)                          # i_t ⊙ c̃_t
PROD_F = (GATE_X["f"], CELL_Y)               # f_t ⊙ c_{t-1}
PLUS = (5.4, CELL_Y)                         # + on the cell-state line
OUT_X = 9.1                                  # the column of tanh(c_t) and o_t ⊙ tanh(c_t)
TANH_C = (OUT_X, 4.6)
PROD_O = (OUT_X, GATE_Y)
H_X = 10.3                                   # the column where h_t turns down (next step) and up (output)
LEFT, RIGHT, TOP, BOTTOM = -1.2, 12.2, 8.0, -1.0
BLOCK_W, BLOCK_H, NODE_R = 1.2, 0.8, 0.28


def draw_lstm_cell(ax: Axes | None = None, *, highlight=None, title: str | None = "one LSTM cell at time step t"):
    """Draw the LSTM cell, labelled in the book's notation; return the axes.

    ax: the matplotlib axes to draw into (None: a new 10 x 6.6 inch figure).
    highlight: None, or one group name or several, from ``"f"`` (forget gate),
    ``"i"`` (input gate), ``"g"`` (candidate c̃_t), ``"o"`` (output gate),
    ``"c"`` (cell-state path), ``"h"`` (tanh(c_t) and h_t): those are drawn in
    colour, the rest in light grey.
    title: the axes title (None for none).
    """
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    lit = _check_highlight(highlight)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None; got {type(title).__name__}")
    if ax is None:
        ax = plt.figure(figsize=(10, 6.6)).gca()

    def color(group):
        return COLORS[group] if group in lit else MUTED

    # the cell's outline
    ax.add_patch(FancyBboxPatch((0, 0), 11, 7, boxstyle="round,pad=0,rounding_size=0.4",
                                facecolor="#f7f7f7", edgecolor="0.6", lw=1.2, zorder=0))

    # input bus: h_{t-1} from the left, x_t from below, feeding the four layers
    bus_end = GATE_X["o"]
    _line(ax, [(LEFT, BUS_Y), (bus_end, BUS_Y)], BUS_COLOR, lw=2)
    _arrow(ax, (X_IN, BOTTOM), (X_IN, BUS_Y), BUS_COLOR)
    _dot(ax, (X_IN, BUS_Y), BUS_COLOR)
    ax.text(LEFT - 0.15, BUS_Y, r"$h_{t-1}$", ha="right", va="center", fontsize=13)
    ax.text(X_IN, BOTTOM - 0.25, r"$x_t$", ha="center", va="top", fontsize=13)
    for name, x in GATE_X.items():
        _arrow(ax, (x, BUS_Y), (x, GATE_Y - BLOCK_H / 2), BUS_COLOR, lw=1.2)
        if x != bus_end:
            _dot(ax, (x, BUS_Y), BUS_COLOR)

    # the four layers: a weighted sum of [h_{t-1}, x_t] plus bias, then σ or tanh
    captions = {"f": "forget", "i": "input", "g": "candidate", "o": "output"}
    for name, x in GATE_X.items():
        _block(ax, (x, GATE_Y), r"$\tanh$" if name == "g" else r"$\sigma$", color(name))
        ax.text(x + 0.1, (BUS_Y + GATE_Y - BLOCK_H / 2) / 2, captions[name], ha="left", va="center",
                fontsize=8.5, style="italic", color=color(name) if name in lit else "0.55")

    # cell-state line: c_{t-1} -> ⊙ f_t -> + i_t ⊙ c̃_t -> c_t
    _line(ax, [(LEFT, CELL_Y), (PROD_F[0] - NODE_R, CELL_Y)], color("c"), lw=3)
    _line(ax, [(PROD_F[0] + NODE_R, CELL_Y), (PLUS[0] - NODE_R, CELL_Y)], color("c"), lw=3)
    _arrow(ax, (PLUS[0] + NODE_R, CELL_Y), (RIGHT, CELL_Y), color("c"), lw=3)
    ax.text(LEFT - 0.15, CELL_Y, r"$c_{t-1}$", ha="right", va="center", fontsize=13)
    ax.text(RIGHT + 0.15, CELL_Y, r"$c_t$", ha="left", va="center", fontsize=13)

    # forget gate: f_t scales c_{t-1}
    _arrow(ax, (GATE_X["f"], GATE_Y + BLOCK_H / 2), (PROD_F[0], PROD_F[1] - NODE_R), color("f"))
    ax.text(GATE_X["f"] + 0.15, 4.5, r"$f_t$", ha="left", va="center", fontsize=13, color=color("f"))
    _node(ax, PROD_F, "times", _mix(color("f"), color("c"), "f" in lit))

    # input gate and candidate: i_t ⊙ c̃_t is added to the cell state
    _line(ax, [(GATE_X["i"], GATE_Y + BLOCK_H / 2), (GATE_X["i"], PROD_I[1])], color("i"))
    _arrow(ax, (GATE_X["i"], PROD_I[1]), (PROD_I[0] - NODE_R, PROD_I[1]), color("i"))
    ax.text(GATE_X["i"] - 0.15, 4.0, r"$i_t$", ha="right", va="center", fontsize=13, color=color("i"))
    _arrow(ax, (GATE_X["g"], GATE_Y + BLOCK_H / 2), (PROD_I[0], PROD_I[1] - NODE_R), color("g"))
    ax.text(GATE_X["g"] + 0.15, 3.95, r"$\tilde{c}_t$", ha="left", va="center", fontsize=13,
            color=color("g"))
    _node(ax, PROD_I, "times", _mix(color("i"), color("g"), "i" in lit or "g" not in lit))
    _arrow(ax, (PROD_I[0], PROD_I[1] + NODE_R), (PLUS[0], PLUS[1] - NODE_R),
           _mix(color("i"), color("g"), "i" in lit or "g" not in lit))
    _node(ax, PLUS, "plus", color("c"))

    # output: h_t = o_t ⊙ tanh(c_t)
    _line(ax, [(OUT_X, CELL_Y), (OUT_X, TANH_C[1] + 0.3)], color("h"))
    _dot(ax, (OUT_X, CELL_Y), color("c"))
    ax.add_patch(Ellipse(TANH_C, 1.1, 0.6, facecolor="white", edgecolor=color("h"), lw=1.5, zorder=3))
    ax.text(*TANH_C, r"$\tanh$", ha="center", va="center", fontsize=12, zorder=4)
    _arrow(ax, (OUT_X, TANH_C[1] - 0.3), (OUT_X, PROD_O[1] + NODE_R), color("h"))
    _arrow(ax, (GATE_X["o"] + BLOCK_W / 2, GATE_Y), (PROD_O[0] - NODE_R, GATE_Y), color("o"))
    ax.text((GATE_X["o"] + BLOCK_W / 2 + PROD_O[0] - NODE_R) / 2, GATE_Y + 0.15, r"$o_t$",
            ha="center", va="bottom", fontsize=13, color=color("o"))
    _node(ax, PROD_O, "times", _mix(color("o"), color("h"), "o" in lit))

    # h_t leaves to the next step (right) and as the output (top)
    _line(ax, [(PROD_O[0] + NODE_R, GATE_Y), (H_X, GATE_Y), (H_X, BUS_Y)], color("h"))
    _arrow(ax, (H_X, BUS_Y), (RIGHT, BUS_Y), color("h"), lw=2)
    _arrow(ax, (H_X, GATE_Y), (H_X, TOP), color("h"), lw=2)
    _dot(ax, (H_X, GATE_Y), color("h"))
    ax.text(RIGHT + 0.15, BUS_Y, r"$h_t$", ha="left", va="center", fontsize=13)
    ax.text(H_X, TOP + 0.2, r"$h_t$" + "  (output)", ha="center", va="bottom", fontsize=13)

    ax.text((LEFT + RIGHT) / 2, BOTTOM - 1.05,
            r"$\sigma$, $\tanh$ boxes: $W\,x_t + U\,h_{t-1} + b$, then the function   "
            r"$\odot$: element-wise product   $+$: element-wise sum",
            ha="center", va="top", fontsize=9.5, color="0.3")
    ax.set_xlim(LEFT - 1.6, RIGHT + 1.6)
    ax.set_ylim(BOTTOM - 1.7, TOP + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def _check_highlight(highlight) -> set[str]:
    """The groups to draw in colour: all of them for None."""
    if highlight is None:
        return set(GROUPS)
    if isinstance(highlight, str):
        highlight = [highlight]
    elif not isinstance(highlight, Iterable):
        raise TypeError(f"highlight must be None, a group name or a list of them; got {type(highlight).__name__}")
    return {check_choice("highlight", name, GROUPS) for name in highlight}


def _mix(primary, secondary, use_primary):
    return primary if use_primary else secondary


def _line(ax, points, color, lw=1.5):
    xs, ys = zip(*points)
    ax.plot(xs, ys, color=color, lw=lw, solid_capstyle="butt", zorder=1)


def _arrow(ax, start, end, color, lw=1.5):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color, lw=lw,
                                 shrinkA=0, shrinkB=0, zorder=2))


def _dot(ax, xy, color):
    ax.add_patch(Circle(xy, 0.07, color=color, zorder=3))


def _block(ax, center, text, color):
    x, y = center
    ax.add_patch(FancyBboxPatch((x - BLOCK_W / 2, y - BLOCK_H / 2), BLOCK_W, BLOCK_H,
                                boxstyle="round,pad=0,rounding_size=0.12", facecolor=color, edgecolor=color,
                                alpha=0.9, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=13, color="white", zorder=4)


def _node(ax, center, kind, color):
    """A pointwise operation: ⊙ (kind "times") or + (kind "plus")."""
    ax.add_patch(Circle(center, NODE_R, facecolor="white", edgecolor=color, lw=1.8, zorder=3))
    if kind == "times":  # ⊙ drawn as a circle with a dot, the symbol's own shape
        ax.add_patch(Circle(center, 0.07, color=color, zorder=4))
    else:
        ax.text(*center, "+", ha="center", va="center", fontsize=15, color=color, zorder=4,
                fontweight="bold")
