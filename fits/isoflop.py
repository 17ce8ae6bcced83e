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

from scaling.data.options import Options

from .prediction import DEFAULT_LEVEL

from .loglog import PowerLawFit, isoflop_groups
from .result import to_jsonable

__all__ = ["IsoflopResult", "IsoflopOptions", "isoflop_fit", "isoflop_from_table", "ISOFLOP_METHODS"]

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
    intercept_samples: np.ndarray | None = field(default=None, repr=False)
    #: standard error of the slope of log N* on log C (regression residuals)
    a_se: float = 0.0
    #: method="auto": every candidate estimator with its exponent and left-out error
    selection: list = field(default_factory=list)
    #: smallest and largest budget in the power law (FLOPs)
    fit_range: tuple = (float("nan"), float("nan"))

    @property
    def N_opt(self) -> PowerLawFit:
        """``N*(C) = coef C^a`` (a callable, as :func:`approach2_isoflop` returned)."""
        return PowerLawFit(self.a, self.coef, len(self.budgets), self.r2)

    @property
    def D_opt(self) -> PowerLawFit:
        """``D*(C) = C / (k N*(C))``."""
        return PowerLawFit(self.b, 1.0 / (self.k * self.coef), len(self.budgets), self.r2)

    def predict_N(self, C, level: float | None = None):
        """Compute-optimal N* at budget(s) ``C`` with its interval, as a
        :class:`~scaling.fits.prediction.Prediction` (``quantity="N*"``). The interval
        (``ci``: where the optimum is, not a run's loss) combines the wild-bootstrap spread
        of the power law with the regression's own uncertainty at ``log C``; extrapolation is
        in decades of compute past the budgets fitted."""
        from statistics import NormalDist

        from .prediction import Prediction

        level = self.level if level is None else level
        C = np.atleast_1d(np.asarray(C, dtype=float))
        if not np.all(np.isfinite(C) & (C > 0)):
            raise ValueError(f"compute budgets must be finite and > 0; got {C.tolist()}")
        log_c = np.log([b["C"] for b in self.budgets])
        log_n = np.log([b["N_opt"] for b in self.budgets])
        x0 = np.log(C)
        centre = np.log(self.coef) + self.a * x0
        resid = log_n - (self.a * log_c + np.log(self.coef))
        dof = max(log_c.size - 2, 1)
        sxx = float(np.sum((log_c - log_c.mean()) ** 2))
        var = np.sum(resid ** 2) / dof * (1 / log_c.size + (x0 - log_c.mean()) ** 2 / sxx)
        if self.a_samples is not None and self.intercept_samples is not None:
            draws = self.intercept_samples[:, None] + self.a_samples[:, None] * x0[None, :]
            var = var + robust_sd(draws, axis=0) ** 2
        z = NormalDist().inv_cdf(0.5 + level / 2)
        half = z * np.sqrt(var)
        lo, hi = self.fit_range
        decades = np.maximum(np.log10(C / hi), np.log10(lo / C)).clip(min=0)
        notes = [f"N* at {c:.3g} FLOPs is {d:.1f} decades outside the budgets fitted "
                 f"({lo:.3g}-{hi:.3g})" for c, d in zip(C, decades) if d > 1]
        return Prediction(value=np.exp(centre), ci=np.exp(np.column_stack([centre - half,
                                                                          centre + half])),
                          level=level, at={"C": C}, extrapolation=decades,
                          quantity="N*", law="isoFLOP power law N* = G C^a",
                          interval_method="wild bootstrap + regression", warnings=notes)

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items()
               if k not in ("points", "a_samples", "intercept_samples")}
        out["method_description"] = _describe(self.method, self.window)
        return to_jsonable(out)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def report(self) -> str:
        pct = f"{100 * self.level:g}%"
        lines = ["Approach 2 (isoFLOP profiles)",
                 f"  {_describe(self.method, self.window)}",
                 f"  N*(C) = {self.coef:.4g} C^a   a = {self.a:.4f}"
                 + (f"  [{self.a_ci[0]:.4f}, {self.a_ci[1]:.4f}] ({pct} ci)" if self.a_ci
                    else ""),
                 f"  D*(C) ~ C^b              b = {self.b:.4f}"
                 + (f"  [{self.b_ci[0]:.4f}, {self.b_ci[1]:.4f}] ({pct} ci)" if self.b_ci
                    else ""),
                 f"  {len(self.budgets)} budgets, R^2 of log N* vs log C = {self.r2:.4f}"
                 + (f"; ci: {self.n_boot} wild-bootstrap resamples of each budget's losses "
                    "+ the regression's slope error" if self.n_boot
                    else "; ci from the regression's slope error"),
                 "",
                 f"  {'C (FLOPs)':>10} {'N*':>10} {'D*':>10} {'D*/N*':>7} {'loss*':>7} "
                 f"{'used':>6}  flag"]
        for row in self.budgets:
            lines.append(f"  {row['C']:10.3g} {row['N_opt']:10.3g} {row['D_opt']:10.3g} "
                         f"{row['D_opt'] / row['N_opt']:7.1f} {row['loss_opt']:7.4f} "
                         f"{row['n_used']:>3}/{row['n_points']:<2}  {row['flag'] or ''}")
        for row in self.skipped:
            lines.append(f"  {row['C']:10.3g}  skipped: {row['reason']}")
        if self.selection:
            lines += ["", "  estimator chosen by leave-one-budget-out error of log10 N* "
                          "(decades) on this table"]
            for t in self.selection:
                name = t["method"] + (f" window {t['window']:g}" if t["window"] else "")
                lines.append(f"  {name:<22} a = {t['a']:.4f}  left-out error "
                             f"{t['loo_decades']:.4f}{'  <- chosen' if t.get('chosen') else ''}")
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
    Y = np.broadcast_to(y, (S, n))
    valid = counts > 0
    y_masked = np.where(valid, Y, np.inf)
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
    rhs = [np.sum(w * Y * t ** p, axis=1) for p in range(3)]
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
        y_star = np.where(curved, c0 - c1 ** 2 / (4 * c2), Y[np.arange(S), best])
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
    Y = np.broadcast_to(y, counts.shape)
    out = [_interp_minimum(x, y_row, row) for y_row, row in zip(Y, counts)]
    xs, ys, used, flags = zip(*out)
    return np.array(xs), np.array(ys), np.array(used), np.array(flags, dtype=object)


