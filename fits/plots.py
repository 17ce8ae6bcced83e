"""Plots for reports and notebooks (matplotlib, imported only when a plot is made).

Library code never changes matplotlib's backend. Every function takes ``ax=None``:
- with ``path``, it draws on a fresh :class:`matplotlib.figure.Figure` (no pyplot, no
  backend needed), writes the file atomically (format from the suffix: ``.png`` at
  200 dpi, ``.svg``, ``.pdf``) and returns the path;
- without ``path``, it draws on ``ax`` (or on a new pyplot figure, which Jupyter shows
  inline) and returns the :class:`~matplotlib.figure.Figure`.
"""

from __future__ import annotations


import numpy as np

# the figure helpers live in fits/figures.py (a leaf: modules that draw import it)
from .figures import DPI, PLOT_FORMATS, new_figure, plain_log_ticks, save_figure

__all__ = ["new_figure", "save_figure", "DPI", "plot_point_fit", "plot_residuals", "left_out_points", "plot_isoflop", "plot_curve_fit", "plot_calibration",
           "PLOT_FORMATS", "plain_log_ticks"]

def _finish(fig, ax, path, *, ylabel: str, title: str, legend_size: int):
    """Log x axis, labels, title and legend; the figure saved to ``path``."""
    ax.set_xscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=legend_size)
    return save_figure(fig, path)

def left_out_points(result, table, columns) -> dict | None:
    """Final points of the runs in ``table`` that the fit did not use (dropped by
    ``drop_highest``, held out by ``split``, filtered by ``where``), as ``{column: array}``
    for ``columns`` plus ``loss``; None when there are none or no table."""
    if table is None:
        return None
    fitted = (result.data.get("points") or {}).get("run_id")
    if fitted is None:
        return None
    pts = table.points
    last = pts[~pts["run_id"].astype(str).isin(set(map(str, fitted)))]
    if last.empty:
        return None
    last = last.sort_values("step").groupby("run_id", sort=False).tail(1)
    runs = table.runs.set_index("run_id")
    out = {}
    for col in list(columns) + ["loss"]:
        if col in last.columns:
            out[col] = last[col].to_numpy(dtype=float)
        elif col in runs.columns:
            out[col] = runs[col].reindex(last["run_id"]).to_numpy(dtype=float)
        else:
            return None
    ok = np.all([np.isfinite(v) & (v > 0) for v in out.values()], axis=0)
    return {c: v[ok] for c, v in out.items()} if ok.any() else None


def _hollow(ax, x, y, label="left out of the fit"):
    ax.scatter(x, y, s=18, facecolors="none", edgecolors="0.55", linewidths=0.9, label=label,
               zorder=2)


def _interval_bands(ax, grid, value, ci, result, at, calibration, level):
    """The prediction interval of a new run (``pi``) and, lighter, the law's confidence
    interval (``ci``) along ``grid``, labelled with what each is and its level."""
    from .calibration import Calibration
    from .intervals import extrapolation
    from .laws import get_law
    from .saved import saved_calibration

    if isinstance(calibration, dict):
        calibration = Calibration.from_dict(calibration)
    if calibration is None:
        calibration = saved_calibration(result)[0]
    law = get_law(result.law)
    points = result.data["points"]
    fitted = {v: points[n] for v, n in zip(law.variables, result.data["ranges"])}
    pi = calibration.interval(value, extrapolation(fitted, at)["decades"], level, ci)
    ax.fill_between(grid, pi[:, 0], pi[:, 1], color="C3", alpha=0.18, lw=0,
                    label=f"pi {level:.0%} (new run)")
    if ci is not None:
        ax.fill_between(grid, ci[:, 0], ci[:, 1], color="C3", alpha=0.35, lw=0,
                        label=f"ci {level:.0%} (law mean)")


