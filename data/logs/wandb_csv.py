"""Weights & Biases CSV exports: a run's history, or a line-plot panel of several runs.

History
    ``pandas.DataFrame(run.scan_history()).to_csv(path)`` (or ``run.history()``, which
    samples 500 rows unless told otherwise) and the app's history export: columns
    ``_step``, ``_runtime``, ``_timestamp`` and one column per logged metric
    (``train/loss``, ``train/lr``, ``val/loss``, ...); a cell is empty where the metric
    was not logged in that row.
Panel
    A line plot's "Export -> CSV": the x axis (``Step``) and, per run and metric,
    ``<run name> - <metric>`` with ``__MIN``/``__MAX`` companions (the range of the
    values the plot merged into one point when it sampled the curve; left out).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..schema import RunsTable
from ._core import LogFormat, LogOptions, fail, plan_names, to_table
from ._csv import csv_header, csv_records, read_text_csv

__all__ = ["FORMAT", "load_wandb_csv", "is_wandb_header", "STEP_NAMES"]

#: Step columns tried in order (W&B's own ``_step`` counts ``wandb.log`` calls,
#: which is the training step only when the script logs once per step).
STEP_NAMES = ("trainer/global_step", "train/global_step", "global_step", "step",
              "Step", "_step")
_SYSTEM = re.compile(r"^(_.*|system/.*|Wall Time|Relative Time.*)$")
_ENVELOPE = re.compile(r"__(MIN|MAX)$")
_HISTORY = "W&B history CSV"
_PANEL = "W&B panel CSV"


def _is_panel(columns: list[str]) -> bool:
    named = [c for c in columns[1:] if " - " in c]
    return bool(named) and (any(_ENVELOPE.search(c) for c in columns)
                            or len(named) == len(columns) - 1)


def is_wandb_header(columns: list[str]) -> bool:
    """Whether a CSV header looks like a W&B history or panel export."""
    return bool({"_step", "_runtime", "_timestamp"} & set(columns)) or (
        len(columns) > 1 and _is_panel(columns))


def load_wandb_csv(path, *, step: str | None = None, options: LogOptions | None = None,
                   **kwargs) -> RunsTable:
    """Read a W&B run-history or panel CSV export into a runs table.

    Parameters
    ----------
    path : str or Path
        The CSV file. Which of the two exports it is, is told from its header.
    N : float, str or mapping
        Parameters of the run (``1.3e9`` or ``"1.3B"``), or ``{run name: N}`` for a
        panel of several runs (a single value applies to every run).
    tokens_per_step : int or mapping, optional
        Tokens per optimizer step, giving ``D = step * tokens_per_step``.
    tokens : str, optional
        A logged metric counting tokens seen, used as ``D`` (default: the first of
        ``TOKEN_NAMES`` that is logged, unless ``tokens_per_step`` is given).
    run_id : str, optional
        Name of the run (default: the file's stem for a history, the run names of a
        panel). Only for a file holding one run.
    loss : str, optional
        The metric to fit (default: the first of ``LOSS_NAMES`` logged, e.g. ``train/loss``).
    lr : str or None
        The learning-rate metric, ``"auto"`` to look for the usual names, None to leave it out.
    step : str, optional
        The step column (default: the first of ``STEP_NAMES`` present).
    columns : mapping, optional
        ``{NEW: OLD}`` for metrics to keep under another name, e.g.
        ``{"task/hellaswag": "eval/hellaswag_acc"}``.
    n_convention, flops_per_token_factor, require_tokens
        As for :func:`data.validate`.
    drop_nonfinite : bool
        Leave out logged NaN/inf values instead of raising.

    Returns
    -------
    RunsTable
        Points with ``loss``, ``lr`` and ``val/<name>`` columns (validation metrics
        such as ``val/loss`` or ``eval/loss``) at the steps where the loss was logged.

    Raises
    ------
    ValueError
        Naming the file and what is wrong: unreadable CSV, no step column, no loss,
        a cell that is not a number (with its line), a logged NaN, invalid values.

    Examples
    --------
    >>> load_wandb_csv("export.csv", N="124M", tokens_per_step=2**19)  # doctest: +SKIP
    """
    path = Path(path)
    opts = LogOptions.build(options, **kwargs)
    opts.need_size(path, _HISTORY)
    frame = read_text_csv(path, _HISTORY)
    cols = list(frame.columns)
    label = _PANEL if _is_panel(cols) else _HISTORY
    step = _step_column(cols, step, path, label)
    if label == _PANEL:
        by_run = _panel_columns(frame, step, path)
    else:
        name = str(opts.run_id) if opts.run_id is not None else path.stem
        by_run = {name: {c: c for c in cols if c != step and not _SYSTEM.match(c)}}
    logged = list(dict.fromkeys(m for metrics in by_run.values() for m in metrics.values()))
    # only the kept columns become records: an export may have hundreds of columns
    names = plan_names(logged, source=path, label=label, opts=opts)
    parts = [csv_records(frame, step=step, run_id=run,
                         metrics={c: m for c, m in metrics.items() if m in names})
             for run, metrics in by_run.items()]
    records = pd.concat(parts, ignore_index=True).sort_values("loc", kind="stable")
    return to_table(records, source=path, label=label, opts=opts, logged=logged,
                    where=lambda r: f"line {r['loc']}", meta={"step_column": step})


def _step_column(cols: list[str], step: str | None, path: Path, label: str) -> str:
    """``step`` (which must be a column), else the first of :data:`STEP_NAMES` present."""
    if step is None:
        step = next((c for c in STEP_NAMES if c in cols), None)
        if step is None:
            axis = f"; its x axis is {cols[0]!r}: re-export the panel with Step on the x axis" \
                if label == _PANEL else ""
            raise fail(path, label, f"no step column: none of {list(STEP_NAMES)} is present"
                       f"{axis}; pass step=NAME (its columns: {cols[:8]})")
    elif step not in cols:
        raise fail(path, label, f"step column {step!r} is not present; its columns are {cols}")
    return step


def _panel_columns(frame: pd.DataFrame, step: str, path: Path) -> dict[str, dict[str, str]]:
    """run name -> {column: metric} of a panel export."""
    by_run: dict[str, dict[str, str]] = {}
    for column in frame.columns:
        if column == step or _ENVELOPE.search(column) or _SYSTEM.match(column):
            continue
        run, sep, metric = column.rpartition(" - ")
        if not sep or not run.strip() or not metric.strip():
            raise fail(path, _PANEL, f"column {column!r} is not '<run name> - <metric>'")
        by_run.setdefault(run.strip(), {})[column] = metric.strip()
    return by_run


def _detect(path: Path) -> bool:
    """A CSV file whose header has ``_step``/``_runtime``/``_timestamp`` or
    ``<run> - <metric>`` columns."""
    return (path.is_file() and path.suffix.lower() == ".csv"
            and is_wandb_header([c.strip() for c in csv_header(path)]))


FORMAT = LogFormat("wandb", "W&B run-history or panel CSV export", load_wandb_csv, _detect)
