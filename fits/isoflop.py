"""Approach 2 done right: isoFLOP minima per budget, N*(C) ~ C^a with a bootstrap interval.

Hoffmann et al. 2022 (arXiv 2203.15556, Sec. 3.2) fit a parabola to each isoFLOP profile
(loss against log N at fixed compute C) and read off the minimum; a power law through the
minima gives ``N*(C) = G C^a``. Porian et al. 2024 ("Resolving Discrepancies in
Compute-Optimal Scaling of Language Models", arXiv 2406.19146, Sec. 2 and App. B) show how
much the choices matter and what makes the estimate stable; we follow them:

- the profile is log loss against log N, fitted on a *window* around the lowest point
  (``window`` decades either side, widened to at least ``min_points`` sizes) instead of
  one parabola through every size of the budget, whose far ends are not parabolic;
- ``method="interp"`` replaces the parabola by a monotone-free cubic (Akima) interpolant
  through the budget's points, minimized on a fine grid (no shape assumption);
- a budget whose lowest point is its smallest or largest size is *kept* (dropping it biases
  a toward the sampled sizes) but flagged ``edge``, and its minimum is extrapolated by at most
  half a window;
- the interval on a (and b = 1 - a under C = k N D) comes from a bootstrap over runs,
  resampling within each budget, so it reflects the noise of every minimum.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .prediction import DEFAULT_LEVEL

from .compute_optimal import PowerLawFit, isoflop_groups
from .result import to_jsonable

__all__ = ["IsoflopResult", "isoflop_fit", "isoflop_from_table", "ISOFLOP_METHODS"]

ISOFLOP_METHODS = ("parabola", "interp")
_LN10 = float(np.log(10.0))


@dataclass
class IsoflopResult:
    """What ``scaling isoflop`` reports (see :func:`isoflop_fit`)."""

    budgets: list
    skipped: list
    a: float
    b: float
    coef: float
    a_ci: tuple | None
    b_ci: tuple | None
    level: float
    n_boot: int
    method: str
    window: float
    k: float
    r2: float
    warnings: list = field(default_factory=list)
    #: the points behind the fit, for plots: N, C, loss and budget index (-1: none)
    points: dict = field(default_factory=dict, repr=False)
    a_samples: np.ndarray | None = field(default=None, repr=False)

    @property
    def N_opt(self) -> PowerLawFit:
        """``N*(C) = coef C^a`` (a callable, as :func:`approach2_isoflop` returned)."""
        return PowerLawFit(self.a, self.coef, len(self.budgets), self.r2)

    @property
    def D_opt(self) -> PowerLawFit:
        """``D*(C) = C / (k N*(C))``."""
        return PowerLawFit(self.b, 1.0 / (self.k * self.coef), len(self.budgets), self.r2)

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("points", "a_samples")}
        out["method_description"] = _describe(self.method, self.window)
        return to_jsonable(out)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def report(self) -> str:
        pct = f"{100 * self.level:g}%"
        lines = ["Approach 2 (isoFLOP profiles)",
                 f"  {_describe(self.method, self.window)}",
                 f"  N*(C) = {self.coef:.4g} C^a   a = {self.a:.4f}"
                 + (f"  [{self.a_ci[0]:.4f}, {self.a_ci[1]:.4f}] {pct}" if self.a_ci else ""),
                 f"  D*(C) ~ C^b              b = {self.b:.4f}"
                 + (f"  [{self.b_ci[0]:.4f}, {self.b_ci[1]:.4f}] {pct}" if self.b_ci else ""),
                 f"  {len(self.budgets)} budgets, R^2 of log N* vs log C = {self.r2:.4f}"
                 + (f", bootstrap {self.n_boot} resamples of runs within budgets"
                    if self.n_boot else ""),
                 "",
                 f"  {'C (FLOPs)':>10} {'N*':>10} {'D*':>10} {'D*/N*':>7} {'loss*':>7} "
                 f"{'used':>6}  flag"]
        for row in self.budgets:
            lines.append(f"  {row['C']:10.3g} {row['N_opt']:10.3g} {row['D_opt']:10.3g} "
                         f"{row['D_opt'] / row['N_opt']:7.1f} {row['loss_opt']:7.4f} "
                         f"{row['n_used']:>3}/{row['n_points']:<2}  {row['flag'] or ''}")
        for row in self.skipped:
            lines.append(f"  {row['C']:10.3g}  skipped: {row['reason']}")
        if self.warnings:
            lines += ["", "warnings"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)

    def plot(self, path=None, *, ax=None):
        """Data per budget with the fitted profiles, and the N*(C) line (two panels)."""
        from .isoflop_plot import plot_isoflop_profiles

        return plot_isoflop_profiles(self, path, ax=ax)


def _describe(method: str, window: float) -> str:
    if method == "parabola":
        return (f"per budget: parabola of log loss vs log N on the sizes within {window:g} "
                "decades of the lowest point (at least 3 sizes)")
    return "per budget: Akima interpolant of log loss vs log N through every size, minimized"


# -- one budget -------------------------------------------------------------------------
def _parabola_minima(x, y, counts, window, min_points):
    """Vertex of a weighted parabola per row of ``counts`` (S, n): (x*, y*, used, flag)."""
    S, n = counts.shape
    valid = counts > 0
    y_masked = np.where(valid, y[None, :], np.inf)
    best = np.argmin(y_masked, axis=1)
    x_best = x[best]
    xu = np.unique(x)
    present = np.stack([(valid & (x[None, :] == u)).any(axis=1) for u in xu], axis=1)
    du = np.where(present, np.abs(xu[None, :] - x_best[:, None]), np.inf)
    kth = np.sort(du, axis=1)[:, min(min_points, xu.size) - 1]
    reach = np.maximum(window * _LN10, kth) * (1 + 1e-9)
    mask = valid & (np.abs(x[None, :] - x_best[:, None]) <= reach[:, None])
    w = counts * mask
    t = x[None, :] - x_best[:, None]  # centred for conditioning
    moments = [np.sum(w * t ** p, axis=1) for p in range(5)]
    rhs = [np.sum(w * y[None, :] * t ** p, axis=1) for p in range(3)]
    mat = np.stack([np.stack([moments[i + j] for j in range(3)], axis=-1) for i in range(3)],
                   axis=-2)
    vec = np.stack(rhs, axis=-1)
    distinct = np.sum(np.stack([(mask & (x[None, :] == u)).any(axis=1) for u in xu], axis=1),
                      axis=1)
    ok = distinct >= 3
    coef = np.full((S, 3), np.nan)
    if ok.any():
        coef[ok] = np.linalg.solve(mat[ok] + 1e-12 * np.eye(3), vec[ok][:, :, None])[:, :, 0]
    c0, c1, c2 = coef[:, 0], coef[:, 1], coef[:, 2]
    flags = np.full(S, None, dtype=object)
    curved = ok & (c2 > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_star = np.where(curved, -c1 / (2 * c2), 0.0)
    x_lo = np.where(valid, x[None, :], np.inf).min(axis=1)
    x_hi = np.where(valid, x[None, :], -np.inf).max(axis=1)
    edge = (x_best <= x_lo) | (x_best >= x_hi)
    slack = 0.5 * window * _LN10
    x_star = np.clip(x_best + t_star, x_lo - slack, x_hi + slack)
    with np.errstate(invalid="ignore"):
        y_star = np.where(curved, c0 - c1 ** 2 / (4 * c2), y[best])
    flags[edge] = "edge"
    flags[~curved] = "no curvature (lowest point used)"
    return x_star, y_star, mask.sum(axis=1), flags


def _interp_minimum(x, y, weights):
    """Minimum of an Akima interpolant of the weighted mean log loss at each distinct size."""
    from scipy.interpolate import Akima1DInterpolator

    keep = weights > 0
    # sizes read off a figure differ in the 6th digit: one knot per size (1e-3 in ln N)
    xu, inverse = np.unique(np.round(x[keep], 3), return_inverse=True)
    ybar = np.bincount(inverse, weights=(weights * y)[keep]) / np.bincount(inverse,
                                                                        weights=weights[keep])
    best = int(np.argmin(ybar))
    flag = "edge" if best in (0, xu.size - 1) else None
    if xu.size < 3:
        return xu[best], ybar[best], int(keep.sum()), "no curvature (lowest point used)"
    grid = np.linspace(xu[max(best - 1, 0)], xu[min(best + 1, xu.size - 1)], 401)
    values = Akima1DInterpolator(xu, ybar)(grid)
    i = int(np.nanargmin(values))
    return grid[i], values[i], int(keep.sum()), flag


def _budget_minima(x, y, counts, method, window, min_points):
    if method == "parabola":
        return _parabola_minima(x, y, counts, window, min_points)
    out = [_interp_minimum(x, y, row) for row in counts]
    xs, ys, used, flags = zip(*out)
    return np.array(xs), np.array(ys), np.array(used), np.array(flags, dtype=object)


# -- all budgets ------------------------------------------------------------------------
def _slope(log_c, log_n):
    """OLS slope and intercept of log N* on log C for each row (S, B)."""
    xc = log_c - log_c.mean()
    slope = (log_n - log_n.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)
    return slope, log_n.mean(axis=-1) - slope * log_c.mean()


def isoflop_fit(N, C, loss, *, method: str = "parabola", window: float = 0.5,
                min_points: int = 3, width: float = 0.1, n_boot: int = 1000,
                level: float = DEFAULT_LEVEL, seed: int = 0, k: float = 6.0,
                drop_edge: bool = False) -> IsoflopResult:
    """Approach 2: per-budget minima of log loss vs log N, then ``N*(C) = G C^a``.

    Parameters
    ----------
    N, C, loss : arrays
        Parameters, training FLOPs and final loss of each run.
    method : {"parabola", "interp"}
        Windowed parabola (Hoffmann et al. 2022; Porian et al. 2024) or an Akima
        interpolant minimized on a fine grid.
    window : float
        Half-width in decades of log N around each budget's lowest point (parabola).
    min_points : int
        Fewest distinct sizes a budget needs (and the window is widened to).
    width : float
        Decades within which runs belong to one compute budget (see ``isoflop_groups``).
    n_boot : int
        Bootstrap resamples of runs within each budget (0: no interval).
    level : float
        Interval level.
    k : float
        FLOPs per parameter per token (D* = C / (k N*)).
    drop_edge : bool
        Leave budgets whose lowest point is an end size out of the power law (default:
        keep and flag them).

    Returns
    -------
    IsoflopResult

    Raises
    ------
    ValueError
        Bad arguments, or fewer than 2 usable budgets.
    """
    if method not in ISOFLOP_METHODS:
        raise ValueError(f"`method` must be one of {list(ISOFLOP_METHODS)}, got {method!r}")
    if not (window > 0 and 0 < level < 1 and min_points >= 3 and n_boot >= 0):
        raise ValueError("need window > 0, 0 < level < 1, min_points >= 3 and n_boot >= 0; got "
                         f"window={window}, level={level}, min_points={min_points}, "
                         f"n_boot={n_boot}")
    N, C, loss = (np.asarray(v, dtype=float).ravel() for v in (N, C, loss))
    for name, arr in (("N", N), ("C", C), ("loss", loss)):
        bad = ~np.isfinite(arr) | (arr <= 0)
        if bad.any():
            raise ValueError(f"{name} must be finite and > 0; bad value {arr[bad][0]!r} at row "
                             f"{np.flatnonzero(bad)[0]}")
    labels = isoflop_groups(C, width)
    rng = np.random.default_rng(seed)
    budgets, skipped, boot_x, notes = [], [], [], []
    n_loose = int(np.sum(labels < 0))
    if n_loose:
        notes.append(f"{n_loose} run(s) are not within {width:g} decades of any compute budget "
                     "and are not used (widen --width if the budgets are noisy)")
    for label in np.unique(labels[labels >= 0]):
        sel = np.flatnonzero(labels == label)
        c_budget = float(np.exp(np.mean(np.log(C[sel]))))
        if np.unique(N[sel]).size < min_points:
            skipped.append({"C": c_budget, "reason": f"fewer than {min_points} model sizes"})
            continue
        x, y = np.log(N[sel]), np.log(loss[sel])
        x_star, y_star, used, flags = _budget_minima(x, y, np.ones((1, sel.size)), method,
                                                     window, min_points)
        if drop_edge and flags[0] == "edge":
            skipped.append({"C": c_budget, "reason": "lowest point at an end size (drop_edge)"})
            continue
        n_opt = float(np.exp(x_star[0]))
        budgets.append({"C": c_budget, "N_opt": n_opt, "D_opt": c_budget / (k * n_opt),
                        "loss_opt": float(np.exp(y_star[0])), "n_points": int(sel.size),
                        "n_used": int(used[0]), "flag": flags[0], "label": int(label)})
        if n_boot:
            counts = rng.multinomial(sel.size, np.full(sel.size, 1.0 / sel.size), size=n_boot)
            boot_x.append(_budget_minima(x, y, counts, method, window, min_points)[0])
    if len(budgets) < 2:
        raise ValueError(f"Approach 2 needs at least 2 compute budgets with {min_points}+ model "
                         f"sizes; found {len(budgets)} (budgets: {len(budgets) + len(skipped)})")
    log_c = np.log([b["C"] for b in budgets])
    log_n = np.log([b["N_opt"] for b in budgets])
    a, intercept = _slope(log_c, log_n)
    resid = log_n - (a * log_c + intercept)
    total = np.sum((log_n - log_n.mean()) ** 2)
    r2 = float(1 - np.sum(resid ** 2) / total) if total > 0 else float("nan")
    a_ci = b_ci = samples = None
    if n_boot:
        samples, _ = _slope(log_c, np.column_stack(boot_x))
        tail = 100 * (1 - level) / 2
        lo, hi = np.nanpercentile(samples, [tail, 100 - tail])
        a_ci, b_ci = (float(lo), float(hi)), (float(1 - hi), float(1 - lo))
    edges = [b for b in budgets if b["flag"] == "edge"]
    if edges:
        notes.append(f"{len(edges)} of {len(budgets)} budgets have their lowest loss at the "
                     "smallest or largest size trained (flag 'edge'): their minimum is "
                     "extrapolated; add sizes beyond that end")
    if len(budgets) < 4:
        notes.append(f"only {len(budgets)} budgets: the exponent a rests on very few minima")
    for row in budgets:
        row.pop("label")
    return IsoflopResult(budgets=budgets, skipped=skipped, a=float(a), b=float(1 - a),
                         coef=float(np.exp(intercept)), a_ci=a_ci, b_ci=b_ci, level=level,
                         n_boot=int(n_boot), method=method, window=float(window), k=float(k),
                         r2=r2, warnings=notes,
                         points={"N": N, "C": C, "loss": loss, "budget": labels},
                         a_samples=samples)


def isoflop_from_table(table, **options) -> IsoflopResult:
    """:func:`isoflop_fit` on the final point of every run of a runs table (C = k N D
    unless the table has a ``C`` column)."""
    from .fit import as_table

    table = as_table(table)
    final = table.final_points()
    if not table.meta.get("tokens_known", True) or final["D"].isna().any():
        raise ValueError("Approach 2 needs each run's compute: a D (tokens), C or "
                         "tokens_per_step column; this table has no token counts")
    k = options.get("k", 6.0)
    if "C" in final and final["C"].notna().all():
        compute = final["C"].to_numpy(dtype=float)
    else:
        compute = k * final["N"].to_numpy(dtype=float) * final["D"].to_numpy(dtype=float)
    return isoflop_fit(final["N"].to_numpy(dtype=float), compute,
                       final["loss"].to_numpy(dtype=float), **options)
