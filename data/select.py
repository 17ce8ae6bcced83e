"""Choose the rows a point law is fitted on, and record what was done.

Real ladders are not one clean row per run: runs log many checkpoints, some rows are
held out (``split``), configurations are repeated with several seeds, and one file pools
several datasets. :func:`select_points` applies, in this order:

1. the row filter ``where`` (pandas query syntax, see :mod:`scaling.data.where`), on
   the table's columns as given;
2. the N convention (``n_convention``: convert N from the model shape, or declare it);
3. ``split``: exactly the rows labelled ``fit`` (or the label asked for) are fitted; rows
   with another label are kept aside as held-out runs; unlabelled rows are left out and
   counted (``split_unlabelled_rows``);
4. ``points``: the final point of each run (default) or every checkpoint;
5. ``repeats``: runs that differ only in ``seed`` (and run id and measured columns) are
   repeats of one configuration, kept as separate runs or averaged into one row; their
   spread is the seed scatter. Runs at the same (N, D) that differ in any other setting
   (``lr``, ``batch_size``, ``unique_tokens``, ...) are a *sweep*: never counted as seed
   scatter, and refused unless the user picks ``repeats="best:COL"`` (the best setting of
   COL per configuration) or ``repeats="all"`` (fit every run).

Rows are put in a canonical order (N, D, loss, run id), so permuting a file's rows
changes nothing downstream.

The returned :class:`Selection` holds the rows, the held-out rows and a plain-JSON record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .checks import check_plausible
from .nconvention import convert_n, normalize_convention
from .repeats import (LAW_INPUTS, POOLING_COLUMNS, REPEATS_CHOICES, best_of, config_keys,
                      mean_repeats, measured_columns, parse_repeats, repeat_scatter,
                      setting_columns, sweep_columns, sweep_message)
from .schema import RunsTable
from .where import where_mask

__all__ = ["Selection", "select_points", "filter_table", "group_tables", "config_keys", "repeat_scatter",
           "expand_run_ids", "same_value_hint", "setting_columns", "sweep_columns",
           "POINTS_CHOICES", "REPEATS_CHOICES", "POOLING_COLUMNS", "LAW_INPUTS"]

POINTS_CHOICES = ("final", "all")


@dataclass(frozen=True)
class Selection:
    """The rows to fit and how they were chosen.

    Attributes
    ----------
    frame : DataFrame
        One row per fitted point (run columns joined), ``run_id`` naming its run.
    heldout : DataFrame
        Final points of the runs held out by ``split`` (after ``where``).
    record : dict
        Plain-JSON account: the options, rows and runs kept and dropped at each step,
        checkpoints per run, repeats and their scatter, pooled columns, notes.
    """

    frame: pd.DataFrame
    heldout: pd.DataFrame
    record: dict = field(default_factory=dict)


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}")


def _apply_split(frame: pd.DataFrame, split, record: dict):
    """Exactly the rows labelled ``split`` (``None``/``"all"``: every row); other labels
    held out (their final points returned); unlabelled rows left out and counted."""
    heldout = frame.iloc[0:0]
    if split in (None, "all") or "split" not in frame.columns:
        return frame, heldout
    labels = frame["split"]
    labelled = labels.notna() & (labels.astype(str).str.strip() != "")
    chosen = labelled & (labels.astype(str).str.strip() == str(split))
    if not chosen.any():
        found = sorted(set(labels[labelled].astype(str)))
        unlabelled = int((~labelled).sum())
        raise ValueError(f"column 'split' has labels {found} but none is {split!r}"
                         + (f" ({unlabelled} rows have no label)" if unlabelled else "")
                         + "; choose the label to fit with --split LABEL (split=...), or "
                         "--split all to ignore the column")
    held = frame[labelled & ~chosen]
    heldout = held.groupby("run_id", sort=True).tail(1).reset_index(drop=True)
    record["split_heldout_rows"] = int(len(held))
    record["split_heldout_runs"] = sorted(held["run_id"].unique().tolist())
    record["split_unlabelled_rows"] = int((~labelled).sum())
    record["split_unlabelled_runs"] = int(frame.loc[~labelled, "run_id"].nunique())
    if record["split_unlabelled_rows"]:
        record["notes"].append(
            f"{record['split_unlabelled_rows']} rows ({record['split_unlabelled_runs']} runs) "
            f"have no split label and were not fitted (--split {split} fits exactly the rows "
            "so labelled; --split all fits every row)")
    return frame[chosen], heldout


def _checkpoints(frame: pd.DataFrame) -> dict:
    counts = frame.groupby("run_id").size()
    return {"runs": int(counts.size), "median_per_run": float(counts.median()),
            "max_per_run": int(counts.max())} if len(counts) else {"runs": 0}


def _filter_rows(table: RunsTable, frame: pd.DataFrame, where: str | None,
                 record: dict) -> pd.DataFrame:
    """The rows ``where`` keeps (already filtered when the table was loaded with it)."""
    applied = table.meta.get("where_applied") or {}
    if where is not None and str(where).strip() and applied.get("where") == where:
        record.update(rows_in=applied["rows_in"], runs_in=applied["runs_in"],
                      where_dropped_rows=applied["dropped_rows"])  # filtered when loaded
    elif where is not None and str(where).strip():
        keep = where_mask(frame, where)
        record["where_dropped_rows"] = int((~keep).sum())
        frame = frame[keep]
        if frame.empty:
            raise ValueError(f"the row filter {where!r} keeps no rows of {record['rows_in']}")
    return frame


def _count_n(table: RunsTable, frame: pd.DataFrame, n_convention: str,
             record: dict) -> pd.DataFrame:
    """``frame`` with N counted the ``n_convention`` way (C follows when it was 6ND)."""
    convention = normalize_convention(n_convention)
    values, conv = convert_n(frame, convention)
    if not np.allclose(values, frame["N"].to_numpy(dtype=float), rtol=1e-12):
        frame["N"] = values
        if str(table.meta.get("flops_convention", "")).startswith("6ND"):
            frame["C"] = 6.0 * frame["N"] * frame["D"]
    frame["N_convention"] = convention
    record["n_convention"] = conv
    return frame


def _take_points(frame: pd.DataFrame, points: str, record: dict) -> pd.DataFrame:
    """Each run's final point, or every checkpoint, with a note saying which."""
    if points == "final":
        frame = frame.groupby("run_id", sort=True).tail(1)
        if record["checkpoints"].get("max_per_run", 1) > 1:
            record["notes"].append(
                f"fitted the final point of each run (runs have up to "
                f"{record['checkpoints']['max_per_run']} checkpoints; points='all' fits every one)")
    else:
        if record["checkpoints"].get("max_per_run", 1) > 1:
            record["notes"].append(
                "fitted every checkpoint: intermediate checkpoints of a run whose learning "
                "rate had not finished decaying sit above the loss of a run trained to that "
                "D (Hoffmann et al. 2022, Approach 1 uses the envelope); bootstrap and "
                "backtests resample whole runs")
    return frame


