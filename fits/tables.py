"""Any table-like input (a runs table, a DataFrame or a path) as a :class:`RunsTable`:
what every fitting entry point accepts."""

from __future__ import annotations

import pandas as pd

from scaling.data import RunsTable, load_table, validate

__all__ = ["as_table"]


def as_table(data) -> RunsTable:
    """A :class:`RunsTable` from a table, a DataFrame or a path."""
    if isinstance(data, RunsTable):
        return data
    if isinstance(data, pd.DataFrame):
        return validate(data)
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        return load_table(data)
    raise TypeError(f"expected a RunsTable, a DataFrame or a path, got {type(data).__name__}")
