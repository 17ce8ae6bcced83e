"""Prediction intervals for a new run, calibrated by backtests on the user's own table.

A confidence interval (``ci``, the bootstrap spread of the fitted law) says where the
*law's mean* is, if the law is right. A new run misses it for three more reasons: its own
scatter around the law, the law's misfit, and the fact that misfit grows the further one
extrapolates. The prediction interval (``pi``) of a log loss at extrapolation distance
``d`` (decades past the fitted range) is

    log L_hat +- sqrt(h_ci**2 + (m * s(d))**2),    s(d) = sqrt(s0**2 + (r * d)**2)

where ``h_ci`` is the half-width of the bootstrap interval in log units, ``s0`` the
scatter of a run at the edge of the fitted range, ``r`` the growth of the law's error per
decade of extrapolation, and ``m`` a conformal multiplier. ``s0`` and ``r`` are fitted by
maximum likelihood to the held-out errors of refits at several cut-offs (the largest
5%, 10%, ..., 50% of the runs by compute held out); ``m`` is the finite-sample conformal
quantile of the held-out errors scaled by ``s(d)`` (never below the normal quantile).

Why a parametric growth law rather than a conformal quantile per distance bin: a
prediction is usually *further* out than any backtest reaches (a plan extrapolates 1-2
decades; the backtests of a table reach a fraction of the table's own span), and bins
cannot extrapolate; a systematic error in a fitted exponent grows linearly with the
log distance, so ``r * d`` is the natural form, and it is the conservative choice
(``sqrt(d)`` or a constant would shrink relative to it past the backtests' reach).
Floors keep the interval from collapsing on tables where the backtests happen to agree
(``MIN_RATE``); with too few runs to backtest the documented defaults are used
(``DEFAULT_SCATTER``, ``DEFAULT_RATE``), never the narrow confidence interval.
"""

from __future__ import annotations


import numpy as np

from .bootstrap import bootstrap
from .calibration import (DEFAULT_RATE, DEFAULT_SCATTER, MIN_RATE, Calibration,
                          default_calibration, effective_cuts)
from scaling.data.select import expand_run_ids

from .estimator import clone
from .fit import ScalingLawFit, as_table, warm_refit
from .laws import get_law
from .prediction import DEFAULT_LEVEL, Prediction
from .refits import bootstrap_subsets, fit_data, refit_subsets
from .result import FitResult
from .selection import SELECTION_OPTIONS, select_points

__all__ = ["Calibration", "calibrate", "default_calibration", "extrapolation",
           "far_rate", "observation_scatter", "pi_from_ci", "point_intervals", "prediction_entry", "DEFAULT_RATE", "DEFAULT_SCATTER", "MIN_RATE",
           "HOLDOUT_FRACTIONS"]

HOLDOUT_FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def extrapolation(fitted: dict, at: dict) -> dict:
    """Decades past the fitted range: the largest over the variables, C = N D and the
    tokens per parameter D/N (``by`` names each).

    Parameters
    ----------
    fitted : dict of arrays
        The fitted points' variables (e.g. ``{"N": ..., "D": ...}``).
    at : dict of arrays or floats
        Where the prediction is made (same names).

    Returns
    -------
    dict
        ``{"decades": array or float, "by": {name: decades}}``; a point inside the range
        in every variable is at 0; below the range counts too.
    """
    fitted = {k: np.asarray(v, dtype=float) for k, v in fitted.items() if k in at}
    at = {k: np.asarray(v, dtype=float) for k, v in at.items() if k in fitted}
    if "N" in fitted and "D" in fitted:
        fitted["C"], at["C"] = fitted["N"] * fitted["D"], at["N"] * at["D"]
        # tokens per parameter: half the fitted compute at 10 D/N when the fit saw 20-200
        # is outside the data although inside its C, N and D ranges
        fitted["D/N"], at["D/N"] = fitted["D"] / fitted["N"], at["D"] / at["N"]
    by = {}
    for name, values in fitted.items():
        up = np.log10(at[name] / values.max())
        down = np.log10(values.min() / at[name])
        by[name] = np.maximum(0.0, np.maximum(up, down))
    decades = np.max(np.stack(list(by.values())), axis=0) if by else np.zeros(())
    scalar = decades.ndim == 0
    return {"decades": float(decades) if scalar else decades,
            "by": {k: (float(v) if scalar else v) for k, v in by.items()}}


