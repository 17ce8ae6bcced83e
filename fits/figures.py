"""Figure helpers every plot shares: a figure to draw on, plain log ticks, and writing a
figure atomically (format from the file's suffix). matplotlib is imported only when a
figure is made."""

from __future__ import annotations

from pathlib import Path


__all__ = ["DPI", "PLOT_FORMATS", "new_figure", "plain_log_ticks", "save_figure"]

#: File formats a plot can be written in (chosen by the file's suffix).
PLOT_FORMATS = ("png", "svg", "pdf")
DPI = 200  # print resolution for PNG


def new_figure(path, ax, figsize, **subplots):
    """(figure, axes): the caller's ``ax``; a backend-free Figure when writing a file;
    else a pyplot figure (shown inline by notebooks)."""
    if ax is not None:
        return ax.figure, ax
    if path is not None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        return fig, fig.subplots(**subplots)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, **subplots)


def plain_log_ticks(ax, axis: str = "both") -> None:
    """Label log axes with plain numbers (``3``, ``0.5``, ``1e+21``), never ``3x10^0``."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    def label(value, _pos):
        return f"{value:g}"

    for name in ("x", "y") if axis == "both" else (axis,):
        target = ax.xaxis if name == "x" else ax.yaxis
        if (ax.get_xscale() if name == "x" else ax.get_yscale()) != "log":
            continue
        lo, hi = ax.get_xlim() if name == "x" else ax.get_ylim()
        target.set_major_formatter(FuncFormatter(label))
        if hi / max(lo, 1e-300) < 100:  # under two decades: label the minor ticks too
            target.set_minor_locator(LogLocator(subs=(2, 3, 5)))
            target.set_minor_formatter(FuncFormatter(label))
        else:
            target.set_minor_formatter(FuncFormatter(lambda v, p: ""))


def save_figure(fig, path):
    """Write ``fig`` to ``path`` (format from the suffix) and return the path; without
    a path, return the figure."""
    if path is None:
        return fig
    import io

    from scaling.data import atomic_write_bytes

    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    if fmt not in PLOT_FORMATS:
        raise ValueError(f"plot format must be one of {list(PLOT_FORMATS)}, got {fmt!r} "
                         f"(from {str(path)!r})")
    for ax in fig.axes:
        plain_log_ticks(ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=DPI, bbox_inches="tight")
    return atomic_write_bytes(path, buffer.getvalue())
