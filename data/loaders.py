"""Read runs tables from CSV, Parquet and JSONL files (or a directory of them).

A file may be flat (one row per point, run columns repeated) or final-points-only
(one row per run: N, D or C, loss). A directory holds ``runs.*`` plus ``points.*``
(or ``curves.*``), as written by the trainer and by ``scaling datasets export``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import pandas as pd

from .schema import RunsTable, validate

__all__ = ["load_table", "read_frame", "parse_column_map", "final_points_table", "FORMATS",
           "expand_paths", "combine_tables"]

#: File suffix -> format name.
FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_POINT_STEMS = ("points", "curves", "metrics")


def parse_column_map(items) -> dict[str, str]:
    """Parse ``["loss=train/loss", "N=params"]`` into ``{"loss": "train/loss", ...}``.

    Raises
    ------
    ValueError
        If an item is not of the form NEW=OLD.
    """
    mapping: dict[str, str] = {}
    for item in items or ():
        new, sep, old = str(item).partition("=")
        if not sep or not new.strip() or not old.strip():
            raise ValueError(f"column map entry {item!r} must look like NEW=OLD, "
                             "e.g. loss=train/loss")
        new, old = new.strip(), old.strip()
        if mapping.get(new, old) != old:
            raise ValueError(f"column map gives {new!r} twice ({mapping[new]!r} and {old!r}); "
                             "map each column once")
        mapping[new] = old
    return mapping


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in set(FORMATS.values()):
            raise ValueError(f"format {fmt!r} is not one of {sorted(set(FORMATS.values()))}")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zst") and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in FORMATS:
        raise ValueError(f"cannot tell the format of {str(path)!r} from its suffix; "
                         f"use one of {sorted(FORMATS)} or pass the format explicitly")
    return FORMATS[suffixes[-1]]


def read_frame(path, *, fmt: str | None = None, columns: Mapping[str, str] | None = None
               ) -> pd.DataFrame:
    """Read one file into a DataFrame and apply a column map (NEW=OLD).

    Raises
    ------
    ValueError
        For an unknown format, an empty or unparsable file, or a mapped column that
        the file does not have.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such file: {str(path)!r}")
    kind = _format_of(path, fmt)
    if path.stat().st_size == 0:
        raise ValueError(f"file {str(path)!r} is empty")
    if kind in ("csv", "tsv"):
        from .checks import check_header

        check_header(path, "," if kind == "csv" else "\t")  # before pandas renames
    try:
        if kind in ("csv", "tsv"):
            frame = pd.read_csv(path, sep="," if kind == "csv" else "\t")
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_json(path)
    except ImportError as err:
        raise ValueError(f"reading {kind} files needs an optional dependency: {err}; "
                         "install it with `pip install 'scaling[parquet]'`") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"file {str(path)!r} is empty") from None
    except (ValueError, pd.errors.ParserError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"could not read {str(path)!r} as {kind}: {first}") from None
    if len(frame) == 0:
        raise ValueError(f"file {str(path)!r} has no rows"
                         + (" (only a header)" if len(frame.columns) else ""))
    return _apply_column_map(frame, columns or {}, str(path))


def _apply_column_map(frame: pd.DataFrame, columns: Mapping[str, str], where: str):
    absent = [old for old in columns.values() if old not in frame.columns]
    if absent:
        raise ValueError(f"column map refers to column(s) {absent} that {where!r} does not "
                         f"have; its columns are {list(frame.columns)}")
    return _rename(frame, columns)