def observation_scatter(result: FitResult, n_params: int | None = None) -> float:
    """Relative sd of one run around the fitted law, from the fit's log residuals.

    Where runs have many points (``run_id`` repeats), the residuals are grouped by run:
    between-run variance of the run means plus the mean within-run variance, so a long
    curve does not count as many independent runs.
    """
    from .calibration import residual_scatter

    p = len(result.params) if n_params is None else n_params
    return residual_scatter(result.data.get("points") or {}, p)


def _fit_growth(distance: np.ndarray, error: np.ndarray, scatter_floor: float, ci_var=0.0):
    """Maximum-likelihood ``(s0, r)`` of errors ~ N(0, v_ci + s0^2 + r^2 d^2), with floors
    (``v_ci``: the refit's own bootstrap variance at each held-out point, known).

    Damped Newton steps on ``u = (log s0, log r)`` with the exact gradient and Hessian of
    the negative log-likelihood (two parameters: no scipy.optimize import)."""
    d2, e2 = np.asarray(distance, float) ** 2, np.asarray(error, float) ** 2

    def nll(u):
        var = ci_var + np.exp(2 * u[0]) + np.exp(2 * u[1]) * d2
        return float(np.sum(np.log(var) + e2 / var)), var

    u = np.log([max(scatter_floor, 1e-4), max(MIN_RATE, 1e-3)])
    value, var = nll(u)
    lam = 1e-3
    for _ in range(200):
        dv = np.stack([2 * np.exp(2 * u[0]) * np.ones_like(d2), 2 * np.exp(2 * u[1]) * d2])
        first, second = 1 / var - e2 / var ** 2, -1 / var ** 2 + 2 * e2 / var ** 3
        grad = dv @ first
        hess = (dv * second) @ dv.T + np.diag(2 * dv @ first)  # d2v/du2 = 2 dv/du
        while lam < 1e12:
            h = hess + lam * np.diag(np.maximum(np.abs(np.diag(hess)), 1e-12))
            try:
                step = -np.linalg.solve(h, grad)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            new_u = np.clip(u + step, -30.0, 5.0)
            new_value, new_var = nll(new_u)
            if new_value <= value:
                break
            lam *= 10
        else:
            break
        done = abs(value - new_value) <= 1e-13 * (1 + abs(value)) and np.all(
            np.abs(new_u - u) <= 1e-9)
        u, value, var, lam = new_u, new_value, new_var, max(lam / 10, 1e-12)
        if done:
            break
    s0, r = np.exp(u)
    return max(float(s0), scatter_floor), max(float(r), MIN_RATE)


def far_rate(distance, error, ci_var=0.0, reach: float = 0.5) -> float | None:
    """Growth rate seen where the backtests extrapolate furthest: least squares of the
    squared errors on ``d**2`` through the origin over the points past ``reach`` times
    the largest distance, ``r**2 = sum((e**2 - v) d**2) / sum(d**4)``.

    All of the error at those distances is attributed to growth (scatter and the law's
    systematic misfit cannot be told apart from a few nested cuts), so this is an
    upper estimate of the rate; the maximum-likelihood rate of :func:`_fit_growth` is
    set by the many points near the edge of the fitted range and under-states how the
    error grows where a prediction is actually made (issue 25: refits on smaller runs
    erred 2-3x more at 1 decade than the ML growth law said). None when fewer than 3
    points reach that far.
    """
    d = np.asarray(distance, dtype=float)
    e2 = np.square(np.asarray(error, dtype=float)) - np.broadcast_to(ci_var, d.shape)
    far = d >= reach * d.max() if d.size else d.astype(bool)
    if far.sum() < 3 or d.max() <= 0:
        return None
    num = float(np.sum(np.maximum(e2[far], 0.0) * d[far] ** 2))
    return float(np.sqrt(num / np.sum(d[far] ** 4)))


