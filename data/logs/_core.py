"""What every log loader shares: naming logged metrics, and turning logged records
into a validated runs table.

A reader (one per log format) produces *records*: one row per logged value, with
columns ``run_id``, ``step``, ``metric`` (the name as logged), ``value`` and ``loc``
(where in the file it came from, for error messages), in the order they were
logged. Only values that were logged appear: an empty CSV cell is no record, a
logged NaN is one. :func:`to_table` names the metrics (``loss``, ``lr``,
``val/<name>``, ``D``), checks every kept value, and validates the result.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from ..schema import RunsTable, validate

__all__ = ["LOSS_NAMES", "LR_NAMES", "TOKEN_NAMES", "LogError", "MissingDependencyError",
           "SharedFacts",
           "Options", "plan_names", "to_table", "metric_name", "default_run_id"]

logger = logging.getLogger(__name__)

#: Training-loss names tried in order when ``loss`` is not given.
LOSS_NAMES = ("train/loss", "train_loss", "loss", "training_loss", "train_loss_step",
              "loss/train", "Loss/train", "train/lm_loss", "lm_loss")
#: Learning-rate names tried in order when ``lr="auto"`` (then Lightning's ``lr-<Optimizer>``).
LR_NAMES = ("lr", "learning_rate", "train/lr", "train/learning_rate", "optim/lr",
            "trainer/lr", "lr/train", "LR")
_LR_MONITOR = re.compile(r"^lr-[A-Za-z]\w*(/pg\d+)?$")  # Lightning LearningRateMonitor
#: Token counters tried in order when neither ``tokens`` nor ``tokens_per_step`` is given.
TOKEN_NAMES = ("num_input_tokens_seen", "train/num_input_tokens_seen", "tokens_seen",
               "train/tokens_seen", "tokens", "train/tokens")
_VAL_PREFIXES = ("val/", "eval/", "valid/", "validation/", "val_", "eval_", "valid_",
                 "validation_")
_VAL_SUFFIXES = ("/val", "/valid", "/validation", "/eval", "_val")
# logged alongside evaluations by HF Trainer & co, but not metrics of the model
_NOT_METRICS = {"runtime", "samples_per_second", "steps_per_second", "epoch", "step",
                "global_step", "loss_epoch_step"}
_MAX_SHOWN = 3


class SharedFacts(dict):
    """A ``{run_id: value}`` mapping handed to each of several logs: a log uses the keys of
    its own runs (``used`` collects them); the caller checks that every key was used."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.used: set[str] = set()


class LogError(ValueError):
    """A log file that cannot be read into a runs table (the message names the file)."""


class MissingDependencyError(ImportError, ValueError):
    """An optional dependency needed for a log format is not installed (the message
    says what to install). A ValueError too, so the CLI reports it in one line."""


@dataclass(frozen=True)
class Options:
    """The run-level facts and choices every log loader takes (see the loaders' docs)."""

    N: object
    tokens_per_step: object = None
    tokens: str | None = None
    run_id: str | None = None
    loss: str | None = None
    lr: str | None = "auto"
    columns: Mapping[str, str] | None = None
    n_convention: str | None = None
    flops_per_token_factor: float = 6.0
    require_tokens: bool = True
    drop_nonfinite: bool = False


def fail(source, label: str, message: str) -> LogError:
    """The error for ``source``: ``'<path>' (<format>): <message>``."""
    return LogError(f"{str(source)!r} ({label}): {message}")


def metric_name(raw: str) -> str | None:
    """The runs-table name of a logged metric that is kept automatically, else None.

    ``val/x``, ``eval/x``, ``val_x``, ``eval_x``, ``x/val`` (any case) -> ``val/x``;
    ``task/x`` stays. Throughput and bookkeeping values (``eval_runtime``, ...) are None.
    """
    if raw.startswith("task/") and len(raw) > 5:
        return raw
    low = raw.lower()
    for prefix in _VAL_PREFIXES:
        if low.startswith(prefix):
            rest = raw[len(prefix):]
            return None if not rest or rest.lower() in _NOT_METRICS else f"val/{rest}"
    for suffix in _VAL_SUFFIXES:
        if low.endswith(suffix) and len(raw) > len(suffix):
            rest = raw[:-len(suffix)]
            return None if rest.lower() in _NOT_METRICS else f"val/{rest}"
    return None


def default_run_id(directory: Path) -> str:
    """A run's name from the folder its log sits in: ``checkpoint-500`` and
    ``version_0`` folders say nothing, so their parent is named too."""
    directory = Path(directory).resolve()
    name = directory.name or "run"
    if re.fullmatch(r"checkpoint-\d+", name):
        return directory.parent.name or name
    if re.fullmatch(r"version_\d+", name) and directory.parent.name:
        return f"{directory.parent.name}/{name}"
    return name


def _shown(items) -> str:
    items = list(items)
    head = ", ".join(map(str, items[:_MAX_SHOWN]))
    return head + (f" and {len(items) - _MAX_SHOWN} more" if len(items) > _MAX_SHOWN else "")


