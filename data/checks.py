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

__all__ = ["DataWarning", "check_header", "check_plausible_loss", "parse_units", "apply_units",
           "check_plausible", "UNIT_SCALES", "LOSS_UNITS"]

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


# -- units and plausibility ------------------------------------------------------------

#: ``--units`` scales: a column given in these units is multiplied into raw counts.
UNIT_SCALES = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12, "P": 1e15}
#: ``--units C=PF-days``: compute in petaflop/s-days (Kaplan et al. 2020), 1e15 x 86,400 FLOPs
PF_DAY = 8.64e19
#: ``--units loss=...``: how the loss column was written.
LOSS_UNITS = ("nats", "percent", "ppl")
#: Plausible ranges (why: the remedies below name the units that explain a miss).
MAX_LOSS = 15.0           # cross-entropy in nats of any LM vocabulary (ln 256k = 12.5)
MIN_COUNT = 1e3           # fewer parameters (or tokens) than this: counted in M or B (a toy
                          # model of 7.5K parameters trained on 2.5K tokens is real)
TOKENS_PER_PARAM = (1e-2, 1e6)
TOKEN_MISMATCH = 0.05     # logged token counts and --tokens-per-step may differ this much


def parse_units(items) -> dict:
    """``{"N": 1e6, "loss": "percent", "as_is": True}`` from ``--units`` values such as
    ``N=M``, ``D=B``, ``loss=percent``, ``loss=ppl`` or ``as-is`` (repeatable, or
    comma-separated).

    Raises
    ------
    ValueError
        Naming the item and what is accepted.
    """
    out: dict = {}
    for item in [p.strip() for raw in (items or ()) for p in str(raw).split(",")]:
        if not item:
            continue
        if item.lower() in ("as-is", "as_is", "asis"):
            out["as_is"] = True
            continue
        column, sep, unit = item.partition("=")
        column, unit = column.strip(), unit.strip()
        if column == "C" and sep and squash_name(unit) in ("pfdays", "pfday", "pfsdays"):
            out["C"] = PF_DAY
        elif column in ("N", "D", "C") and sep and unit.upper() in UNIT_SCALES:
            out[column] = UNIT_SCALES[unit.upper()]
        elif column == "loss" and unit.lower() in LOSS_UNITS:
            out["loss"] = unit.lower()
        else:
            raise ValueError(f"--units {item!r}: expected N=, D= or C= one of "
                             f"{list(UNIT_SCALES)} (N=M: N given in millions), C=PF-days, "
                             "loss= one of "
                             f"{list(LOSS_UNITS)}, or as-is (the values are meant as given)")
    return out


def apply_units(table, units: dict):
    """``table`` with N, D, C in raw counts and the loss in nats, per ``units`` (from
    :func:`parse_units`); derived columns (C = 6ND, D = C / 6N) are derived again.
    ``units["as_is"]`` marks the table so :func:`check_plausible` accepts it."""
    from .schema import RunsTable

    if not units:
        return table
    runs, points, meta = table.runs.copy(), table.points.copy(), dict(table.meta)
    for column in ("N", "D", "C"):
        if column in units:
            for frame in (runs, points):
                if column in frame.columns:
                    frame[column] = frame[column].astype(float) * units[column]
    if any(c in units for c in ("N", "D", "C")):
        n = points["run_id"].map(runs.set_index("run_id")["N"]).astype(float)
        convention = str(meta.get("flops_convention", ""))
        factor = float(convention.split("ND")[0]) if "ND" in convention else None
        if factor and "derived from C" in convention:
            points["D"] = points["C"] / (factor * n)
        elif factor:
            points["C"] = factor * n * points["D"]
    if units.get("loss") == "percent":
        points["loss"] = points["loss"] / 100.0
    elif units.get("loss") == "ppl":
        points["loss"] = np.log(points["loss"].astype(float))
    meta["units"] = {k: v for k, v in units.items() if k != "as_is"}
    if units.get("as_is"):
        meta["units_as_is"] = True
    return RunsTable(runs, points, meta)


def squash_name(text) -> str:
    """Lower-case letters and digits only (``"PF-days"`` -> ``"pfdays"``, ``"params_M"`` ->
    ``"paramsm"``): how unit names and other tools' column names are compared."""
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def _span(values) -> str:
    return f"{np.min(values):.3g}..{np.max(values):.3g}"


def _loss_problem(loss) -> str | None:
    if loss.size == 0 or np.median(loss) <= MAX_LOSS:
        return None
    return (f"column 'loss' holds {_span(loss)} (median {np.median(loss):.3g}), not a "
            f"cross-entropy in nats (below ~{MAX_LOSS:g} for any vocabulary): in percent "
            f"(x100)? --units loss=percent; a perplexity? --units loss=ppl (the log is "
            "taken); another column holds the loss? map it with --col loss=COLUMN")


