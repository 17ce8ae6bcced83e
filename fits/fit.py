"""Fit a point law (final loss vs N, D, C, ...) to a runs table.

:func:`fit_law` works on arrays; :class:`ScalingLawFit` is the estimator that reads a
runs table (final point per run), trims it and records what it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from scaling.data import RunsTable
from scaling.data.options import Options

from .estimator import EstimatorParams
from .laws import Law, get_law
from .checks import positive_arrays
from .finish import finish
from .multistart import count_at_best, multistart, polish
from .objectives import get_objective
from .params import ConstrainedProblem, ParamModel
from .starts import distinct_ends as _distinct_ends
from .starts import fit_starts as _starts
from .starts import lm_bounds
from .problem import Problem
from .selection import checkpoints_hint, finish_selection, select_points, selection_info
from .prediction import DEFAULT_LEVEL, Prediction
from .refits import warm_refit
from .result import FitResult
from .tables import as_table

__all__ = ["fit_law", "FitLawOptions", "ScalingLawFit", "as_table", "warm_refit", "POINT_VARIABLES"]

#: Columns a one-variable law can use as x.
POINT_VARIABLES = ("N", "D", "C", "step")


class TooFewPointsError(ValueError):
    """Fewer fitted points than the law's free parameters."""


def _check_arrays(law: Law, variables: Mapping[str, np.ndarray], y: np.ndarray, n_free: int,
                  y_name: str = "loss"):
    names = list(law.variables)
    missing = [v for v in names if v not in variables]
    if missing:
        raise ValueError(f"law {law.name!r} needs variable(s) {missing}")
    checked = positive_arrays({**{v: variables[v] for v in names}, y_name: y}, like=y_name)
    arrays, y = [checked[v] for v in names], checked[y_name]
    if y.size < max(n_free, 1):
        raise TooFewPointsError(f"law {law.name!r} has {n_free} free parameters and needs at least "
                         f"{n_free} points ({n_free + 1} to check the fit); got {y.size}; "
                         "fix or tie parameters (--fix, --tie) or add runs")
    for name, arr in zip(names, arrays):
        if np.unique(arr).size < 2:
            raise ValueError(f"every point has the same {name} ({arr[0]:.4g}): a law in {name} "
                             "needs at least 2 distinct values (3 or more to be checked); "
                             "add runs at other scales")
    return arrays, y


def _design_warnings(names, arrays) -> list[str]:
    notes = []
    for name, arr in zip(names, arrays):
        scales = np.unique(np.round(np.log10(arr), 3)).size
        if scales < 3:
            notes.append(f"only {scales} distinct values of {name}: a law in {name} needs at "
                         f"least 3 scales to be checked; add runs at more {name} values")
            if scales == 2:  # a power-law term (scale, exponent) plus E through 2 points
                notes.append(f"{name} is NOT identified: with 2 values of {name} its term's "
                             "scale, exponent and the floor E have infinitely many exact "
                             "solutions, so the values, std.errs and intervals mean nothing "
                             f"(however small); add runs at a third {name}")
        decades = float(np.log10(arr.max() / arr.min()))
        if decades < 1.0:
            notes.append(f"{name} spans only {decades:.2f} decades (< 1): its exponent is "
                         f"poorly constrained; extend the range of {name}")
    if len(arrays) >= 2:  # collinear log N and log D: one ratio D/N for every run
        logs = np.log10(np.vstack(arrays))
        if np.all(logs.std(axis=1) > 0):
            r = float(np.corrcoef(logs)[0, 1])
            if abs(r) > 0.99:
                notes.append(f"{names[0]} and {names[1]} are collinear (log-log correlation "
                             f"{r:.4f}): the runs keep one {names[1]}/{names[0]} ratio, so the "
                             f"{names[0]} and {names[1]} terms cannot be told apart; vary "
                             f"{names[1]} at fixed {names[0]} (an isoFLOP grid)")
    return notes


