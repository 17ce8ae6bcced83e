"""Lightning ``CSVLogger`` metrics: ``<save_dir>/<name>/version_<k>/metrics.csv``.

The logger writes every ``log_metrics`` call as one row through ``csv.DictWriter``:
a ``step`` column (the global step), ``epoch`` (added by the Trainer) and one column
per metric ever logged (sorted by name in Lightning 2.x); training and validation
metrics are logged in separate calls, so they sit on separate rows with the other
cells empty.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..schema import RunsTable
from ._core import open_log, LogFormat, LogOptions, default_run_id, fail, plan_names, to_table
from ._csv import csv_header, csv_records, read_text_csv

__all__ = ["FORMAT", "load_lightning_csv", "METRICS_FILE"]

METRICS_FILE = "metrics.csv"
_LABEL = "Lightning CSVLogger metrics"


def _files(path: Path) -> dict[str, Path]:
    """run_id -> metrics file, for a file or a folder of ``version_<k>`` folders."""
    if not path.is_dir():
        return {default_run_id(path.parent): path}
    if (path / METRICS_FILE).is_file():
        return {default_run_id(path): path / METRICS_FILE}
    found = sorted(path.rglob(METRICS_FILE))
    if not found:
        raise fail(path, _LABEL, f"the folder holds no {METRICS_FILE}")
    return {p.parent.relative_to(path).as_posix(): p for p in found}


def load_lightning_csv(path, *, options: LogOptions | None = None, **kwargs) -> RunsTable:
    """Read Lightning ``CSVLogger`` metrics into a runs table.

    Parameters
    ----------
    path : str or Path
        A ``metrics.csv``, a ``version_<k>`` folder, or a folder of them (one run each,
        named by their path below it, e.g. ``gpt/version_0``).
    N : float, str or mapping
        Parameters (one value for every run, or ``{run_id: N}``).
    run_id : str, optional
        Default: ``<name>/version_<k>`` (or the folder's name). Only for one run.
    loss : str, optional
        The metric to fit (default: the first of ``LOSS_NAMES`` logged, e.g.
        ``train_loss``; with ``on_step`` and ``on_epoch``, ``train_loss_step``).
    tokens_per_step, tokens, lr, columns
        As for :func:`load_wandb_csv`. ``val_<metric>`` becomes ``val/<metric>``;
        ``LearningRateMonitor``'s ``lr-<Optimizer>`` is found as the learning rate.
    n_convention, flops_per_token_factor, require_tokens, drop_nonfinite
        As for :func:`load_wandb_csv`.

    Returns
    -------
    RunsTable
        Validation metrics logged at a step where the training loss was also logged
        join that point; the others are counted in ``meta["left_out"]``.

    Raises
    ------
    ValueError
        Naming the file: unreadable CSV, no ``step`` column, a cell that is not a
        number (with its line), no loss, invalid values.
    """
    path, opts = open_log(path, _LABEL, options, kwargs)
    files = _files(path)
    frames = {}
    for name, file in files.items():
        frames[name] = frame = read_text_csv(file, _LABEL)
        if "step" not in frame.columns:
            raise fail(file, _LABEL, f"no 'step' column; its columns are {list(frame.columns)}")
    source = next(iter(files.values())) if len(files) == 1 else path
    logged = list(dict.fromkeys(c for frame in frames.values() for c in frame.columns
                                if c not in ("step", "epoch")))
    names = plan_names(logged, source=source, label=_LABEL, opts=opts)
    parts = []
    for name, file in files.items():
        metrics = {c: c for c in frames[name].columns if c in names}
        records = csv_records(frames[name], step="step", metrics=metrics, run_id=name)
        prefix = "" if len(files) == 1 else f"{file.relative_to(path)} "
        records["loc"] = [f"{prefix}line {n}" for n in records["loc"]]
        parts.append(records)
    records = pd.concat(parts, ignore_index=True)
    return to_table(records, source=source, label=_LABEL, opts=opts, logged=logged,
                    where=lambda r: str(r["loc"]))


def _detect(path: Path) -> bool:
    """A folder with a ``metrics.csv`` below it, or a ``metrics.csv`` with a ``step`` column
    (Lightning logs one run per file: a ``run_id`` column makes it a runs table)."""
    if path.is_dir():
        return any(path.rglob(METRICS_FILE))
    if path.name != METRICS_FILE:
        return False
    header = [c.strip() for c in csv_header(path)]
    return "step" in header and "run_id" not in header


FORMAT = LogFormat("lightning", "Lightning CSVLogger metrics.csv (or its log folder)",
                   load_lightning_csv, _detect)
