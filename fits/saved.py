"""Predictions from a fitted (or saved) result, in batch, without refitting.

One entry point per need, for every family of law in the registry
(:data:`fits.laws.REGISTRY`):

- :func:`predict_values` - the law's values (what ``FitResult.predict`` returns);
- :func:`predict_targets` - a table of targets in, a :class:`~fits.prediction.Prediction`
  out (one row per target): value, ``ci`` from the fit's bootstrap draws (when it was
  saved with them), ``pi`` for a new run, the extrapolation in decades past the fitted
  range;
- :func:`load_saved` - a saved JSON file back as a ``FitResult`` or ``L2LResult``;
- :func:`read_targets` - a CSV/TSV table of targets as numpy columns (no pandas, so that
  ``scaling predict FIT.json --at targets.csv`` starts in a fraction of a second).

Imports stay light on purpose: numpy and the law's own module only.
"""

from __future__ import annotations

import csv
from collections import Counter
import json
from pathlib import Path
from typing import Mapping

import numpy as np

from .laws import get_any_law, law_kind
from .evaluate import numeric_columns, point_inputs, predict_values
from .prediction import DEFAULT_LEVEL, Prediction

__all__ = ["predict_values", "predict_targets", "saved_calibration", "load_saved",
           "read_targets",
           "numeric_columns", "extrapolation_decades", "SCHEDULE_COLUMNS"]

#: Target-table columns that make up a schedule spec (curve laws; ``data.schedules``).
SCHEDULE_COLUMNS = ("kind", "total_steps", "peak_lr", "end_lr", "warmup_steps", "warmup",
                    "warmup_lr", "decay_start", "cooldown_frac", "cooldown", "factor")
_INT_COLUMNS = ("total_steps", "warmup_steps", "decay_start")
_CHUNK = 4096  # targets per block when evaluating bootstrap draws (bounded memory)


def extrapolation_decades(fitted: Mapping, at: Mapping) -> np.ndarray:
    """Decades outside the fitted range (0 inside it), the largest over the variables,
    and over compute ``C = N D`` when both are there (same rule as
    :func:`fits.intervals.extrapolation`)."""
    names = [n for n in fitted if n in at]
    fitted = {n: np.asarray(fitted[n], dtype=float) for n in names}
    at = {n: np.asarray(at[n], dtype=float) for n in names}
    if "N" in fitted and "D" in fitted:
        fitted["C"], at["C"] = fitted["N"] * fitted["D"], at["N"] * at["D"]
    out = None
    for name, values in fitted.items():
        lo, hi = np.log10(values.min()), np.log10(values.max())
        log_at = np.log10(at[name])
        d = np.maximum(0.0, np.maximum(log_at - hi, lo - log_at))
        out = d if out is None else np.maximum(out, d)
    return out


def _draw_interval(law, params_draws, arrays, level):
    """Percentile interval of the law over bootstrap draws, blockwise over targets."""
    draws = {p: np.asarray(v, dtype=float)[:, None] for p, v in params_draws.items()}
    n = arrays[0].size
    lo, hi = np.empty(n), np.empty(n)
    q = [50 * (1 - level), 50 * (1 + level)]
    for start in range(0, n, _CHUNK):
        block = [a[start:start + _CHUNK][None, :] for a in arrays]
        values = law.function(*block, **draws)
        lo[start:start + _CHUNK], hi[start:start + _CHUNK] = np.percentile(values, q, axis=0)
    return lo, hi


def saved_calibration(result):
    """The prediction interval's growth law a saved point fit carries (from ``scaling
    fit --backtest``), else the documented conservative default, and a note saying which."""
    from .calibration import Calibration, default_calibration, residual_scatter

    payload = (result.data.get("backtest") or {}).get("calibration")
    if isinstance(payload, dict) and "scatter" in payload:
        cal = Calibration.from_dict(payload)
        return cal, (f"prediction interval calibrated by the fit's own backtests "
                     f"({cal.method}: scatter {cal.scatter:.2%}, +{cal.rate:.2%} per decade)")
    scatter = residual_scatter(result.data.get("points") or {}, len(result.params))
    cal = default_calibration("the saved fit carries no backtest calibration (save it with "
                              "`scaling fit ... --backtest --save FIT.json`)", scatter)
    return cal, cal.notes[0]


