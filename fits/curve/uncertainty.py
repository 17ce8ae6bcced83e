"""Prediction intervals of a fitted curve law on schedules it did not see (held-out runs,
batches of schedules, `scaling schedules compare` candidates) and of their differences.

Everything comes from the fit's calibration (``data["calibration"]``, made at fit time by
:func:`fits.curve.selection.fit_calibration` from the user's own fitted runs):

* parameter uncertainty: the jackknife over the leave-one-run-out refits, ``se**2 =
  (n-1)/n sum (log L_i - mean)**2``, the same refits for every target, so differences
  between targets share it;
* the law's own error on an unseen schedule: the floor ``s0`` from the LOCO final-loss
  errors, growing per decade of steps past the longest fitted run at the rate measured by
  truncation backtests (:class:`fits.curve.calibrate.ErrorGrowth`);
* for a difference of two schedules, the part of the law's error they do not share,
  proportional to the predicted difference at the rate seen over pairs of the user's runs
  (:func:`fits.curve.selection.diff_ratio`: 0 for the same schedule);
* candidates LOCO could not tell apart (:func:`fits.curve.selection.plausible`): where one
  predicts outside the interval, the interval becomes the envelope of both (a mixture).

Quantiles are Student-t with the calibration's degrees of freedom (the number of runs).
"""

from __future__ import annotations

import numpy as np

from ..prediction import DEFAULT_LEVEL, Prediction
from .calibrate import ErrorGrowth, fit_growth
from .laws import get_curve_law
from .selection import diff_ratio

__all__ = ["predict_finals", "difference_interval", "heldout_calibration",
           "annotate_heldout"]


def _finals(law, params, targets, decay, N=None):
    """Final loss of each target (a Curve, or ``(lr array, warmup_steps)``) under params."""
    out = []
    for t in targets:
        if hasattr(t, "lr"):
            lr, warm, steps, n = t.lr, t.warmup_steps, np.array([int(t.steps[-1])]), t.N
        else:
            (lr, warm), steps, n = t, np.array([len(t[0]) - 1]), N
        plan = law.make_plan(lr, steps, N=n, warmup_steps=warm,
                             decay=decay if decay is not None else 0.999)
        out.append(float(plan.loss(params)[-1]))
    return np.array(out)


def _draws(fit, targets, N=None):
    law, cal = get_curve_law(fit.law), fit.data.get("calibration") or {}
    decay = fit.choices.get("decay")
    value = _finals(law, fit.values, targets, decay, N)
    jack = np.array([_finals(law, p, targets, decay, N) for p in cal.get("jackknife", [])])
    alts = [(a, _finals(law, a["params"], targets, a["decay"] if a["decay"] is not None
                        else decay, N)) for a in cal.get("alternatives", [])]
    return value, jack, alts


def _jack_se(x):
    n = x.shape[0]
    return np.sqrt((n - 1) / n * np.sum((x - x.mean(axis=0)) ** 2, axis=0)) if n > 1 else 0.0


def predict_finals(fit, targets, *, index=None, N=None, level: float = DEFAULT_LEVEL,
                   observed=None, growth=None) -> Prediction:
    """Final loss of each target schedule with ``ci`` and a calibrated ``pi``.

    Parameters
    ----------
    fit : FitResult
        A curve-law fit (``fit_curves``); without ``data["calibration"]`` (fewer than
        two fitted runs, or saved by an older version) there is no ``pi`` and the
        result says why.
    targets : list
        Curves (:class:`~fits.curve.curves.Curve`, predicted at their last step) or
        ``(lr array, warmup_steps)`` pairs (predicted at their last step).
    index : sequence, optional
        Row labels (run ids, candidate names).
    N : float, optional
        Model size for the size-extended law (``(lr, warmup)`` targets).
    observed : array, optional
        True final losses: kept as ``extra["observed"]`` and ``extra["covered"]``.
    growth : ErrorGrowth, optional
        Error model to use instead of the calibration's ``schedule`` model.
    """
    value, jack, alts = _draws(fit, targets, N)
    cal = fit.data.get("calibration") or {}
    last = float((fit.data.get("step_range") or [0, 1])[1])
    steps = np.array([len(t[0]) - 1 if not hasattr(t, "lr") else t.steps[-1]
                      for t in targets], float)
    past = np.maximum(0.0, np.log10(np.maximum(steps, 1) / max(last, 1)))
    extra = {} if observed is None else {"observed": np.asarray(observed, float)}
    common = dict(value=value, level=level, index=index, quantity="loss", law=fit.law,
                  extrapolation=past, extrapolation_by={"steps": past},
                  at={"step": steps})
    if not cal:
        return Prediction(**common, extra=extra, interval_method="none",
                          warnings=("no pi: the fit has no calibration (it needs >= 2 "
                                    "fitted runs; refit with this version)",))
    growth = growth or ErrorGrowth.from_dict(cal["schedule"])
    q = growth.quantile(level)
    se = _jack_se(np.log(jack)) if jack.size else np.zeros_like(value)
    half = q * np.sqrt(se ** 2 + growth.sd(steps=past) ** 2)
    ci = np.c_[value * np.exp(-q * se), value * np.exp(q * se)]
    pi = np.c_[value * np.exp(-half), value * np.exp(half)]
    notes = []
    for alt, v in alts:
        out = np.abs(np.log(v / value)) > half
        if out.any():
            pi[out, 0] = np.minimum(pi[out, 0], v[out] * np.exp(-half[out]))
            pi[out, 1] = np.maximum(pi[out, 1], v[out] * np.exp(half[out]))
            name = alt["method"] + ("" if alt["decay"] is None else f" lambda={alt['decay']}")
            notes.append(f"the {name} fit, which leave-one-run-out cannot tell apart from "
                         f"the chosen one, predicts outside the interval for {int(out.sum())} "
                         "target(s): the interval is widened to cover both (a mixture)")
    if observed is not None:
        extra["covered"] = (pi[:, 0] <= extra["observed"]) & (extra["observed"] <= pi[:, 1])
    method = (f"leave-one-run-out jackknife over {len(jack)} refits (ci) + {growth.describe()}"
              f"{' + candidate mixture' if notes else ''}")
    return Prediction(**common, ci=ci, pi=pi, extra=extra, interval_method=method,
                      warnings=tuple(notes))