def _is_nan_literal(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("nan", "+nan", "-nan")
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def _numbers(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values as float64, and a mask of cells that are not numbers (a logged NaN is one)."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.to_numpy(dtype=float), np.zeros(len(raw), dtype=bool)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values)
    bools = raw.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    for i in np.flatnonzero(bad):
        bad[i] = not _is_nan_literal(raw.iat[i])
    return values, bad | bools


def _choose(explicit, logged: list[str], candidates, what: str, remedy: str, err):
    """The raw name for ``what``: ``explicit`` (must be logged) or the first candidate."""
    if explicit is not None:
        if explicit not in logged:
            raise err(f"{what} {explicit!r} is not logged; it logs {sorted(logged)}")
        return explicit
    for name in candidates:
        if name in logged:
            return name
    if remedy:
        raise err(f"no {what} found: none of {list(candidates)} is logged; {remedy}; "
                  f"it logs {sorted(logged)}")
    return None


def _per_run(value, name: str, run_ids: list[str], err) -> list | None:
    """A run-level fact (a scalar for every run, or a mapping run_id -> value)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        given = {str(k): v for k, v in value.items()}
        missing = [r for r in run_ids if r not in given]
        # a mapping shared by several logs (load_log of a glob) names runs of the others
        unknown = [] if isinstance(value, SharedFacts) else [k for k in given
                                                            if k not in run_ids]
        if isinstance(value, SharedFacts):
            value.used.update(r for r in run_ids if r in given)
        if missing or unknown:
            raise err(f"`{name}` must give a value for every run in the log, keyed by run_id; "
                      + (f"missing {missing[:_MAX_SHOWN]}" if missing else "")
                      + ("; " if missing and unknown else "")
                      + (f"unknown run(s) {unknown[:_MAX_SHOWN]}" if unknown else "")
                      + f" (runs in the log: {_shown(run_ids)})")
        return [given[r] for r in run_ids]
    return [value] * len(run_ids)


def plan_names(logged: list[str], *, source, label: str, opts: Options) -> dict[str, str]:
    """Logged name -> runs-table name for every metric kept (explicit choices first:
    the column map, ``loss``, ``lr``, ``tokens``; then :func:`metric_name`)."""
    def err(message):
        return fail(source, label, message)

    columns = dict(opts.columns or {})
    absent = [old for old in columns.values() if old not in logged]
    if absent:
        raise err(f"column map refers to metric(s) {absent} that are not logged; "
                  f"it logs {sorted(logged)}")
    if opts.tokens is not None and opts.tokens_per_step is not None:
        raise err("give either `tokens` (a logged token counter) or `tokens_per_step`, "
                  "not both")

    names: dict[str, str] = {old: new for new, old in columns.items()}
    if "loss" not in columns:
        raw_loss = _choose(opts.loss, logged, LOSS_NAMES, "training loss",
                           "pass loss=NAME, the metric to fit", err)
        names[raw_loss] = "loss"
    if "lr" not in columns and opts.lr is not None:
        lr_candidates = list(LR_NAMES) + sorted(m for m in logged if _LR_MONITOR.match(m))
        raw_lr = _choose(None if opts.lr == "auto" else opts.lr, logged, lr_candidates,
                         "learning rate", "", err)
        if raw_lr is not None and raw_lr not in names:
            names[raw_lr] = "lr"
    if "D" not in columns and opts.tokens_per_step is None:
        raw_tokens = _choose(opts.tokens, logged, TOKEN_NAMES, "token counter", "", err)
        if raw_tokens is not None and raw_tokens not in names:
            names[raw_tokens] = "D"
    elif "D" not in columns:
        # kept to be checked against D = step x tokens_per_step (data.checks)
        raw_tokens = _choose(None, logged, TOKEN_NAMES, "token counter", "", err)
        if raw_tokens is not None and raw_tokens not in names:
            names[raw_tokens] = "logged/tokens"
    explicit = set(names.values())
    for raw in logged:
        new = metric_name(raw) if raw not in names else None
        if new is None or new in explicit:
            continue
        clash = [old for old, n in names.items() if n == new]
        if clash:
            raise err(f"metrics {clash[0]!r} and {raw!r} would both become {new!r}; choose "
                      f"one with columns={{{new!r}: {raw!r}}}")
        names[raw] = new
    if (opts.require_tokens and opts.tokens_per_step is None
            and "D" not in names.values() and "C" not in names.values()):
        raise err("no token counts: pass tokens_per_step= (sequences per step x sequence "
                  "length) or tokens=NAME (a logged count of tokens seen), or "
                  "require_tokens=False to read loss against step only")

    return names


def to_table(records: pd.DataFrame, *, source, label: str, opts: Options,
             where: Callable[[pd.Series], str], meta: dict | None = None,
             logged: list[str] | None = None) -> RunsTable:
    """Logged records (see the module doc) -> a validated :class:`RunsTable`.

    ``where(record)`` describes a record's place in the file for messages
    (``"line 12"``). ``logged`` lists every metric the log has, when ``records``
    holds only those that :func:`plan_names` keeps (a reader may skip the others).
    Raises :class:`LogError` naming ``source`` and what is wrong.
    """
    def err(message):
        return fail(source, label, message)

    if len(records) == 0:
        raise err("it logs no values")
    records = records.reset_index(drop=True)
    if logged is None:
        logged = list(dict.fromkeys(records["metric"]))
    names = plan_names(logged, source=source, label=label, opts=opts)

    kept = records[records["metric"].isin(names)].copy()
    kept["name"] = kept["metric"].map(names)
    values, bad = _numbers(kept["value"])
    if bad.any():
        rows = kept[bad]
        first = rows.iloc[0]
        raise err(f"{first['metric']!r} is not a number in "
                  f"{_shown(where(r) for _, r in rows.iterrows())} (e.g. {first['value']!r})")
    kept["value"] = values
    steps, bad = _numbers(kept["step"])
    missing = pd.isna(kept["step"]).to_numpy() | (kept["step"].astype(str).str.strip() == "")
    if missing.any():
        rows = kept[missing]
        raise err(f"{rows['metric'].iloc[0]!r} is logged without a step in "
                  f"{_shown(where(r) for _, r in rows.iterrows())}")
    if bad.any():
        rows = kept[bad]
        raise err(f"the step is not a number in {_shown(where(r) for _, r in rows.iterrows())}"
                  f" (e.g. {rows['step'].iloc[0]!r})")
    kept["step"] = steps
    nonfinite = ~np.isfinite(values)
    if nonfinite.any() and not opts.drop_nonfinite:
        rows = kept[nonfinite]
        raise err(f"{rows['metric'].iloc[0]!r} is {rows['value'].iloc[0]} in "
                  f"{_shown(where(r) for _, r in rows.iterrows())}; pass drop_nonfinite=True "
                  "to leave such values out (e.g. a run that diverged)")
    dropped_nonfinite = int(nonfinite.sum())
    kept = kept[~nonfinite]

    # a restarted run logs some steps twice: the later value wins
    before = len(kept)
    kept = kept.drop_duplicates(["run_id", "step", "name"], keep="last")
    replaced = before - len(kept)
    wide = kept.pivot(index=["run_id", "step"], columns="name", values="value").reset_index()
    wide.columns.name = None
    if "loss" not in wide.columns:
        raise err("its training loss has no finite values")
    unmatched = {c: int(wide.loc[wide["loss"].isna(), c].notna().sum())
                 for c in wide.columns if c not in ("run_id", "step", "loss")}
    unmatched = {c: n for c, n in unmatched.items() if n}
    # the lr and token counter logged at other steps are no loss; evaluations are
    metrics_lost = {c: n for c, n in unmatched.items() if c not in ("lr", "D", "logged/tokens")}
    if metrics_lost:
        logger.warning("%s: %s logged at steps without a training loss left out", source,
                       ", ".join(f"{n} value(s) of {c!r}" for c, n in metrics_lost.items()))
    points = wide[wide["loss"].notna()].reset_index(drop=True)

    run_ids = sorted(set(points["run_id"]))
    if opts.run_id is not None:
        if len(run_ids) != 1:
            raise err(f"`run_id` names a single run, but the log holds {len(run_ids)} runs "
                      f"({_shown(run_ids)}); key N (and tokens_per_step) by these names")
        points["run_id"] = str(opts.run_id)
        run_ids = [str(opts.run_id)]
    runs = pd.DataFrame({"run_id": run_ids})
    runs["N"] = _per_run(opts.N, "N", run_ids, err)
    tps = _per_run(opts.tokens_per_step, "tokens_per_step", run_ids, err)
    if tps is not None:
        runs["tokens_per_step"] = tps
    # a loss logged before the first update (step 0) has seen no tokens: no place on a
    # D axis (D must be > 0), so it is left out rather than rejected
    zero = np.zeros(len(points), dtype=bool)
    if tps is not None:
        zero |= (points["step"] == 0).to_numpy()
    if "D" in points.columns:
        zero |= (points["D"] == 0).to_numpy()
    points = points[~zero].reset_index(drop=True)
    info = dict(meta or {})
    if zero.any():
        info["left_out_zero_tokens"] = int(zero.sum())
    info.update(source=str(source), format=label,
                columns={new: old for old, new in names.items()},
                dropped_metrics=sorted(set(logged) - set(names)))
    if unmatched:
        info["left_out"] = unmatched
    if replaced:
        info["replaced_duplicates"] = replaced
    if dropped_nonfinite:
        info["dropped_nonfinite"] = dropped_nonfinite
    try:
        return validate(points, runs, n_convention=opts.n_convention,
                        flops_per_token_factor=opts.flops_per_token_factor,
                        require_tokens=opts.require_tokens, meta=info)
    except ValueError as error:
        raise err(str(error)) from None
