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

from dataclasses import replace

import numpy as np

from ..finish import finish
from ..multistart import count_at_best
from ..params import ParamModel
from ..result import FitResult
from .curves import curves_from_table
from .errors import autocorr_time as _autocorr_time
from .errors import heldout_errors
from .errors import summary as _summary
from .fit_options import METHODS, SELECTIONS, CurveFitOptions, FitSetup, fit_setup
from .luo import fit_luo2025
from .problem import CurveProblem
from .reduce import describe_reduction, exact_for_report
from .selection import calibrate_choice, choose
from .starts import linear_starts, optimize_ends
from .uncertainty import annotate_heldout

__all__ = ["fit_curves", "fit_curve_law", "CurveFitOptions", "heldout_errors", "METHODS", "SELECTIONS"]





def _prior_scale(setup: FitSetup):
    """``s2`` of the prior penalty: the given one, else the residual variance per
    independent point of the fit without the prior."""
    opts = setup.opts
    if not opts.prior or opts.prior_scale is not None:
        return opts.prior_scale
    plain = fit_curve_law(setup.curves, setup.law.name,
                          options=replace(opts, prior=None, prior_scale=None,
                                          methods=("converged",), select="objective",
                                          calibrate=False, warn=False))
    # residual variance per independent point: the residuals are autocorrelated,
    # so the curves carry n / tau independent points, not n
    return plain.data["residual_variance"] * plain.data["residual_autocorr_time"]


def _candidates(setup: FitSetup, prior_scale):
    """Candidate fits (distinct optima per momentum; Luo et al.'s procedure) and the
    number of starts."""
    law, opts = setup.law, setup.opts
    candidates, n_starts_total = [], 0
    for decay in setup.decay_grid if "converged" in setup.methods else ():
        problem = CurveProblem(law, setup.curves, setup.objective, decay=decay,
                               fixed=opts.fixed, tied=opts.tied, prior=opts.prior,
                               prior_scale=prior_scale or 1.0, bounds=opts.bounds)
        lower, upper = problem.model.free_bounds()
        theta0 = linear_starts(problem, opts.n_starts)
        n_starts_total += len(theta0)
        batch, ends = optimize_ends(problem, lower, upper, theta0, opts.max_iter)
        for theta, value, info in ends[:3]:
            candidates.append({"method": "converged", "decay": decay,
                               "theta": problem.full(theta)[0],
                               "objective": float(value), "polish": info,
                               "n_at_best": count_at_best(batch.values, rtol=1e-4),
                               "problem": problem})
    if "luo2025" in setup.methods:
        problem = CurveProblem(law, setup.curves, setup.objective)
        theta, value, info = fit_luo2025(problem)
        candidates.append({"method": "luo2025", "decay": None, "theta": theta,
                           "objective": value, "polish": info, "n_at_best": 1,
                           "problem": problem})
        n_starts_total += 1
    if not candidates:
        raise RuntimeError("no starting point gave a finite objective; check the data")
    return candidates, n_starts_total


def fit_curve_law(curves, law: str = "mpl", *, heldout=None, data_info: dict | None = None,
                  options: CurveFitOptions | None = None, **settings) -> FitResult:
    """Fit ``law`` to loss curves (a list of :class:`~fits.curve.curves.Curve`).

    Parameters
    ----------
    curves : list of Curve
        The curves to fit (``curves_from_table``).
    law : {"mpl", "tissue", "tissue-sized"}
    heldout : list of Curve, optional
        Curves to evaluate on; their errors go to ``data["heldout"]`` and ``heldout``.
    data_info : dict, optional
        Provenance stored in ``data``.
    options : CurveFitOptions, optional
        The settings as one object; keyword ``settings`` (``loss``, ``delta``,
        ``decays``, ``select``, ``methods``, ``n_starts``, ``bounds``, ``fixed``,
        ``tied``, ``max_iter``, ``prior``, ``prior_scale``, ``calibrate``, ``warn``:
        :class:`~fits.curve.fit_options.CurveFitOptions`) override its fields.
    Returns
    -------
    FitResult
        With ``choices["decay"]`` (LR-annealing law), ``data["heldout"]``
        ``{run_id: {mean_rel_error, max_rel_error, final_pred, final_true}}`` and
        ``data["heldout_summary"]`` (PredE, WorstE); its warnings on ``warnings``.

    Raises
    ------
    ValueError
        For an unknown law, loss or selection rule, or too few points.
    """
    opts = CurveFitOptions.of(options, **settings)
    setup = fit_setup(curves, law, opts)
    law, curves = setup.law, setup.curves
    prior_scale = _prior_scale(setup)
    candidates, n_starts_total = _candidates(setup, prior_scale)
    bounds_full = law.theta_bounds(opts.bounds)
    best = choose(law, setup.objective, curves, candidates, setup.select, bounds_full,
                  opts.max_iter)
    calibration = (calibrate_choice(law, setup.objective, curves, candidates, best,
                                    bounds_full, opts.max_iter)
                   if opts.calibrate and len(curves) >= 2 else None)
    info = dict(data_info or {})
    if calibration is not None:
        info["calibration"] = calibration
    best = exact_for_report(best)  # a long curve fitted on blocks: report on every step
    result = _result(setup, best, candidates, n_starts_total, heldout, info)
    if heldout and calibration is not None:
        annotate_heldout(result, list(heldout))
    if opts.prior:
        result.choices["prior"] = {p: {"mean": float(m), "sd_fit_space": float(sd)}
                                   for p, (m, sd) in opts.prior.items()}
        result.choices["prior_scale"] = float(prior_scale)
        result.choices["objective_description"] += (
            " + Gaussian prior penalty s2 * sum((theta - mean) / sd)**2 / 2 (posterior "
            "mode; s2 = residual variance of the unpenalized fit)")
    if opts.warn:
        result.warn(stacklevel=2)
    return result