@dataclass(frozen=True)
class FitLawOptions(Options):
    """How :func:`fit_law` fits: objective, starts, constraints and provenance.

    Attributes
    ----------
    loss : {"huber", "log-mse", "mse", "asymmetric"}
        Objective (summed over points); see :mod:`fits.objectives`.
    delta : float
        Huber threshold (default 1e-3, Hoffmann et al. 2022).
    k : float
        Over-prediction weight of the asymmetric loss.
    starts : "auto", "grid", "projected", int or array
        ``"auto"`` (default): ``"projected"`` for a law that declares linear parameters,
        else ``"grid"``. ``"grid"``: the law's published initialization grid (Epoch's
        4,500 starts for Chinchilla, the published certificate); ``"projected"``:
        variable projection, a grid over the nonlinear parameters with the linear ones
        (``law.linear``: E, A, B for Chinchilla) solved by least squares for each point
        (25 starts for Chinchilla, the same optimum in milliseconds); a number of seeded
        random starts inside the grid's box; or explicit starting points (rows of
        natural-unit parameters in the law's order).
    seed : int
        Seed for random starts.
    bounds : mapping, optional
        ``{symbol: (lower, upper)}`` overriding the law's defaults (natural units).
    fixed : mapping or lmfit.Parameters, optional
        ``{symbol: value}`` held fixed (e.g. ``{"E": 1.69}``); or an ``lmfit.Parameters``
        whose ``vary=False`` fix, ``expr="beta"`` tie and ``min``/``max`` bound
        (:func:`fits.constraints.to_lmfit_parameters` makes one).
    tied : mapping, optional
        ``{symbol: source}``: ``symbol`` takes ``source``'s value (``{"alpha": "beta"}``:
        one exponent for N and D).
    prior : mapping, optional
        ``{symbol: (mean, sd)}``: Gaussian prior, ``mean`` natural, ``sd`` on the fit
        scale (log scale for ``E, A, B``); see :mod:`fits.params`.
    max_iter : int
        Iteration cap of the batched optimizer, per start.
    screen_rows : int or None
        With more points than this, every start runs on a seeded random subsample of
        this many points (the certificate, "k of S starts reached the best", is counted
        there), and the distinct optima found (up to 8) are refined on all points. None:
        every start on every point.
    run_ids, data_info : optional
        Provenance stored in the result.
    warn : bool
        Emit the result's warnings as :class:`FitWarning` (else they stay on the result).
    """

    loss: str = "huber"
    delta: float = 1e-3
    k: float = 4.0
    starts: object = "auto"
    seed: int = 0
    bounds: Mapping[str, tuple[float, float]] | None = None
    fixed: object = None
    tied: Mapping[str, str] | None = None
    prior: Mapping[str, tuple[float, float]] | None = None
    max_iter: int = 200
    screen_rows: int | None = 2000
    run_ids: object = None
    data_info: dict | None = None
    warn: bool = True


def _param_model(law: Law, opts: FitLawOptions) -> ParamModel:
    """The parameter model: the law's bounds, with the options' fixed, tied, prior and
    bounds (an ``lmfit.Parameters`` as ``fixed`` gives vary, expr and min/max)."""
    fixed, tied, bounds = opts.fixed, opts.tied, opts.bounds
    if type(fixed).__name__ == "Parameters":  # an lmfit.Parameters: vary, expr, min/max
        lm = ParamModel.from_lmfit(law, fixed)
        fixed, tied, bounds = lm.fixed, lm.tied, {**lm_bounds(lm, law), **(bounds or {})}
    return ParamModel.for_law(law, fixed=fixed, tied=tied, prior=opts.prior, bounds=bounds)


