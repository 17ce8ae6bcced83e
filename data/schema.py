"""The runs table: one tidy format between the trainer, users' files and the fits.

Two tables (see ``DESIGN.md``):

``runs``
    one row per training run: ``run_id``, ``N`` (parameters), ``N_convention`` and
    optional run-level facts (seed, group, LR-schedule spec, ...).
``points``
    one row per measurement: ``run_id``, ``step``, ``D`` (tokens), ``C`` (FLOPs),
    ``loss`` and optional ``lr``, ``split``, ``val/<name>``, ``task/<name>`` columns.

:func:`validate` turns a user's frame (flat, or runs + points) into a normalized
:class:`RunsTable`, or raises one ``ValueError`` that names every problem it found,
with the first offending rows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "RUN_COLUMNS",
    "POINT_COLUMNS",
    "N_CONVENTIONS",
    "RunsTable",
    "validate",
    "parse_quantity",
]

#: Columns that describe a whole run (constant within a run).
RUN_COLUMNS = (
    "run_id", "N", "N_convention", "tokens_per_step", "seq_len", "batch_size", "seed",
    "dataset", "tokenizer", "group", "model", "schedule", "peak_lr", "end_lr",
    "warmup_steps", "decay_start", "total_steps",
)
#: Columns of a measurement (``split`` may also be given per run).
POINT_COLUMNS = ("run_id", "step", "D", "C", "loss", "lr", "split")
N_CONVENTIONS = ("non_embedding", "total", "non_embedding_head", "unknown")
_INT_RUN_COLUMNS = ("tokens_per_step", "seq_len", "batch_size", "warmup_steps",
                    "decay_start", "total_steps")
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtTpP]?)\s*$")
_MAX_SHOWN = 3


def parse_quantity(value) -> float:
    """Parse a number that may carry a size suffix: ``"1.3B"`` -> 1.3e9, ``"70M"`` -> 7e7.

    Raises
    ------
    ValueError
        If ``value`` is not a number (with an optional K/M/B/T/P suffix).
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    match = _QUANTITY.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a number")
    return float(match.group(1)) * _SUFFIX[match.group(2).lower()]


@dataclass(frozen=True)
class RunsTable:
    """A validated runs table (build it with :func:`validate` or a loader).

    Attributes
    ----------
    runs : DataFrame
        One row per run, indexed 0..n-1, sorted by ``run_id``.
    points : DataFrame
        One row per measurement, sorted by ``(run_id, step)``.
    meta : dict
        Provenance and conventions, e.g. ``{"flops_convention": "6ND", "source": ...}``.
    """

    runs: pd.DataFrame
    points: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    def final_points(self) -> pd.DataFrame:
        """One row per run: its last point (highest step) joined with the run's columns."""
        last = self.points.groupby("run_id", sort=True).tail(1)
        extra = [c for c in self.runs.columns if c not in last.columns or c == "run_id"]
        return last.merge(self.runs[extra], on="run_id", how="left").reset_index(drop=True)

    def merged(self) -> pd.DataFrame:
        """Every point joined with its run's columns (a flat copy)."""
        extra = [c for c in self.runs.columns if c not in self.points.columns or c == "run_id"]
        return self.points.merge(self.runs[extra], on="run_id", how="left")

    def subset(self, run_ids) -> "RunsTable":
        """The table restricted to ``run_ids`` (order of the table kept)."""
        keep = set(run_ids)
        runs = self.runs[self.runs["run_id"].isin(keep)].reset_index(drop=True)
        points = self.points[self.points["run_id"].isin(keep)].reset_index(drop=True)
        return RunsTable(runs, points, dict(self.meta))

    def data_hash(self) -> str:
        """sha256 of the numeric content (run ids, steps, N, D, C, loss), for provenance."""
        flat = self.merged()[["run_id", "step", "N", "D", "C", "loss"]]
        digest = hashlib.sha256(pd.util.hash_pandas_object(flat, index=False).values.tobytes())
        return digest.hexdigest()[:16]


