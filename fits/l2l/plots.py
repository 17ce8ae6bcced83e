"""Plot of a loss-to-loss (or loss-to-task) result: each group's fitted link, the points
it was fitted on and its held-out points with their intervals."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_l2l"]


def plot_l2l(result, path=None, *, ax=None, max_groups: int = 10):
    """One curve per group over its fitted and held-out x; returns the path (or figure).

    Parameters
    ----------
    result : L2LResult
    path : path, optional
        Write the plot here (format from the suffix); else return the figure.
    ax : matplotlib axes, optional
    max_groups : int
        Groups drawn (the first ones).
    """
    from ..figures import new_figure, save_figure
    from .result import LINK_LAWS

    law = LINK_LAWS[result.law]
    fig, ax = new_figure(path, ax, (6.0, 4.5))
    fitted = [(name, g) for name, g in result.groups.items() if g.fit is not None]
    for i, (name, g) in enumerate(fitted[:max_groups]):
        color = f"C{i % 10}"
        points = g.fit.data.get("points") or {}
        x_fit = np.asarray(points.get("x") or [], dtype=float)
        y_fit = np.asarray(points.get("y") or [], dtype=float)
        held = g.heldout or {}
        x_held = np.asarray(held.get("x") or [], dtype=float)
        xs = np.concatenate([x_fit, x_held])
        if xs.size:
            grid = np.linspace(xs.min(), xs.max(), 200)
            with np.errstate(invalid="ignore"):
                ax.plot(grid, law.function(grid, **g.params), color=color, lw=1.2, label=name)
        ax.scatter(x_fit, y_fit, s=8, color=color, alpha=0.6)
        if x_held.size:
            if held.get("lower") is not None and held.get("upper") is not None:
                ax.vlines(x_held, np.asarray(held["lower"], float),
                          np.asarray(held["upper"], float), color=color, lw=0.6, alpha=0.5)
            ax.scatter(x_held, np.asarray(held["y"], float), marker="x", s=20, color=color)
    ax.set_xlabel(result.x)
    ax.set_ylabel(result.y)
    ax.set_title(f"{result.law}: dots fitted, crosses held out (bars: intervals)", fontsize=9)
    if fitted:
        ax.legend(fontsize=6)
    return save_figure(fig, path)
