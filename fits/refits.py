"""Refits of a point-law fit on subsets of its own points, all in one batch.

Backtests and calibration refit a law on many subsets of the runs it was fitted on (the
runs below a compute cut, all runs but one band of sizes) and bootstrap every refit.
Each refit is a row of per-point weights (0 for a held-out point, the resample count in
a bootstrap) on the *same* problem, so all refits and all of their starts run in one
call of the batched optimizer of :mod:`fits.multistart`:

- every subset starts from the full fit's optimum (warm start) and from the same
  starting rows the default fit uses on that subset (variable projection, when the law
  declares linear parameters; else ``n_random`` seeded rows of the law's grid box);
- starts of one subset whose iterates meet are merged (starts of different subsets never
  are: they see different data);
- the refits are converged tightly (``ftol`` 1e-12, ``xtol`` 1e-9) instead of being
  polished one by one with L-BFGS-B;
- bootstrap refits of every subset start from that subset's optimum and use Newton steps
  with the exact Huber curvature (:func:`fits.bootstrap._refit_objective`).

The result is the optimum a separate ``warm_refit`` per subset finds (same starts, same
objective) at a fraction of its cost: no table selection, no per-refit set-up.
"""

from __future__ import annotations

import numpy as np

from .laws import get_law
from .multistart import multistart
from .objectives import get_objective
from .params import ConstrainedProblem, ParamModel
from .problem import Problem
from .result import FitResult
from .starts import fit_starts

__all__ = ["FitData", "fit_data", "refit_subsets", "bootstrap_subsets"]

#: Stopping rule of a subset refit (no polish follows).
_FTOL, _XTOL = 1e-12, 1e-9


class FitData:
    """The points, objective and parameter model of a fitted point law (read-only)."""

    def __init__(self, result: FitResult):
        law = get_law(result.law)
        points = result.data.get("points") or {}
        names = list(result.data.get("ranges", {}))
        choices = result.choices
        self.law = law
        self.names = names
        self.variables = [np.asarray(points[n], dtype=float) for n in names]
        self.y = np.asarray(points["loss"], dtype=float)
        self.run_ids = np.asarray(points["run_id"], dtype=object)
        self.objective = get_objective(choices.get("loss", "huber"),
                                       delta=choices.get("delta", 1e-3), k=choices.get("k", 4.0))
        self.model, self.prior_scale = ParamModel.from_choices(law, choices)
        self.theta_hat = self.model.reduce(law.to_theta(result.values))[0]
        self.seed = int(choices.get("seed", 0) or 0)

    def problem(self, weights, objective=None) -> ConstrainedProblem:
        base = Problem(self.law, self.variables, self.y, objective or self.objective,
                       weights=weights)
        return ConstrainedProblem(base, self.model, self.prior_scale)

    def natural(self, theta) -> list[dict]:
        """Natural-unit parameter dicts of free-parameter rows."""
        full = self.model.natural(self.model.expand(np.atleast_2d(theta)))
        return [dict(zip(self.law.params, map(float, row))) for row in full]


def fit_data(result: FitResult) -> FitData | None:
    """:class:`FitData` of ``result``, or None when it does not store its points by run."""
    points = result.data.get("points") or {}
    if not result.data.get("ranges") or points.get("run_id") is None or "loss" not in points:
        return None
    return FitData(result)


def _subset_starts(data: FitData, mask, n_random: int) -> np.ndarray:
    """The warm start plus the default fit's starting rows on the points in ``mask``."""
    rows = [data.theta_hat[None, :]]
    log_vars = tuple(np.log(v[mask]) for v in data.variables)
    log_y = np.log(data.y[mask])
    if data.law.linear:
        with np.errstate(all="ignore"):
            free, _ = fit_starts(data.law, data.model, log_vars, log_y, "projected", data.seed)
        rows.append(free[np.all(np.isfinite(free), axis=1)])
    elif n_random:
        grid = data.law.grid(log_vars, log_y)
        lo, hi = grid.min(axis=0), grid.max(axis=0)
        rng = np.random.default_rng(data.seed)
        rows.append(data.model.reduce(lo + (hi - lo) * rng.random((n_random, lo.size))))
    return np.vstack(rows)


def refit_subsets(data: FitData, masks, *, n_random: int = 15, max_iter: int = 400):
    """Refit on every subset (rows of boolean ``masks`` over the fitted points) at once.

    Returns
    -------
    theta : (K, P) array
        Best end point per subset (free parameters, fit space).
    values : (K,) array
    converged : (K,) bool array
        Whether the best start of each subset met the stopping rule.
    """
    masks = np.atleast_2d(np.asarray(masks, dtype=bool))
    starts = [_subset_starts(data, m, n_random) for m in masks]
    owner = np.concatenate([np.full(len(s), k) for k, s in enumerate(starts)])
    weights = masks[owner].astype(float)
    lower, upper = data.model.free_bounds()
    batch = multistart(data.problem(weights), np.vstack(starts), lower, upper,
                       max_iter=max_iter, ftol=_FTOL, xtol=_XTOL, desc="refits",
                       groups=owner)
    values = np.where(np.isfinite(batch.values), batch.values, np.inf)
    best = np.array([np.flatnonzero(owner == k)[np.argmin(values[owner == k])]
                     for k in range(len(masks))])
    return batch.theta[best], batch.values[best], np.asarray(batch.converged, bool)[best]


def bootstrap_subsets(data: FitData, masks, theta, *, n_boot: int, seed: int,
                      max_iter: int = 300):
    """``n_boot`` bootstrap refits of every subset's fit, all at once.

    Resamples are drawn over the runs of each subset exactly as :func:`fits.bootstrap`
    draws them over a fit on that subset alone (same seed, same counts), and start from
    that subset's optimum ``theta[k]``.

    Returns
    -------
    list of (samples dict of (B_k,) arrays over converged refits)
    """
    from .bootstrap import _XTOL as BXTOL, _FTOL as BFTOL, _refit_objective, resample_counts

    masks = np.atleast_2d(np.asarray(masks, dtype=bool))
    blocks = []
    for mask in masks:
        ids = data.run_ids[mask]
        groups = list(ids) if len(set(ids)) < len(ids) else None
        counts = np.zeros((n_boot, data.y.size))
        counts[:, mask] = resample_counts(int(mask.sum()), n_boot, groups=groups, seed=seed)
        blocks.append(counts)
    counts = np.vstack(blocks)
    theta0 = np.repeat(np.asarray(theta), n_boot, axis=0)
    lower, upper = data.model.free_bounds()
    objective = _refit_objective(data.objective)
    batch = multistart(data.problem(counts, objective), theta0, lower, upper,
                       max_iter=max_iter, ftol=BFTOL, xtol=BXTOL, desc="bootstrap",
                       damping=1e-4)
    ends, ok = batch.theta, np.asarray(batch.converged, bool)
    if (~ok).any():  # as fits.bootstrap: retry unconverged refits with a longer budget
        again = multistart(data.problem(counts[~ok], objective), ends[~ok], lower, upper,
                           max_iter=4 * max_iter, ftol=BFTOL, xtol=BXTOL,
                           desc="bootstrap retry")
        ends, ok = ends.copy(), ok.copy()
        ends[~ok], ok[~ok] = again.theta, np.asarray(again.converged, bool)
    natural = data.model.natural(data.model.expand(ends))
    out = []
    for k in range(len(masks)):
        rows = slice(k * n_boot, (k + 1) * n_boot)
        keep = ok[rows]
        out.append({p: natural[rows][keep, i] for i, p in enumerate(data.law.params)})
    return out