def _rename(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Apply the map entries whose old name ``frame`` has; a column already named NEW
    gives way to the one mapped onto it (``--col loss=val/loss`` with a ``loss`` column)."""
    renames = {old: new for new, old in columns.items() if old in frame.columns}
    shadowed = [c for c in frame.columns
                if c in renames.values() and c not in renames]
    return frame.drop(columns=shadowed).rename(columns=renames)


def _find(directory: Path, stems) -> Path | None:
    for stem in stems:
        for suffix in FORMATS:
            for extra in ("", ".gz"):
                candidate = directory / f"{stem}{suffix}{extra}"
                if candidate.exists():
                    return candidate
    return None


def load_table(path, *, runs=None, columns: Mapping[str, str] | None = None,
               final_only: bool = False, fmt: str | None = None,
               n_convention: str | None = None, flops_per_token_factor: float = 6.0,
               require_tokens: bool = True, require_size: bool = True) -> RunsTable:
    """Load a runs table from a file or directory and validate it.

    Parameters
    ----------
    path : str, Path or DataFrame
        A CSV/TSV/Parquet/JSONL file of points (flat or final-points-only), a
        directory holding ``runs.*`` and ``points.*`` (or ``curves.*``), or a pandas
        DataFrame of points (never modified).
    runs : str, Path or DataFrame, optional
        A separate runs file (one row per run) to join with ``path``.
    columns : mapping, optional
        Column map ``{NEW: OLD}``, e.g. ``{"loss": "train/loss"}``, applied to every file.
    final_only : bool
        Keep only the last point of each run (one row per run).
    fmt : str, optional
        Force a format instead of guessing from the suffix.
    n_convention, flops_per_token_factor, require_tokens, require_size
        Passed to :func:`data.schema.validate`.

    Returns
    -------
    RunsTable

    Raises
    ------
    ValueError
        For a missing or unreadable file and for any validation problem.
    """
    if isinstance(path, pd.DataFrame):  # a notebook's frame: same column map and checks
        runs_frame = None if runs is None else (
            runs if isinstance(runs, pd.DataFrame) else read_frame(Path(runs)))
        columns = dict(columns or {})
        points_frame = _apply_column_map(path, columns, "DataFrame") if runs_frame is None \
            else _rename(path, columns)
        if runs_frame is not None:
            runs_frame = _rename(runs_frame, columns)
        table = validate(points_frame, runs_frame, n_convention=n_convention,
                         flops_per_token_factor=flops_per_token_factor,
                         require_tokens=require_tokens, require_size=require_size,
                         meta={"source": "DataFrame"})
        return final_points_table(table) if final_only else table
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no such file or directory: {str(path)!r}")
    runs_frame = None
    if path.is_dir():
        points_path = _find(path, _POINT_STEMS)
        if points_path is None:
            raise ValueError(f"directory {str(path)!r} has no points file "
                             f"({'/'.join(_POINT_STEMS)}.csv|.parquet|.jsonl)")
        if runs is None:
            runs = _find(path, ("runs",))
        path = points_path
    columns = dict(columns or {})
    points_frame = read_frame(path, fmt=fmt)
    if runs is None:
        points_frame = _apply_column_map(points_frame, columns, str(path))
    else:
        runs_frame = read_frame(Path(runs))
        # the column map applies to whichever file has the old name
        absent = [old for old in columns.values()
                  if old not in points_frame.columns and old not in runs_frame.columns]
        if absent:
            raise ValueError(
                f"column map refers to column(s) {absent} that neither {str(path)!r} nor "
                f"{str(runs)!r} has; their columns are {list(points_frame.columns)} and "
                f"{list(runs_frame.columns)}")
        points_frame = _rename(points_frame, columns)
        runs_frame = _rename(runs_frame, columns)
    table = validate(points_frame, runs_frame, n_convention=n_convention,
                     flops_per_token_factor=flops_per_token_factor,
                     require_tokens=require_tokens, require_size=require_size,
                     meta={"source": str(path), **({"runs_source": str(runs)} if runs else {})})
    if final_only:
        table = final_points_table(table)
    return table


def final_points_table(table: RunsTable) -> RunsTable:
    """The table reduced to the last point of each run."""
    last = table.points.groupby("run_id", sort=True).tail(1).reset_index(drop=True)
    return RunsTable(table.runs, last, {**table.meta, "final_only": True})


_GLOB = re.compile(r"[*?\[]")


def expand_paths(spec) -> list[Path]:
    """The paths ``spec`` names: one path, a glob (``'out/*/wandb'``, ``'runs/**/metrics.csv'``)
    or a list of either; sorted within each glob.

    Raises
    ------
    ValueError
        For a glob that matches nothing or a path that does not exist.
    """
    items = [spec] if isinstance(spec, (str, Path)) else list(spec)
    out: list[Path] = []
    for item in items:
        text = str(item)
        if _GLOB.search(text) and not Path(text).exists():
            import glob

            found = sorted(Path(p) for p in glob.glob(text, recursive=True))
            if not found:
                raise ValueError(f"the pattern {text!r} matches no file or folder")
            out.extend(found)
        elif Path(text).exists():
            out.append(Path(text))
        else:
            raise ValueError(f"no such file or folder: {text!r}")
    return list(dict.fromkeys(out))


def combine_tables(tables, sources=None) -> RunsTable:
    """One runs table from several (e.g. one per log folder), validated again.

    Raises
    ------
    ValueError
        When two tables hold a run of one id (naming both sources; rename one with
        ``run_id=`` or a column map).
    """
    tables = list(tables)
    if len(tables) == 1:
        return tables[0]
    sources = [str(s) for s in (sources or range(len(tables)))]
    owner: dict[str, str] = {}
    for table, source in zip(tables, sources):
        for rid in table.runs["run_id"]:
            if rid in owner:
                raise ValueError(f"run {rid!r} is in both {owner[rid]!r} and {source!r}; "
                                 "give the runs distinct names (run_id=..., or W&B run names)")
            owner[rid] = source
    runs = pd.concat([t.runs for t in tables], ignore_index=True)
    points = pd.concat([t.points for t in tables], ignore_index=True)
    points = points.drop(columns=[c for c in points.columns
                                  if c in runs.columns and c != "run_id"])
    meta = {"sources": sources, "parts": [dict(t.meta) for t in tables]}
    for key in ("flops_convention", "tokens_known", "size_known"):
        values = {str(t.meta.get(key)) for t in tables}
        if len(values) == 1 and key in tables[0].meta:
            meta[key] = tables[0].meta[key]
    return validate(points, runs, meta=meta,
                    require_tokens=all(t.meta.get("tokens_known", True) for t in tables),
                    require_size=all(t.meta.get("size_known", True) for t in tables))
