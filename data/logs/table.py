"""The fallback format: a runs table, or one run's own CSV/Parquet/JSONL log of ``step``
and ``loss`` given its run facts (``N``, ``tokens_per_step``, ``run_id``)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..loaders import load_table, read_frame
from ..schema import RunsTable, validate
from ._core import LogFormat, fail

__all__ = ["FORMAT", "load_plain"]

# the validation choices a single run's file accepts besides its run facts
_VALIDATE_KEYS = {"n_convention", "flops_per_token_factor", "require_tokens"}


def load_plain(path, *, N=None, tokens_per_step=None, run_id=None,
               columns: Mapping[str, str] | None = None, **kwargs) -> RunsTable:
    """A runs table (:func:`data.load_table`), or one run's own log file given its facts."""
    if N is None and tokens_per_step is None and run_id is None:
        return load_table(path, columns=columns, **kwargs)
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"N, tokens_per_step and run_id describe one run's log file; "
                         f"{str(path)!r} is a folder (load it with load_table)")
    unknown = set(kwargs) - _VALIDATE_KEYS
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


FORMAT = LogFormat("table", "a runs table: CSV/TSV/Parquet/JSONL file or runs+points folder",
                   load_plain, lambda path: True)