def calibrate(estimator: ScalingLawFit, data, result: FitResult | None = None, *,
              fractions=HOLDOUT_FRACTIONS, n_random: int = 15, n_boot: int = 50,
              min_heldout: int = 6) -> Calibration:
    """Calibrate the prediction interval of a point law by backtests on ``data``.

    For each fraction in ``fractions`` the largest runs by compute (by x for the
    one-variable law) are held out, the law is refitted on the rest (warm-started from
    ``result``), and the log errors of the held-out runs are recorded with their
    distance past the refit's range. ``(s0, r)`` are fitted to those errors; the
    in-sample scatter of ``result`` is the floor of ``s0``.

    Parameters
    ----------
    estimator : ScalingLawFit
    data : RunsTable, DataFrame or path
    result : FitResult, optional
        The fit on all of ``data`` (computed when not given).
    fractions : sequence of float
        Parts of the runs held out, one refit each.
    n_random : int
        Seeded random starts added to the warm start of each refit, for a law without
        linear parameters (a law with them adds the default fit's variable-projection
        starts instead). All cuts are refitted, and bootstrapped, in one batch each
        (:mod:`fits.refits`).
    n_boot : int
        Bootstrap resamples of each refit: its own parameter uncertainty at the held-out
        runs is known and taken out of the errors, so that ``s0`` and ``r`` measure only
        scatter and misfit (0: attribute all of the error to them; wider).
    min_heldout : int
        Fewer held-out errors than this over all cuts: use :func:`default_calibration`.

    Returns
    -------
    Calibration
    """
    table = as_table(data)
    law = get_law(estimator.law)
    if result is None:
        result = clone(estimator).fit(table, warn=False).result_
    scatter = observation_scatter(result, len(law.params))
    kept = _kept(estimator, table, result, law)
    n_min = max(len(law.params) + 3, 2 * len(law.params))
    if len(kept) < n_min + 2:
        return default_calibration(f"only {len(kept)} runs (a backtest needs >= {n_min + 2})",
                                   scatter)
    size = _size(estimator, kept, law)
    order = np.argsort(-size, kind="stable")
    cuts = []
    for frac in fractions:
        n_held = int(np.clip(round(frac * len(kept)), 1, len(kept) - n_min))
        if n_held not in {c[1] for c in cuts} and len(kept) - n_held >= n_min:
            cuts.append((float(frac), n_held))
    fitted = fit_data(result)
    backtests = _batched_cuts if fitted is not None else _looped_cuts
    points, refits = backtests(estimator, table, result, kept, order, cuts, law,
                               data=fitted, n_random=n_random, n_boot=n_boot)
    if len(points) < min_heldout:
        return default_calibration(f"only {len(points)} held-out predictions from the "
                                   "backtests", scatter)
    d = np.array([p["distance"] for p in points])
    e = np.array([p["log_error"] for p in points])
    v = np.array([p["ci_sd"] for p in points])
    s0, r = _fit_growth(d, e, scatter, v ** 2)
    r = max(r, far_rate(d, e, v ** 2) or 0.0)
    cal = Calibration(s0, r, "backtest", points=points, max_distance=float(d.max()),
                      n_cuts=len({p["cut"] for p in points}), refits=refits)
    signed = e / np.sqrt(v ** 2 + cal.sd(d) ** 2)
    cal.scores = np.abs(signed).tolist()
    cuts = np.array([p["cut"] for p in points])
    cal.n_effective = effective_cuts([signed[cuts == c].mean() for c in np.unique(cuts)])
    if r <= MIN_RATE:
        cal.notes.append(f"the backtests show no growth of the error with distance; the "
                         f"growth rate is held at its floor {MIN_RATE:.1%} per decade")
    return cal