def _point_targets(result, law, targets, level):
    arrays = [np.ravel(a) for a in point_inputs(result, law, targets)]
    value = law.function(*arrays, **result.values)
    ci = None
    if result.draws:
        ci = np.stack(_draw_interval(law, result.draws, arrays, level), axis=-1)
    points = result.data.get("points") or {}
    names = list(result.data.get("ranges", {}))
    decades = np.zeros(value.shape)
    if names and all(n in points for n in names):
        decades = extrapolation_decades({n: points[n] for n in names}, dict(zip(names, arrays)))
    # a new run's interval: the law's (ci) plus scatter and growth with distance
    calibration, note = saved_calibration(result)
    pi = calibration.interval(value, decades, level, ci)
    notes = [note] + list(result.warnings)  # the fit's own warnings, as one target's
    past = int(np.sum(decades > calibration.max_distance + 0.5))
    if calibration.method == "backtest" and past:
        notes.append(f"{past} of {decades.size} targets are beyond what the backtests reached "
                     f"({calibration.max_distance:.2f} decades; up to {float(decades.max()):.2f}"
                     "): their interval's growth law is extrapolated")
    return {"value": value, "ci": ci, "pi": pi, "decades": decades, "_notes": notes,
            "at": dict(zip(law.variables, arrays)), "method": calibration.method}


#: decades past the fitted range beyond which a batch prediction is flagged (as one target's)
MAX_EXTRAPOLATION = 2.0


def _distance_note(decades) -> list[str]:
    """One note counting the targets past :data:`MAX_EXTRAPOLATION` decades (or none)."""
    if decades is None:
        return []
    decades = np.asarray(decades, dtype=float)
    far = int(np.sum(decades > MAX_EXTRAPOLATION))
    if not far:
        return []
    return [f"{far} of {decades.size} targets are > {MAX_EXTRAPOLATION:g} decades out (up to "
            f"{float(np.nanmax(decades)):.1f}) beyond the fitted range; add larger runs before "
            "trusting them"]


def _schedule_rows(targets):
    n = len(next(iter(targets.values())))
    for i in range(n):
        spec = {}
        for col in SCHEDULE_COLUMNS:
            if col in targets and targets[col][i] not in ("", None):
                value = targets[col][i]
                spec[col] = int(float(value)) if col in _INT_COLUMNS else \
                    value if col in ("kind", "warmup", "cooldown") else float(value)
        yield i, spec


def _cell(targets, column, i):
    """A number from an optional column; ``None`` when the column or the cell is empty."""
    value = targets[column][i] if column in targets else None
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"column {column!r} must hold numbers; bad: row {i + 2} "
                         f"({value!r})") from None


def _curve_targets(result, targets, level=0.9):
    if "kind" not in targets or "total_steps" not in targets:
        raise ValueError("a curve law predicts under a schedule: the targets need columns "
                         "'kind' and 'total_steps' (and peak_lr, end_lr, warmup_steps, ... "
                         "as in a schedule spec), optionally 'step' and 'N'")
    value, steps = [], []
    for i, spec in _schedule_rows(targets):
        step, N = (_cell(targets, "step", i), _cell(targets, "N", i))
        step = None if step is None else int(step)
        try:
            loss = predict_values(result, schedule=spec, N=N,
                                  steps=None if step is None else np.array([step]))
        except (ValueError, TypeError) as err:
            raise ValueError(f"target row {i + 1}: {err}") from None
        value.append(float(loss[-1]))
        steps.append(step if step is not None else spec["total_steps"] - 1)
    out = {"value": np.array(value)}
    fitted = result.data.get("step_range")
    if fitted:
        out["extrapolation_decades"] = extrapolation_decades(
            {"step": np.asarray(fitted, dtype=float)}, {"step": np.maximum(steps, 1)})
    if result.data.get("calibration"):
        out.update(_curve_intervals(result, targets, steps, level))
    return out


