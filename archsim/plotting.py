"""Figures without pyplot: matplotlib's object-oriented API on an Agg canvas.

No global state is touched (no `matplotlib.use`, no pyplot figure registry, no rcParams), so
archsim can draw inside any host process (a notebook, a GUI) without switching its backend.
`pyplot` below offers the two calls our plotting code uses, `subplots` and `close`, with
pyplot's signatures.
"""
from __future__ import annotations


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs):
    """(figure, axes) like `pyplot.subplots`, but a standalone Figure on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    subplot_kw = {k: kwargs.pop(k) for k in ("sharex", "sharey", "squeeze", "subplot_kw",
                                             "gridspec_kw", "width_ratios", "height_ratios")
                  if k in kwargs}
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **subplot_kw)


class _PyplotFree:
    """The `subplots` / `close` subset of pyplot on standalone figures."""

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
        return new_figure(nrows, ncols, **kwargs)

    @staticmethod
    def close(fig) -> None:
        fig.clear()  # a standalone figure is freed with its last reference


pyplot = _PyplotFree()