def _cut_points(estimator, law, train, held, frac, values, samples) -> list:
    """Held-out log errors of one cut, with distance and the refit's own bootstrap sd."""
    at = _variables(estimator, held, law)
    err = np.log(held["loss"].to_numpy(dtype=float) / law.predict(values, **at))
    ci_sd = np.zeros_like(err)
    if samples is not None:
        draws = law.function(*[np.asarray(v)[None, :] for v in at.values()],
                             **{k: v[:, None] for k, v in samples.items()})
        ci_sd = np.nanstd(np.log(draws), axis=0)
    dist = extrapolation(_variables(estimator, train, law), at)["decades"]
    return [{"cut": frac, "distance": float(d), "log_error": float(e), "ci_sd": float(v)}
            for d, e, v in zip(np.atleast_1d(dist), np.atleast_1d(err), ci_sd)]


def _batched_cuts(estimator, table, result, kept, order, cuts, law, *, data, n_random,
                  n_boot):
    """Every cut's refit (warm start + the default fit's starts) in one batch, and every
    refit's bootstrap in another (:mod:`fits.refits`)."""
    masks, splits = [], []
    for frac, n_held in cuts:
        held, train = kept.iloc[order[:n_held]], kept.iloc[order[n_held:]]
        mask = np.isin(data.run_ids, train["run_id"].to_numpy())
        n_free = data.model.n_free
        if mask.sum() < max(n_free, 1) or any(np.unique(v[mask]).size < 2
                                               for v in data.variables):
            continue  # as a refit on these runs would refuse (see fits.fit._check_arrays)
        masks.append(mask)
        splits.append((frac, held, train))
    if not masks:
        return [], []
    theta, _, _ = refit_subsets(data, masks, n_random=n_random)
    samples = (bootstrap_subsets(data, masks, theta, n_boot=n_boot, seed=estimator.seed)
               if n_boot else [None] * len(masks))
    points, refits = [], []
    for (frac, held, train), values, draws in zip(splits, data.natural(theta), samples):
        refits.append({"cut": frac, "n_fit": int(len(train)), "params": values})
        points += _cut_points(estimator, law, train, held, frac, values, draws)
    return points, refits


def _looped_cuts(estimator, table, result, kept, order, cuts, law, *, data, n_random,
                 n_boot):
    """One warm refit per cut (a fit that does not store its points by run)."""
    points, refits = [], []
    for frac, n_held in cuts:
        held, train = kept.iloc[order[:n_held]], kept.iloc[order[n_held:]]
        try:
            members = result.data.get("selection") or {}
            fit = warm_refit(estimator, table.subset(expand_run_ids(train["run_id"], members)),
                             result, drop_highest=0, n_random=n_random)
        except ValueError:
            continue
        refits.append({"cut": frac, "n_fit": int(len(train)), "params": fit.values})
        samples = None
        if n_boot:
            boot = bootstrap(fit, n_boot=n_boot, seed=estimator.seed)
            samples = {k: v[boot.converged] for k, v in boot.samples.items()}
        points += _cut_points(estimator, law, train, held, frac, fit.values, samples)
    return points, refits


def pi_from_ci(calibration: Calibration, value, distance, level: float, ci=None) -> list:
    """Plain ``[lo, hi]`` prediction interval (see :meth:`Calibration.interval`)."""
    return np.asarray(calibration.interval(value, distance, level, ci)).tolist()


def _kept(estimator, table, result, law):
    """Final points of the runs the fit used (one row per run), by the fit's own
    row selection, as :func:`fits.backtest.backtest` does."""
    options = {k: getattr(estimator, k) for k in SELECTION_OPTIONS
               if k != "points" and hasattr(estimator, k)}
    final = select_points(table, **options, points="final").frame
    return final[final["run_id"].isin(result.data["points"]["run_id"])].reset_index(drop=True)


