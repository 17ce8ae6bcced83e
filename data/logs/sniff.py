"""``load_log``: read any supported training log, telling its kind from the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from ..loaders import combine_tables, expand_paths, load_table, read_frame
from ..schema import RunsTable, validate
from ._core import SharedFacts, fail
from ._csv import csv_header
from .hf_trainer import STATE_FILE, hf_run_folders, load_hf_trainer_state
from .lightning_csv import METRICS_FILE, load_lightning_csv
from .tb_events import EVENT_GLOB, load_tensorboard
from .wandb_csv import is_wandb_header, load_wandb_csv
from .wandb_offline import load_wandb_offline, offline_run_files

__all__ = ["LOG_KINDS", "sniff_log", "load_log"]

#: kind -> what it reads.
LOG_KINDS = {
    "wandb": "W&B run-history or panel CSV export",
    "wandb-offline": "W&B offline run folder (wandb/offline-run-*), needs the wandb package",
    "tensorboard": "TensorBoard event file or log folder",
    "hf": "Hugging Face trainer_state.json (or a Trainer output folder)",
    "lightning": "Lightning CSVLogger metrics.csv (or its log folder)",
    "table": "a runs table: CSV/TSV/Parquet/JSONL file or runs+points folder",
}


def _has_log_history(path: Path) -> bool:
    # read the start only: a state file's keys are sorted, 'log_history' comes early
    # enough, and a huge JSON file need not be parsed to be told apart
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(1 << 16)
    except (OSError, UnicodeDecodeError):
        return False
    if '"log_history"' in head:
        return True
    try:
        return isinstance(data := json.loads(head), dict) and "log_history" in data
    except json.JSONDecodeError:
        return False


def sniff_log(path) -> str:
    """The kind of log at ``path``, one of :data:`LOG_KINDS`.

    Folders: ``points.*`` (or ``curves.*``) in it -> table; ``run-*.wandb`` in it or in ``offline-run-*/`` below it -> wandb-offline,
    ``trainer_state.json`` (or ``checkpoint-*/trainer_state.json``) in it or in its
    sub-folders (one Trainer output folder per run) -> hf,
    ``metrics.csv`` below it -> lightning, event files below it -> tensorboard, else
    table. Files: ``events.out.tfevents.*`` -> tensorboard; JSON with
    ``log_history`` -> hf; a CSV whose header has ``_step``/``_runtime``/``_timestamp``
    or ``<run> - <metric>`` columns -> wandb; ``metrics.csv`` with a ``step`` column (and no ``run_id``) ->
    lightning; anything else -> table.

    Raises
    ------
    ValueError
        If ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no such file or folder: {str(path)!r}")
    if path.is_dir():
        from ..loaders import _find

        if _find(path, ("points", "curves")) is not None:  # a runs table's folder: runs.*, points.*
            return "table"
        if offline_run_files(path):
            return "wandb-offline"
        if hf_run_folders(path):  # an output folder, or a folder of them
            return "hf"
        if any(path.rglob(METRICS_FILE)):
            return "lightning"
        if any(p.is_file() for p in path.rglob(EVENT_GLOB)):
            return "tensorboard"
        return "table"
    name = path.name
    if path.suffix == ".wandb":
        return "wandb-offline"
    if name.startswith("events.out.tfevents"):
        return "tensorboard"
    suffix = path.suffix.lower()
    if name == STATE_FILE or (suffix == ".json" and _has_log_history(path)):
        return "hf"
    if suffix == ".csv":
        header = [c.strip() for c in csv_header(path)]
        if is_wandb_header(header):
            return "wandb"
        # Lightning logs one run per file: a run_id column makes it a runs table
        if name == METRICS_FILE and "step" in header and "run_id" not in header:
            return "lightning"
    return "table"


