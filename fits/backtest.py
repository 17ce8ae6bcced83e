"""Backtests: would the law have predicted the runs it did not see?

Leave-largest-out fits without the largest-compute runs and predicts them (the use a
plan makes of a law); leave-one-scale-out holds out each band of model sizes in turn.
Errors are absolute relative errors of the final loss, compared with a usefulness bar
(4% by default) and with the seed-to-seed noise when runs repeat a configuration.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from scaling.data.select import expand_run_ids

from .estimator import clone
from .fit import ScalingLawFit, as_table, warm_refit
from .intervals import calibrate, point_intervals
from .selection import SELECTION_OPTIONS, select_points
from .laws import get_law
from .refits import fit_data, refit_subsets
from .result import FitResult

__all__ = ["backtest", "seed_noise", "USEFUL_ERROR"]

#: Mean absolute relative error under which a backtest counts as useful.
USEFUL_ERROR = 0.04


def seed_noise(final: pd.DataFrame) -> float | None:
    """Mean relative spread (std / mean) of final loss across seeds of one (N, D) config."""
    if "seed" not in final.columns or final["seed"].nunique() < 2:
        return None
    keys = final[["N", "D"]].round(6).astype(str).agg("|".join, axis=1)
    groups = final.groupby(keys)["loss"]
    spread = (groups.std(ddof=1) / groups.mean())[groups.size() >= 2]
    return float(spread.mean()) if len(spread) else None


def _variables(estimator: ScalingLawFit, frame: pd.DataFrame, law) -> dict:
    if law.takes_x:
        return {"x": frame[estimator.x or "N"].to_numpy(dtype=float)}
    return {v: frame[v].to_numpy(dtype=float) for v in law.variables}


def _holdout(estimator, table, kept, held_ids, warm, law, start=None):
    """The warm refit without ``held_ids`` and the table it was fitted on; ``start``
    (natural parameters, e.g. from the batched refits) replaces the warm start and its
    random companions (one start: the refit only builds the result there)."""
    train_ids = kept.loc[~kept["run_id"].isin(held_ids), "run_id"]
    members = (warm.data.get("selection") or {})  # a mean of repeats stands for its seeds
    train = table.subset(expand_run_ids(train_ids, members))
    if start is not None:
        return warm_refit(estimator, train, SimpleNamespace(values=start, data={}),
                          drop_highest=0, n_random=0), train
    return warm_refit(estimator, train, warm, drop_highest=0), train


def _errors(kept, held_ids, values, estimator, law, n_fit) -> dict:
    """Absolute relative errors of a refit (natural ``values``) on the held-out runs."""
    held = kept[kept["run_id"].isin(held_ids)]
    pred = law.predict(values, **_variables(estimator, held, law))
    err = np.abs(pred - held["loss"].to_numpy()) / held["loss"].to_numpy()
    return {"n_fit": int(n_fit),
            "held_out": {rid: {"true": float(t), "predicted": float(p), "abs_rel_error": float(e)}
                         for rid, t, p, e in zip(held["run_id"], held["loss"], pred, err)},
            "mean_abs_rel_error": float(err.mean()), "max_abs_rel_error": float(err.max())}


def _band_refits(estimator, table, kept, held_sets, warm, law) -> list[dict]:
    """Natural parameters of the refit without each held-out set: all in one batch
    (:mod:`fits.refits`) when the fit stores its points by run, else one warm refit each."""
    data = fit_data(warm)
    if data is None:
        return [_holdout(estimator, table, kept, ids, warm, law)[0].values
                for _, ids in held_sets]
    masks = [~np.isin(data.run_ids, np.array(sorted(ids), dtype=object)) for _, ids in held_sets]
    if not masks:
        return []
    theta, _, _ = refit_subsets(data, masks, n_random=255)
    return data.natural(theta)


def _coverage(estimator, fit, train, held, law, level, n_boot, seed) -> dict:
    """How often the intervals of a fit on ``train`` (calibrated on ``train`` alone)
    contain the held-out runs: the honest test of the prediction interval."""
    cal = calibrate(estimator, train, fit)
    out = point_intervals(fit, cal, _variables(estimator, held, law), level=level,
                          n_boot=n_boot, seed=seed)
    y = held["loss"].to_numpy(dtype=float)
    pi, ci = out.pi, out.ci
    inside = (pi[:, 0] <= y) & (y <= pi[:, 1])
    cov = {"level": level, "n": int(y.size), "pi_covered": int(inside.sum()),
           "pi_width_rel_median": float(np.median((pi[:, 1] - pi[:, 0]) / out.value)),
           "calibration": cal.method, "distance_max": float(np.max(out.extrapolation)),
           "per_run": {rid: {"pi": [float(a), float(b)], "decades": float(d)}
                       for rid, (a, b), d in zip(held["run_id"], pi, out.extrapolation)}}
    if ci is not None:
        cov["ci_covered"] = int(((ci[:, 0] <= y) & (y <= ci[:, 1])).sum())
        cov["ci_width_rel_median"] = float(np.median((ci[:, 1] - ci[:, 0]) / out.value))
    return cov


def backtest(estimator: ScalingLawFit, data, result: FitResult | None = None, *,
             largest_frac: float = 0.1, n_scale_groups: int = 4,
             bar: float = USEFUL_ERROR, level: float = 0.9, n_boot: int = 200,
             seed: int = 0) -> dict:
    """Leave-largest-out and leave-one-scale-out backtests of ``estimator`` on ``data``.

    Parameters
    ----------
    estimator : ScalingLawFit
        The fitting choices to test (its trimming is applied first).
    data : RunsTable, DataFrame or path
    result : FitResult, optional
        The fit on all of ``data`` (computed if not given); refits start from it.
    largest_frac : float
        Fraction of runs, by compute, held out by leave-largest-out (at least one).
    n_scale_groups : int
        Bands of model size (by quantile of N, or of x) for leave-one-scale-out.
    bar : float
        Usefulness bar on the mean absolute relative error.
    level : float
        Level of the intervals whose coverage is checked (leave-largest-out: the
        prediction interval of the refit, calibrated on the refit's own runs only).
    n_boot, seed
        Bootstrap of the leave-largest-out refit (its ``ci``; 0: none).

    Returns
    -------
    dict
        ``leave_largest_out`` (with ``coverage``) and ``leave_one_scale_out`` summaries,
        ``bar``, ``seed_noise``, and ``calibration`` (the prediction interval's
        calibration on all of ``data``: held-out errors vs distance and the growth law).
    """
    table = as_table(data)
    law = get_law(estimator.law)
    if result is None:
        result = clone(estimator).fit(table).result_  # exactly the user's choices
    # the fit's own rows (where, split, repeats, N convention), one final point per run
    final = select_points(table, **{k: getattr(estimator, k) for k in SELECTION_OPTIONS
                                    if k != "points"}, points="final").frame
    kept = final[final["run_id"].isin(result.data["points"]["run_id"])].reset_index(drop=True)
    n_min = len(law.params) + 2
    if len(kept) < n_min + 1:
        raise ValueError(f"a backtest needs at least {n_min + 1} runs for law {law.name!r}; "
                         f"got {len(kept)}")
    n_held = int(np.clip(round(largest_frac * len(kept)), 1, len(kept) - n_min))
    order = np.argsort(-kept["C"].to_numpy(), kind="stable")
    held_ids = set(kept["run_id"].iloc[order[:n_held]])
    scale = kept[estimator.x or "N"] if law.takes_x else kept["N"]
    bands = pd.qcut(np.log(scale.to_numpy(dtype=float)), q=min(n_scale_groups, scale.nunique()),
                    labels=False, duplicates="drop")
    held_sets = [(band, set(kept["run_id"][bands == band])) for band in np.unique(bands)]
    held_sets = [(band, ids) for band, ids in held_sets if len(kept) - len(ids) >= n_min]
    # the leave-largest-out refit and every band's, in one batch
    refits = _band_refits(estimator, table, kept, [(None, held_ids)] + held_sets, result, law)
    fit, train = _holdout(estimator, table, kept, held_ids, result, law, start=refits[0])
    largest = _errors(kept, held_ids, fit.values, estimator, law, len(kept) - n_held)
    largest["compute_cut"] = float(kept["C"].iloc[order[n_held - 1]])
    largest["coverage"] = _coverage(estimator, fit, train, kept[kept["run_id"].isin(held_ids)],
                                    law, level, n_boot, seed)
    largest["useful"] = largest["mean_abs_rel_error"] <= bar

    by_scale = []
    for (band, ids), values in zip(held_sets, refits[1:]):
        entry = _errors(kept, ids, values, estimator, law, len(kept) - len(ids))
        band_scale = scale[bands == band]
        entry.update({"band": int(band),
                      "range": [float(band_scale.min()), float(band_scale.max())]})
        entry.pop("held_out")
        by_scale.append(entry)
    return {"leave_largest_out": largest, "leave_one_scale_out": by_scale, "bar": bar,
            "seed_noise": seed_noise(kept),
            "calibration": calibrate(estimator, table, result).to_dict(level)}
