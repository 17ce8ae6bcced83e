"""Point-law predictions: value, confidence and prediction intervals, extrapolation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .fit import ScalingLawFit, as_table
from .intervals import calibrate, point_intervals
from .laws import get_law
from .prediction import DEFAULT_LEVEL, Prediction

__all__ = ["predict_point", "law_targets"]


def law_targets(law, given: dict, *, x_name: str | None = None) -> dict:
    """The law's variables from ``given`` (arrays or numbers), in the law's order.

    A one-variable law also takes the name it was fitted on (``x_name``, e.g. ``N``).
    Raises ``ValueError`` naming the missing variables.
    """
    given = {k: v for k, v in given.items() if v is not None}
    if len(law.variables) == 1 and law.variables[0] not in given and x_name in given:
        given = {law.variables[0]: given[x_name]}
    missing = [v for v in law.variables if v not in given]
    if missing:
        if law.variables == ("x",):
            raise ValueError(f"the power law predicts at a value of x: give x (--at) for "
                             f"x = {x_name or 'N'}")
        if set(law.variables) == {"N", "D"}:
            raise ValueError(f"law {law.name!r} predicts at a model size and token count: "
                             "give both N and D (--N, --D)")
        raise ValueError(f"law {law.name!r} predicts at {', '.join(law.variables)}; "
                         f"missing {', '.join(missing)} ("
                         + ", ".join(f"--{v}" for v in missing) + ")")
    extra = sorted(set(given) - set(law.variables) - {x_name})
    if extra:
        raise ValueError(f"law {law.name!r} predicts at {', '.join(law.variables)}; "
                         f"unknown variable(s) {extra}")
    return {v: np.atleast_1d(np.asarray(given[v], dtype=float)) for v in law.variables}


def predict_point(estimator: ScalingLawFit, data, *, n_boot: int = 1000, seed: int = 0,
                  level: float = DEFAULT_LEVEL, max_extrapolation: float = 2.0,
                  calibration=None, result=None, at: dict | None = None,
                  **variables) -> Prediction:
    """Fit ``estimator`` to ``data`` and predict the loss at new points.

    The law's variables by name as keywords (``N=``, ``D=`` for two-variable laws,
    ``x=`` for the power law, ``U=`` ... for laws with more; ``None`` is ignored) or in
    ``at``, numbers or arrays. ``ci`` is the
    bootstrap interval (over runs) of the law's mean; ``pi`` the prediction interval for
    a new run, calibrated by backtests on ``data`` (:func:`fits.intervals.calibrate`);
    the extrapolation is in decades past the fitted range (the largest over the
    variables and C = N D), with a warning past ``max_extrapolation``.

    Parameters
    ----------
    at : dict, optional
        Values of the law's other variables (``law.variables``), e.g. ``{"U": 1e11}``
        unique tokens for the data-constrained law.
    calibration : Calibration, optional
        Reuse a calibration (default: computed on ``data``).
    result : FitResult, optional
        Reuse the fit of ``estimator`` on ``data`` (default: fitted here).

    Returns
    -------
    Prediction
        One row per target; its warnings hold the fit's, the calibration's and the
        extrapolation's (shown by the caller).
    """
    law = get_law(estimator.law)
    at = law_targets(law, {**(at or {}), **variables}, x_name=estimator.x)
    table = as_table(data)
    if result is None:
        result = estimator.fit(table).result_
    cal = calibration or calibrate(estimator, table, result)
    pred = point_intervals(result, cal, at, level=level, n_boot=n_boot, seed=seed)
    far = float(pred.extrapolation.max())
    notes = [f"the prediction is {far:.1f} decades beyond the fitted range (limit "
             f"{max_extrapolation:g}); add larger runs before trusting it"] \
        if far > max_extrapolation else []
    return replace(pred, warnings=tuple(result.warnings) + pred.warnings + tuple(notes))