def _resolve_repeats(frame: pd.DataFrame, finals: pd.DataFrame, measured: list[str],
                     repeats: str, record: dict) -> pd.DataFrame:
    """Seed repeats kept or averaged, sweeps refused or resolved (``repeats``)."""
    how, best_cols = parse_repeats(repeats)
    # seed scatter only among runs that differ in nothing but the seed (never a sweep)
    scatter = repeat_scatter(frame.drop(columns=measured))
    record["repeat_scatter"] = scatter
    sweeps = sweep_columns(finals)
    record["sweep"] = sweeps
    if how == "best":
        runs, record["best_of"] = best_of(finals, best_cols)
        frame = frame[frame["run_id"].isin(set(runs))].reset_index(drop=True)
        left = {c: v for c, v in sweeps.items() if c not in best_cols}
        if left:
            raise ValueError(sweep_message(left, best_cols))
        record["notes"].append(f"kept the best {'/'.join(best_cols)} of each configuration: "
                               f"{record['best_of']['runs_kept']} of "
                               f"{record['best_of']['runs_in']} runs")
    elif sweeps and how != "all":
        raise ValueError(sweep_message(sweeps, []))
    elif sweeps:
        record["notes"].append("fitted every run of the sweep over "
                               + ", ".join(sweeps) + " as its own configuration")
    if how == "mean" and scatter is not None:
        frame, members = mean_repeats(frame.drop(columns=measured))
        record["repeat_members"] = members
        record["notes"].append(f"averaged {scatter['n_runs']} repeated runs into "
                               f"{scatter['n_configs']} configurations")
    elif scatter is not None:
        record["notes"].append(f"{scatter['n_runs']} rows repeat {scatter['n_configs']} "
                               "configurations (seeds); each is fitted as its own run")
    return frame