_BOOT = "wild"


def _profile_smooth(x, y):
    """A smooth of one budget's profile (log loss vs log N) and the noise of its losses:
    a polynomial of the highest degree (up to 5) that leaves at least 3 residual degrees of
    freedom, so the profile's own shape is not passed off as noise."""
    distinct = np.unique(np.round(x, 6)).size
    degree = int(max(1, min(5, distinct - 4)))
    centre = x.mean()
    fitted = np.polyval(np.polyfit(x - centre, y, degree), x - centre)
    dof = max(x.size - degree - 1, 1)
    return fitted, float(np.sqrt(np.sum((y - fitted) ** 2) / dof))


def _resampled_minima(x, y, n_boot, rng, method, window, min_points, how):
    """Bootstrap minima of one budget: ``"wild"`` keeps the design (every size once) and
    redraws each loss around a smooth profile with the noise measured on the budget, so the
    spread reflects the noise of the losses, not the loss of sizes that a case resample
    drops; ``"cases"`` resamples runs with replacement."""
    if how == "cases":
        counts = rng.multinomial(x.size, np.full(x.size, 1.0 / x.size), size=n_boot)
        return _budget_minima(x, y, counts, method, window, min_points)[0]
    fitted, sigma = _profile_smooth(x, y)
    noise = sigma * rng.standard_normal((n_boot, x.size))
    return _budget_minima(x, fitted + noise, np.ones((n_boot, x.size)), method,
                          window, min_points)[0]


# -- all budgets ------------------------------------------------------------------------
def _slope(log_c, log_n):
    """OLS slope and intercept of log N* on log C for each row (S, B)."""
    xc = log_c - log_c.mean()
    slope = (log_n - log_n.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)
    return slope, log_n.mean(axis=-1) - slope * log_c.mean()