def _curve_intervals(result, targets, steps, level):
    """ci/pi of a calibrated curve-law fit at each target row (fits/curve/uncertainty.py):
    the loss at a step depends on the LR up to it, so each row is its schedule cut there."""
    from scaling.data.schedules import as_schedule, lr_schedule

    from .curve.uncertainty import predict_finals

    rows = []
    for (_, spec), step in zip(_schedule_rows(targets), steps):
        sched = as_schedule(spec)
        warm = sched.warmup_steps if sched.kind != "rewarm" else 0
        rows.append((lr_schedule(sched)[:int(step) + 1], warm))
    N = _cell(targets, "N", 0)
    pred = predict_finals(result, rows, N=N, level=level)
    return {"ci": pred.ci, "pi": pred.pi, "method": pred.interval_method}


def predict_targets(result, targets: Mapping, *, level: float | None = None,
                    group: str | None = None) -> dict:
    """Predict at every row of ``targets``, without refitting.

    Parameters
    ----------
    result : FitResult or L2LResult
        A fit, e.g. read back with :func:`load_saved`.
    targets : mapping of column -> sequence
        Point laws: the law's variables (``N``, ``D``; ``x`` or the fitted name for the
        power law). Curve laws: a schedule spec per row (:data:`SCHEDULE_COLUMNS`),
        optional ``step`` (default: the last) and ``N``. Loss-to-loss: ``x`` (or the
        fitted x name) and, when the result has several groups, ``group``.
    level : float, optional
        Interval level (default: the bootstrap's, else ``DEFAULT_LEVEL``, 0.9).
    group : str, optional
        Loss-to-loss: the group for rows without a ``group`` column.

    Returns
    -------
    Prediction
        One row per target: ``value``; ``ci`` when the fit carries bootstrap draws;
        ``pi``, the prediction interval of a new run (point laws:
        :func:`saved_calibration`; loss-to-loss: the link's residual scatter and
        discrepancy); ``extrapolation`` in decades (0 inside the fitted range); loss-to-loss
        ``extra["below_fitted_x"]``; ``warnings`` say how the interval was made or why
        there is none.
    """
    if not targets:
        raise ValueError("no targets: the table has no columns")
    kind = "l2l" if hasattr(result, "groups") else law_kind(result.law)
    if level is None:
        boot = getattr(result, "choices", {}).get("bootstrap") or {}
        level = float(boot.get("level", DEFAULT_LEVEL))
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1), got {level}")
    if kind == "l2l":
        return _l2l_targets(result, targets, level, group)
    if kind == "curve":
        out = _curve_targets(result, targets, level)
        distance = out.get("extrapolation_decades")
        if "pi" in out:  # a calibrated curve fit (fits/curve/uncertainty.py)
            return Prediction(value=out["value"], ci=out["ci"], pi=out["pi"], level=level,
                              law=result.law, extrapolation=distance,
                              interval_method=out["method"],
                              warnings=tuple(_distance_note(distance)))
        return Prediction(value=out["value"], level=level, law=result.law,
                          extrapolation=distance,
                          warnings=("the curve-law fit has no calibration (it needs >= 2 "
                                    "fitted runs; refit with this version): no interval",
                                    *_distance_note(distance)))
    out = _point_targets(result, get_any_law(result.law), targets, level)
    notes = list(out["_notes"]) + _distance_note(out["decades"])
    if not result.draws:
        notes.append("the fit was saved without bootstrap draws: no confidence interval "
                     "of the law (ci; the pi is scatter and growth only); refit with "
                     "`scaling fit ... --bootstrap 1000 --save FIT.json`")
    return Prediction(value=out["value"], ci=out.get("ci"), pi=out["pi"], level=level,
                      at=out["at"], extrapolation=out["decades"], law=result.law,
                      quantity=result.data.get("y") or "loss",
                      interval_method=out["method"], warnings=tuple(notes))