def _plain(value):
    """A cell as a plain Python value for messages: ``2`` rather than ``np.float64(2.0)``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Problems:
    """Collects every validation problem so one error can name them all."""

    def __init__(self, frame: pd.DataFrame, label: str):
        self.frame = frame
        self.label = label
        self.items: list[str] = []
        # the columns that identify a row to the user (synthesized ones are left out)
        self.keys = [k for k in ("run_id", "step") if k in frame.columns]

    def rows(self, mask) -> str:
        positions = np.flatnonzero(np.asarray(mask))
        shown = []
        for pos in positions[:_MAX_SHOWN]:
            row = self.frame.iloc[pos]
            keys = [f"{k}={_plain(row[k])!r}" for k in self.keys]
            shown.append(f"row {pos + 1}" + (f" ({', '.join(keys)})" if keys else ""))
        more = len(positions) - len(shown)
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        head = f"invalid {self.label}"
        if len(self.items) == 1:
            raise ValueError(f"{head}: {self.items[0]}")
        raise ValueError(head + ":\n" + "\n".join(f"  - {item}" for item in self.items))


def _to_float(frame: pd.DataFrame, column: str, problems: _Problems) -> None:
    """Cast ``column`` to float64 in place, accepting size suffixes; report bad cells."""
    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        problems.add(f"column {column!r} holds booleans, expected numbers")
        return
    if pd.api.types.is_numeric_dtype(values):
        frame[column] = values.astype("float64")
        return
    parsed = np.empty(len(values))
    bad = np.zeros(len(values), dtype=bool)
    for i, cell in enumerate(values.to_numpy()):
        if pd.api.types.is_scalar(cell) and pd.isna(cell):
            parsed[i] = np.nan
            continue
        try:
            parsed[i] = parse_quantity(cell)
        except ValueError:
            bad[i] = True
    if bad.any():
        first = values.to_numpy()[np.flatnonzero(bad)[0]]
        problems.add(f"column {column!r} has non-numeric values in {problems.rows(bad)} "
                     f"(e.g. {first!r}); expected numbers such as 1.3e9 or '1.3B'")
        return
    frame[column] = parsed


def _check_finite_positive(frame, column, problems, *, positive=True) -> None:
    values = frame[column].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        problems.add(f"column {column!r} has NaN/inf in {problems.rows(bad)}")
    if positive:
        nonpos = np.isfinite(values) & (values <= 0)
        if nonpos.any():
            problems.add(f"column {column!r} must be > 0; got {values[nonpos][0]:g} "
                         f"in {problems.rows(nonpos)}")


def _check_units(frame, column, problems) -> None:
    """Flag a scale column whose values mix raw counts with millions/billions.

    A column where some values are below 1e3 and others above 1e6 (with no value in
    between bridging them) almost always means '1.3' (billions) next to '7e9'.
    """
    values = frame[column].to_numpy(dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size < 2:
        return
    small, large = values < 1e3, values >= 1e6
    middle = ~small & ~large
    if small.any() and large.any() and not middle.any():
        mask = frame[column].to_numpy(dtype=float) < 1e3
        problems.add(
            f"column {column!r} mixes units: values below 1e3 ({problems.rows(mask)}) next to "
            f"values above 1e6 (e.g. {values[large][0]:.3g}); give every value in the same "
            "unit (raw counts), or write suffixes such as '1.3B'")


def _clean_columns(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """A copy with stripped string column names; repeated names are an error."""
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if repeated:
        raise ValueError(f"invalid runs table: {what} repeats column name(s) {repeated}; "
                         "give every column a distinct name")
    return frame


def _check_run_ids(frame: pd.DataFrame, problems: _Problems) -> None:
    ids = frame["run_id"]
    bad = (ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy()
    if bad.any():
        problems.add(f"column 'run_id' is empty in {problems.rows(bad)}")


def _split_runs(flat: pd.DataFrame, cols: list[str], problems: _Problems) -> pd.DataFrame:
    """The run-level columns ``cols`` of a flat table, checking they are constant per run."""
    if not flat["run_id"].duplicated().any():  # one row per run: nothing can vary (O(n))
        return flat[cols].reset_index(drop=True)
    runs = flat[cols].drop_duplicates("run_id").reset_index(drop=True)
    for col in cols:
        if col == "run_id":
            continue
        distinct = flat.groupby("run_id", sort=False)[col].nunique(dropna=False)
        varying = distinct[distinct > 1]
        if len(varying):
            mask = flat["run_id"].isin(varying.index[:1])
            problems.add(f"column {col!r} must be constant within a run but varies within "
                         f"run {varying.index[0]!r} ({problems.rows(mask)})")
    return runs


def _name_seed_repeats(flat: pd.DataFrame, meta: dict) -> None:
    """Seeds sharing one run_id (a config name) become runs ``<run_id>/seed<seed>``.

    Ladders often name a configuration once and repeat it with several seeds; each seed
    is its own run (its own curve), so it gets its own id. Done in place on ``flat``.
    """
    if "seed" not in flat.columns:
        return
    per_run = flat.groupby("run_id", sort=False)["seed"].nunique(dropna=True)
    repeated = per_run.index[per_run > 1]
    if not len(repeated):
        return
    mask = flat["run_id"].isin(repeated) & flat["seed"].notna()
    flat.loc[mask, "run_id"] = [f"{rid}/seed{_plain(seed)}" for rid, seed in
                                zip(flat.loc[mask, "run_id"], flat.loc[mask, "seed"])]
    meta["seed_repeats_named"] = [str(r) for r in repeated]


def _name_runs(flat: pd.DataFrame, problems: _Problems, meta: dict) -> None:
    """Give every row a str ``run_id`` (each row its own run when the column is absent)."""
    if "run_id" not in flat.columns and _one_run_log(flat, problems):
        # a log of one run (a step column, one model): not one run per row
        flat.insert(0, "run_id", "run")
        meta.setdefault("notes", []).append("no run_id column: the rows are one run's log "
                                            "(distinct steps, one model size)")
    elif "run_id" not in flat.columns:
        dup = flat.duplicated(keep="first").to_numpy()
        if dup.any():
            problems.add(f"duplicated rows (every column equal to an earlier row): "
                         f"{problems.rows(dup)}")
        width = len(str(len(flat)))
        flat.insert(0, "run_id", [f"run{i + 1:0{width}d}" for i in range(len(flat))])
    else:
        _check_run_ids(flat, problems)
    flat["run_id"] = flat["run_id"].astype(str)
    _name_seed_repeats(flat, meta)


def _one_run_log(flat: pd.DataFrame, problems: _Problems) -> bool:
    """Whether rows without a ``run_id`` are one run's log: a ``step`` column and at most
    one model size. Repeated steps there are ambiguous (several runs without names)."""
    if "step" not in flat.columns or len(flat) < 2:
        return False
    if "N" in flat.columns and pd.to_numeric(flat["N"], errors="coerce").nunique() > 1:
        return False  # final points of several models: one run per row
    dup = flat["step"].duplicated(keep="first").to_numpy()
    if dup.any():
        problems.add("no run_id column, one model size and repeated step values: the rows "
                     "look like several runs' logs; add a run_id column naming each run "
                     f"(repeated steps at {problems.rows(dup)})")
        return False
    return True


def _join_runs(flat: pd.DataFrame, runs: pd.DataFrame | None,
               problems: _Problems) -> tuple[pd.DataFrame, list[str]]:
    """``flat`` with the run columns of ``runs`` joined in, and the names of those columns."""
    from_runs: list[str] = []
    if runs is not None:
        runs = _clean_columns(runs, "the runs file")
        if "run_id" not in runs.columns:
            raise ValueError("invalid runs table: the runs file has no 'run_id' column")
        runs_problems = _Problems(runs, "runs file")
        _check_run_ids(runs, runs_problems)
        runs_problems.raise_if_any()
        runs["run_id"] = runs["run_id"].astype(str)
        dup = runs["run_id"].duplicated().to_numpy()
        if dup.any():
            raise ValueError("invalid runs table: run_id must be unique in the runs file; "
                             f"repeated: {runs['run_id'][dup].tolist()[:_MAX_SHOWN]}")
        unknown = sorted(set(flat["run_id"]) - set(runs["run_id"]))
        if unknown:
            problems.add(f"points refer to runs missing from the runs file: {unknown[:_MAX_SHOWN]}"
                         + (f" and {len(unknown) - _MAX_SHOWN} more" if len(unknown) > _MAX_SHOWN
                            else ""))
        from_runs = [c for c in runs.columns if c != "run_id" and c not in flat.columns]
        flat = flat.merge(runs[["run_id"] + from_runs], on="run_id", how="left")
        problems.frame = flat

    return flat, from_runs


#: Names other tools and papers give the required columns (compared lower-case, without
#: ``_``, ``-``, ``/``, ``.`` or spaces); only ever *suggested* in an error, never mapped
#: silently: "params" may count embeddings, "tokens" may be per step.
COLUMN_ALIASES = {
    "N": ("params", "nparams", "numparams", "parameters", "modelsize", "modelparams",
          "nonembeddingparams", "paramcount", "size"),
    "D": ("tokens", "ntokens", "numtokens", "traintokens", "tokensseen", "totaltokens",
          "datasetsize", "data"),
    "C": ("flops", "compute", "trainingflops", "trainflops", "totalflops"),
    "loss": ("evalloss", "valloss", "validationloss", "finalloss", "testloss", "trainloss",
             "losseval", "lossval", "lmloss"),
}
#: unit suffixes of a column name, e.g. ``params_M``, ``tokens (B)``: (suffix, --units value)
_UNIT_SUFFIXES = (("m", "M"), ("b", "B"), ("k", "K"), ("t", "T"), ("millions", "M"),
                  ("billions", "B"))


def column_hint(missing, found) -> str:
    """``" (did you mean --col N=params --col D=tokens?)"`` for the missing columns that a
    found column (``found``: the numeric ones) names in another tool's words
    (:data:`COLUMN_ALIASES`); with ``--units`` where the name carries a unit
    (``params_M``). Empty when nothing matches."""
    from .checks import squash_name

    cols, units = [], []
    for want in missing:
        key = want.split(" ")[0]  # "D (or C, ...)"
        for name in found:
            squashed, unit = squash_name(name), None
            for suffix, value in _UNIT_SUFFIXES:
                if squashed.endswith(suffix) and squashed[:-len(suffix)] in COLUMN_ALIASES.get(key, ()):
                    squashed, unit = squashed[:-len(suffix)], value
            if key == "C" and squashed in ("pfdays", "pfday", "petaflopdays", "computepfdays"):
                squashed, unit = "compute", "PF-days"
            if squashed in COLUMN_ALIASES.get(key, ()):
                cols.append(f"--col {key}={name}")
                if unit:
                    units.append(f"--units {key}={unit}")
                break
    if not cols:
        return ""
    return f" (did you mean {' '.join(cols + units)}?)"


def _require_columns(flat: pd.DataFrame, points: pd.DataFrame, from_runs: list[str],
                     require_tokens: bool, require_size: bool) -> tuple[pd.DataFrame, bool]:
    """``flat`` without all-empty D/C columns, and whether token counts are unknown; every
    missing required column is named at once."""
    # an all-empty D or C column (a table written with unknown token counts) says nothing
    empty = [c for c in ("D", "C") if c in flat.columns and flat[c].isna().all()]
    flat = flat.drop(columns=empty)
    missing = [c for c in ("N", "loss") if c not in flat.columns
               and (c != "N" or require_size)]
    has_tokens = "step" in flat.columns and "tokens_per_step" in flat.columns
    no_tokens = "D" not in flat.columns and "C" not in flat.columns and not has_tokens
    if no_tokens and require_tokens:
        missing.append("D (or C, or step + tokens_per_step)")
    if missing:
        found = list(points.columns) + [c for c in from_runs if c not in points.columns]
        raise ValueError(
            f"invalid runs table: missing required column(s): {', '.join(map(repr, missing))}; "
            f"found columns {found}"
            + (f" ({', '.join(map(repr, empty))} empty: token counts unknown; "
               "pass require_tokens=False to accept that)" if empty else "")
            + ". Map your own names with a column map (--col NEW=OLD, e.g. --col loss=train/loss)"
            + column_hint(missing + (["D"] if no_tokens and not require_tokens else [])
                          + (["C"] if no_tokens else []),
                          [c for c in found if c in flat.columns
                           and pd.to_numeric(flat[c], errors="coerce").notna().any()]))

    return flat, no_tokens


def _check_values(flat: pd.DataFrame, problems: _Problems, meta: dict) -> list[str]:
    """Numbers as float and checked (finite, positive, integer steps, LR, units) before
    anything is derived from them; returns the token/size columns the user gave."""
    if "step" not in flat.columns:
        counts = flat["run_id"].value_counts(sort=False)
        if (counts > 1).any():
            rid = counts.index[counts > 1][0]
            problems.add(f"column 'step' is needed when a run has several rows "
                         f"(run {rid!r} has {counts[rid]} rows)")
        flat["step"] = 0
        meta.setdefault("final_only", True)
    for col in ["N", "loss", "D", "C", "step", "lr", *_INT_RUN_COLUMNS]:
        if col in flat.columns:
            _to_float(flat, col, problems)
    problems.raise_if_any()

    # check what the user gave before deriving anything from it
    given = [c for c in ("N", "loss", "D", "C") if c in flat.columns]
    for col in given:
        _check_finite_positive(flat, col, problems)
    if not problems.items:
        from .checks import check_plausible_loss

        check_plausible_loss(flat["loss"].to_numpy(dtype=float), problems.rows)
    step = flat["step"].to_numpy(dtype=float)
    bad = ~np.isfinite(step) | (step < 0) | (step != np.round(step))
    if bad.any():
        problems.add(f"column 'step' must hold integers >= 0; bad {problems.rows(bad)}")
    if "lr" in flat.columns:
        # empty cells are allowed (loggers leave step 0 or skipped steps blank; the
        # schedule is rebuilt from the logged ones); inf or a negative LR is not
        lr = flat["lr"].to_numpy(dtype=float)
        bad = np.isinf(lr) | (lr < 0)
        if bad.any():
            problems.add(f"column 'lr' must be finite and >= 0 (empty cells are allowed); "
                         f"bad {problems.rows(bad)}")
    for col in ("N", "D"):
        if col in flat.columns:
            _check_units(flat, col, problems)
    problems.raise_if_any()

    return given


def _derive_tokens(flat: pd.DataFrame, meta: dict, no_tokens: bool, given: list[str],
                   flops_per_token_factor: float, problems: _Problems) -> None:
    """Fill N, D and C that the table lacks (C = k N D with k = ``flops_per_token_factor``)
    and record the FLOPs convention in ``meta``."""
    meta["tokens_known"] = not no_tokens
    size_known = "N" in flat.columns
    if not size_known:  # require_size=False
        flat["N"] = np.nan
        meta["size_known"] = False
    if no_tokens:
        flat["D"] = np.nan
        flat["C"] = np.nan
        meta.setdefault("flops_convention", "unknown (no token counts)")
    elif "D" not in flat.columns and "C" not in flat.columns:
        flat["D"] = flat["step"] * flat["tokens_per_step"]
    if "D" not in flat.columns:
        flat["D"] = flat["C"] / (flops_per_token_factor * flat["N"])
        meta.setdefault("flops_convention", f"{flops_per_token_factor:g}ND (D derived from C)")
    elif "C" not in flat.columns:
        flat["C"] = flops_per_token_factor * flat["N"] * flat["D"]
        meta.setdefault("flops_convention", f"{flops_per_token_factor:g}ND")
    elif not no_tokens:
        ratio = flat["C"] / (flat["N"] * flat["D"])
        matches = np.allclose(ratio, flops_per_token_factor, rtol=1e-6)
        meta.setdefault("flops_convention",
                        f"{flops_per_token_factor:g}ND" if matches else "given")
    if not no_tokens:
        # derived columns (D = step * tokens_per_step, D = C / kN) can still be bad; without
        # N, D = C / kN is unknown, not bad (hyperparameter laws need only C)
        derived = [c for c in ("D", "C") if c not in given and (size_known or c in flat.columns
                                                                and flat[c].notna().any())]
        for col in derived:
            _check_finite_positive(flat, col, problems)
            if problems.items:
                break  # C = kND repeats what is wrong with a derived D
    problems.raise_if_any()



def _check_conventions(flat: pd.DataFrame, n_convention: str | None,
                       problems: _Problems) -> None:
    """Integer steps, one row per (run_id, step), and one known N convention."""
    flat["step"] = flat["step"].astype("int64")
    dup = flat.duplicated(["run_id", "step"], keep="first").to_numpy()
    if dup.any():
        backwards = flat.groupby("run_id", sort=False)["step"].diff().lt(0).any()
        problems.add(f"duplicated (run_id, step) in {problems.rows(dup)}" + (
            " (the steps go back within a run: a run resumed from a checkpoint logs those "
            "steps again; keep one row per step, e.g. the one logged after the resume, or "
            "give the two parts different run_ids)" if backwards else ""))
    if "N_convention" not in flat.columns:
        flat["N_convention"] = n_convention or "unknown"
    flat["N_convention"] = flat["N_convention"].fillna(n_convention or "unknown").astype(str)
    bad_conv = ~flat["N_convention"].isin(N_CONVENTIONS).to_numpy()
    if bad_conv.any():
        problems.add(f"column 'N_convention' must be one of {list(N_CONVENTIONS)}; "
                     f"got {flat['N_convention'][bad_conv].iloc[0]!r} in {problems.rows(bad_conv)}")
    known = flat["N_convention"][flat["N_convention"].isin(N_CONVENTIONS[:-1])]
    if known.nunique() > 1:
        minority = known.value_counts().index[-1]
        problems.add(f"mixed N conventions ({' and '.join(map(repr, sorted(set(known))))}) "
                     "in one table: "
                     f"{minority!r} in {problems.rows(flat['N_convention'] == minority)}; "
                     "count parameters the same way for every run")


def validate(points: pd.DataFrame, runs: pd.DataFrame | None = None, *,
             n_convention: str | None = None, flops_per_token_factor: float = 6.0,
             require_tokens: bool = True, require_size: bool = True,
             meta: dict | None = None) -> RunsTable:
    """Check a runs table and return a normalized copy.

    Parameters
    ----------
    points : DataFrame
        Measurements. Either flat (every row also carries ``N`` and other run columns)
        or paired with ``runs``. Without ``run_id`` every row is its own run
        (a final-points-only table, e.g. one row per model: N, D or C, loss).
        Without ``step`` each run must have exactly one row.
    runs : DataFrame, optional
        One row per run (``run_id``, ``N``, ...). Run columns missing here may come
        from ``points``; every column taken from here (``split`` included) stays a
        column of the returned ``runs``.
    n_convention : {"non_embedding", "total", "unknown"}, optional
        How ``N`` counts parameters, for runs that do not say (default "unknown").
    flops_per_token_factor : float
        k in C = k N D, used to derive C from D or D from C (default 6, Kaplan et al.
        2020); the convention is recorded in ``meta["flops_convention"]``.
    require_tokens : bool
        If False, a table with no way to know tokens (no D, C or tokens_per_step; e.g.
        published loss curves indexed by step only) is accepted with D and C left NaN
        and ``meta["tokens_known"] = False``; laws that need D then refuse it.
        A ``D`` or ``C`` column with every value missing counts as absent.
    require_size : bool
        If False, a table without ``N`` (the loss curves of one model) is accepted with
        ``N`` left NaN and ``meta["size_known"] = False``; laws that need N refuse it.
    meta : dict, optional
        Provenance to keep with the table (e.g. the source path).

    Returns
    -------
    RunsTable
        float64 ``N``, ``D``, ``C``, ``loss``; int64 ``step``; str ``run_id``; sorted.

    Raises
    ------
    ValueError
        Naming every missing column at once, and the first offending rows for
        non-numeric cells, NaN/inf, non-positive N/D/C/loss, duplicated (run_id, step),
        run columns that vary within a run, and mixed units or N conventions.
    """
    if not isinstance(points, pd.DataFrame):
        raise TypeError(f"points must be a pandas DataFrame, got {type(points).__name__}")
    if len(points) == 0:
        raise ValueError("the runs table is empty (no rows)")
    meta = dict(meta or {})
    flat = _clean_columns(points, "the points table")
    problems = _Problems(flat, "runs table")
    _name_runs(flat, problems, meta)
    flat, from_runs = _join_runs(flat, runs, problems)
    flat, no_tokens = _require_columns(flat, points, from_runs, require_tokens, require_size)
    given = _check_values(flat, problems, meta)
    _derive_tokens(flat, meta, no_tokens, given, flops_per_token_factor, problems)
    _check_conventions(flat, n_convention, problems)
    run_columns = [c for c in flat.columns if c in RUN_COLUMNS or c in from_runs]
    runs_out = _split_runs(flat, run_columns, problems)
    problems.raise_if_any()

    point_cols = [c for c in flat.columns if c not in run_columns or c == "run_id"]
    point_cols = ["run_id", "step", "D", "C", "loss"] + [
        c for c in point_cols if c not in ("run_id", "step", "D", "C", "loss")]
    points_out = (flat[point_cols].sort_values(["run_id", "step"], kind="stable")
                  .reset_index(drop=True))
    runs_out = runs_out.sort_values("run_id", kind="stable").reset_index(drop=True)
    meta.setdefault("final_only", False)
    conventions = set(runs_out["N_convention"])
    meta["n_convention"] = conventions.pop() if len(conventions) == 1 else "unknown"
    _release_arrow_cache()
    return RunsTable(runs_out, points_out, meta)


def _release_arrow_cache() -> None:
    """Hand the memory pandas' Arrow-backed string columns used while checking back to
    the system: Arrow's allocator keeps freed blocks (about 400 bytes a row here), and
    the fit's numpy arrays would stack on top of them (100k rows: 226 -> 185 MB peak)."""
    import sys

    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        try:
            arrow.default_memory_pool().release_unused()
        except Exception:  # an old or partial pyarrow: the memory is only kept longer
            pass