def _search(law, problem, arrays, y, objective, model, theta0, opts: FitLawOptions,
            choices: dict):
    """Every start run by the batched optimizer (on a subsample first when there are more
    than ``screen_rows`` points); the batch, and how many starts reached the best when it
    was counted on the subsample."""
    lower, upper = model.free_bounds()
    screen_rows, seed, max_iter = opts.screen_rows, opts.seed, opts.max_iter
    if not (screen_rows and y.size > screen_rows):
        return multistart(problem, theta0, lower, upper, max_iter=max_iter), None
    rows = np.sort(np.random.default_rng(seed).choice(y.size, int(screen_rows), False))
    small = ConstrainedProblem(Problem(law, [a[rows] for a in arrays], y[rows], objective),
                               model)
    screen = multistart(small, theta0, lower, upper, max_iter=max_iter)
    n_at_best = count_at_best(screen.values)
    ends = _distinct_ends(screen)
    batch = multistart(problem, ends, lower, upper, max_iter=max_iter)
    choices["screen"] = {"rows": int(screen_rows), "seed": seed, "refined": len(ends),
                         "note": f"every start ran on {int(screen_rows)} of {y.size} "
                                 f"points; the {len(ends)} distinct optima were refined "
                                 "on all points"}
    return batch, n_at_best


def _posterior_mode(base, model, objective, theta, y, choices: dict):
    """With a prior: the prior weighted by the residual variance of the plain fit, and
    the optimum polished again (the posterior mode)."""
    lower, upper = model.free_bounds()
    r = base.residuals(model.expand(theta))[0][0]
    w0 = float(objective(np.zeros(1))[2][0])
    scale = w0 * float(r @ r) / max(y.size - model.n_free, 1)
    problem = ConstrainedProblem(base, model, prior_scale=scale)
    theta, value, info = polish(problem, theta, lower, upper)
    choices["prior_scale"] = scale
    choices["objective_description"] += (" + Gaussian prior penalty s2 * sum((theta - "
                                         "mean) / sd)**2 / 2 (posterior mode)")
    return problem, theta, value, info


def _result_data(law, names, arrays, y, natural, opts: FitLawOptions) -> dict:
    """The result's ``data``: provenance, ranges and every point with its prediction."""
    pred = law.function(*arrays, **natural)
    run_ids = opts.run_ids
    data = dict(opts.data_info or {})
    data.update({"ranges": {n: [float(a.min()), float(a.max())] for n, a in zip(names, arrays)},
                 "points": {"run_id": list(run_ids) if run_ids is not None else None,
                            **{n: a.tolist() for n, a in zip(names, arrays)},
                            "loss": y.tolist(), "predicted": pred.tolist()}})
    return data


def _equation(law, names, y_name: str) -> str:
    equation = law.equation
    if law.takes_x:
        equation = equation.replace("x", names[0])
    if y_name != "loss":
        equation = equation.replace("L(", f"{y_name}(", 1)
    return equation