def _l2l_targets(result, targets, level, group):
    from .l2l.result import l2l_prediction

    x_name = result.x if getattr(result, "x", None) in targets else "x"
    if x_name not in targets:
        raise ValueError(f"the targets need a column 'x' (or {result.x!r}) with x-loss values")
    x = np.asarray(targets[x_name], dtype=float)
    groups = np.asarray(targets["group"], dtype=object) if "group" in targets else \
        np.full(x.size, group, dtype=object)
    if group is None and "group" not in targets and len(result.groups) > 1:
        raise ValueError(f"the loss-to-loss fit has {len(result.groups)} groups "
                         f"{sorted(result.groups)}: give a 'group' column in the targets or "
                         "one group for all (--target-group, or group=)")
    saved = result.to_dict()
    value, below, decades = np.empty(x.size), np.empty(x.size), np.empty(x.size)
    ci, pi = np.full((x.size, 2), np.nan), np.full((x.size, 2), np.nan)
    methods, names = [], np.empty(x.size, dtype=object)
    for g in dict.fromkeys(groups.tolist()):
        rows = np.flatnonzero(groups == g)
        pred = l2l_prediction(saved, x[rows], g, level=level)
        value[rows], below[rows] = pred.value, pred.extra["below_fitted_x"]
        names[rows] = pred.extra["group"]
        decades[rows] = pred.extrapolation
        methods.append(pred.interval_method)
        if pred.ci is not None:
            ci[rows], pi[rows] = pred.ci, pred.pi
    has = bool(np.isfinite(ci).any())
    return Prediction(value=value, ci=ci if has else None, pi=pi if has else None,
                      level=level, at={"x": x}, extrapolation=decades, quantity="y",
                      law=result.law, interval_method="; ".join(dict.fromkeys(methods)),
                      extra={"group": names.astype(str), "below_fitted_x": below},
                      warnings=tuple(_distance_note(decades)))


def load_saved(path) -> object:
    """A saved fit (``FitResult.to_json`` / ``L2LResult.to_json``) from a JSON file.

    The family comes from the law's registry entry (``"l2l"`` laws give an
    ``L2LResult``), not from guessing by keys.
    """
    path = Path(path)
    from .saved_check import read_json_file
    try:
        payload = read_json_file(path, "saved fit")
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not JSON: {err}") from None
    law = payload.get("law") if isinstance(payload, dict) else None
    if not isinstance(law, str):
        raise ValueError(f"{path} is not a saved fit: it names no law (save one with "
                         "`scaling fit ... --save FIT.json`; a fit per model size is saved "
                         "as groups: refit with --fit-runs for one fit)")
    try:
        kind = law_kind(law)
    except ValueError:
        raise ValueError(f"{path}: unknown law {law!r} (see `scaling laws`)") from None
    if kind == "l2l":
        from .l2l.result import L2LResult

        return L2LResult.from_dict(payload)
    from .result import FitResult

    return FitResult.from_dict(payload)


def read_targets(path) -> dict:
    """Columns of a CSV (or TSV) table of targets: ``{name: list of str}``.

    Raises
    ------
    ValueError
        For an empty file, a row with the wrong number of fields, or duplicate columns.
    """
    path = Path(path)
    text = path.read_text()
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    rows = [r for r in rows if r]
    if len(rows) < 2:
        raise ValueError(f"{path}: expected a header row and at least one target row")
    header = [h.strip() for h in rows[0]]
    counts = Counter(header)  # linear: a 100,000-column header is checked at once
    dupes = sorted(h for h, n in counts.items() if n > 1)
    if dupes:
        raise ValueError(f"{path}: duplicate column(s) {dupes}")
    bad = [i + 2 for i, r in enumerate(rows[1:]) if len(r) != len(header)]
    if bad:
        raise ValueError(f"{path}: row(s) {bad[:5]} have a different number of fields than "
                         f"the header ({len(header)})")
    return {h: [r[j].strip() for r in rows[1:]] for j, h in enumerate(header)}
