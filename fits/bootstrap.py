"""Bootstrap over runs: resample runs (or groups of runs), refit, read off intervals.

All resamples are refitted at once: a resample is a row of per-point counts, and the
batched optimizer of :mod:`fits.multistart` runs every row from the full-data optimum
(warm start), so 1,000 refits cost about as much as one cold multistart fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .laws import get_law
from .multistart import multistart
from .objectives import Objective, get_objective, huber
from .params import ConstrainedProblem, ParamModel
from .problem import Problem
from .prediction import DEFAULT_LEVEL
from .result import FitResult

__all__ = ["BootstrapResult", "bootstrap", "with_bootstrap", "resample_counts",
           "percentile_interval"]


#: Stopping rule of a refit (see fits.multistart.multistart): refits end within ~1e-6 of
#: the tightly converged ones (ftol 1e-12, xtol 1e-9), far below the spread of resamples.
_FTOL, _XTOL = 1e-10, 1e-6


def _huber_newton(r, delta=1e-3):
    """Huber loss with its exact curvature (1 inside ``delta``, 0 beyond) as the weight.

    A fit from far-off starts needs the IRLS weight ``psi / r`` (it majorizes the loss);
    a refit from the optimum of nearly the same data does not, and the exact weight turns
    the linear IRLS convergence into Newton's (about 3x fewer iterations per refit; refits
    agree with the IRLS ones to ~1e-7)."""
    psi = np.clip(r, -delta, delta)
    rho = psi * (r - 0.5 * psi)  # as fits.objectives.huber
    return rho, psi, (psi == r).astype(float)  # inside delta exactly where clip is a no-op


def _refit_objective(objective: Objective) -> Objective:
    """The objective bootstrap refits descend (same values; see :func:`_huber_newton`)."""
    if objective.function is huber:
        return Objective(objective.name, objective.space, _huber_newton, objective.settings)
    return objective


def percentile_interval(samples: np.ndarray, level: float = DEFAULT_LEVEL,
                        axis: int = 0) -> np.ndarray:
    """Equal-tailed percentile interval ``[lo, hi]`` of ``samples`` along ``axis``."""
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1), got {level}")
    tail = 100 * (1 - level) / 2
    return np.nanpercentile(samples, [tail, 100 - tail], axis=axis)


def resample_counts(n_points: int, n_boot: int, *, groups=None, seed: int = 0) -> np.ndarray:
    """``(n_boot, n_points)`` counts of a nonparametric bootstrap over runs or groups.

    With ``groups`` (one label per point), whole groups are drawn with replacement and
    every point of a drawn group is counted once per draw.
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        draws = rng.integers(0, n_points, size=(n_boot, n_points))
        counts = np.zeros((n_boot, n_points))
        np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
        return counts
    labels, index = np.unique(np.asarray(groups), return_inverse=True)
    if labels.size < 2:
        raise ValueError("a grouped bootstrap needs at least 2 groups; got 1")
    draws = rng.integers(0, labels.size, size=(n_boot, labels.size))
    per_group = np.zeros((n_boot, labels.size))
    np.add.at(per_group, (np.arange(n_boot)[:, None], draws), 1.0)
    return per_group[:, index.ravel()]


@dataclass
class BootstrapResult:
    """Refitted parameters of every resample.

    Attributes
    ----------
    law : str
    samples : dict of (B,) arrays
        Natural-unit parameter values per resample.
    objective : (B,) array
    converged : (B,) bool array
    level : float
        Default interval level.
    """

    law: str
    samples: dict[str, np.ndarray]
    objective: np.ndarray
    converged: np.ndarray
    level: float = DEFAULT_LEVEL
    meta: dict = field(default_factory=dict)

    @property
    def n_boot(self) -> int:
        return int(self.objective.size)

    def interval(self, name: str, level: float | None = None) -> tuple[float, float]:
        """Percentile interval of one parameter."""
        lo, hi = percentile_interval(self.samples[name], level or self.level)
        return float(lo), float(hi)

    def derived(self, function: Callable[..., np.ndarray]) -> np.ndarray:
        """``function(**params)`` for every resample (vectorized over resamples)."""
        return np.asarray(function(**self.samples), dtype=float)

    def derived_interval(self, function, level: float | None = None) -> np.ndarray:
        """Percentile interval of a derived quantity (last axis: lo, hi)."""
        values = self.derived(function)
        return np.moveaxis(percentile_interval(values, level or self.level, axis=0), 0, -1)

    def correlation(self, centers: dict[str, float] | None = None) -> dict[str, dict[str, float]]:
        """Correlation matrix of the parameters across resamples (in fit space).

        ``centers`` (e.g. ``{"A": mean log N}``) replaces log A by the log of the term
        at that scale, log A - alpha * center: the raw log A is almost perfectly
        correlated with alpha whenever log N is far from 0, which says nothing about
        the data.
        """
        law = get_law(self.law)
        exponent_of = {"A": "alpha", "B": "beta"}
        cols = []
        for p in law.params:
            col = np.log(self.samples[p]) if p in law.log_params else self.samples[p]
            if centers and p in centers and exponent_of.get(p) in self.samples:
                col = col - self.samples[exponent_of[p]] * centers[p]
            cols.append(col)
        matrix = np.corrcoef(np.vstack(cols))
        return {a: {b: float(matrix[i, j]) for j, b in enumerate(law.params)}
                for i, a in enumerate(law.params)}