#: candidate per-budget estimators of ``method="auto"``: (method, window in decades)
AUTO_CANDIDATES = (("parabola", 0.5), ("parabola", 1.0), ("parabola", 2.0), ("interp", None))
#: candidates whose leave-one-budget-out error is within this factor of the best one count
#: as "as good": when their exponents disagree by more than the interval, it is widened
AS_GOOD = 1.25


def _check(N, C, loss, method, window, level, min_points, n_boot):
    if method not in ISOFLOP_METHODS + ("auto",):
        raise ValueError(f"`method` must be one of {list(ISOFLOP_METHODS) + ['auto']}, got "
                         f"{method!r}")
    if not ((window is None or window > 0) and 0 < level < 1 and min_points >= 3
            and n_boot >= 0):
        raise ValueError("need window > 0, 0 < level < 1, min_points >= 3 and n_boot >= 0; got "
                         f"window={window}, level={level}, min_points={min_points}, "
                         f"n_boot={n_boot}")
    N, C, loss = (np.asarray(v, dtype=float).ravel() for v in (N, C, loss))
    for name, arr in (("N", N), ("C", C), ("loss", loss)):
        bad = ~np.isfinite(arr) | (arr <= 0)
        if bad.any():
            raise ValueError(f"{name} must be finite and > 0; bad value {arr[bad][0]!r} at row "
                             f"{np.flatnonzero(bad)[0]}")
    return N, C, loss


def _budget_sets(N, C, width, min_points):
    """Run indices of every compute budget with enough sizes, and the skipped budgets."""
    labels = isoflop_groups(C, width)
    usable, skipped = [], []
    for label in np.unique(labels[labels >= 0]):
        sel = np.flatnonzero(labels == label)
        c_budget = float(np.exp(np.mean(np.log(C[sel]))))
        if np.unique(N[sel]).size < min_points:
            skipped.append({"C": c_budget, "reason": f"fewer than {min_points} model sizes"})
        else:
            usable.append((int(label), c_budget, sel))
    return labels, usable, skipped


def _minima(N, loss, usable, method, window, min_points, drop_edge, k):
    """Per-budget minimum rows (and the skipped ones) for one estimator."""
    rows, skipped = [], []
    for label, c_budget, sel in usable:
        x, y = np.log(N[sel]), np.log(loss[sel])
        x_star, y_star, used, flags = _budget_minima(x, y, np.ones((1, sel.size)), method,
                                                     window, min_points)
        if drop_edge and flags[0] == "edge":
            skipped.append({"C": c_budget, "reason": "lowest point at an end size (drop_edge)"})
            continue
        n_opt = float(np.exp(x_star[0]))
        rows.append({"C": c_budget, "N_opt": n_opt, "D_opt": c_budget / (k * n_opt),
                     "loss_opt": float(np.exp(y_star[0])), "n_points": int(sel.size),
                     "n_used": int(used[0]), "flag": flags[0], "label": label})
    return rows, skipped


def _loo_error(rows) -> float:
    """Leave-one-budget-out RMS error (decades) of log10 N* predicted by the power law
    through the other budgets' minima."""
    log_c = np.log10([r["C"] for r in rows])
    log_n = np.log10([r["N_opt"] for r in rows])
    if log_c.size < 3:
        return float("nan")
    errors = []
    for j in range(log_c.size):
        keep = np.arange(log_c.size) != j
        slope, intercept = _slope(log_c[keep], log_n[keep])
        errors.append(slope * log_c[j] + intercept - log_n[j])
    return float(np.sqrt(np.mean(np.square(errors))))


