"""Plotting helpers shared by the chapters (matplotlib), text coloured by value and tables (HTML), the CTC lattice."""

from lstmlib.viz.ctc import plot_ctc_lattice
from lstmlib.viz.curves import plot_loss, plot_over_time
from lstmlib.viz.table import table
from lstmlib.viz.text import colour_text

__all__ = ["colour_text", "plot_ctc_lattice", "plot_loss", "plot_over_time", "table"]