def plot_point_fit(result, path=None, *, boot=None, target_compute: float | None = None,
                   k: float = 6.0, ax=None, table=None, given: dict | None = None,
                   calibration=None):
    """Observed final losses and the fitted law, with the extrapolation band to the target.

    Laws in N and D are drawn as loss vs compute, with the law's compute-optimal frontier
    L*(C) when it has one (the law's ``frontier`` hook) out to ``target_compute``; a
    frontier that needs more variables (``law.frontier_given``, e.g. the unique tokens
    ``U``) takes them from ``given``, else from the largest value among the fitted runs.
    One-variable laws are drawn as loss vs x with the fitted curve. The band is the
    prediction interval of a new run (``pi``, from ``calibration``: a Calibration or its
    dict, else the fit's saved backtest or the conservative default), with the law's
    confidence interval (``ci``, from ``boot``) lighter inside it; both at ``boot.level``
    (0.9 by default). With ``table``, its runs the fit did not use (dropped, held out by
    ``split``, filtered out) are drawn as hollow grey markers.
    """
    from .prediction import DEFAULT_LEVEL

    level = boot.level if boot is not None else DEFAULT_LEVEL
    from .laws import get_law

    law = get_law(result.law)
    pts = result.data["points"]
    y = np.asarray(pts["loss"], dtype=float)
    fig, ax = new_figure(path, ax, (6.4, 4.2))
    if law.plot_axis() == "x":
        name = next(iter(result.data["ranges"]))
        x = np.asarray(pts[name], dtype=float)
        hi = max(x.max(), target_compute or 0) * 1.2
        grid = np.geomspace(x.min() / 1.2, hi, 200)
        ax.scatter(x, y, s=14, color="C0", label="fitted runs")
        out = left_out_points(result, table, [name])
        if out is not None:
            _hollow(ax, out[name], out["loss"])
        value = law.function(grid, **result.values)
        ax.plot(grid, value, color="C3", label="fit")
        band = None if boot is None else boot.derived_interval(
            lambda **q: law.function(grid[None, :], **{p: np.asarray(v)[:, None]
                                                      for p, v in q.items()}))
        _interval_bands(ax, grid, value, band, result, {law.variables[0]: grid},
                        calibration, level)
        ax.set_xlabel(name)
    else:
        n, d = np.asarray(pts["N"], dtype=float), np.asarray(pts["D"], dtype=float)
        c = k * n * d
        hi = max(c.max(), target_compute or 0) * 1.5
        grid = np.geomspace(c.min() / 1.5, hi, 200)
        sc = ax.scatter(c, y, s=14, c=np.log10(n), cmap="viridis", label="fitted runs")
        out = left_out_points(result, table, ["N", "D"])
        if out is not None:
            _hollow(ax, k * out["N"] * out["D"], out["loss"])
        fig.colorbar(sc, ax=ax, label="log10 N")
        if law.has_frontier:
            _plot_frontier(ax, law, result, grid, boot, k, given, calibration, level)
        ax.set_xlabel(f"C (FLOPs, C = {k:g}ND)")
    if target_compute:
        ax.axvline(target_compute, color="k", ls="--", lw=1, label="target")
    ax.set_yscale("log")
    return _finish(fig, ax, path, ylabel="final loss", title=f"{law.name}: {result.equation}",
                   legend_size=8)


def _plot_frontier(ax, law, result, grid, boot, k, given, calibration, level):
    """The law's compute-optimal L*(C) over ``grid`` with its ``pi`` (and ``ci``) bands."""
    pts = result.data["points"]
    given = {v: (given or {}).get(v) for v in law.frontier_given}
    for v, value in given.items():
        if value is None and v in pts:
            given[v] = float(np.max(np.asarray(pts[v], dtype=float)))
    if any(value is None for value in given.values()):
        return

    def frontier(q):
        if law.frontier_batched:
            return law.frontier(grid if np.ndim(q[law.params[0]]) == 0 else grid[None, :],
                                {p: np.asarray(v)[..., None] if np.ndim(v) else v
                                 for p, v in q.items()}, k=k, **given)
        rows = [law.frontier(c, q, k=k, **given) for c in grid]
        return tuple(np.array([r[i] for r in rows]) for i in range(3))

    n_opt, d_opt, value = frontier(result.values)
    label = "compute-optimal L*(C)" + "".join(f", {v} = {x:.3g}" for v, x in given.items())
    ax.plot(grid, value, color="C3", label=label)
    band = (boot.derived_interval(lambda **q: frontier(q)[2])
            if boot is not None and law.frontier_batched else None)
    at = {"N": np.asarray(n_opt, dtype=float), "D": np.asarray(d_opt, dtype=float)}
    at.update({v: np.full(grid.shape, x) for v, x in given.items() if v in law.variables})
    _interval_bands(ax, grid, value, band, result, at, calibration, level)


def plot_residuals(result, path=None, *, ax=None):
    """Relative residuals (observed / fitted - 1) against each variable (``ax``: one
    Axes per variable)."""
    pts = result.data["points"]
    y = np.asarray(pts["loss"], dtype=float)
    resid = y / np.asarray(pts["predicted"], dtype=float) - 1.0
    names = list(result.data["ranges"])
    if ax is not None:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    else:
        fig, axes = new_figure(path, None, (4.2 * len(names), 3.6), ncols=len(names),
                            squeeze=False, sharey=True)
        axes = axes[0]
    for i, (ax, name) in enumerate(zip(axes, names)):
        ax.scatter(np.asarray(pts[name], dtype=float), 100 * resid, s=12)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(name)
        if i == 0:
            ax.set_ylabel("residual (%)")
        # log tick labels such as 1e+09 are wide: fewer, smaller, slanted so they never overlap
        plain_log_ticks(ax, "x")
        ax.tick_params(axis="x", which="both", labelsize=7, labelrotation=30)
    if ax is None:  # never title the caller's figure
        fig.suptitle("residuals vs scale", fontsize=10)
    return save_figure(fig, path)


