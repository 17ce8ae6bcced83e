"""Plot of an Approach-2 analysis: the runs of each budget with their fitted profiles, and
the minima with the N*(C) power law (matplotlib imported only here)."""

from __future__ import annotations

import numpy as np

from .figures import new_figure, plain_log_ticks, save_figure

__all__ = ["plot_isoflop_profiles"]


def plot_isoflop_profiles(result, path=None, *, ax=None):
    """Two panels: loss vs N per budget (data, fitted profile, minimum; open marker =
    flagged budget) and N* vs C with the fitted line.

    ``ax`` may be a pair of axes. With ``path`` the figure is written there and the path
    returned; otherwise the figure is returned.
    """
    if ax is not None:
        fig, (left, right) = ax[0].figure, ax
    else:
        fig, axes = new_figure(path, None, (11, 4.5), ncols=2)
        left, right = axes
    pts = result.points
    cmap = _colormap(len(result.budgets))
    labels = np.asarray(pts["budget"])
    budget_c = np.array([b["C"] for b in result.budgets])
    for i, row in enumerate(result.budgets):
        # the points of this budget: those whose label's mean compute matches row["C"]
        sel = _members(pts, labels, row["C"])
        color = cmap(i)
        left.scatter(pts["N"][sel], pts["loss"][sel], s=12, color=color, alpha=0.7)
        x = np.log(pts["N"][sel])
        y = np.log(pts["loss"][sel])
        if result.method == "parabola" and x.size >= 3:
            near = np.abs(x - np.log(row["N_opt"])) <= max(result.window * np.log(10), 1e-9) * 1.5
            if np.unique(x[near]).size >= 3:
                coef = np.polyfit(x[near], y[near], 2)
                grid = np.linspace(x[near].min(), x[near].max(), 100)
                left.plot(np.exp(grid), np.exp(np.polyval(coef, grid)), color=color, lw=1)
        else:
            order = np.argsort(x)
            left.plot(np.exp(x[order]), np.exp(y[order]), color=color, lw=0.8)
        left.scatter([row["N_opt"]], [row["loss_opt"]], marker="*", s=90,
                     facecolor="none" if row["flag"] else color, edgecolor=color,
                     label=f"C = {row['C']:.2g}" + (f" ({row['flag']})" if row["flag"] else ""))
    left.set(xscale="log", yscale="log", xlabel="parameters N", ylabel="final loss",
             title="isoFLOP profiles (star: minimum; open: flagged)")
    left.legend(fontsize=6, ncol=2)
    plain_log_ticks(left)
    n_opt = np.array([b["N_opt"] for b in result.budgets])
    flagged = np.array([bool(b["flag"]) for b in result.budgets])
    right.scatter(budget_c[~flagged], n_opt[~flagged], color="C0", label="budget minimum")
    if flagged.any():
        right.scatter(budget_c[flagged], n_opt[flagged], facecolor="none", edgecolor="C3",
                      label="flagged minimum")
    line = np.geomspace(budget_c.min() / 2, budget_c.max() * 2, 50)
    label = f"N* = {result.coef:.3g} C^{result.a:.3f}"
    if result.a_ci:
        label += f"  (a in [{result.a_ci[0]:.3f}, {result.a_ci[1]:.3f}])"
    right.plot(line, result.N_opt(line), color="k", lw=1, label=label)
    right.set(xscale="log", yscale="log", xlabel="compute C (FLOPs)", ylabel="N*",
              title="Approach 2: compute-optimal size")
    right.legend(fontsize=7)
    plain_log_ticks(right)
    if path is not None:
        return save_figure(fig, path)
    return fig


def _members(pts, labels, c_budget):
    """Runs of the budget whose geometric-mean compute is ``c_budget``."""
    best, best_gap = None, np.inf
    for label in np.unique(labels[labels >= 0]):
        sel = labels == label
        gap = abs(np.mean(np.log(pts["C"][sel])) - np.log(c_budget))
        if gap < best_gap:
            best, best_gap = sel, gap
    return best


def _colormap(n):
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return lambda i: cmap(i / max(n - 1, 1))
