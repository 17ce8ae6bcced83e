"""Fit a point law (final loss vs N, D, C, ...) to a runs table.

:func:`fit_law` works on arrays; :class:`ScalingLawFit` is the estimator that reads a
runs table (final point per run), trims it and records what it used.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from scaling.data import RunsTable, load_table, validate

from ._version import package_version
from .laws import Law, get_law
from .multistart import count_at_best, multistart, polish
from .objectives import get_objective
from .problem import Problem
from .result import FitResult, FitWarning, ParamEstimate

__all__ = ["fit_law", "ScalingLawFit", "as_table", "warm_refit", "POINT_VARIABLES"]

#: Columns a one-variable law can use as x.
POINT_VARIABLES = ("N", "D", "C", "step")
_BOUND_TOL = 1e-6


def as_table(data) -> RunsTable:
    """A :class:`RunsTable` from a table, a DataFrame or a path."""
    if isinstance(data, RunsTable):
        return data
    if isinstance(data, pd.DataFrame):
        return validate(data)
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        return load_table(data)
    raise TypeError(f"expected a RunsTable, a DataFrame or a path, got {type(data).__name__}")


def _check_arrays(law: Law, variables: Mapping[str, np.ndarray], y: np.ndarray):
    names = list(law.variables)
    missing = [v for v in names if v not in variables]
    if missing:
        raise ValueError(f"law {law.name!r} needs variable(s) {missing}")
    arrays = [np.asarray(variables[v], dtype=float).ravel() for v in names]
    y = np.asarray(y, dtype=float).ravel()
    for name, arr in zip(names + ["loss"], arrays + [y]):
        if arr.size != y.size:
            raise ValueError(f"{name} has {arr.size} values but loss has {y.size}")
        bad = ~np.isfinite(arr) | (arr <= 0)
        if bad.any():
            raise ValueError(f"{name} must be finite and > 0; bad value {arr[bad][0]!r} at "
                             f"position {np.flatnonzero(bad)[0]}")
    n_par = len(law.params)
    if y.size <= n_par:
        raise ValueError(f"law {law.name!r} has {n_par} parameters and needs at least "
                         f"{n_par + 1} points; got {y.size}")
    for name, arr in zip(names, arrays):
        if np.unique(arr).size < 2:
            raise ValueError(f"every point has the same {name} ({arr[0]:.4g}): a law in {name} "
                             "needs at least 2 distinct values (3 or more to be checked); "
                             "add runs at other scales")
    return arrays, y


def _starts(law: Law, log_vars, log_y, starts, seed):
    guess = law.guess(log_vars, log_y)[None, :]
    if isinstance(starts, str):
        if starts != "grid":
            raise ValueError(f"`starts` must be 'grid', a number of random starts or an "
                             f"array of starting points, got {starts!r}")
        return np.vstack([law.grid(log_vars, log_y), guess]), "grid"
    if isinstance(starts, (int, np.integer)):
        if starts < 1:
            raise ValueError(f"`starts` must be >= 1, got {starts}")
        grid = law.grid(log_vars, log_y)
        rng = np.random.default_rng(seed)
        lo, hi = grid.min(axis=0), grid.max(axis=0)
        return np.vstack([guess, lo + (hi - lo) * rng.random((int(starts) - 1, lo.size))]), \
            f"{int(starts)} random (seed {seed})"
    arr = np.atleast_2d(np.asarray(starts, dtype=float))
    if arr.shape[1] != len(law.params):
        raise ValueError(f"starting points must have {len(law.params)} columns "
                         f"({', '.join(law.params)}), got shape {arr.shape}")
    return np.vstack([law.to_theta(dict(zip(law.params, row))) for row in arr]), "given"


def _stderr(problem: Problem, law: Law, theta: np.ndarray) -> np.ndarray:
    """Gauss-Newton standard errors of the least-squares approximation at the optimum."""
    r, dr = problem.residuals(theta[None, :])
    r, jac = r[0], dr[0]
    dof = max(r.size - theta.size, 1)
    sigma2 = float(r @ r) / dof
    cov = sigma2 * np.linalg.pinv(jac @ jac.T)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    natural = np.where(law.is_log(), np.exp(theta) * se, se)
    return natural


def _design_warnings(names, arrays) -> list[str]:
    notes = []
    for name, arr in zip(names, arrays):
        scales = np.unique(np.round(np.log10(arr), 3)).size
        if scales < 3:
            notes.append(f"only {scales} distinct values of {name}: a law in {name} needs at "
                         f"least 3 scales to be checked; add runs at more {name} values")
        decades = float(np.log10(arr.max() / arr.min()))
        if decades < 1.0:
            notes.append(f"{name} spans only {decades:.2f} decades (< 1): its exponent is "
                         f"poorly constrained; extend the range of {name}")
    return notes


def fit_law(law, variables: Mapping[str, np.ndarray], loss_values, *, loss: str = "huber",
            delta: float = 1e-3, k: float = 4.0, starts="grid", seed: int = 0,
            bounds: Mapping[str, tuple[float, float]] | None = None, max_iter: int = 200,
            run_ids=None, data_info: dict | None = None) -> FitResult:
    """Fit ``law`` to observed losses by vectorized multistart + quasi-Newton polish.

    Parameters
    ----------
    law : str or Law
        ``"chinchilla"``, ``"kaplan"``, ``"power-law"`` (see ``fits.laws.LAWS``).
    variables : mapping
        The law's variables by name (``{"N": ..., "D": ...}``; ``{"x": ...}`` for the
        one-variable power law).
    loss_values : array
        Observed losses, > 0.
    loss : {"huber", "log-mse", "mse", "asymmetric"}
        Objective (summed over points); see :mod:`fits.objectives`.
    delta : float
        Huber threshold (default 1e-3, Hoffmann et al. 2022).
    k : float
        Over-prediction weight of the asymmetric loss.
    starts : "grid", int or array
        The law's published initialization grid (Epoch's 4,500 starts for Chinchilla),
        a number of seeded random starts inside that grid's box, or explicit starting
        points (rows of natural-unit parameters in the law's order).
    seed : int
        Seed for random starts.
    bounds : mapping, optional
        ``{symbol: (lower, upper)}`` overriding the law's defaults (natural units).
    max_iter : int
        Iteration cap of the batched optimizer, per start.
    run_ids, data_info : optional
        Provenance stored in the result.

    Returns
    -------
    FitResult
        Also emits each of its warnings as a :class:`FitWarning`.

    Raises
    ------
    ValueError
        For unknown laws/losses, bad bounds, too few points or a single scale.
    """
    law = get_law(law)
    objective = get_objective(loss, delta=delta, k=k)
    arrays, y = _check_arrays(law, variables, loss_values)
    problem = Problem(law, arrays, y, objective)
    lower, upper = law.theta_bounds(bounds)
    theta0, starts_label = _starts(law, problem.log_vars, problem.log_y, starts, seed)
    batch = multistart(problem, theta0, lower, upper, max_iter=max_iter)
    theta, value, info = polish(problem, batch.theta[batch.best], lower, upper)

    natural = law.from_theta(theta)
    stderr = _stderr(problem, law, theta)
    lo_nat, hi_nat = law.from_theta(lower), law.from_theta(upper)
    span = upper - lower
    params, notes = {}, []
    for i, name in enumerate(law.params):
        at = ("lower" if theta[i] - lower[i] <= _BOUND_TOL * (1 + abs(span[i]))
              else "upper" if upper[i] - theta[i] <= _BOUND_TOL * (1 + abs(span[i])) else None)
        params[name] = ParamEstimate(name, natural[name], float(stderr[i]),
                                     lo_nat[name], hi_nat[name], at)
        if at:
            bound = lo_nat[name] if at == "lower" else hi_nat[name]
            notes.append(f"{name} hit its {at} bound {bound:.4g}; widen `bounds` or add runs "
                         f"that constrain {name} (the fitted value is not an optimum)")

    n_at_best = count_at_best(batch.values, best=value)
    converged = info["projected_gradient"] <= 1e-6 * max(1.0, abs(value)) or info["success"]
    if not converged:
        notes.insert(0, f"the optimizer did not converge ({info['message']}); try more "
                        "`starts`, other `bounds`, or check the data for outliers")
    if n_at_best == 1 and len(theta0) >= 20:
        notes.append(f"only 1 of {len(theta0)} starts reached the best optimum: the objective "
                     "is rugged here; confirm with more starts")
    names = [v if v != "x" else (data_info or {}).get("x", "x") for v in law.variables]
    notes.extend(_design_warnings(names, arrays))

    pred = law.function(*arrays, **natural)
    data = dict(data_info or {})
    data.update({"ranges": {n: [float(a.min()), float(a.max())] for n, a in zip(names, arrays)},
                 "points": {"run_id": list(run_ids) if run_ids is not None else None,
                            **{n: a.tolist() for n, a in zip(names, arrays)},
                            "loss": y.tolist(), "predicted": pred.tolist()}})
    choices = {"law": law.name, "loss": objective.name, **objective.settings,
               "objective_description": objective.describe(), "starts": starts_label,
               "seed": seed, "max_iter": max_iter,
               "bounds": {n: [lo_nat[n], hi_nat[n]] for n in law.params},
               "stderr_method": "Gauss-Newton approximation on the fit residuals; "
                                "use the bootstrap for honest intervals"}
    convergence = {"converged": bool(converged), "n_starts": int(len(theta0)),
                   "n_at_best": int(n_at_best),
                   "starts_converged": int(batch.converged.sum()),
                   "polish": info, "multistart_best": float(batch.values[batch.best])}
    equation = law.equation
    if law.variables == ("x",):
        equation = equation.replace("x", names[0])
    result = FitResult(law=law.name, equation=equation, citation=law.citation,
                       params=params, objective=float(value), n_points=int(y.size),
                       n_runs=int(len(set(run_ids))) if run_ids is not None else int(y.size),
                       data=data, choices=choices, convergence=convergence, warnings=notes,
                       version=package_version())
    result.warn(stacklevel=2)
    return result


class ScalingLawFit:
    """Estimator: fit a point law to the final point of every run in a runs table.

    Parameters
    ----------
    law : str
        ``"chinchilla"`` (default), ``"kaplan"`` or ``"power-law"``.
    x : {"N", "D", "C", "step"}
        Variable of the one-variable power law (default ``"N"``); ``"step"`` fits every
        point of the curves instead of final points.
    loss, delta, k, starts, seed, bounds, max_iter
        See :func:`fit_law`.
    drop_highest : int
        Leave out the runs with the K highest final losses (Besiroglu et al. 2024
        drop the 5 highest-loss Chinchilla points).

    Examples
    --------
    >>> from scaling.data import load_chinchilla_epoch
    >>> fit = ScalingLawFit(law="chinchilla", drop_highest=5).fit(load_chinchilla_epoch())
    >>> round(fit.result_["alpha"], 3)
    0.347
    """

    def __init__(self, law: str = "chinchilla", *, x: str | None = None, loss: str = "huber",
                 delta: float = 1e-3, k: float = 4.0, starts="grid", seed: int = 0,
                 bounds=None, drop_highest: int = 0, max_iter: int = 200):
        self.law = law
        self.x = x
        self.loss = loss
        self.delta = delta
        self.k = k
        self.starts = starts
        self.seed = seed
        self.bounds = bounds
        self.drop_highest = drop_highest
        self.max_iter = max_iter

    def _points(self, table: RunsTable, law: Law):
        if law.variables == ("x",):
            x = self.x or "N"
            if x not in POINT_VARIABLES:
                raise ValueError(f"`x` must be one of {list(POINT_VARIABLES)}, got {x!r}")
            frame = table.merged() if x == "step" else table.final_points()
            if x == "step":
                frame = frame[frame["step"] > 0]
            return frame, {"x": frame[x].to_numpy(dtype=float)}, x
        if self.x is not None:
            raise ValueError(f"`x` applies to the one-variable power law only; law "
                             f"{law.name!r} uses {', '.join(law.variables)}")
        frame = table.final_points()
        if not table.meta.get("tokens_known", True):
            raise ValueError(f"law {law.name!r} needs token counts D (or C) and this table has "
                             "none; add a D, C or tokens_per_step column")
        return frame, {v: frame[v].to_numpy(dtype=float) for v in law.variables}, None

    def fit(self, data) -> "ScalingLawFit":
        """Fit to ``data`` (RunsTable, DataFrame or path); returns ``self``."""
        table = as_table(data)
        law = get_law(self.law)
        if not (isinstance(self.drop_highest, (int, np.integer)) and self.drop_highest >= 0):
            raise ValueError(f"`drop_highest` must be an integer >= 0, got {self.drop_highest!r}")
        frame, variables, x = self._points(table, law)
        dropped: list[str] = []
        if self.drop_highest:
            if self.drop_highest >= len(frame):
                raise ValueError(f"cannot drop {self.drop_highest} of {len(frame)} points")
            order = np.argsort(-frame["loss"].to_numpy(), kind="stable")
            drop_idx = order[: self.drop_highest]
            dropped = frame["run_id"].iloc[drop_idx].tolist()
            keep = np.ones(len(frame), dtype=bool)
            keep[drop_idx] = False
            frame = frame[keep]
            variables = {k: v[keep] for k, v in variables.items()}
        info = {"source": table.meta.get("source"), "data_hash": table.data_hash(),
                "flops_convention": table.meta.get("flops_convention"),
                "n_convention": table.meta.get("n_convention"),
                "dropped_run_ids": dropped,
                "drop_rule": f"{self.drop_highest} highest-loss points" if dropped else None,
                **({"x": x} if x else {})}
        self.result_ = fit_law(law, variables, frame["loss"].to_numpy(dtype=float),
                               loss=self.loss, delta=self.delta, k=self.k, starts=self.starts,
                               seed=self.seed, bounds=self.bounds, max_iter=self.max_iter,
                               run_ids=frame["run_id"].tolist(), data_info=info)
        self.params_ = self.result_.values
        return self

    def _check_fitted(self):
        if not hasattr(self, "result_"):
            raise RuntimeError("this ScalingLawFit is not fitted yet; call fit(data) first")

    def predict(self, **variables) -> np.ndarray:
        """Predicted loss, e.g. ``predict(N=7e10, D=1.4e12)`` (or ``x=...`` for the power law)."""
        self._check_fitted()
        return self.result_.predict(**variables)


def warm_refit(estimator: ScalingLawFit, table, warm: FitResult, *, n_random: int = 255,
               **changes) -> FitResult:
    """Refit ``estimator``'s choices (with ``changes``) on ``table``, starting from the
    ``warm`` optimum plus ``n_random`` seeded starts in the law's grid box.

    Backtests and sensitivity checks refit many variants of one fit; a warm start finds
    the same optimum as the full grid at a fraction of its cost.
    """
    import warnings

    params = {k: getattr(estimator, k) for k in ("law", "x", "loss", "delta", "k", "seed",
                                                  "bounds", "drop_highest", "max_iter")}
    params.update(changes)
    law = get_law(params["law"])
    rng = np.random.default_rng(params["seed"])
    rows = [law.to_theta(warm.values)]
    points = warm.data.get("points") or {}
    names = [n for n in warm.data.get("ranges", {})]
    if names and n_random:
        log_vars = tuple(np.log(np.asarray(points[n], dtype=float)) for n in names)
        grid = law.grid(log_vars, np.log(np.asarray(points["loss"], dtype=float)))
        lo, hi = grid.min(axis=0), grid.max(axis=0)
        rows.extend(lo + (hi - lo) * rng.random((n_random, lo.size)))
    params["starts"] = np.array([[law.from_theta(r)[p] for p in law.params] for r in rows])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return ScalingLawFit(**params).fit(table).result_