def bootstrap(result: FitResult, *, n_boot: int = 1000, seed: int = 0, groups=None,
              level: float = DEFAULT_LEVEL, max_iter: int = 300) -> BootstrapResult:
    """Bootstrap a point-law fit over its runs, warm-started and vectorized.

    Parameters
    ----------
    result : FitResult
        A fit from :func:`fits.fit_law` / :class:`fits.ScalingLawFit` (it stores the
        points it used).
    n_boot : int
        Number of resamples (default 1,000).
    seed : int
    groups : sequence, optional
        One label per fitted point; resample whole groups (e.g. seeds of one config,
        or a data mixture) instead of single runs.
    level : float
        Default interval level.
    max_iter : int
        Iteration cap of each refit.

    Returns
    -------
    BootstrapResult
        ``result`` is not changed; :func:`with_bootstrap` gives a copy of it with the
        parameters' intervals and the draws (saved with the fit).
    """
    if n_boot < 2:
        raise ValueError(f"`n_boot` must be >= 2, got {n_boot}")
    law = get_law(result.law)
    points = result.data.get("points") or {}
    names = list(result.data.get("ranges", {}))
    if not names or "loss" not in points:
        raise ValueError("this FitResult does not store the points it was fitted on; "
                         "refit it with fits.fit_law or ScalingLawFit")
    variables = [np.asarray(points[n], dtype=float) for n in names]
    y = np.asarray(points["loss"], dtype=float)
    if groups is not None and len(groups) != y.size:
        raise ValueError(f"`groups` has {len(groups)} labels for {y.size} fitted points")
    unit = "groups" if groups is not None else "runs"
    run_ids = points.get("run_id")
    if groups is None and run_ids is not None and len(set(run_ids)) < len(run_ids):
        # several points per run (checkpoints): resample whole runs, never single points
        groups, unit = list(run_ids), "runs (all points of a run together)"
    choices = result.choices
    objective = get_objective(choices.get("loss", "huber"), delta=choices.get("delta", 1e-3),
                              k=choices.get("k", 4.0))
    counts = resample_counts(y.size, n_boot, groups=groups, seed=seed)
    # the fit's own parameter model: fixed and tied parameters stay so in every refit
    model, prior_scale = ParamModel.from_choices(law, choices)
    objective = _refit_objective(objective)
    problem = ConstrainedProblem(Problem(law, variables, y, objective, weights=counts), model,
                                 prior_scale)
    lower, upper = model.free_bounds()
    theta_hat = model.reduce(law.to_theta(result.values))[0]
    batch = multistart(problem, np.repeat(theta_hat[None, :], n_boot, axis=0), lower, upper,
                       max_iter=max_iter, ftol=_FTOL, xtol=_XTOL, desc="bootstrap",
                       damping=1e-4)
    theta, values, converged = batch.theta, batch.values, np.asarray(batch.converged, bool)
    n_retried = int((~converged).sum())
    if n_retried:
        # hygiene: an unconverged refit is not a sample of the estimator; retry it with a
        # longer budget from the warm start, then drop what still fails (and count it)
        retry = ConstrainedProblem(Problem(law, variables, y, objective,
                                           weights=counts[~converged]), model, prior_scale)
        again = multistart(retry, theta[~converged], lower, upper, max_iter=4 * max_iter,
                           ftol=_FTOL, xtol=_XTOL, desc="bootstrap retry")
        theta, values = theta.copy(), values.copy()
        theta[~converged], values[~converged] = again.theta, again.values
        converged = converged.copy()
        converged[~converged] = np.asarray(again.converged, bool)
    kept = np.flatnonzero(converged)
    if kept.size < 2:
        raise ValueError(f"only {kept.size} of {n_boot} bootstrap refits converged; the fit is "
                         "not identified by resamples of these runs (add runs or fix bounds)")
    natural = model.natural(model.expand(theta[kept]))
    samples = {p: natural[:, i] for i, p in enumerate(law.params)}
    out = BootstrapResult(law.name, samples, values[kept], converged[kept], level,
                          meta={"seed": seed, "n_boot": n_boot, "n_used": int(kept.size),
                                "n_retried": n_retried, "n_dropped": int(n_boot - kept.size),
                                "kept_index": kept,
                                "grouped": groups is not None, "warm_start": "full-data optimum"})
    out.meta["record"] = {"n_boot": n_boot, "seed": seed, "level": level, "unit": unit,
                          "converged": int(kept.size), "used": int(kept.size),
                          "retried": n_retried, "dropped": int(n_boot - kept.size)}
    return out


def with_bootstrap(result: FitResult, boot: "BootstrapResult") -> FitResult:
    """A copy of ``result`` carrying ``boot``: each parameter's interval, the draws (saved
    with the fit; predictions from it carry intervals) and the bootstrap's record in
    ``choices["bootstrap"]``. ``result`` is not changed."""
    params = {name: replace(p, interval=boot.interval(name))
              for name, p in result.params.items()}
    return replace(result, params=params,
                   draws={p: np.asarray(v).copy() for p, v in boot.samples.items()},
                   choices={**result.choices, "bootstrap": dict(boot.meta["record"])})