def difference_interval(fit, a, b, *, N=None, level: float = DEFAULT_LEVEL) -> dict:
    """``L(a) - L(b)`` of two target schedules with its interval, from the same jackknife
    refits (shared parameter uncertainty) plus the law's unshared error (``diff_ratio``
    times the predicted difference).

    Returns ``{"value", "interval": [lo, hi], "level", "sure"}``, ``sure`` whether the
    interval excludes 0 (``None`` without a calibration).
    """
    value, jack, _ = _draws(fit, [a, b], N)
    diff = float(value[0] - value[1])
    cal = fit.data.get("calibration") or {}
    if not cal:
        return {"value": diff, "interval": None, "level": level, "sure": None}
    growth = ErrorGrowth.from_dict(cal["schedule"])
    se = float(_jack_se((jack[:, 0] - jack[:, 1])[:, None])[0]) if jack.size else 0.0
    unshared = float(cal.get("diff_ratio") or 0.0) * abs(diff)
    half = growth.quantile(level) * float(np.hypot(se, unshared))
    lo, hi = diff - half, diff + half
    return {"value": diff, "interval": [lo, hi], "level": level,
            "sure": bool(lo > 0 or hi < 0)}


def _final_rows(fit, curves):
    """Signed log final-loss errors of the fit on ``curves`` and their step distance."""
    law, last = get_curve_law(fit.law), float(fit.data["step_range"][1])
    pred = _finals(law, fit.values, curves, fit.choices.get("decay"))
    return [{"run_id": c.run_id, "error": float(np.log(p / c.loss[-1])),
             "final_error": float(np.log(p / c.loss[-1])), "log_pred": float(np.log(p)),
             "steps": max(0.0, float(np.log10(c.steps[-1] / last)))}
            for c, p in zip(curves, pred)]


def heldout_calibration(fit, heldout, *, level: float = DEFAULT_LEVEL):
    """Held-out runs' final losses with a ``pi`` each, and the pooled calibration.

    Each run's floor ``s0`` is fitted on the fitted runs' LOCO errors and the *other*
    held-out runs' errors (never its own); the growth rate stays the truncation rate.
    Returns ``(Prediction, {"schedule", "diff_ratio"})``: the pooled model over all of
    them, for later predictions.
    """
    cal = fit.data["calibration"]
    rate = ErrorGrowth.from_dict(cal["schedule"]).rates["steps"]
    loco = [{"run_id": r, "error": v["final_error"], "steps": v["steps"],
             "final_error": v["final_error"], "log_pred": v["log_pred"]}
            for r, v in cal["loco"].items()]
    held = _final_rows(fit, heldout)
    lows, highs = [], []
    preds = []
    for i, c in enumerate(heldout):
        rows = loco + held[:i] + held[i + 1:]
        g = fit_growth(rows, axes=("steps",), fixed_rates={"steps": rate},
                       source=f"{len(rows)} other runs' final-loss errors")
        preds.append(predict_finals(fit, [c], observed=[c.loss[-1]], growth=g, level=level))
    pi = np.vstack([p.pi for p in preds])
    ci = np.vstack([p.ci for p in preds])
    observed = np.array([c.loss[-1] for c in heldout])
    covered = (pi[:, 0] <= observed) & (observed <= pi[:, 1])
    pred = Prediction(value=np.concatenate([p.value for p in preds]), ci=ci, pi=pi,
                      level=level, index=[c.run_id for c in heldout], law=fit.law,
                      extrapolation=np.concatenate([p.extrapolation for p in preds]),
                      interval_method=("per run: jackknife over the LOCO refits + error "
                                       "floor fitted on the fitted runs' LOCO errors and "
                                       "the other held-out runs' errors, growing at "
                                       f"{rate:.2%} per decade of steps past the fitted "
                                       "runs"),
                      warnings=sum((p.warnings for p in preds), ()),
                      extra={"observed": observed, "covered": covered})
    all_rows = loco + held
    pooled = fit_growth(all_rows, axes=("steps",), fixed_rates={"steps": rate},
                        source=f"{len(loco)} fitted runs left out one at a time and "
                               f"{len(held)} held-out runs")
    return pred, {"schedule": pooled.to_dict(), "diff_ratio": diff_ratio(all_rows)}


def annotate_heldout(result, heldout):
    """Add each held-out run's final-loss ``pi`` and ``covered`` to ``result.data
    ["heldout"]``, the coverage and median width to ``heldout_summary``, and pool the
    held-out errors into the calibration (at fit time, before the result is returned)."""
    pred, pooled = heldout_calibration(result, heldout)
    for i, c in enumerate(heldout):
        row = result.data["heldout"][c.run_id]
        row.update({"pi": [float(v) for v in pred.pi[i]], "level": pred.level,
                    "covered": bool(pred.extra["covered"][i])})
    result.data["heldout_summary"]["pi_coverage"] = float(np.mean(pred.extra["covered"]))
    result.data["heldout_summary"]["pi_median_width"] = float(np.median(pred.width()))
    result.data["heldout_pi_method"] = pred.interval_method
    result.data["calibration"].update(pooled)
    if pred.warnings:
        result.data["heldout_pi_warnings"] = list(pred.warnings)