def _size(estimator, frame, law) -> np.ndarray:
    if law.takes_x:
        return frame[estimator.x or "N"].to_numpy(dtype=float)
    return frame["N"].to_numpy(dtype=float) * frame["D"].to_numpy(dtype=float)


def _variables(estimator, frame, law) -> dict:
    if law.takes_x:
        return {"x": frame[estimator.x or "N"].to_numpy(dtype=float)}
    return {v: frame[v].to_numpy(dtype=float) for v in law.variables}


def point_intervals(result: FitResult, calibration: Calibration, at: dict, *,
                    level: float = DEFAULT_LEVEL, boot=None, n_boot: int = 1000,
                    seed: int = 0, index=None) -> Prediction:
    """Value, ``ci``, ``pi`` and extrapolation of a point law at new points.

    Parameters
    ----------
    result : FitResult
        The fit predicting.
    calibration : Calibration
        From :func:`calibrate` on the same table (or :func:`default_calibration`).
    at : dict of arrays
        The law's variables at the new points (``{"N": ..., "D": ...}`` or ``{"x": ...}``).
    level : float
    boot : BootstrapResult, optional
        Reused when given; otherwise ``n_boot`` resamples are drawn (0: no ``ci``, the
        ``pi`` then has no parameter part).
    index : sequence, optional
        Row labels of the result.

    Returns
    -------
    Prediction
        ``value``, ``ci`` (m, 2) or None, ``pi`` (m, 2), ``extrapolation`` (decades) and
        ``extrapolation_by`` per variable; the calibration's notes as warnings.
    """
    law = get_law(result.law)
    at = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in at.items()}
    value = law.predict(result.values, **at)
    if boot is None and n_boot:
        boot = bootstrap(result, n_boot=n_boot, seed=seed, level=level)
    ci = None
    if boot is not None:
        draws = law.function(*[at[v][None, :] for v in law.variables],
                             **{k: np.asarray(v)[:, None] for k, v in boot.samples.items()})
        ci = np.moveaxis(np.nanpercentile(draws, [50 * (1 - level), 50 * (1 + level)], axis=0),
                         0, -1)
    points = result.data["points"]
    names = list(result.data["ranges"])
    fitted = {v: points[n] for v, n in zip(law.variables, names)}
    dist = extrapolation(fitted, at)
    decades = np.atleast_1d(dist["decades"])
    pi = calibration.interval(value, dist["decades"], level, ci)
    notes = list(calibration.notes)
    if calibration.method == "backtest" and decades.size and \
            decades.max() > calibration.max_distance + 0.5:
        notes.append(f"the prediction interval's growth law is extrapolated from backtests "
                     f"that reached {calibration.max_distance:.2f} decades to "
                     f"{decades.max():.2f}")
    n = value.size
    return Prediction(value=value, ci=ci, pi=np.reshape(pi, (n, 2)), level=level, at=at,
                      index=index, extrapolation=decades,
                      extrapolation_by={k: np.broadcast_to(v, (n,)) for k, v in
                                        dist["by"].items()},
                      quantity=(result.data.get("y") or "loss"), law=result.law,
                      interval_method=calibration.method, warnings=tuple(notes))


def prediction_entry(value, ci, pi, level, decades, by=None, calibration=None) -> dict:
    """The JSON shape of every prediction: ``value, ci, pi, level, extrapolation``
    (one row of a :class:`~fits.prediction.Prediction`, :meth:`Prediction.entry`)."""
    pred = Prediction(value=[value], ci=None if ci is None else [ci],
                      pi=None if pi is None else [pi], level=level, extrapolation=[decades],
                      extrapolation_by={k: [v] for k, v in (by or {}).items()},
                      interval_method="" if calibration is None else calibration.method)
    return pred.entry(0)
