"""Point-law predictions: value, confidence and prediction intervals, extrapolation."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .fit import ScalingLawFit, as_table
from .intervals import calibrate, point_intervals
from .laws import get_law
from .prediction import DEFAULT_LEVEL, Prediction
from .targets import law_targets

__all__ = ["predict_point", "PredictOptions", "law_targets"]


@dataclass(frozen=True)
class PredictOptions:
    """How :func:`predict_point` sizes its intervals.

    ``n_boot`` bootstrap refits (over runs) for ``ci``; ``seed``; ``level`` of both
    intervals; ``max_extrapolation`` decades past the fitted range before a warning;
    ``calibration`` to reuse (default: backtests on the data); ``result`` to reuse the
    estimator's fit on the data (default: fitted here).
    """

    n_boot: int = 1000
    seed: int = 0
    level: float = DEFAULT_LEVEL
    max_extrapolation: float = 2.0
    calibration: object = None
    result: object = None

    @classmethod
    def split(cls, options: PredictOptions | None, kwargs: dict) -> tuple[PredictOptions, dict]:
        """``options`` updated from the keywords that name its fields, and the other
        keywords (the law's variables)."""
        names = {f.name for f in fields(cls)}
        changes = {k: v for k, v in kwargs.items() if k in names}
        return (replace(options or cls(), **changes),
                {k: v for k, v in kwargs.items() if k not in names})


def predict_point(estimator: ScalingLawFit, data, *, at: dict | None = None,
                  options: PredictOptions | None = None, **kwargs) -> Prediction:
    """Fit ``estimator`` to ``data`` and predict the loss at new points.

    The law's variables by name (``N`` and ``D`` for two-variable laws, ``x`` for the
    power law, ``U`` ... for laws with more), numbers or arrays. ``ci`` is the
    bootstrap interval (over runs) of the law's mean; ``pi`` the prediction interval for
    a new run, calibrated by backtests on ``data`` (:func:`fits.intervals.calibrate`);
    the extrapolation is in decades past the fitted range (the largest over the
    variables and C = N D), with a warning past ``max_extrapolation``.

    Parameters
    ----------
    at : dict, optional
        Values of the law's variables (``law.variables``), e.g. ``{"U": 1e11}``
        unique tokens for the data-constrained law; or give them as keywords.
    options : PredictOptions, optional
        Interval settings; its fields may also be given as keywords (``n_boot=0``,
        ``level=0.8``, ``calibration=cal``, ``result=fit``).

    Returns
    -------
    Prediction
        One row per target; its warnings hold the fit's, the calibration's and the
        extrapolation's (shown by the caller).
    """
    opts, variables = PredictOptions.split(options, kwargs)
    law = get_law(estimator.law)
    at = law_targets(law, {**(at or {}), **variables}, x_name=estimator.x)
    table = as_table(data)
    result = opts.result if opts.result is not None else estimator.fit(table).result_
    cal = opts.calibration or calibrate(estimator, table, result)
    pred = point_intervals(result, cal, at, level=opts.level, n_boot=opts.n_boot,
                           seed=opts.seed)
    far = float(pred.extrapolation.max())
    notes = [f"the prediction is {far:.1f} decades beyond the fitted range (limit "
             f"{opts.max_extrapolation:g}); add larger runs before trusting it"] \
        if far > opts.max_extrapolation else []
    return replace(pred, warnings=tuple(result.warnings) + pred.warnings + tuple(notes))