def _fit_data(setup: FitSetup, natural, best, heldout, data_info) -> dict:
    """``data`` of the result: runs, held-out and in-sample errors, residual scale."""
    law, curves, decay, problem = setup.law, setup.curves, best["decay"], best["problem"]
    theta = best["theta"]
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
    return data


def _choices(setup: FitSetup, best, candidates) -> dict:
    law, objective, luo = setup.law, setup.objective, best["method"] == "luo2025"
    choices = {"law": law.name, "loss": objective.name, **objective.settings,
               "objective_description": objective.describe() + " over all fitted points",
               "select": setup.select, "method": best["method"], "decay": best["decay"],
               "decays": list(dict.fromkeys(c["decay"] for c in candidates)),
               "max_iter": setup.opts.max_iter,
               "starts": ("instantaneous-drop fit + AdamW best iterate (Luo et al. 2025 "
                          "procedure)" if luo else
                          "variable projection: exponent grid + linear least squares")}
    if luo:
        choices["stderr_method"] = ("Gauss-Newton approximation on the fit residuals at a "
                                    "point that is not an optimum: indicative only")
    return choices


def _convergence(law, best, candidates) -> dict:
    return {"n_at_best": int(best["n_at_best"]),
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


def _result(setup: FitSetup, best, candidates, n_starts, heldout, data_info):
    law, curves, model = setup.law, setup.curves, setup.model
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
    data = _fit_data(setup, natural, best, heldout, data_info)
    result = finish(problem, model, theta[problem.free], best["objective"], best["polish"],
                    law=law, n_points=sum(c.loss.size for c in curves), n_runs=len(curves),
                    n_starts=n_starts, data=data, choices=_choices(setup, best, candidates),
                    convergence=_convergence(law, best, candidates),
                    notes=notes, bound_remedy="add curves whose schedules constrain {name}",
                    converge_remedy="raise `max_iter` (Python API), give more curves, or fix "
                                    "shape parameters (--fix NAME=VALUE; `fixed=` in Python)",
                    warn=False)
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
        Runs to evaluate on (default: every other run; for a law without a model-size
        term, every other run of the fitted runs' size, the rest named in a warning).
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
    note = None
    if eval_runs is None:
        eval_runs, note = _same_size_eval(table.runs, fit_runs, law)
        eval_runs = [r for r in (eval_runs or by_id) if r in by_id]
    # a "held-out" error never includes a fitted run
    eval_runs = [r for r in eval_runs if r not in set(fit_runs)]
    info = {"source": table.meta.get("source"), "data_hash": table.data_hash(),
            "drop_warmup": drop_warmup, "min_step": int(min_step), "every": int(every)}
    opts = CurveFitOptions.of(options.pop("options", None), **options)
    result = fit_curve_law([by_id[r] for r in fit_runs], law,
                           heldout=[by_id[r] for r in eval_runs], data_info=info,
                           options=replace(opts, warn=False))
    if note:
        result = result.with_warnings(note)
    if opts.warn:
        result.warn(stacklevel=2)
    return result


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
    label_col = size_label(runs)
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


def size_label(runs) -> str:
    """The run column that tells model sizes apart: ``model``, else ``N``."""
    return "model" if "model" in runs.columns else "N"


def _same_size_eval(runs, fit_runs, law: str):
    """The held-out runs of a fit on ``fit_runs``: every other run, except, for a law
    without a model-size term, runs of other sizes (a 25M fit's errors on 100M curves
    measure the size, not the schedule, and would swamp the interval calibrated from
    them). Returns ``(eval_runs or None, note or None)``."""
    from .laws import get_curve_law

    label_col = size_label(runs)
    if get_curve_law(law).sized or label_col not in runs.columns \
            or runs[label_col].isna().any():
        return None, None
    labels = dict(zip(runs["run_id"], runs[label_col]))
    fitted = {labels[r] for r in fit_runs if r in labels}
    others = [r for r in runs["run_id"] if r not in set(fit_runs)]
    same = [r for r in others if labels[r] in fitted]
    skipped = len(others) - len(same)
    if not skipped:
        return None, None
    return same, (f"{skipped} run(s) of other model sizes are not held out: law {law!r} has "
                  "no model-size term, so its errors there would measure the size, not the "
                  "schedule (fit each size, or use --law tissue-sized across sizes)")
