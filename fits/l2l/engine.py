"""Fit a one-variable link law (loss -> loss, loss -> accuracy) with some parameters
held fixed, and refit it on bootstrap resamples, on the shared batched optimizer.

The laws are :class:`fits.laws.Law` objects evaluated by :class:`fits.problem.Problem`;
fixed parameters (offsets from single-dataset fits, a chance level) are removed from the
fit vector by the shared parameter model (:mod:`fits.params`), so :func:`fits.multistart.multistart` and
:func:`fits.multistart.polish` see only the free ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from scaling.data.options import Options

from ..bootstrap import resample_counts
from ..finish import finish
from ..laws.base import Law
from ..multistart import multistart, polish
from ..objectives import Objective
from ..params import ConstrainedProblem, ParamModel
from ..problem import Problem
from ..result import FitResult

__all__ = ["fit_link", "bootstrap_link", "BootLinkOptions", "natural_to_theta"]


def natural_to_theta(law: Law, rows: np.ndarray) -> np.ndarray:
    """Rows of natural-unit parameters (law order) -> fit space (log of log-parameters)."""
    rows = np.array(np.atleast_2d(rows), dtype=float)
    mask = law.is_log()
    rows[:, mask] = np.log(np.maximum(rows[:, mask], 1e-300))
    return rows


def _model(law: Law, bounds: Mapping[str, tuple[float, float]], fixed) -> ParamModel:
    full = {p: ((fixed[p], fixed[p]) if p in fixed else bounds[p]) for p in law.params}
    lower = np.array([full[p][0] for p in law.params], dtype=float)
    upper = np.array([full[p][1] for p in law.params], dtype=float)
    mask = law.is_log()
    lower[mask] = np.log(np.maximum(lower[mask], 1e-300))
    upper[mask] = np.log(upper[mask])
    return ParamModel.build(law.params, mask, lower, upper, fixed=fixed,
                            owner=f"law {law.name!r}")


def fit_link(law: Law, x, y, objective: Objective, *, bounds: Mapping[str, tuple[float, float]],
             fixed: Mapping[str, float] | None = None, starts: np.ndarray,
             max_iter: int = 200, data_info: dict | None = None,
             choices: dict | None = None) -> tuple[FitResult, np.ndarray]:
    """Fit ``law`` to ``(x, y)``; ``fixed`` parameters are held at their values.

    Parameters
    ----------
    starts : (S, P) array
        Starting points in natural units, all parameters in the law's order (the fixed
        columns are ignored).

    Returns
    -------
    result : FitResult
        Warnings are stored, not emitted (the caller decides).
    theta : (P,) array
        The optimum in fit space, fixed parameters included.
    """
    fixed = {p: float(v) for p, v in dict(fixed or {}).items()}
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    model = _model(law, bounds, fixed)
    problem = ConstrainedProblem(Problem(law, [x], y, objective), model)
    lo_f, hi_f = model.free_bounds()
    theta0 = model.reduce(natural_to_theta(law, starts))
    batch = multistart(problem, theta0, lo_f, hi_f, max_iter=max_iter)
    theta_f, value, info = polish(problem, batch.theta[batch.best], lo_f, hi_f)
    theta = model.expand(theta_f)[0]
    natural = law.from_theta(theta)
    data = dict(data_info or {})
    data.update({"points": {"x": x.tolist(), "y": y.tolist(),
                            "predicted": law.function(x, **natural).tolist()}})
    all_choices = {"law": law.name, "loss": objective.name, **objective.settings,
                   "objective_description": objective.describe(), "max_iter": max_iter,
                   **(choices or {})}
    result = finish(problem, model, theta_f, value, info, law=law, n_points=y.size,
                    n_runs=y.size, n_starts=len(theta0), start_values=batch.values,
                    data=data, choices=all_choices, warn=False,
                    bound_remedy="check the pairs for outliers",
                    converge_remedy="check the data for outliers or give other bounds "
                                    "(--bounds) or offsets (--fix E_x=..., --fix E_y=...)")
    return result, theta


@dataclass(frozen=True)
class BootLinkOptions(Options):
    """Resampling options of :func:`bootstrap_link` (see there)."""

    n_boot: int = 1000
    seed: int = 0
    counts: np.ndarray | None = None
    groups: object = None
    max_iter: int = 200


def bootstrap_link(law: Law, x, y, objective: Objective, theta: np.ndarray, *,
                   bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float] | None,
                   options: BootLinkOptions | None = None, **kwargs) -> dict[str, np.ndarray]:
    """Refit on ``n_boot`` resamples (all at once, warm-started at ``theta``).

    ``counts`` (B, n) overrides the resampling (e.g. shared with another step of a chained
    prediction); otherwise points, or whole ``groups`` of points, are drawn with
    replacement. ``options`` (a :class:`BootLinkOptions`) or the keywords ``n_boot``
    (1000), ``seed`` (0), ``counts``, ``groups`` and ``max_iter`` (200) set the
    resampling. Returns ``{symbol: (B,) natural values}``.
    """
    opts = BootLinkOptions.build(options, **kwargs)
    counts, max_iter = opts.counts, opts.max_iter
    fixed = dict(fixed or {})
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if counts is None:
        counts = resample_counts(y.size, opts.n_boot, groups=opts.groups, seed=opts.seed)
    model = _model(law, bounds, fixed)
    reduced = ConstrainedProblem(Problem(law, [x], y, objective, weights=counts), model)
    start = np.repeat(model.reduce(theta), counts.shape[0], axis=0)
    lower, upper = model.free_bounds()
    batch = multistart(reduced, start, lower, upper, max_iter=max_iter, ftol=1e-12, xtol=1e-9)
    full = model.expand(batch.theta)
    natural = np.where(law.is_log(), np.exp(full), full)
    return {p: natural[:, i] for i, p in enumerate(law.params)}
