"""Recipe comparison: the effective compute multiplier of ladder B over ladder A.

Each ladder gets a Chinchilla fit L(N, D) and its compute-optimal frontier L*(C) (Hoffmann
et al. 2022, eq. 4). At a budget C, B's *effective compute multiplier* over A is

    m(C) = C_A(L*_B(C)) / C,

the compute A needs to reach the loss B reaches with C, divided by C (m > 1: B's recipe is
worth m times more compute). This is how architecture and data-recipe gains are usually
quoted ("compute multiplier"). The interval comes from an independent bootstrap over the
runs of each ladder, pairing resample i of A with resample i of B; a verdict is given only
at budgets where the interval excludes 1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .compute_optimal import chinchilla_compute_for_loss, chinchilla_optimum
from .prediction import DEFAULT_LEVEL
from .result import FitResult, to_jsonable

__all__ = ["Comparison", "compare_ladders", "effective_compute_multiplier"]

_KEYS = ("E", "A", "B", "alpha", "beta")


def effective_compute_multiplier(C, params_a: dict, params_b: dict, k: float = 6.0):
    """``C_A(L*_B(C)) / C``: compute A needs for B's compute-optimal loss at ``C``, over C.

    Broadcasts over arrays of parameters (bootstrap samples). NaN where B reaches a loss
    below A's irreducible loss E_A (A never gets there: an infinite multiplier).
    """
    C = np.asarray(C, dtype=float)
    qa = {key: params_a[key] for key in _KEYS}
    qb = {key: params_b[key] for key in _KEYS}
    _, _, loss_b = chinchilla_optimum(C, **qb, k=k)
    return chinchilla_compute_for_loss(loss_b, **qa, k=k) / C


@dataclass
class Comparison:
    """What ``scaling compare`` reports (see :func:`compare_ladders`)."""

    budgets: list
    level: float
    n_boot: int
    names: tuple
    fits: dict = field(repr=False)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["fits"] = {name: fit.to_dict() for name, fit in self.fits.items()}
        return to_jsonable(out)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def report(self) -> str:
        a, b = self.names
        pct = f"{100 * self.level:g}%"
        lines = [f"Effective compute multiplier of {b} over {a}",
                 f"  m(C) = compute {a} needs to reach {b}'s compute-optimal loss at C, over C",
                 f"  (Chinchilla fit per ladder; {pct} interval from {self.n_boot} paired "
                 "bootstrap resamples of each ladder's runs)", "",
                 f"  {'C (FLOPs)':>10} {'loss ' + a:>10} {'loss ' + b:>10} {'m':>7} "
                 f"{pct + ' interval':>18}  verdict"]
        for row in self.budgets:
            ci = row["ci"]
            interval = f"[{ci[0]:.3g}, {ci[1]:.3g}]" if ci else "-"
            lines.append(f"  {row['C']:10.3g} {row['loss_a']:10.4f} {row['loss_b']:10.4f} "
                         f"{row['multiplier']:7.3g} {interval:>18}  {row['verdict']}"
                         + ("  (extrapolated)" if row["extrapolated"] else ""))
        if self.warnings:
            lines += ["", "warnings"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)

    def plot(self, path=None, *, ax=None):
        """Both compute-optimal frontiers L*(C) with the runs of each ladder."""
        from .plots import _figure, _save, plain_log_ticks

        fig, ax = _figure(path, ax, (6.5, 4.5))
        cs = np.array([row["C"] for row in self.budgets])
        grid = np.geomspace(cs.min() / 3, cs.max() * 3, 100)
        for (name, fit), color in zip(self.fits.items(), ("C0", "C3")):
            pts = fit.data["points"]
            c_runs = 6.0 * np.asarray(pts["N"]) * np.asarray(pts["D"])
            ax.scatter(c_runs, pts["loss"], s=10, color=color, alpha=0.5)
            q = {key: fit.values[key] for key in _KEYS}
            ax.plot(grid, chinchilla_optimum(grid, **q)[2], color=color, label=f"{name}: L*(C)")
        ax.set(xscale="log", yscale="log", xlabel="compute C (FLOPs)", ylabel="loss",
               title="compute-optimal frontiers")
        ax.legend(fontsize=8)
        plain_log_ticks(ax)
        return _save(fig, path) if path is not None else fig


def _fit(ladder, estimator) -> FitResult:
    if isinstance(ladder, FitResult):
        if ladder.law != "chinchilla":
            raise ValueError(f"a saved fit to compare must be a Chinchilla fit, got law "
                             f"{ladder.law!r}")
        return ladder
    from .fit import ScalingLawFit, as_table

    estimator = estimator or ScalingLawFit(law="chinchilla")
    return estimator.fit(as_table(ladder), warn=False).result_


def compare_ladders(ladder_a, ladder_b, *, budgets=None, n_boot: int = 1000,
                    level: float = DEFAULT_LEVEL, seed: int = 0, estimator=None, k: float = 6.0,
                    names: tuple = ("A", "B")) -> Comparison:
    """Effective compute multiplier of recipe B over recipe A across compute budgets.

    Parameters
    ----------
    ladder_a, ladder_b : RunsTable, DataFrame, path or FitResult
        The two ladders (runs tables), or saved Chinchilla fits that store their points.
    budgets : sequence of float, optional
        Compute budgets (FLOPs). Default: 5 budgets spanning the runs of both ladders.
    n_boot : int
        Bootstrap resamples of each ladder's runs (0: no interval, no verdict).
    level : float
        Interval level.
    estimator : ScalingLawFit, optional
        How to fit each ladder (default: Chinchilla, Huber delta 1e-3, Epoch's grid).
    names : (str, str)
        Labels of the two ladders.

    Returns
    -------
    Comparison
    """
    from .bootstrap import bootstrap, with_bootstrap

    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1), got {level}")
    fits = {names[0]: _fit(ladder_a, estimator), names[1]: _fit(ladder_b, estimator)}
    fa, fb = fits.values()
    spans = []
    for fit in (fa, fb):
        pts = fit.data["points"]
        spans.append(k * np.asarray(pts["N"], dtype=float) * np.asarray(pts["D"], dtype=float))
    lo = max(s.min() for s in spans)
    hi = min(s.max() for s in spans)
    if budgets is None:
        budgets = np.geomspace(min(lo, hi), max(lo, hi), 5)
    budgets = np.asarray(budgets, dtype=float).ravel()
    if np.any(~np.isfinite(budgets) | (budgets <= 0)):
        raise ValueError("compute budgets must be finite and > 0 FLOPs")
    point = effective_compute_multiplier(budgets, fa.values, fb.values, k)
    samples, n_pairs = None, 0
    if n_boot:
        ba = bootstrap(fa, n_boot=n_boot, seed=seed, level=level)
        bb = bootstrap(fb, n_boot=n_boot, seed=seed + 1, level=level)
        fa, fb = with_bootstrap(fa, ba), with_bootstrap(fb, bb)
        fits = dict(zip(names, (fa, fb)))
        # unconverged refits are dropped by the bootstrap: pair the first m of each
        m = n_pairs = min(ba.samples["E"].size, bb.samples["E"].size)
        samples = effective_compute_multiplier(budgets[None, :],
                                               {p: ba.samples[p][:m, None] for p in _KEYS},
                                               {p: bb.samples[p][:m, None] for p in _KEYS}, k)
    notes = []
    rows = []
    for j, c in enumerate(budgets):
        row = {"C": float(c), "multiplier": float(point[j]),
               "loss_a": float(chinchilla_optimum(c, **{p: fa.values[p] for p in _KEYS}, k=k)[2]),
               "loss_b": float(chinchilla_optimum(c, **{p: fb.values[p] for p in _KEYS}, k=k)[2]),
               "ci": None, "verdict": "no interval (n_boot = 0)",
               "extrapolated": bool(c > hi * 1.01 or c < lo / 1.01)}
        if samples is not None:
            col = samples[:, j]
            never = int(np.sum(~np.isfinite(col)))
            tail = 100 * (1 - level) / 2
            # a resample where A never reaches B's loss is an infinite multiplier
            col = np.where(np.isfinite(col), col, np.inf)
            ci = np.percentile(col, [tail, 100 - tail])
            row["ci"] = [float(ci[0]), float(ci[1])]
            row["resamples_a_never_reaches"] = never
            if ci[0] > 1:
                row["verdict"] = f"{names[1]} better"
            elif ci[1] < 1:
                row["verdict"] = f"{names[0]} better"
            else:
                row["verdict"] = "no difference shown (interval contains 1)"
        rows.append(row)
    if any(r["extrapolated"] for r in rows):
        notes.append("some budgets lie outside the compute range both ladders cover; their "
                     "multipliers are extrapolations of the fitted laws")
    for fit, name in zip((fa, fb), names):
        notes.extend(f"{name}: {w}" for w in fit.warnings)
    if n_boot and n_pairs < n_boot:
        notes.append(f"{n_boot - n_pairs} resample pair(s) dropped: a refit did not converge")
    return Comparison(budgets=rows, level=level, n_boot=int(n_pairs), names=tuple(names),
                      fits=fits, warnings=notes)
