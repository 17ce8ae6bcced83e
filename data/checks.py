"""Checks on input files that do not stop a load: notes and plausibility warnings.

Refusals (a duplicated header name) raise ``ValueError``; things that are legal but worth
saying (a byte-order mark or padded header names that were cleaned, a loss value far from
every other) warn with :class:`DataWarning`, which the CLI prints as one ``warning:`` line.
"""

from __future__ import annotations

import codecs
import csv
import warnings
from pathlib import Path

import numpy as np

__all__ = ["DataWarning", "check_header", "check_plausible_loss"]

#: A loss this many times below or above the median of its column is called implausible.
IMPLAUSIBLE_FACTOR = 100.0


class DataWarning(UserWarning):
    """The data loaded, but something in it deserves a look (the message says what)."""


def check_header(path, sep: str = ",") -> None:
    """Look at the header line of a CSV/TSV file before pandas renames anything.

    Raises
    ------
    ValueError
        When two columns have the same name (pandas would silently call the second
        ``loss.1`` and every reader would use the first); the message names both.

    Warns
    -----
    DataWarning
        When a UTF-8 byte-order mark or spaces around header names were removed (nothing
        else is changed, no value is lost).
    """
    path = Path(path)
    if path.suffix.lower() in (".gz", ".bz2", ".xz", ".zst"):
        return  # compressed: pandas reads it; duplicate names are caught after reading
    with open(path, "rb") as handle:
        raw = handle.readline(1 << 20)
    bom = raw.startswith(codecs.BOM_UTF8)
    text = raw[len(codecs.BOM_UTF8):] if bom else raw
    try:
        names = next(csv.reader([text.decode("utf-8", errors="replace").rstrip("\r\n")],
                                delimiter=sep))
    except (StopIteration, csv.Error):
        return
    stripped = [n.strip() for n in names]
    seen: dict[str, int] = {}
    for i, name in enumerate(stripped):
        if name in seen and name:
            raise ValueError(f"{path}: the header names column {name!r} twice (columns "
                             f"{seen[name] + 1} and {i + 1}); rename one of them (a reader "
                             "would silently use only the first)")
        seen[name] = i
    notes = []
    if bom:
        notes.append("skipped a UTF-8 byte-order mark")
    padded = [n for n in names if n != n.strip()]
    if padded:
        notes.append("removed spaces around header name(s) "
                     + ", ".join(repr(n) for n in padded[:4]) + (" ..." if len(padded) > 4
                                                                  else ""))
    if notes:
        warnings.warn(f"{path}: {'; '.join(notes)} (nothing else changed, no value lost)",
                      DataWarning, stacklevel=3)


def check_plausible_loss(values, rows, column: str = "loss") -> None:
    """Warn about loss values more than :data:`IMPLAUSIBLE_FACTOR` times away from the
    column's median (``1e-308`` among losses near 3 is a typo or an overflow, and it pulls
    a fit: it moved Chinchilla's B from 12,845 to 6,800)."""
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values) & (values > 0)
    if ok.sum() < 3:
        return
    median = float(np.median(values[ok]))
    far = ok & ((values < median / IMPLAUSIBLE_FACTOR) | (values > median * IMPLAUSIBLE_FACTOR))
    if far.any():
        first = int(np.flatnonzero(far)[0])
        warnings.warn(f"column {column!r} has implausible value(s): {values[first]:.3g} in "
                      f"{rows(far)}, more than {IMPLAUSIBLE_FACTOR:g}x from the median "
                      f"{median:.3g}; check the file (a typo or an overflow?) or drop the "
                      "row(s)", DataWarning, stacklevel=3)