def _count_problem(name, values, what, from_c: bool = False) -> str | None:
    if values.size == 0 or np.median(values) >= MIN_COUNT:
        return None
    if from_c:  # D = C / (6 N): the compute column is in another unit
        return (f"D = C / (6 N) holds {_span(values)} tokens (median {np.median(values):.3g}): "
                "is C in PF-days (--units C=PF-days, 8.64e19 FLOPs each) or in another unit "
                "(--units C=M, C=B, C=P: millions, billions, 1e15 FLOPs)?")
    return (f"column {name!r} holds {_span(values)} (median {np.median(values):.3g}): "
            f"{what} counted in millions or billions? give the unit with --units {name}=M "
            f"(millions) or --units {name}=B (billions), or write raw counts ('1.3B' is "
            "read as 1.3e9)")


def _ratio_problem(n, d) -> str | None:
    ratio = d / n
    if ratio.size == 0:
        return None
    med = float(np.median(ratio))
    lo, hi = TOKENS_PER_PARAM
    if med < lo:
        return (f"D is far below N (median {med:.3g} tokens per parameter, runs span "
                f"{_span(ratio)}): D in millions or billions? --units D=M or D=B; or N in "
                "raw counts where D is not")
    if med > hi:
        return (f"D is far above N (median {med:.3g} tokens per parameter, runs span "
                f"{_span(ratio)}): N in millions or billions? --units N=M or N=B")
    return None


def _tokens_problem(points) -> str | None:
    if "logged/tokens" not in points.columns:
        return None
    both = points[["D", "logged/tokens", "step"]].dropna()
    both = both[both["logged/tokens"] > 0]
    if both.empty:
        return None
    ratio = both["D"].to_numpy(dtype=float) / both["logged/tokens"].to_numpy(dtype=float)
    med = float(np.median(ratio))
    if abs(np.log(med)) <= np.log1p(TOKEN_MISMATCH):
        return None
    row = both.iloc[-1]
    implied = float(np.median(both["logged/tokens"] / both["step"].clip(lower=1)))
    return (f"--tokens-per-step gives D = {row['D']:.4g} at step {int(row['step'])}, but the "
            f"log counts {row['logged/tokens']:.4g} tokens there ({med:.3g}x); the logged "
            f"count implies about {implied:.4g} tokens per step: drop --tokens-per-step to "
            "use the logged count, or correct it")


def _tokens_column_problem(finals) -> str | None:
    """A ``tokens_per_step`` column that contradicts the ``D`` column (final points)."""
    if "tokens_per_step" not in finals.columns or "step" not in finals.columns:
        return None
    rows = finals[["run_id", "step", "D", "tokens_per_step"]].dropna()
    rows = rows[(rows["step"] > 0) & (rows["tokens_per_step"] > 0)]
    if rows.empty:
        return None
    ratio = rows["D"].to_numpy(dtype=float) / (rows["step"] * rows["tokens_per_step"]).to_numpy(
        dtype=float)
    bad = np.abs(np.log(ratio)) > np.log1p(TOKEN_MISMATCH)
    if not bad.any():
        return None
    row = rows[bad].iloc[0]
    return (f"column 'tokens_per_step' ({row['tokens_per_step']:.4g}) x step ({int(row['step'])}) "
            f"gives D = {row['step'] * row['tokens_per_step']:.4g} for run {row['run_id']!r}, "
            f"but column 'D' says {row['D']:.4g} ({ratio[bad][0]:.3g}x; {int(bad.sum())} of "
            f"{len(rows)} runs disagree): correct tokens_per_step or D")


def check_plausible(table, frame=None, *, ratio: bool = True) -> None:
    """Refuse numbers that are almost surely in the wrong unit, naming the fix.

    Checks the loss (percent or perplexity instead of nats), N and D (millions or
    billions instead of raw counts), tokens per parameter of the runs' final points
    (outside 1e-2..1e6), and a ``--tokens-per-step`` that contradicts a logged token
    counter. Skipped when the table is marked as meant this way (``--units as-is``).
    ``ratio=False`` skips the tokens-per-parameter check (a loss curve of a short run is
    legitimately early; a law in N and D fitted on such runs is not).

    Raises
    ------
    ValueError
        With the remedy: a ``--units`` option, ``--col``, or ``--units as-is``.
    """
    if table.meta.get("units_as_is"):
        return
    frame = table.merged() if frame is None else frame
    if not {"run_id", "loss", "N", "D"} <= set(frame.columns) or frame.empty:
        return
    finals = frame.groupby("run_id", sort=False).tail(1)
    loss = _finite(frame["loss"])
    n = finals["N"].to_numpy(dtype=float)
    d = finals["D"].to_numpy(dtype=float)
    ok = np.isfinite(n) & np.isfinite(d) & (n > 0) & (d > 0)
    problems = [_loss_problem(loss), _count_problem("N", _finite(finals["N"]), "parameters"),
                _count_problem("D", _finite(finals["D"]), "tokens",
                               "derived from C" in str(table.meta.get("flops_convention", "")))]
    if ratio and not any(problems[1:]):
        problems.append(_ratio_problem(n[ok], d[ok]))
    problems.append(_tokens_problem(frame))
    problems.append(_tokens_column_problem(finals))
    problems = [p for p in problems if p]
    if problems:
        raise ValueError("implausible values: " + "; and ".join(problems)
                         + " (if the values are meant this way: --units as-is)")


def _finite(column) -> np.ndarray:
    values = np.asarray(column, dtype=float)
    return values[np.isfinite(values) & (values > 0)]