def _note_pooled(frame: pd.DataFrame, record: dict) -> None:
    """Record (and note) the pooling columns, such as a dataset, holding several values."""
    pooled = {c: sorted(map(str, frame[c].dropna().unique()))
              for c in POOLING_COLUMNS if c in frame.columns and frame[c].nunique() > 1}
    record["pooled"] = pooled
    for column, values in pooled.items():
        shown = ", ".join(values[:4]) + (" ..." if len(values) > 4 else "")
        record["notes"].append(
            f"one law is fitted to {len(values)} values of {column!r} pooled together "
            f"({shown}); fit one law per value with --group {column} (group=...), or pick one "
            f"with --where \"{column} == '{values[0]}'\"")


def select_points(table: RunsTable, *, where: str | None = None, split: str | None = "fit",
                  points: str = "final", repeats: str = "keep",
                  n_convention: str | None = None) -> Selection:
    """The rows of ``table`` to fit a point law on.

    Parameters
    ----------
    table : RunsTable
    where : str, optional
        Row filter in pandas query syntax, e.g. ``"N < 1e9 and dataset == 'c4'"``,
        evaluated on every point joined with its run's columns (before finals are taken,
        so ``"step <= 5000"`` makes the last point up to step 5000 each run's final).
    split : str or None
        Fit exactly the rows whose ``split`` is this label (default ``"fit"``); rows with
        other labels are held out, unlabelled rows are left out and counted in the record
        (``split_unlabelled_rows``). ``None`` or ``"all"`` ignores the column.
    points : {"final", "all"}
        Fit the final point of each run (default) or every checkpoint. With ``"all"``
        the runs stay the unit of resampling (bootstrap and backtests group by run).
    repeats : {"keep", "mean", "all"} or "best:COL[,COL]"
        Repeats (runs differing only in seed): fit every run (default), or their mean loss
        as one row; either way their spread is recorded as seed scatter. Runs at one
        (N, D) that differ in another setting are a sweep and raise ``ValueError`` unless
        ``"best:COL"`` keeps the setting of COL with the lowest loss per configuration or
        ``"all"`` fits every run. A sweep never counts as seed scatter.
    n_convention : {"total", "non_embedding", "non_embedding_head"}, optional
        Count N this way (hyphens and ``+`` accepted: ``"non-embedding+head"``),
        converting from ``d_model``, ``n_layer``, ``vocab_size`` when needed.

    Returns
    -------
    Selection

    Raises
    ------
    ValueError
        For a bad option, an unsafe or invalid filter, a split label no row carries, or
        a selection that leaves no rows.
    """
    _choice("points", points, POINTS_CHOICES)
    parse_repeats(repeats)  # a bad option is refused before any work
    frame = table.merged()
    record: dict = {"where": where, "split": split, "points": points, "repeats": repeats,
                    "n_convention": table.meta.get("n_convention"), "rows_in": int(len(frame)),
                    "runs_in": int(frame["run_id"].nunique()), "notes": []}
    frame = _filter_rows(table, frame, where, record)
    # percent losses, N in millions, ...: refused, naming the fix (tokens per parameter
    # only for final points: a step-wise fit of one short run is legitimately early)
    check_plausible(table, frame, ratio=points == "final")
    if n_convention is not None:
        frame = _count_n(table, frame, n_convention, record)
    frame, heldout = _apply_split(frame, split, record)
    record["checkpoints"] = _checkpoints(frame)
    # columns that change within a run (wall time, throughput, metrics) are measurements
    measured = measured_columns(frame)
    finals = frame.groupby("run_id", sort=True).tail(1).drop(columns=measured)
    frame = _take_points(frame, points, record)
    # canonical order: the same rows in any order give the same fit (a table without
    # run ids names its rows by position, so the run id alone would not do)
    frame = frame.sort_values(["N", "D", "loss", "run_id"], kind="stable").reset_index(drop=True)
    frame = _resolve_repeats(frame, finals, measured, repeats, record)
    _note_pooled(frame, record)
    record["rows_fitted"] = int(len(frame))
    record["runs_fitted"] = int(frame["run_id"].nunique())
    return Selection(frame, heldout, record)


