"""Point-law predictions: value, confidence and prediction intervals, extrapolation."""

from __future__ import annotations

from .fit import ScalingLawFit, as_table
from .intervals import calibrate, point_intervals, prediction_entry
from .laws import get_law

__all__ = ["predict_point"]


def predict_point(estimator: ScalingLawFit, data, *, N=None, D=None, x=None, n_boot: int = 1000,
                  seed: int = 0, level: float = 0.9, max_extrapolation: float = 2.0,
                  k: float = 6.0, calibration=None, at: dict | None = None) -> dict:
    """Fit ``estimator`` to ``data`` and predict the loss at one new point.

    ``N`` and ``D`` for two-variable laws, ``x`` for the power law. ``ci`` is the
    bootstrap interval (over runs) of the law's mean; ``pi`` the prediction interval for
    a new run, calibrated by backtests on ``data`` (:func:`fits.intervals.calibrate`);
    the extrapolation is in decades past the fitted range (the largest over N, D and
    C = N D), with a warning past ``max_extrapolation``.

    Parameters
    ----------
    at : dict, optional
        Values of the law's other variables (``law.variables``), e.g. ``{"U": 1e11}``
        unique tokens for the data-constrained law.
    calibration : Calibration, optional
        Reuse a calibration (default: computed on ``data``).
    k : float
        Unused by the distance (a ratio of computes); kept for compatibility.

    Returns
    -------
    dict
        ``{"law", "at", "loss": {"value", "ci", "pi", "level", "extrapolation"}, "level",
        "extrapolation_decades", "calibration", "warnings", "fit"}``
    """
    law = get_law(estimator.law)
    if law.takes_x:
        if x is None:
            raise ValueError(f"the power law predicts at a value of x: give x (--at) for "
                             f"x = {estimator.x or 'N'}")
        at = {"x": float(x)}
    else:
        if N is None or D is None:
            raise ValueError(f"law {law.name!r} predicts at a model size and token count: "
                             "give both N and D (--N, --D)")
        given = {"N": N, "D": D, **(at or {})}
        missing = [v for v in law.variables if given.get(v) is None]
        if "N" in missing or "D" in missing:
            raise ValueError(f"law {law.name!r} predicts at a model size and token count: "
                             "give both N and D (--N, --D)")
        if missing:
            raise ValueError(f"law {law.name!r} predicts at {', '.join(law.variables)}: give "
                             f"{missing} too (" + ", ".join(f"--{v}" for v in missing) + ")")
        at = {v: float(given[v]) for v in law.variables}
    table = as_table(data)
    result = estimator.fit(table).result_
    cal = calibration or calibrate(estimator, table, result)
    out = point_intervals(result, cal, at, level=level, n_boot=n_boot, seed=seed)
    entry = prediction_entry(out["value"][0], None if out["ci"] is None else out["ci"][0],
                             out["pi"][0], level, out["decades"][0],
                             {k: v[0] if hasattr(v, "__len__") else v
                              for k, v in out["by"].items()}, cal)
    decades = entry["extrapolation"]["decades"]
    notes = list(result.warnings) + list(cal.notes)
    if decades > max_extrapolation:
        notes.append(f"the prediction is {decades:.1f} decades beyond the fitted range "
                     f"(limit {max_extrapolation:g}); add larger runs before trusting it")
    if cal.method == "backtest" and decades > cal.max_distance + 0.5:
        notes.append(f"the prediction interval's growth law is extrapolated from backtests "
                     f"that reached {cal.max_distance:.2f} decades to {decades:.2f}")
    return {"law": law.name, "at": at, "loss": entry, "level": level,
            "extrapolation_decades": decades, "calibration": cal.to_dict(level),
            "warnings": notes, "fit": result.to_dict()}