def plot_isoflop(plan, path=None, *, k: float = 6.0, n_budgets: int = 5, ax=None):
    """Loss vs N at several budgets up to the plan's, with N* marked (isoFLOP curves)."""
    from .laws import get_law

    law, p = get_law(plan.fit.law), plan.fit.values
    given = getattr(plan, "given", None) or {}
    pts = plan.fit.data["points"]
    c_lo = k * np.min(np.asarray(pts["N"]) * np.asarray(pts["D"]))
    budgets = np.geomspace(c_lo, plan.compute, n_budgets)
    fig, ax = new_figure(path, ax, (6.4, 4.2))
    for i, c in enumerate(budgets):
        n_opt, _, l_opt = law.frontier(c, p, k=k, **given)
        grid = n_opt * np.geomspace(1 / 8, 8, 120)
        at = {"N": grid, "D": c / (k * grid), **given}
        ax.plot(grid, law.predict(p, **at), color=f"C{i}", label=f"C = {c:.1e}")
        ax.scatter([n_opt], [l_opt], color=f"C{i}", marker="*", s=80, zorder=3)
    if plan.N_opt.ci:
        ax.axvspan(*plan.N_opt.ci, color="grey", alpha=0.2, label="N* interval (target)")
    ax.set_xlabel("N (parameters)")
    return _finish(fig, ax, path, ylabel="loss",
                   title=f"isoFLOP curves from the fitted {law.name} law; stars: N*",
                   legend_size=7)


def plot_curve_fit(result, table, path=None, *, max_runs: int = 9, ax=None):
    """Observed vs predicted loss curves per run (curve laws) and their LR schedules."""
    from .curve import curves_from_table, predict_curve

    run_ids = list(result.data.get("run_ids", []))
    run_ids += [r for r in result.data.get("heldout", {}) if r not in run_ids]
    curves = curves_from_table(table, run_ids[:max_runs])
    if ax is not None:  # one Axes (loss curves only) or a pair (loss axes, LR axes)
        ax, ax_lr = (ax, None) if not isinstance(ax, (tuple, list, np.ndarray)) else ax
        fig = ax.figure
    else:
        fig, (ax, ax_lr) = new_figure(path, None, (7.0, 6.0), nrows=2, sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    for i, curve in enumerate(curves):
        # the spec (not the bare LR array) carries the warmup length the laws need
        steps, pred = predict_curve(result, curve.schedule or curve.lr, curve.steps)
        fitted = curve.run_id in result.data.get("run_ids", [])
        ax.plot(curve.steps, curve.loss, color=f"C{i % 10}", lw=0.8, alpha=0.6)
        ax.plot(steps, pred, color=f"C{i % 10}", ls="-" if fitted else "--", lw=1.2,
                label=f"{curve.run_id} ({'fit' if fitted else 'held out'})")
        if ax_lr is not None:
            ax_lr.plot(np.arange(curve.lr.size), curve.lr, color=f"C{i % 10}", lw=0.8)
    ax.set_ylabel("loss (thin: observed)")
    ax.legend(fontsize=6, ncol=2)
    if ax_lr is not None:
        ax_lr.set_ylabel("LR")
        ax_lr.set_xlabel("step")
    else:
        ax.set_xlabel("step")
    ax.set_title(f"{result.law}: predicted vs observed curves", fontsize=9)
    return save_figure(fig, path)


def plot_calibration(calibration: dict, path=None, *, ax=None):
    """Held-out |log error| of the calibration backtests against the extrapolation
    distance, one colour per cut, with the prediction interval's half-width (its growth
    law ``m * sqrt(s0^2 + (r d)^2)``) over them (``calibration``: a
    :meth:`fits.intervals.Calibration.to_dict` with its level)."""
    fig, ax = new_figure(path, ax, (5.2, 3.6))
    points = calibration.get("points") or []
    cuts = sorted({p["cut"] for p in points})
    for cut in cuts:
        mine = [p for p in points if p["cut"] == cut]
        ax.scatter([p["distance"] for p in mine], [100 * abs(p["log_error"]) for p in mine],
                   s=10, alpha=0.7, label=f"largest {cut:.0%} held out")
    d_max = max([p["distance"] for p in points] + [calibration.get("max_distance", 0), 1.0])
    grid = np.linspace(0, 1.1 * d_max, 100)
    s0, r = calibration["scatter"], calibration["rate_per_decade"]
    m = calibration.get("multiplier", 1.645)
    ax.plot(grid, 100 * m * np.sqrt(s0 ** 2 + (r * grid) ** 2), color="k",
            label=f"{calibration.get('level', 0.9):.0%} PI half-width (excl. CI): "
                  f"{m:.2f} sqrt({s0:.3f}^2 + ({r:.3f} d)^2)")
    ax.set_xlabel("extrapolation distance d (decades past the refit's range)")
    ax.set_ylabel("|held-out log error| (%)")
    ax.set_title(f"prediction-interval calibration ({calibration.get('method', '')})",
                 fontsize=10)
    ax.legend(fontsize=6, ncol=2)
    return save_figure(fig, path)


# the old private names, still imported by fits/curve/predict.py
# (file under change when the helpers became public); remove once it imports the
# public names
_figure, _save, _DPI = new_figure, save_figure, DPI
