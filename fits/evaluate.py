"""A fitted law's values at new inputs, for every family of law (what
:meth:`fits.result.FitResult.predict` returns): the law, numpy and, for curve laws, the
curve predictor, but not the result type, so the result can call it without a cycle."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .laws import get_any_law, law_kind

__all__ = ["predict_values", "point_inputs", "numeric_columns"]


def point_inputs(result, law, variables: Mapping) -> list:
    """The law's variables in call order; the power law takes ``x`` or the name it was
    fitted on (``N``, ``D``, ``C``, ``step``)."""
    # a one-variable law also takes ``x`` and the name it was fitted on (``N``, ``L_x``...)
    fitted = result.data.get("x") if len(law.variables) == 1 else None
    aliases = (fitted, "x") if len(law.variables) == 1 else ()
    arrays = []
    for name in law.variables:
        key = next((k for k in (name, *aliases) if k and k in variables), None)
        if key is None:
            wanted = " or ".join(repr(n) for n in dict.fromkeys([name, fitted]) if n)
            raise ValueError(f"law {law.name!r} predicts at {wanted}; got {sorted(variables)}")
        arr = variables[key]
        arr = np.asarray(arr, dtype=float) if isinstance(arr, (np.ndarray, float, int)) \
            else numeric_columns({key: arr}, [key])[key]
        bad = ~np.isfinite(arr) | (arr <= 0)
        if bad.any():
            where = np.flatnonzero(bad.ravel())[:5].tolist()
            raise ValueError(f"{key} must be finite and > 0 to predict; bad value(s) at "
                             f"position(s) {where}")
        arrays.append(arr)
    return arrays


def predict_values(result, **variables) -> np.ndarray:
    """The fitted law's values (see :meth:`fits.result.FitResult.predict`)."""
    kind = law_kind(result.law)
    law = get_any_law(result.law)
    if kind == "curve":
        from .curve.predict import predict_curve

        schedule = variables.pop("schedule", None)
        lr = variables.pop("lr", None)
        if (schedule is None) == (lr is None):
            raise ValueError(f"curve law {law.name!r} predicts along a schedule: give "
                             "schedule= (a spec) or lr= (a per-step LR array)")
        unknown = sorted(set(variables) - {"steps", "N", "decay"})
        if unknown:
            raise ValueError(f"unknown argument(s) {unknown} for curve law {law.name!r}; "
                             "it takes schedule= or lr=, steps=, N=, decay=")
        return predict_curve(result, schedule if lr is None else np.asarray(lr, float),
                             **variables)[1]
    return law.function(*point_inputs(result, law, variables), **result.values)


def numeric_columns(columns: Mapping, names) -> dict:
    """``{name: float array}`` for the named columns, naming the first bad rows."""
    out = {}
    for name in names:
        try:
            out[name] = np.array(np.atleast_1d(columns[name]), dtype=float)
        except ValueError:
            bad = []
            for i, v in enumerate(columns[name]):
                try:
                    float(v)
                except ValueError:
                    bad.append(f"row {i + 2} ({v!r})")
            raise ValueError(f"column {name!r} must hold numbers; bad: "
                             f"{', '.join(bad[:3])}") from None
    return out
