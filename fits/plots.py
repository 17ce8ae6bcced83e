"""Plots for reports (matplotlib, Agg backend, imported only when a plot is made).

Every function writes one PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_point_fit", "plot_residuals", "plot_isoflop", "plot_curve_fit"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    from scaling.data import atomic_write_bytes

    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def plot_point_fit(result, path, *, boot=None, target_compute: float | None = None,
                   k: float = 6.0) -> Path:
    """Observed final losses and the fitted law, with the extrapolation band to the target.

    Chinchilla-type laws are drawn as loss vs compute with the compute-optimal frontier
    L*(C) (and its bootstrap band) out to ``target_compute``; one-variable laws as loss
    vs x with the fitted curve (and band).
    """
    from .compute_optimal import chinchilla_optimum
    from .laws import get_law

    plt = _pyplot()
    law = get_law(result.law)
    pts = result.data["points"]
    y = np.asarray(pts["loss"], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if law.variables == ("x",):
        name = next(iter(result.data["ranges"]))
        x = np.asarray(pts[name], dtype=float)
        hi = max(x.max(), target_compute or 0) * 1.2
        grid = np.geomspace(x.min() / 1.2, hi, 200)
        ax.scatter(x, y, s=14, color="C0", label="runs")
        ax.plot(grid, law.function(grid, **result.values), color="C3", label="fit")
        if boot is not None:
            band = boot.derived_interval(lambda **q: law.function(grid[None, :], **{
                p: np.asarray(v)[:, None] for p, v in q.items()}))
            ax.fill_between(grid, band[:, 0], band[:, 1], color="C3", alpha=0.2,
                            label=f"{boot.level:.0%} band")
        ax.set_xlabel(name)
    else:
        n, d = np.asarray(pts["N"], dtype=float), np.asarray(pts["D"], dtype=float)
        c = k * n * d
        hi = max(c.max(), target_compute or 0) * 1.5
        grid = np.geomspace(c.min() / 1.5, hi, 200)
        sc = ax.scatter(c, y, s=14, c=np.log10(n), cmap="viridis", label="runs")
        fig.colorbar(sc, ax=ax, label="log10 N")
        if law.name == "chinchilla":
            ax.plot(grid, chinchilla_optimum(grid, **result.values, k=k)[2], color="C3",
                    label="compute-optimal L*(C)")
            if boot is not None:
                band = boot.derived_interval(lambda **q: chinchilla_optimum(
                    grid[None, :], *(np.asarray(q[p])[:, None]
                                     for p in ("E", "A", "B", "alpha", "beta")), k=k)[2])
                ax.fill_between(grid, band[:, 0], band[:, 1], color="C3", alpha=0.2,
                                label=f"{boot.level:.0%} band")
        ax.set_xlabel(f"C (FLOPs, C = {k:g}ND)")
    if target_compute:
        ax.axvline(target_compute, color="k", ls="--", lw=1, label="target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("final loss")
    ax.set_title(f"{law.name}: {result.equation}", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_residuals(result, path) -> Path:
    """Relative residuals (observed / fitted - 1) against each variable."""
    plt = _pyplot()
    pts = result.data["points"]
    y = np.asarray(pts["loss"], dtype=float)
    resid = y / np.asarray(pts["predicted"], dtype=float) - 1.0
    names = list(result.data["ranges"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.scatter(np.asarray(pts[name], dtype=float), 100 * resid, s=12)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("residual (%)")
    fig.suptitle("residuals vs scale", fontsize=10)
    return _save(fig, path)


def plot_isoflop(plan, path, *, k: float = 6.0, n_budgets: int = 5) -> Path:
    """Loss vs N at several budgets up to the plan's, with N* marked (isoFLOP curves)."""
    from .compute_optimal import chinchilla_optimum
    from .laws import chinchilla

    plt = _pyplot()
    p = plan.fit.values
    pts = plan.fit.data["points"]
    c_lo = k * np.min(np.asarray(pts["N"]) * np.asarray(pts["D"]))
    budgets = np.geomspace(c_lo, plan.compute, n_budgets)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, c in enumerate(budgets):
        n_opt, _, l_opt = chinchilla_optimum(c, **p, k=k)
        grid = n_opt * np.geomspace(1 / 8, 8, 120)
        ax.plot(grid, chinchilla(grid, c / (k * grid), **p), color=f"C{i}",
                label=f"C = {c:.1e}")
        ax.scatter([n_opt], [l_opt], color=f"C{i}", marker="*", s=80, zorder=3)
    if plan.N_opt.ci:
        ax.axvspan(*plan.N_opt.ci, color="grey", alpha=0.2, label="N* interval (target)")
    ax.set_xscale("log")
    ax.set_xlabel("N (parameters)")
    ax.set_ylabel("loss")
    ax.set_title("isoFLOP curves from the fitted L(N, D); stars: N*", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_curve_fit(result, table, path, *, max_runs: int = 9) -> Path:
    """Observed vs predicted loss curves per run (curve laws) and their LR schedules."""
    from .curve import curves_from_table, predict_curve

    plt = _pyplot()
    run_ids = list(result.data.get("run_ids", []))
    run_ids += [r for r in result.data.get("heldout", {}) if r not in run_ids]
    curves = curves_from_table(table, run_ids[:max_runs])
    fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(7.0, 6.0), sharex=True,
                                    gridspec_kw={"height_ratios": [3, 1]})
    for i, curve in enumerate(curves):
        # the spec (not the bare LR array) carries the warmup length the laws need
        steps, pred = predict_curve(result, curve.schedule or curve.lr, curve.steps)
        fitted = curve.run_id in result.data.get("run_ids", [])
        ax.plot(curve.steps, curve.loss, color=f"C{i % 10}", lw=0.8, alpha=0.6)
        ax.plot(steps, pred, color=f"C{i % 10}", ls="-" if fitted else "--", lw=1.2,
                label=f"{curve.run_id} ({'fit' if fitted else 'held out'})")
        ax_lr.plot(np.arange(curve.lr.size), curve.lr, color=f"C{i % 10}", lw=0.8)
    ax.set_ylabel("loss (thin: observed)")
    ax.legend(fontsize=6, ncol=2)
    ax_lr.set_ylabel("LR")
    ax_lr.set_xlabel("step")
    ax.set_title(f"{result.law}: predicted vs observed curves", fontsize=9)
    return _save(fig, path)
