"""The fit's side of row selection (which rows: :mod:`scaling.data.select`).

:func:`selection_info` checks the selected design and returns what the result records;
:func:`finish_selection` adds the held-out (``split``) errors and the selection's
warnings to a finished fit.
"""

from __future__ import annotations

import warnings

from dataclasses import replace

import numpy as np

from scaling.data.select import Selection, checkpoints_hint, same_value_hint, select_points

from .result import FitResult, FitWarning

__all__ = ["SELECTION_OPTIONS", "select_points", "selection_info", "finish_selection",
           "points_for_few_runs", "checkpoints_hint",
           "summarize_selection"]

#: ScalingLawFit keywords that choose rows (passed on by refits).
SELECTION_OPTIONS = ("where", "split", "points", "repeats", "n_convention")


def summarize_selection(record: dict) -> str:
    """One line: how the fitted rows were chosen (for reports)."""
    parts = []
    if record.get("where"):
        parts.append(f"where {record['where']} ({record.get('where_dropped_rows', 0)} rows "
                     "dropped)")
    if record.get("split_heldout_runs"):
        parts.append(f"split={record['split']} ({len(record['split_heldout_runs'])} runs held "
                     "out)")
    if record.get("split_unlabelled_rows"):
        parts.append(f"{record['split_unlabelled_rows']} rows ({record['split_unlabelled_runs']} "
                     f"runs) with no split label not fitted")
    if record.get("best_of"):
        best = record["best_of"]
        parts.append(f"best {'/'.join(best['columns'])} per configuration ({best['runs_kept']} "
                     f"of {best['runs_in']} runs)")
    elif record.get("sweep"):
        parts.append(f"sweep over {', '.join(record['sweep'])}: every run fitted")
    checkpoints = record.get("checkpoints", {}).get("max_per_run", 1)
    if record.get("points") == "all":
        parts.append(f"every checkpoint (up to {checkpoints} per run; resampled by run)")
    elif checkpoints > 1:
        parts.append(f"final point of each run (up to {checkpoints} checkpoints)")
    scatter = record.get("repeat_scatter")
    if scatter:
        how = "averaged" if record.get("repeats") == "mean" else "kept"
        if record.get("best_of"):
            how = "seeds of the best setting kept; scatter over every setting's seeds"
        parts.append(f"{scatter['n_runs']} rows repeat {scatter['n_configs']} configurations, {how} "
                     f"(seed scatter {scatter['sd_log_loss']:.2%} in loss)")
    if record.get("n_convention") not in (None, "unknown"):
        parts.append(f"N counted as {record['n_convention']}")
    return "; ".join(parts)


def selection_info(selection: Selection, variables) -> dict:
    """What the fit result records about the selection; explains a single-valued design.

    Raises
    ------
    ValueError
        When every selected point shares the value of a variable because only final
        points of checkpointed runs were taken (names the remedy, ``points='all'``).
    """
    for name in variables:
        hint = same_value_hint(selection, name)
        if hint:
            raise ValueError(hint)
    record = selection.record
    return {"selection": record, "selection_summary": summarize_selection(record),
            "repeat_scatter": record.get("repeat_scatter"),
            "n_convention": record.get("n_convention")}


def finish_selection(result: FitResult, selection: Selection, law, x: str | None, *,
                     warn: bool = True) -> FitResult:
    """A copy of ``result`` with the runs held out by ``split`` predicted and a warning
    per pooled group (emitted too unless ``warn=False``); ``result`` is not changed."""
    data, notes = dict(result.data), []
    held = selection.heldout
    if len(held):
        names = list(law.variables)
        variables = {v: held[x if v == "x" else v].to_numpy(dtype=float) for v in names}
        ok = np.all([np.isfinite(a) & (a > 0) for a in variables.values()], axis=0)
        held = held[ok]
        pred = law.predict(result.values, **{k: v[ok] for k, v in variables.items()})
        true = held["loss"].to_numpy(dtype=float)
        err = (pred - true) / true
        data["split_heldout"] = {
            str(rid): {"true": float(t), "predicted": float(p), "rel_error": float(e)}
            for rid, t, p, e in zip(held["run_id"], true, pred, err)}
        if err.size:
            data["split_heldout_mean_abs_rel_error"] = float(np.mean(np.abs(err)))
    for column in selection.record.get("pooled", {}):
        notes.append(next(n for n in selection.record["notes"] if f"values of {column!r}" in n))
        if warn:
            warnings.warn(notes[-1], FitWarning, stacklevel=4)
    return replace(result, data=data, warnings=list(result.warnings) + notes)


def points_for_few_runs(table, law, *, n_fixed: int = 0, drop_highest: int = 0) -> str | None:
    """``"all"`` when the runs are too few for the law's free parameters at one final
    point each but every run logged a curve (e.g. three Trainer output folders): the
    default of `scaling fit` and :func:`scaling.api.fit` then fits every checkpoint (and
    says so); None when the final points suffice."""
    n_free = len(law.params) - n_fixed
    n_runs = len(table.runs) - drop_highest
    per_run = table.points.groupby("run_id").size()
    if n_runs < n_free and len(per_run) and per_run.min() > 1:
        return "all"
    return None
