"""Choosing among candidate curve-law fits by leave-one-run-out (LOCO) error on the
table at hand, keeping the evidence and the disagreement.

Candidates are the distinct optima, one per LR-annealing momentum ``lambda`` and one per
fitting method (``converged``, ``luo2025``). Each is refitted by its own method without
each fitted run and scored on that run: mean relative error along the curve and the
signed log error of its final loss. The lowest mean score wins; candidates whose paired
per-run scores are not distinguishable from the winner's (mean difference within one
standard error) stay *plausible*: where their predictions differ from the winner's by more
than its interval, the interval becomes the envelope of theirs (a mixture of the
candidates) and says so. The LOCO refits of the chosen candidate also calibrate how the
law's error grows (:mod:`fits.curve.calibrate`): they are stored on the result.
"""

from __future__ import annotations

import numpy as np

from ..multistart import multistart
from .calibrate import fit_growth, truncation_errors
from .errors import heldout_errors
from .luo import fit_luo2025
from .problem import CurveProblem

__all__ = ["loco_refits", "loco_scores", "plausible", "candidate_table", "fit_calibration",
           "diff_ratio", "choose", "calibrate_choice"]


def loco_refits(law, objective, curves, cand, lower, upper, max_iter) -> dict:
    """``{run_id: full fit-space theta}`` of the candidate's method refitted without
    each curve (warm-started at the candidate for ``converged``)."""
    out = {}
    for j, held in enumerate(curves):
        rest = [c for i, c in enumerate(curves) if i != j]
        base = cand.get("problem")
        model = getattr(base, "model", None)
        keep = {} if model is None else {
            "fixed": dict(model.fixed),
            "tied": {n: (src, model.ratio[n]) if n in getattr(model, "ratio", {}) else src
                     for n, src in model.tied.items()}}
        problem = CurveProblem(law, rest, objective, decay=cand["decay"], **keep)
        if cand["method"] == "luo2025":
            theta = fit_luo2025(problem)[0]
        else:
            theta = problem.full(multistart(problem, cand["theta"][problem.free][None],
                                            lower[problem.free], upper[problem.free],
                                            max_iter=max_iter).theta[0])[0]
        out[held.run_id] = np.asarray(theta, float)
    return out


def loco_scores(law, curves, cand, refits) -> dict:
    """Per left-out run: ``mean_rel_error`` along it, ``final_error`` (signed log error of
    its final loss) and ``steps`` (decades past the other runs' last step)."""
    out = {}
    for j, held in enumerate(curves):
        params = law.from_theta(refits[held.run_id])
        h = heldout_errors(law, params, [held], decay=cand["decay"])[held.run_id]
        last_rest = max(int(c.steps[-1]) for i, c in enumerate(curves) if i != j)
        out[held.run_id] = {"mean_rel_error": h["mean_rel_error"],
                            "final_error": float(np.log(h["final_pred"] / h["final_true"])),
                            "log_pred": float(np.log(h["final_pred"])),
                            "steps": max(0.0, float(np.log10(held.steps[-1] / last_rest)))}
    return out


def plausible(candidates, best) -> list:
    """Candidates (other than ``best``) whose paired LOCO scores are within one standard
    error of the winner's: the data cannot tell them apart."""
    out = []
    runs = list(best.get("loco", {}))
    if len(runs) < 2:
        return out
    for cand in candidates:
        if cand is best or "loco" not in cand:
            continue
        diff = np.array([cand["loco"][r]["mean_rel_error"] - best["loco"][r]["mean_rel_error"]
                         for r in runs])
        se = diff.std(ddof=1) / np.sqrt(diff.size)
        if diff.mean() <= se:
            out.append(cand)
    return out


def candidate_table(law, candidates) -> list[dict]:
    """One row per candidate: method, momentum, objective, LOCO mean relative error and
    RMS final-loss error, whether chosen or plausible."""
    rows = []
    for c in candidates:
        row = {"method": c["method"], "decay": c["decay"], "objective": c["objective"]}
        if "loco" in c:
            finals = [v["final_error"] for v in c["loco"].values()]
            row.update({"loco_mean": c["loco_mean"],
                        "loco_final_rms": float(np.sqrt(np.mean(np.square(finals))))})
        row.update({"chosen": bool(c.get("chosen")), "plausible": bool(c.get("plausible"))})
        rows.append(row)
    return rows


