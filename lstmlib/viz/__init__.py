"""Plotting helpers shared by the chapters (matplotlib)."""

from lstmlib.viz.curves import plot_loss, plot_over_time

__all__ = ["plot_loss", "plot_over_time"]