def _select(N, loss, usable, method, window, min_points, drop_edge, k):
    """The estimator to use: the user's, or (``auto``) the candidate with the lowest
    leave-one-budget-out error on this table. Returns (method, window, rows, skipped,
    table of candidates)."""
    if method != "auto":
        window = 1.0 if window is None else window
        rows, skipped = _minima(N, loss, usable, method, window, min_points, drop_edge, k)
        return method, window, rows, skipped, []
    table = []
    for cand, cand_window in AUTO_CANDIDATES:
        rows, skipped = _minima(N, loss, usable, cand, cand_window or 1.0, min_points,
                                drop_edge, k)
        if len(rows) < 2:
            continue
        a = _slope(np.log([r["C"] for r in rows]), np.log([r["N_opt"] for r in rows]))[0]
        table.append({"method": cand, "window": cand_window, "a": float(a),
                      "loo_decades": _loo_error(rows), "rows": rows, "skipped": skipped})
    if not table:
        return "parabola", 1.0, [], [], []
    scores = [t["loo_decades"] if np.isfinite(t["loo_decades"]) else np.inf for t in table]
    best = table[int(np.argmin(scores))]
    for t in table:
        t["chosen"] = t is best
    summary = [{k: v for k, v in t.items() if k not in ("rows", "skipped")} for t in table]
    return best["method"], best["window"] or 1.0, best["rows"], best["skipped"], summary


def _bootstrap(N, loss, rows, usable, n_boot, rng, method, window, min_points):
    """(a, intercept) samples: wild resamples of every budget's losses, same estimator."""
    sets = {label: sel for label, _, sel in usable}
    boot_x = [_resampled_minima(np.log(N[sets[r["label"]]]), np.log(loss[sets[r["label"]]]),
                                n_boot, rng, method, window, min_points, _BOOT) for r in rows]
    log_c = np.log([r["C"] for r in rows])
    return _slope(log_c, np.column_stack(boot_x))


def robust_sd(samples, axis=None):
    """Half the central 68.3% range of bootstrap draws: their standard deviation when they
    are normal, but not blown up by the few degenerate resamples (a parabola through
    nearly collinear points) whose vertex lands far away."""
    lo, hi = np.nanpercentile(samples, [15.87, 84.13], axis=axis)
    return (hi - lo) / 2


def _interval(a, a_samples, se_ols, level, others):
    """Normal interval with the bootstrap variance of the minima plus the regression's own
    slope variance (deviations of the minima from a power law), widened to cover the
    exponents of equally good estimators (a mixture) when they disagree more."""
    from statistics import NormalDist

    sd = float(np.sqrt(robust_sd(a_samples) ** 2 + se_ols ** 2))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    lo, hi = a - z * sd, a + z * sd
    widened = False
    for other in others:
        if not lo <= other <= hi:
            lo, hi, widened = min(lo, other), max(hi, other), True
    return (float(lo), float(hi)), widened


@dataclass(frozen=True)
class IsoflopOptions(Options):
    """How :func:`isoflop_fit` finds each budget's minimum and the power law through them.

    Attributes
    ----------
    method : {"auto", "parabola", "interp"}
        Per-budget estimator. ``auto`` (default) tries a windowed parabola (windows 0.5, 1
        and 2 decades; Hoffmann et al. 2022, Porian et al. 2024) and an Akima interpolant,
        and keeps the one whose power law predicts each left-out budget's minimum best
        (leave-one-budget-out error on this table, reported in ``selection``).
    window : float, optional
        Half-width in decades of log N around each budget's lowest point (parabola;
        default 1 when ``method="parabola"``).
    min_points : int
        Fewest distinct sizes a budget needs (and the window is widened to).
    width : float
        Decades within which runs belong to one compute budget (see ``isoflop_groups``).
    n_boot : int
        Wild-bootstrap resamples of every budget's losses (0: interval from the regression
        alone).
    level : float
        Interval level (0.9 by default).
    k : float
        FLOPs per parameter per token (D* = C / (k N*)).
    drop_edge : bool
        Leave budgets whose lowest point is an end size out of the power law (default:
        keep and flag them).
    """

    method: str = "auto"
    window: float | None = None
    min_points: int = 3
    width: float = 0.1
    n_boot: int = 1000
    level: float = DEFAULT_LEVEL
    seed: int = 0
    k: float = 6.0
    drop_edge: bool = False