def filter_table(table: RunsTable, where: str) -> RunsTable:
    """The table restricted to the points satisfying ``where`` (evaluated on every point
    joined with its run's columns); runs left without points are dropped.

    Raises
    ------
    ValueError
        For an unsafe or invalid filter, or one that keeps no rows.
    """
    if (table.meta.get("where_applied") or {}).get("where") == where:
        return table  # already filtered (e.g. a group of a filtered table)
    merged = table.merged()
    keep = where_mask(merged, where)
    if not keep.any():
        raise ValueError(f"the row filter {where!r} keeps no rows of {len(merged)}")
    points = table.points[keep].reset_index(drop=True)
    ids = set(points["run_id"])
    runs = table.runs[table.runs["run_id"].isin(ids)].reset_index(drop=True)
    meta = {**table.meta, "where_applied": {"where": where, "dropped_rows": int((~keep).sum()),
                                            "rows_in": int(len(merged)),
                                            "runs_in": int(table.n_runs)}}
    return RunsTable(runs, points, meta)


def expand_run_ids(run_ids, record: dict | None) -> list[str]:
    """The table's run ids behind fitted ids (a mean of repeats stands for all of them)."""
    members = (record or {}).get("repeat_members") or {}
    out: list[str] = []
    for rid in run_ids:
        out.extend(members.get(rid, [rid]))
    return list(dict.fromkeys(out))


def checkpoints_hint(selection: Selection) -> str | None:
    """The remedy when only final points were taken from runs that logged curves."""
    checkpoints = selection.record.get("checkpoints", {})
    if selection.record.get("points") == "final" and checkpoints.get("max_per_run", 1) > 1:
        return (f"the runs have up to {checkpoints['max_per_run']} checkpoints each: fit every "
                "checkpoint with --points all (points='all')")
    return None


def same_value_hint(selection: Selection, variable: str) -> str | None:
    """Why every fitted point has the same ``variable``, when checkpoints explain it."""
    values = selection.frame[variable] if variable in selection.frame.columns else None
    if values is None or values.nunique() != 1:
        return None
    hint = checkpoints_hint(selection)
    if hint:
        return (f"every run ends at the same {variable} ({float(values.iloc[0]):.4g}), so the "
                f"final points cannot separate the {variable} term; {hint}")
    return None


def group_tables(table: RunsTable, column: str) -> dict[str, RunsTable]:
    """``{value: table of the runs with that value}`` for one fit per group.

    Raises
    ------
    ValueError
        If ``column`` is not a run-level column of ``table`` or holds a single value.
    """
    merged = table.merged()
    if column not in merged.columns:
        raise ValueError(f"cannot group by {column!r}: no such column; the table has "
                         f"{sorted(merged.columns)}")
    per_run = merged.groupby("run_id")[column].nunique(dropna=False)
    if (per_run > 1).any():
        raise ValueError(f"cannot group by {column!r}: it varies within run "
                         f"{per_run.index[per_run > 1][0]!r}; group by a run-level column")
    labels = merged.groupby("run_id")[column].first()
    missing = labels.isna()
    if missing.any():
        raise ValueError(f"cannot group by {column!r}: it is empty for run(s) "
                         f"{labels.index[missing][:3].tolist()}")
    values = sorted(labels.astype(str).unique())
    if len(values) < 2:
        raise ValueError(f"cannot group by {column!r}: every run has the same value "
                         f"{values[0]!r}")
    return {v: table.subset(labels.index[labels.astype(str) == v]) for v in values}