def fit_law(law, variables: Mapping[str, np.ndarray], loss_values, *,
            options: FitLawOptions | None = None, **kwargs) -> FitResult:
    """Fit ``law`` to observed values by vectorized multistart + quasi-Newton polish.

    Parameters
    ----------
    law : str or Law
        ``"chinchilla"``, ``"kaplan"``, ``"power-law"`` (see ``fits.laws.LAWS``).
    variables : mapping
        The law's variables by name (``{"N": ..., "D": ...}``; ``{"x": ...}`` for the
        one-variable power law).
    loss_values : array
        Observed values (a loss, or any positive quantity such as an optimal LR), > 0.
    options : FitLawOptions, optional
        Objective, starts, constraints and provenance (see :class:`FitLawOptions`); its
        fields may be given as keywords instead (``loss="huber", fixed={"E": 1.69}``).

    Returns
    -------
    FitResult
        Also emits each of its warnings as a :class:`FitWarning` (unless ``warn=False``).

    Raises
    ------
    ValueError
        For unknown laws/losses, bad bounds or constraints, fewer points than free
        parameters or a single scale. As many points as free parameters fits and warns
        (under-identified).
    """
    opts = FitLawOptions.build(options, **kwargs)
    law = get_law(law)
    objective = get_objective(opts.loss, delta=opts.delta, k=opts.k)
    model = _param_model(law, opts)
    data_info = opts.data_info or {}
    y_name = data_info.get("y", "loss")
    arrays, y = _check_arrays(law, variables, loss_values, model.n_free, y_name)
    base = Problem(law, arrays, y, objective)
    problem = ConstrainedProblem(base, model)
    lower, upper = model.free_bounds()
    theta0, starts_label = _starts(law, model, base.log_vars, base.log_y, opts.starts,
                                   opts.seed)
    choices = {"law": law.name, "loss": objective.name, **objective.settings,
               "objective_description": objective.describe(), "starts": starts_label,
               "seed": opts.seed, "max_iter": opts.max_iter}
    batch, n_at_best = _search(law, problem, arrays, y, objective, model, theta0, opts,
                               choices)
    theta, value, info = polish(problem, batch.theta[batch.best], lower, upper)
    if model.prior:
        problem, theta, value, info = _posterior_mode(base, model, objective, theta, y,
                                                      choices)

    natural = law.from_theta(model.expand(theta)[0])
    notes = []
    if n_at_best is None:
        n_at_best = count_at_best(batch.values, best=value)
    if n_at_best == 1 and len(theta0) >= 20:
        notes.append(f"only 1 of {len(theta0)} starts reached the best optimum: the objective "
                     "is rugged here; confirm with more starts (--starts)")
    names = [v if v != "x" else data_info.get("x", "x") for v in law.variables]
    notes.extend(_design_warnings(names, arrays))
    run_ids = opts.run_ids
    return finish(problem, model, theta, value, info, law=law, n_points=y.size,
                  n_runs=len(set(run_ids)) if run_ids is not None else y.size,
                  n_starts=len(theta0), equation=_equation(law, names, y_name),
                  data=_result_data(law, names, arrays, y, natural, opts), choices=choices,
                  notes=notes, warn=opts.warn,
                  convergence={"n_at_best": int(n_at_best),
                               "starts_converged": int(batch.converged.sum()),
                               "multistart_best": float(batch.values[batch.best])},
                  bound_remedy="add runs that constrain {name}",
                  converge_remedy="try more starts (--starts), other bounds (--bounds), or "
                                  "check the data for outliers", stacklevel=2)