def _power_law(budgets: list[dict]):
    """``log N* = a log C + intercept`` by least squares over the budgets, with R^2 and
    the regression's standard error of ``a``."""
    log_c = np.log([b["C"] for b in budgets])
    log_n = np.log([b["N_opt"] for b in budgets])
    a, intercept = _slope(log_c, log_n)
    resid = log_n - (a * log_c + intercept)
    total = np.sum((log_n - log_n.mean()) ** 2)
    r2 = float(1 - np.sum(resid ** 2) / total) if total > 0 else float("nan")
    sxx = float(np.sum((log_c - log_c.mean()) ** 2))
    dof = len(budgets) - 2
    se_ols = float(np.sqrt(np.sum(resid ** 2) / dof / sxx)) if dof > 0 else 0.0
    return a, intercept, r2, se_ols, log_c


def isoflop_fit(N, C, loss, *, options: IsoflopOptions | None = None,
                **kwargs) -> IsoflopResult:
    """Approach 2: per-budget minima of log loss vs log N, then ``N*(C) = G C^a``.

    Parameters
    ----------
    N, C, loss : arrays
        Parameters, training FLOPs and final loss of each run.
    options : IsoflopOptions, optional
        Estimator, windows, budgets, bootstrap and FLOPs convention (see
        :class:`IsoflopOptions`); its fields may be given as keywords instead.

    Returns
    -------
    IsoflopResult

    Raises
    ------
    ValueError
        Bad arguments, or fewer than 2 usable budgets.
    """
    o = IsoflopOptions.build(options, **kwargs)
    min_points, n_boot, level, k = o.min_points, o.n_boot, o.level, o.k
    N, C, loss = _check(N, C, loss, o.method, o.window, level, min_points, n_boot)
    labels, usable, skipped = _budget_sets(N, C, o.width, min_points)
    method, window, budgets, dropped, selection = _select(N, loss, usable, o.method, o.window,
                                                          min_points, o.drop_edge, k)
    skipped = skipped + dropped
    if len(budgets) < 2:
        raise ValueError(f"Approach 2 needs at least 2 compute budgets with {min_points}+ model "
                         f"sizes; found {len(budgets)} (budgets: {len(budgets) + len(skipped)})")
    a, intercept, r2, se_ols, log_c = _power_law(budgets)
    samples = icpt = None
    if n_boot:
        samples, icpt = _bootstrap(N, loss, budgets, usable, n_boot,
                                   np.random.default_rng(o.seed), method, window, min_points)
    good = [t["a"] for t in selection if t["loo_decades"] <= AS_GOOD * min(
        s["loo_decades"] for s in selection)] if selection else []
    a_ci, widened = _interval(float(a), np.zeros(1) if samples is None else samples, se_ols,
                              level, good)
    notes = _notes(labels, o.width, budgets, widened, selection)
    for row in budgets:
        row.pop("label")
    return IsoflopResult(budgets=budgets, skipped=skipped, a=float(a), b=float(1 - a),
                         coef=float(np.exp(intercept)), a_ci=a_ci,
                         b_ci=(1 - a_ci[1], 1 - a_ci[0]), level=level,
                         n_boot=int(n_boot), method=method, window=float(window), k=float(k),
                         r2=r2, warnings=notes,
                         points={"N": N, "C": C, "loss": loss, "budget": labels},
                         a_samples=samples, intercept_samples=icpt, a_se=se_ols,
                         selection=selection,
                         fit_range=(float(np.exp(log_c.min())), float(np.exp(log_c.max()))))


def _notes(labels, width, budgets, widened, selection):
    notes = []
    n_loose = int(np.sum(labels < 0))
    if n_loose:
        notes.append(f"{n_loose} run(s) are not within {width:g} decades of any compute budget "
                     "and are not used (widen --width if the budgets are noisy)")
    edges = [b for b in budgets if b["flag"] == "edge"]
    if edges:
        notes.append(f"{len(edges)} of {len(budgets)} budgets have their lowest loss at the "
                     "smallest or largest size trained (flag 'edge'): their minimum is "
                     "extrapolated; add sizes beyond that end")
    if len(budgets) < 4:
        notes.append(f"only {len(budgets)} budgets: the exponent a rests on very few minima")
    if widened:
        notes.append("estimators that predict left-out budgets about as well give exponents "
                     "outside the interval: it is widened to cover them (see the selection "
                     "table)")
    return notes


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
