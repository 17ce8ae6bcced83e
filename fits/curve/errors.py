"""Errors of a fitted curve law on curves: per-run relative errors (PredE, WorstE of
Luo et al. 2025) and the autocorrelation time of the log residuals."""

from __future__ import annotations

import numpy as np

from ..objectives import get_objective
from .laws import get_curve_law
from .problem import CurveProblem

__all__ = ["heldout_errors", "summary", "autocorr_time", "relative_errors"]


def relative_errors(law, params, curves, decay):
    problem = CurveProblem(law, curves, get_objective("mse"), decay=decay)
    theta = law.to_theta(params)
    return [np.abs(L[0] - c.loss) / c.loss for c, L in
            zip(curves, problem.predictions(theta[None]))]


def heldout_errors(law, params, curves, *, decay=None, last_k: int = 10) -> dict:
    """Per run: relative errors, MAE and the final loss, predicted and observed.

    Returns
    -------
    dict
        ``{run_id: {mean_rel_error, max_rel_error, mae, final_pred, final_true,
        final_step, final_pred_mean, final_true_mean, last_k}}``: ``mae`` the mean
        absolute error in loss units, ``final_*_mean`` the mean over the last ``last_k``
        points (a noisy per-step log's final loss is better read this way than from its
        last step). PredE/WorstE (Luo et al. 2025) are the means over runs of
        ``mean_rel_error``/``max_rel_error``.
    """
    law = get_curve_law(law)
    out = {}
    problem = CurveProblem(law, curves, get_objective("mse"), decay=decay)
    preds = problem.predictions(law.to_theta(params)[None])
    for c, L in zip(curves, preds):
        rel = np.abs(L[0] - c.loss) / c.loss
        k = min(int(last_k), c.loss.size)
        out[c.run_id] = {"mean_rel_error": float(rel.mean()), "max_rel_error": float(rel.max()),
                         "mae": float(np.mean(np.abs(L[0] - c.loss))),
                         "final_pred": float(L[0, -1]), "final_true": float(c.loss[-1]),
                         "final_step": int(c.steps[-1]),
                         "final_pred_mean": float(L[0, -k:].mean()),
                         "final_true_mean": float(c.loss[-k:].mean()), "last_k": k}
    return out


def summary(heldout):
    if not heldout:
        return {}
    return {"PredE": float(np.mean([h["mean_rel_error"] for h in heldout.values()])),
            "WorstE": float(np.mean([h["max_rel_error"] for h in heldout.values()]))}


def autocorr_time(residuals, sizes):
    """AR(1) integrated autocorrelation time ``(1 + rho) / (1 - rho)`` of the log
    residuals, ``rho`` their lag-1 correlation within curves (pooled over curves)."""
    num = den = 0.0
    for r in np.split(residuals, np.cumsum(sizes)[:-1]):
        r = r - r.mean()
        num += float(r[1:] @ r[:-1])
        den += float(r @ r)
    rho = min(max(num / den, 0.0), 0.99) if den > 0 else 0.0
    return float((1 + rho) / (1 - rho))
