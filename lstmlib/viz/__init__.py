"""Plotting helpers shared by the chapters (matplotlib), and text coloured by value (HTML)."""

from lstmlib.viz.curves import plot_loss, plot_over_time
from lstmlib.viz.text import colour_text

__all__ = ["colour_text", "plot_loss", "plot_over_time"]
