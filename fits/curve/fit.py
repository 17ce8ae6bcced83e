"""Fit a loss-curve law to whole training curves; evaluate it on held-out curves.

Objective: summed Huber (delta 1e-3) on log residuals over every point of every fitted
curve. Starting points come from variable projection (the laws are linear in ``L0``,
``A`` and ``B``/``C`` once the exponents are fixed, so a grid over the exponents with a
linear least-squares solve for the rest gives good starts, where naive starts fail),
then the batched Levenberg-Marquardt multistart and an L-BFGS-B polish
(:mod:`fits.multistart`). Distinct optima (and, for the LR-annealing law, the optimum
at each momentum ``lambda``) are candidates; for the multi-power law, so is the result of
Luo et al.'s own procedure (:mod:`fits.curve.luo`), which stops far above the optimum
and predicts other schedules differently. One candidate is chosen by the lowest
objective or by leave-one-curve-out validation (the default when there are several
methods), and every candidate's scores are reported.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..finish import finish
from ..multistart import count_at_best, multistart, polish
from ..laws.numeric import solve_linear
from ..objectives import get_objective
from ..params import ParamModel
from ..result import FitResult
from .curves import curves_from_table
from .errors import autocorr_time as _autocorr_time
from .errors import heldout_errors
from .errors import summary as _summary
from .laws import get_curve_law
from .luo import fit_luo2025
from .problem import CurveProblem
from .reduce import describe_reduction, exact_for_report
from .selection import calibrate_choice, choose
from .uncertainty import annotate_heldout

__all__ = ["fit_curves", "fit_curve_law", "heldout_errors", "METHODS", "SELECTIONS"]

SELECTIONS = ("objective", "loco")
#: How candidate fits are made: ``"converged"`` (multi-start optima of the objective)
#: and, for the multi-power law, ``"luo2025"`` (the authors' AdamW procedure).
METHODS = ("converged", "luo2025")



def _grid_rows(problem):
    """Natural-unit rows over the exponent grid (free nonlinear parameters only)."""
    law = problem.law
    grid_spec = law.grid  # the law's own exponent grid (fits/curve/laws.py)
    names = [p for p in law.params if p in grid_spec and p not in problem.fixed]
    combos = list(itertools.product(*(grid_spec[p] for p in names))) or [()]
    rows = np.tile(law.natural(problem.full(problem.neutral())[0]), (len(combos), 1))
    for j, name in enumerate(names):
        rows[:, law.params.index(name)] = [c[j] for c in combos]
    return rows


def _linear_solve(problem, rows):
    """Least squares (relative residuals) for the parameters the law is linear in, given
    the others in each natural-unit row; rows where a log-scale one comes out <= 0 are
    NaN."""
    law = problem.law
    idx = [law.params.index(p) for p in law.linear if p not in problem.fixed]
    y = np.concatenate([c.loss for c in problem.curves])

    def stacked(r):
        return np.concatenate([p.evaluate(r) for p in problem.plans], axis=1)

    return solve_linear(stacked, rows, idx, y, [law.params.index(p) for p in law.log_params])


def _linear_starts(problem, n_keep):
    """Grid over the nonlinear parameters, linear least squares for the others."""
    law = problem.law
    rows = _linear_solve(problem, _grid_rows(problem))
    rows = rows[~np.isnan(rows).any(axis=1)]
    if not rows.size:
        return problem.neutral()[None, :]
    starts = np.array([law.to_theta(dict(zip(law.params, row)))[problem.free]
                       for row in rows])
    values = problem.value(starts)
    return starts[np.argsort(values)[:n_keep]]


def _optimize(problem, lower, upper, theta0, max_iter):
    batch = multistart(problem, theta0, lower, upper, max_iter=max_iter)
    order = np.argsort(batch.values)
    ends, seen = [], []
    for i in order:  # distinct end points, best first
        if not np.isfinite(batch.values[i]):
            continue
        if any(np.allclose(batch.theta[i], s, rtol=1e-3, atol=1e-3) for s in seen):
            continue
        seen.append(batch.theta[i])
        theta, value, info = polish(problem, batch.theta[i], lower, upper)
        ends.append((theta, value, info))
    return batch, ends


def _methods(law, methods, fixed, prior):
    if methods is None:
        plain = not fixed and not prior  # (ties count as fixed here)
        # every method the law has, chosen by leave-one-run-out on the user's table
        # (fits/curve/selection.py), never by a default that won on one public dataset
        return tuple(law.methods) if plain else ("converged",)
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"`methods` must be a non-empty subset of {list(METHODS)}, got "
                         f"{list(methods)}")
    if "luo2025" in methods and ("luo2025" not in law.methods or fixed or prior):
        raise ValueError("method 'luo2025' fits the multi-power law ('mpl') with every "
                         "parameter free (no `fixed`, no `prior`)")
    return methods


def fit_curve_law(curves, law: str = "mpl", *, loss: str = "huber", delta: float = 1e-3,
                  decays=None, select: str | None = None, methods=None,
                  n_starts: int = 8, bounds=None, fixed=None, tied=None, max_iter: int = 200,
                  heldout=None,
                  prior=None, prior_scale=None,
                  data_info: dict | None = None, calibrate: bool = True) -> FitResult:
    """Fit ``law`` to loss curves (a list of :class:`~fits.curve.curves.Curve`).

    Parameters
    ----------
    curves : list of Curve
        The curves to fit (``curves_from_table``).
    law : {"mpl", "tissue", "tissue-sized"}
    loss, delta : str, float
        Objective on log residuals (default Huber, delta 1e-3 as in Luo et al. 2025).
    decays : sequence of float, optional
        Momentum grid of the LR-annealing law (default 0.99, 0.995, 0.999, 0.9995).
    select : {"objective", "loco"}, optional
        How to choose between candidate fits (distinct optima, one per momentum, one per
        method): lowest objective, or lowest leave-one-curve-out relative error (needs
        >= 2 curves). Default: ``"loco"`` when there are several methods or momenta
        and >= 2 curves, else ``"objective"``. Every candidate's scores are in
        ``convergence["candidates"]``.
    methods : sequence of {"converged", "luo2025"}, optional
        How candidates are made (:data:`METHODS`). Default: every method the law has
        (both for the multi-power law without ``fixed`` or ``prior``), chosen by
        leave-one-run-out (:mod:`fits.curve.selection`; the candidate table is in
        ``data["calibration"]["candidates"]``).
    n_starts : int
        Starting points kept from the variable-projection grid.
    bounds : mapping, optional
        ``{symbol: (lower, upper)}`` (natural units) overriding the defaults.
    fixed : mapping, optional
        ``{symbol: value}`` held fixed (e.g. shape parameters from a reference fit).
    tied : mapping, optional
        ``{symbol: source}``: ``symbol`` takes ``source``'s value.
    max_iter : int
        Iteration cap of the batched optimizer.
    prior : mapping, optional
        ``{symbol: (mean, sd)}``, a Gaussian prior on free parameters (``mean`` natural,
        ``sd`` in fit space: log scale for ``A, B, C``), e.g. :data:`MPL_SHAPE_PRIOR`.
        The fit is then the posterior mode: objective + ``s2 * sum (theta - mean)**2 /
        (2 sd**2)``, ``s2`` the residual variance per point.
    prior_scale : float, optional
        ``s2``; by default the mean squared log residual of the fit without the prior.
    heldout : list of Curve, optional
        Curves to evaluate on; their errors go to ``data["heldout"]`` and ``heldout``.
    data_info : dict, optional
        Provenance stored in ``data``.
    calibrate : bool
        With >= 2 curves, store how the law's error grows in ``data["calibration"]``
        (leave-one-run-out and truncation backtests, :mod:`fits.curve.selection`): the
        prediction intervals of held-out runs, schedules and early curves use it.

    Returns
    -------
    FitResult
        With ``choices["decay"]`` (LR-annealing law), ``data["heldout"]``
        ``{run_id: {mean_rel_error, max_rel_error, final_pred, final_true}}`` and
        ``data["heldout_summary"]`` (PredE, WorstE). Its warnings are emitted as
        :class:`~fits.result.FitWarning`.

    Raises
    ------
    ValueError
        For an unknown law, loss or selection rule, or too few points.
    """
    law = get_curve_law(law)
    objective = get_objective(loss, delta=delta)
    model = ParamModel.for_law(law, fixed=fixed, tied=tied, prior=prior, bounds=bounds)
    methods = _methods(law, methods, {**model.fixed, **model.tied}, prior)
    curves = list(curves)
    decay_grid = tuple(decays) if decays is not None else (law.decays or (None,))
    if select is None:
        several = len(methods) > 1 or len(decay_grid) > 1
        select = "loco" if several and len(curves) >= 2 else "objective"
    if select not in SELECTIONS:
        raise ValueError(f"`select` must be one of {list(SELECTIONS)}, got {select!r}")
    if not curves:
        raise ValueError("no curves to fit")
    n_points = sum(c.loss.size for c in curves)
    if n_points < model.n_free:
        raise ValueError(f"law {law.name!r} has {model.n_free} free parameters and needs more "
                         f"points; got {n_points}")
    if select == "loco" and len(curves) < 2:
        raise ValueError("select='loco' needs at least 2 curves")
    if law.sized and any(c.N is None for c in curves):
        raise ValueError(f"law {law.name!r} needs the model size N of every run")
    if prior and prior_scale is None:
        plain = fit_curve_law(curves, law.name, loss=loss, delta=delta, decays=decays,
                              n_starts=n_starts, bounds=bounds, fixed=fixed, tied=tied,
                              max_iter=max_iter, methods=("converged",),
                              select="objective", calibrate=False)
        # residual variance per independent point: the residuals are autocorrelated,
        # so the curves carry n / tau independent points, not n
        prior_scale = (plain.data["residual_variance"] *
                       plain.data["residual_autocorr_time"])
    lower_full, upper_full = law.theta_bounds(bounds)

    candidates, n_starts_total, all_values = [], 0, []
    for decay in decay_grid if "converged" in methods else ():
        problem = CurveProblem(law, curves, objective, decay=decay, fixed=fixed, tied=tied,
                               prior=prior, prior_scale=prior_scale or 1.0, bounds=bounds)
        lower, upper = problem.model.free_bounds()
        theta0 = _linear_starts(problem, n_starts)
        n_starts_total += len(theta0)
        batch, ends = _optimize(problem, lower, upper, theta0, max_iter)
        all_values.extend(batch.values.tolist())
        for theta, value, info in ends[:3]:
            candidates.append({"method": "converged", "decay": decay,
                               "theta": problem.full(theta)[0],
                               "objective": float(value), "polish": info,
                               "n_at_best": count_at_best(batch.values, rtol=1e-4),
                               "problem": problem})
    if "luo2025" in methods:
        problem = CurveProblem(law, curves, objective)
        theta, value, info = fit_luo2025(problem)
        candidates.append({"method": "luo2025", "decay": None, "theta": theta,
                           "objective": value, "polish": info, "n_at_best": 1,
                           "problem": problem})
        n_starts_total += 1
    if not candidates:
        raise RuntimeError("no starting point gave a finite objective; check the data")
    bounds_full = (lower_full, upper_full)
    best = choose(law, objective, curves, candidates, select, bounds_full, max_iter)
    calibration = (calibrate_choice(law, objective, curves, candidates, best, bounds_full,
                                    max_iter) if calibrate and len(curves) >= 2 else None)
    info = dict(data_info or {})
    if calibration is not None:
        info["calibration"] = calibration
    best = exact_for_report(best)  # a long curve fitted on blocks: report on every step
    result = _result(law, objective, curves, best, candidates, select, model,
                     n_starts_total, max_iter, heldout, info)
    if heldout and calibration is not None:
        annotate_heldout(result, list(heldout))
    if prior:
        result.choices["prior"] = {p: {"mean": float(m), "sd_fit_space": float(sd)}
                                   for p, (m, sd) in prior.items()}
        result.choices["prior_scale"] = float(prior_scale)
        result.choices["objective_description"] += (
            " + Gaussian prior penalty s2 * sum((theta - mean) / sd)**2 / 2 (posterior "
            "mode; s2 = residual variance of the unpenalized fit)")
    return result


def _result(law, objective, curves, best, candidates, select, model, n_starts,
            max_iter, heldout, data_info):
    theta, decay, problem = best["theta"], best["decay"], best["problem"]
    if best["method"] == "luo2025":  # every parameter free
        model = ParamModel.build(law.params, law.is_log(), model.lower, model.upper,
                                 owner=f"law {law.name!r}")
    natural = law.from_theta(theta)
    notes = []
    if decay is not None and decay in (min(law.decays), max(law.decays)) and \
            len({c["decay"] for c in candidates}) > 1:
        notes.append(f"the chosen momentum lambda={decay} is at the edge of the grid; "
                     "pass a wider `decays` grid (--decays)")
    data = dict(data_info or {})
    data.update({"run_ids": [c.run_id for c in curves],
                 "points_per_run": {c.run_id: int(c.loss.size) for c in curves},
                 "dropped_points": {c.run_id: c.dropped for c in curves if c.dropped},
                 "step_range": [int(min(c.steps[0] for c in curves)),
                                int(max(c.steps[-1] for c in curves))],
                 # what a prediction from this fit compares its target with
                 "run_schedules": {c.run_id: c.summary() for c in curves}})
    if heldout:
        data["heldout"] = heldout_errors(law, natural, heldout, decay=decay)
        data["heldout_summary"] = _summary(data["heldout"])
    fit_err = heldout_errors(law, natural, curves, decay=decay)
    log_res = problem.residuals(theta[problem.free][None])[0][0]
    data["residual_variance"] = float(np.mean(log_res ** 2))
    data["residual_autocorr_time"] = _autocorr_time(log_res, [c.loss.size for c in curves])
    data["fit_errors"] = _summary(fit_err)
    choices = {"law": law.name, "loss": objective.name, **objective.settings,
               "objective_description": objective.describe() + " over all fitted points",
               "select": select, "method": best["method"], "decay": decay,
               "decays": list(dict.fromkeys(c["decay"] for c in candidates)),
               "max_iter": max_iter,
               "starts": ("instantaneous-drop fit + AdamW best iterate (Luo et al. 2025 "
                          "procedure)" if best["method"] == "luo2025" else
                          "variable projection: exponent grid + linear least squares")}
    if best["method"] == "luo2025":
        choices["stderr_method"] = ("Gauss-Newton approximation on the fit residuals at a "
                                    "point that is not an optimum: indicative only")
    convergence = {"n_at_best": int(best["n_at_best"]),
                   "candidates": [{"method": c["method"], "decay": c["decay"],
                                   "objective": c["objective"],
                                   "params": law.from_theta(c["theta"]),
                                   **({"loco": {r: v["mean_rel_error"]
                                                for r, v in c["loco"].items()},
                                       "loco_mean": c["loco_mean"]}
                                      if "loco" in c else {}),
                                   "chosen": c is best,
                                   "plausible": bool(c.get("plausible"))}
                                  for c in candidates]}
    result = finish(problem, model, theta[problem.free], best["objective"], best["polish"],
                    law=law, n_points=sum(c.loss.size for c in curves), n_runs=len(curves),
                    n_starts=n_starts, data=data, choices=choices, convergence=convergence,
                    notes=notes, bound_remedy="add curves whose schedules constrain {name}",
                    converge_remedy="raise `max_iter` (Python API), give more curves, or fix "
                                    "shape parameters (--fix NAME=VALUE; `fixed=` in Python)", stacklevel=4)
    result.heldout = data.get("heldout", {})
    if "reduction" in best:  # fitted on blocks of a long curve (fits/curve/reduce.py)
        result.choices["curve_reduction"] = best["reduction"]
        result.choices["objective_description"] += describe_reduction(best["reduction"])
    return result


def fit_curves(table, law: str = "mpl", *, fit_runs=None, eval_runs=None,
               drop_warmup: bool = True, min_step: int = 0, every: int = 1,
               **options) -> FitResult:
    """Fit ``law`` to runs of a runs table and evaluate it on the others.

    Parameters
    ----------
    table : data.RunsTable
    law : {"mpl", "tissue", "tissue-sized"}
    fit_runs : sequence of str, optional
        Runs to fit (default: runs whose ``split`` is ``fit``; every run if no split).
    eval_runs : sequence of str, optional
        Runs to evaluate on (default: every other run).
    drop_warmup : bool
        Leave out points inside the warmup (default).
    min_step, every : int
        Leave out points before ``min_step``; keep every ``every``-th point
        (:func:`~fits.curve.curves.curves_from_table`).
    **options
        Passed to :func:`fit_curve_law` (``select``, ``decays``, ``bounds``, ``fixed``...).

    Returns
    -------
    FitResult
        ``result.heldout`` (also ``result.data["heldout"]``) maps each evaluated run to
        ``{mean_rel_error, max_rel_error, final_pred, final_true}``.

    Examples
    --------
    >>> from scaling.data import load_multipower
    >>> table = load_multipower()
    >>> runs = [r for r in table.runs["run_id"] if r.startswith("25M/")]
    >>> result = fit_curves(table.subset(runs), "tissue")  # doctest: +SKIP
    """
    all_curves = curves_from_table(table, drop_warmup=drop_warmup, min_step=min_step,
                                   every=every)
    by_id = {c.run_id: c for c in all_curves}
    if fit_runs is None:
        labelled = [c.run_id for c in all_curves if c.split == "fit"]
        fit_runs = labelled or list(by_id)
    unknown = [r for r in list(fit_runs) + list(eval_runs or []) if r not in by_id]
    if unknown:
        raise ValueError(f"unknown run_id(s) {unknown[:5]}")
    if eval_runs is None:
        eval_runs = [r for r in by_id if r not in set(fit_runs)]
    # a "held-out" error never includes a fitted run
    eval_runs = [r for r in eval_runs if r not in set(fit_runs)]
    info = {"source": table.meta.get("source"), "data_hash": table.data_hash(),
            "drop_warmup": drop_warmup, "min_step": int(min_step), "every": int(every)}
    return fit_curve_law([by_id[r] for r in fit_runs], law,
                         heldout=[by_id[r] for r in eval_runs], data_info=info, **options)


def fit_curves_by_size(table, law: str = "mpl", *, fit_runs=None, **options) -> dict:
    """One curve-law fit per model size (``N``): each size's fit runs, evaluated on the
    other runs of the same size (a law fitted at 25M says nothing about 100M curves).

    Returns ``{size label: FitResult}``; with ``fit_runs`` given, one fit on those runs
    evaluated on every other run, under the label ``"all"``. Models are told apart by a
    ``model`` column, else by ``N``; a table with neither (the curves of one model)
    gives one fit, labelled ``"all"``.
    """
    if fit_runs:
        return {"all": fit_curves(table, law, fit_runs=fit_runs, **options)}
    runs = table.runs
    label_col = "model" if "model" in runs.columns else "N"
    if label_col not in runs.columns or runs[label_col].isna().all():
        return {"all": fit_curves(table, law, **options)}
    if runs[label_col].isna().any():
        missing = runs["run_id"][runs[label_col].isna()].tolist()[:5]
        raise ValueError(f"runs {missing} have no {label_col!r} while others do: one "
                         "curve-law fit per model needs it for every run (or for none)")
    out = {}
    for label, group in runs.groupby(label_col, sort=True):
        out[str(label)] = fit_curves(table.subset(group["run_id"]), law, **options)
    return out