class ScalingLawFit(EstimatorParams):
    """Estimator: fit a point law to the final point of every run in a runs table.

    Parameters
    ----------
    law : str
        ``"chinchilla"`` (default), ``"kaplan"`` or ``"power-law"``.
    x : {"N", "D", "C", "step"}
        Variable of the one-variable power law (default ``"N"``); ``"step"`` fits every
        point of the curves instead of final points.
    loss, delta, k, starts, seed, bounds, fixed, tied, prior, max_iter
        See :func:`fit_law` (``fixed={"E": 1.69}``, ``tied={"alpha": "beta"}``,
        ``prior={"alpha": (0.34, 0.05)}``, ``bounds={"alpha": (0.1, 0.6)}``).
    y : str
        The fitted column of the final points (default ``"loss"``; e.g. an optimal-LR
        column to fit a hyperparameter law against ``x="C"``).
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
                 delta: float = 1e-3, k: float = 4.0, starts="auto", seed: int = 0,
                 bounds=None, fixed=None, tied=None, prior=None, y: str = "loss",
                 drop_highest: int = 0, max_iter: int = 200, where: str | None = None,
                 split: str | None = "fit", points: str = "final", repeats: str = "keep",
                 n_convention: str | None = None):
        self.law = law
        self.x = x
        self.loss = loss
        self.delta = delta
        self.k = k
        self.starts = starts
        self.seed = seed
        self.bounds = bounds
        self.fixed = fixed
        self.tied = tied
        self.prior = prior
        self.y = y
        self.drop_highest = drop_highest
        self.max_iter = max_iter
        self.where = where
        self.split = split
        self.points = points
        self.repeats = repeats
        self.n_convention = n_convention

    def _select(self, table: RunsTable, points: str) -> pd.DataFrame:
        # row selection (where, split, checkpoints, repeats, N convention): data/select.py
        self.selection_ = select_points(table, where=self.where, split=self.split,
                                        points=points, repeats=self.repeats,
                                        n_convention=self.n_convention)
        return self.selection_.frame

    def _points(self, table: RunsTable, law: Law):
        if law.takes_x:
            x = self.x or "N"
            if x not in POINT_VARIABLES:
                raise ValueError(f"`x` must be one of {list(POINT_VARIABLES)}, got {x!r}")
            frame = self._select(table, "all" if x == "step" else self.points)
            if x == "step":
                frame = frame[frame["step"] > 0]
            return frame, {"x": frame[x].to_numpy(dtype=float)}, x
        if self.x is not None:
            raise ValueError(f"`x` applies to the one-variable power law only; law "
                             f"{law.name!r} uses {', '.join(law.variables)}")
        if not table.meta.get("tokens_known", True):  # before the selection's checks
            raise ValueError(f"law {law.name!r} needs token counts D (or C) and this table has "
                             "none; add a D, C or tokens_per_step column")
        frame = self._select(table, self.points)
        from .laws.data_constrained import with_unique_tokens

        frame = with_unique_tokens(frame, law)  # U from `epochs`; warns on repeated data
        return frame, {v: frame[v].to_numpy(dtype=float) for v in law.variables}, None

    def fit(self, data, *, warn: bool = True) -> "ScalingLawFit":
        """Fit to ``data`` (RunsTable, DataFrame or path); returns ``self``.

        ``warn=False``: the fit's warnings stay on ``result_.warnings`` for the caller to
        show, instead of being emitted as :class:`FitWarning`.
        """
        table = as_table(data)
        law = get_law(self.law)
        if not (isinstance(self.drop_highest, (int, np.integer)) and self.drop_highest >= 0):
            raise ValueError(f"`drop_highest` must be an integer >= 0, got {self.drop_highest!r}")
        frame, variables, x = self._points(table, law)
        if self.y not in frame.columns:
            raise ValueError(f"`y` column {self.y!r} is not in the table; it has "
                             f"{[c for c in frame.columns if c not in ('run_id', 'step')]}")
        values = pd.to_numeric(frame[self.y], errors="coerce")
        if self.y != "loss":
            keep = values.notna().to_numpy()
            frame, values = frame[keep], values[keep]
            variables = {k: v[keep] for k, v in variables.items()}
        frame = frame.assign(**{"_y": values.to_numpy(dtype=float)})
        dropped: list[str] = []
        if self.drop_highest:
            if self.drop_highest >= len(frame):
                raise ValueError(f"cannot drop {self.drop_highest} of {len(frame)} points")
            order = np.argsort(-frame["_y"].to_numpy(), kind="stable")
            drop_idx = order[: self.drop_highest]
            dropped = frame["run_id"].iloc[drop_idx].tolist()
            keep = np.ones(len(frame), dtype=bool)
            keep[drop_idx] = False
            if frame["run_id"].duplicated().any():  # checkpoints: drop whole runs by final loss
                finals = frame.groupby("run_id", sort=False)["_y"].last()
                dropped = finals.sort_values(ascending=False, kind="stable").index[
                    : self.drop_highest].tolist()
                keep = ~frame["run_id"].isin(dropped).to_numpy()
            frame = frame[keep]
            variables = {k: v[keep] for k, v in variables.items()}
        info = {"source": table.meta.get("source"), "data_hash": table.data_hash(),
                "flops_convention": table.meta.get("flops_convention"),
                "n_convention": table.meta.get("n_convention"),
                "dropped_run_ids": dropped,
                "drop_rule": f"{self.drop_highest} highest-loss points" if dropped else None,
                **({"x": x} if x else {}), **({"y": self.y} if self.y != "loss" else {})}
        info.update(selection_info(self.selection_, [x] if x else list(variables)))
        try:
            self.result_ = fit_law(law, variables, frame["_y"].to_numpy(dtype=float),
                                   loss=self.loss, delta=self.delta, k=self.k,
                                   starts=self.starts, seed=self.seed, bounds=self.bounds,
                                   fixed=self.fixed, tied=self.tied, prior=self.prior,
                                   max_iter=self.max_iter, run_ids=frame["run_id"].tolist(),
                                   data_info=info, warn=warn)
        except TooFewPointsError as err:  # too few final points of runs that logged curves
            hint = checkpoints_hint(self.selection_)
            if hint:
                raise TooFewPointsError(f"{err}; or {hint}") from None
            raise
        self.result_ = finish_selection(self.result_, self.selection_, law, x, warn=warn)
        self.params_ = self.result_.values
        self.table_ = table
        self.calibration_ = None
        return self

    def _check_fitted(self):
        if not hasattr(self, "result_"):
            raise RuntimeError("this ScalingLawFit is not fitted yet; call fit(data) first")

    def predict(self, X=None, /, *, level: float = DEFAULT_LEVEL, n_boot: int = 200,
                calibration="backtest", **variables) -> Prediction:
        """Predicted loss with its intervals, e.g. ``predict(N=7e10, D=1.4e12)``.

        Parameters
        ----------
        X : DataFrame or mapping, optional
            Targets, one row each, with a column per variable of the law (``law.variables``;
            the power law also takes the column it was fitted on). A DataFrame's index is
            kept on the result (``predict(frame).to_frame()`` lines up with ``frame``).
        **variables
            Or the variables as keywords (numbers or arrays).
        level : float
            Level of ``ci`` and ``pi`` (0.9 by default).
        n_boot : int
            Bootstrap refits for ``ci`` (0: no ``ci``).
        calibration : "backtest", "default" or Calibration
            How ``pi`` is sized: backtests on the fitted table (computed once and kept on
            ``calibration_``), the documented conservative default, or a given one.

        Returns
        -------
        Prediction
            ``np.asarray(pred)`` is the values; ``pred.to_frame()`` a DataFrame with
            ``value``, ``ci_lower`` ... ``pi_upper``, ``extrapolation``.
        """
        from .intervals import point_intervals
        from .targets import law_targets

        self._check_fitted()
        law = get_law(self.law)
        index = None
        if X is not None:
            if variables:
                raise TypeError("give the targets as a table X or as keywords, not both")
            if isinstance(X, pd.DataFrame):
                index = X.index
            variables = {c: np.asarray(X[c]) for c in X
                         if c in law.variables or c == (self.x or "N")}
        at = law_targets(law, variables, x_name=self.x or "N")
        return point_intervals(self.result_, self._calibration(calibration), at, level=level,
                               n_boot=n_boot, seed=self.seed, index=index)

    def _calibration(self, how):
        from .calibration import Calibration, default_calibration
        from .intervals import calibrate

        if isinstance(how, Calibration):
            return how
        if how == "default":
            return default_calibration("calibration='default': the documented conservative "
                                       "interval, not backtested on this table")
        if how != "backtest":
            raise ValueError(f"`calibration` must be 'backtest', 'default' or a Calibration, "
                             f"got {how!r}")
        if getattr(self, "calibration_", None) is None:
            try:
                self.calibration_ = calibrate(self, self.table_, self.result_)
            except ValueError as err:  # e.g. a selection the backtests cannot cut
                self.calibration_ = default_calibration(f"backtests not possible ({err})")
        return self.calibration_