def _load_plain(path, *, N=None, tokens_per_step=None, run_id=None,
                columns: Mapping[str, str] | None = None, **kwargs) -> RunsTable:
    """A runs table, or one run's own CSV/Parquet/JSONL log given its run facts."""
    if N is None and tokens_per_step is None and run_id is None:
        return load_table(path, columns=columns, **kwargs)
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"N, tokens_per_step and run_id describe one run's log file; "
                         f"{str(path)!r} is a folder (load it with load_table)")
    unknown = set(kwargs) - {"n_convention", "flops_per_token_factor", "require_tokens"}
    if unknown:
        raise TypeError(f"unexpected argument(s) for a run's log file: {sorted(unknown)}")
    frame = read_frame(path, columns=columns)
    given = {"N": N, "tokens_per_step": tokens_per_step, "run_id": run_id}
    for column, value in given.items():
        if value is None:
            continue
        if column in frame.columns:
            raise fail(path, "runs table", f"{column} is both a column of the file and an "
                       "argument; give it once")
        frame[column] = str(value) if column == "run_id" else value
    try:
        return validate(frame, meta={"source": str(path)}, **kwargs)
    except ValueError as err:
        raise fail(path, "runs table", str(err)) from None


_LOADERS = {"wandb": load_wandb_csv, "wandb-offline": load_wandb_offline,
            "tensorboard": load_tensorboard,
            "hf": load_hf_trainer_state, "lightning": load_lightning_csv,
            "table": _load_plain}


def load_log(path, kind: str | None = None, **kwargs) -> RunsTable:
    """Read a training log of any supported kind into a runs table.

    Parameters
    ----------
    path : str, Path, or a list of them
        A log file or folder, a glob (``"out/*/wandb"``), or a list: each is read (its
        kind told apart on its own) and the runs are combined into one table.
    kind : str, optional
        One of :data:`LOG_KINDS`; by default told from the file (:func:`sniff_log`).
    **kwargs
        Passed to the kind's loader: :func:`load_wandb_csv`, :func:`load_tensorboard`,
        :func:`load_hf_trainer_state`, :func:`load_lightning_csv`, or for a table
        :func:`data.load_table` (``N``, ``tokens_per_step`` and ``run_id`` may be given
        for a single run's own log file, e.g. a CSV of ``step`` and ``loss``).

    Returns
    -------
    RunsTable

    Raises
    ------
    ValueError
        For an unknown ``kind`` and for anything the loader rejects.

    Examples
    --------
    >>> table = load_log("out/checkpoint-1000", N="125M", tokens_per_step=2**19)  # doctest: +SKIP
    """
    if kind is not None and kind not in _LOADERS:
        raise ValueError(f"`kind` must be one of {sorted(LOG_KINDS)}, got {kind!r}")
    paths = expand_paths(path)
    if len(paths) > 1 and kwargs.get("run_id") is not None:
        raise ValueError(f"`run_id` names one run; {len(paths)} logs were given")
    kinds = [kind or sniff_log(p) for p in paths]
    # a folder of Trainer output folders: one run each
    pairs = [(run, k) for p, k in zip(paths, kinds)
             for run in ((hf_run_folders(p) or [p]) if k == "hf" else [p])]
    if len(pairs) > 1 and kwargs.get("run_id") is not None:
        raise ValueError(f"`run_id` names one run; {len(pairs)} logs were given")
    if len(pairs) == 1:
        return _LOADERS[pairs[0][1]](pairs[0][0], **kwargs)
    shared = {k: SharedFacts(v) for k, v in kwargs.items()
              if k in ("N", "tokens_per_step") and isinstance(v, Mapping)}
    tables = [_LOADERS[k](p, **{**kwargs, **shared}) for p, k in pairs]
    for name, facts in shared.items():
        unknown = sorted(set(map(str, facts)) - facts.used)
        if unknown:
            raise ValueError(f"`{name}` names run(s) {unknown[:3]} that none of the "
                             f"{len(pairs)} logs holds")
    return combine_tables(tables, [p for p, _ in pairs])