def _prefix_predictor(law, objective, decay, max_iter):
    from .early import prefix_point  # early imports this package's calibrate: no cycle

    free = ("L0", "A", "alpha") + (("B", "beta") if law.sized else ())

    def predict(curve, head, ref_row):
        return prefix_point(curve, head, law, ref_row, free, "scaled", objective, decay,
                            max_iter)[0]
    return predict


def diff_ratio(rows) -> float | None:
    """Error of a predicted difference per unit of predicted (log) difference, over all
    pairs of runs: ``sqrt(sum (e_i - e_j)**2 / sum (p_i - p_j)**2)``, ``e`` the signed log
    errors of the final losses, ``p`` the predicted log final losses. Two schedules
    predicted alike share their error; the part they do not share grows with how
    differently the law sees them (0 for the same schedule)."""
    e = np.array([r["final_error"] for r in rows])
    p = np.array([r["log_pred"] for r in rows])
    i, j = np.triu_indices(e.size, 1)
    den = float(np.sum((p[i] - p[j]) ** 2))
    return float(np.sqrt(np.sum((e[i] - e[j]) ** 2) / den)) if den > 0 else None


def fit_calibration(law, objective, curves, cand, refits, *, max_iter=100) -> dict:
    """Error growth of the chosen fit, from its LOCO refits.

    ``prefix``: truncation backtests of each fitted run with the shape carried from the
    law refitted without it (early-curve predictions); ``schedule``: the LOCO final-loss
    errors for the floor, the truncation rate for growth past the data (unseen schedules);
    ``diff_ratio``: :func:`diff_ratio` of the LOCO errors; ``jackknife``: the LOCO refits'
    parameters (parameter uncertainty shared by all predictions of this fit).
    """
    scores = cand.get("loco") or loco_scores(law, curves, cand, refits)
    predict = _prefix_predictor(law, objective, cand["decay"], max_iter)
    rows = []
    for c in curves:
        row = law.natural(refits[c.run_id])[None]
        rows += truncation_errors(c, row, law, predict)
    prefix = fit_growth(rows, axes=("steps",), source=f"{len({r['run_id'] for r in rows})} "
                        "fitted runs cut at 10-80% (reference refitted without each)")
    loco_rows = [{"run_id": r, "error": v["final_error"], "steps": v["steps"]}
                 for r, v in scores.items()]
    schedule = fit_growth(loco_rows, axes=("steps",),
                          fixed_rates={"steps": prefix.rates["steps"]},
                          source=f"{len(loco_rows)} fitted runs left out one at a time")
    schedule = type(schedule)(schedule.s0, schedule.rates,
                              {"steps": prefix.calibrated["steps"]}, schedule.dof,
                              schedule.n_errors, schedule.source)
    return {"prefix": prefix.to_dict(), "schedule": schedule.to_dict(),
            "truncation": rows, "loco": scores,
            "diff_ratio": diff_ratio(list(scores.values())),
            "jackknife": [law.from_theta(t) for t in refits.values()]}


def choose(law, objective, curves, candidates, select, bounds, max_iter):
    """The best candidate by ``select`` (``"loco"``: lowest mean LOCO relative error, each
    candidate refitted by its own method without each curve; ``"objective"``), marked
    ``chosen``; the ones LOCO cannot tell from it marked ``plausible``."""
    for cand in candidates:
        if select == "loco":
            cand["refits"] = loco_refits(law, objective, curves, cand, *bounds, max_iter)
            cand["loco"] = loco_scores(law, curves, cand, cand["refits"])
            cand["loco_mean"] = float(np.mean([v["mean_rel_error"]
                                               for v in cand["loco"].values()]))
    key = "loco_mean" if select == "loco" else "objective"
    best = min(candidates, key=lambda c: c[key])
    best["chosen"] = True
    for cand in plausible(candidates, best):
        cand["plausible"] = True
    return best


def calibrate_choice(law, objective, curves, candidates, best, bounds, max_iter) -> dict:
    """:func:`fit_calibration` of the chosen candidate, with the candidate table and the
    plausible alternatives (their parameters, for the mixture)."""
    refits = best.get("refits") or loco_refits(law, objective, curves, best, *bounds,
                                               max_iter)
    calibration = fit_calibration(law, objective, curves, best, refits)
    calibration["candidates"] = candidate_table(law, candidates)
    calibration["alternatives"] = [
        {"method": c["method"], "decay": c["decay"], "params": law.from_theta(c["theta"])}
        for c in candidates if c.get("plausible")]
    return calibration
