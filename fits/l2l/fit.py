"""Grouped loss-to-loss and loss-to-task fits with held-out evaluation.

Models trained on the same data with the same tokenizer share one loss-to-loss curve
(Mayilvahanan et al. 2025, "LLMs on the Line", arXiv 2502.12120); different pretraining
sets give different curves. :func:`l2l_fit` therefore fits one curve per group, holds
out the lowest-x fraction of each group (the better models one wants to predict),
and scores the held-out predictions and their bootstrap intervals.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from scaling.data.options import Options

from ..result import FitWarning
from .group import fit_group
from .recipe import fit_group_ols
from .result import L2LResult
from .shifted import SHIFTED_POWER_LAW
from .task import SIGMOID_LINK

__all__ = ["l2l_fit", "fit_group", "L2LOptions", "POOL_COLUMNS"]

logger = logging.getLogger(__name__)

#: Columns naming what sets a loss-to-loss curve; pooling rows that differ in one warns.
POOL_COLUMNS = ("pretraining data", "pretraining_data", "dataset", "data", "tokenizer")


@dataclass(frozen=True)
class L2LOptions(Options):
    """Options of :func:`l2l_fit`: ``holdout_lowest``, ``task`` and ``chance`` (see
    there) and

    Attributes
    ----------
    E_x, E_y : float or {group: float}, optional
        Offsets from single-dataset fits (Brandfonbrener et al.'s recipe); fitted within
        ``[0, margin * smallest loss]`` when not given.
    fixed : mapping, optional
        ``{symbol: value or {group: value}}`` held fixed (``{"E_x": 1.8, "E_y": 2.1}``
        is the same as ``E_x=1.8, E_y=2.1``; ``{"K": ...}``, ``{"kappa": ...}`` too).
    bounds : mapping, optional
        ``{symbol: (lower, upper)}`` overriding the default bounds.
    loss : str, optional
        Objective (:func:`fits.get_objective`); default Huber on log residuals
        (delta 1e-3) for losses, squared residuals for accuracies. ``"ols"``: the
        paper's ordinary least squares of log(y - E_y) on log(x - E_x), offsets given
        (:func:`fits.l2l.recipe.fit_group_ols`).
    margin : float
        Upper bound of the fitted offsets as a fraction of the smallest loss.
    min_points : int
        Groups with fewer complete rows are skipped (listed in ``skipped``).
    n_boot : int
        Bootstrap resamples for intervals (0: none).
    level : float
        Interval level (default 0.9).
    seed : int
    boot_col : str, optional
        Resample whole values of this column (e.g. a model name whose checkpoints are
        correlated) instead of single rows.
    min_monotone : float
        Task mode: flag (do not fit) groups whose |Spearman rho| of accuracy with loss is
        below this.
    pool_columns : list of str, optional
        Columns checked for pooling; default: those named like pretraining data/tokenizer.
    delta : float
        Huber threshold of the default objective (1e-3).
    max_iter : int
        Optimizer iterations per fit.
    """

    holdout_lowest: float = 0.2
    task: bool = False
    chance: float | None = None
    E_x: object = None
    E_y: object = None
    fixed: object = None
    bounds: object = None
    loss: str | None = None
    delta: float = 1e-3
    margin: float = 0.95
    min_points: int = 15
    n_boot: int = 1000
    level: float = 0.9
    seed: int = 0
    boot_col: str | None = None
    min_monotone: float = 0.7
    pool_columns: Sequence[str] | None = None
    max_iter: int = 200


def _per_group(value, name):
    if isinstance(value, Mapping):
        return value.get(name)
    return value


def _group_labels(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    if not cols:
        return pd.Series("all", index=frame.index)
    parts = [frame[c].astype(object).where(frame[c].notna(), "n/a").astype(str) for c in cols]
    label = parts[0]
    for part in parts[1:]:
        label = label + " / " + part
    return label


def _pool_notes(frame, labels, cols, pool_columns) -> list[str]:
    if pool_columns is None:
        pool_columns = [c for c in frame.columns if str(c).lower() in POOL_COLUMNS]
    notes = []
    for col in pool_columns:
        if col in cols or col not in frame.columns:
            continue
        for name, values in frame[col].groupby(labels):
            kinds = sorted(values.astype(object).where(values.notna(), "n/a").astype(str).unique())
            if len(kinds) > 1:
                notes.append(f"group {name!r} pools {len(kinds)} values of {col!r} "
                             f"({', '.join(kinds)}): their loss-to-loss curves can differ; "
                             f"add {col!r} to `group_col` (--group) to fit them separately")
    return notes


def _ols(x, y, *, E_x=None, E_y=None, fixed=None, **kwargs):
    """:func:`fits.l2l.recipe.fit_group_ols`, the offsets given either way."""
    fixed = {p: v for p, v in (fixed or {}).items() if v is not None}
    E_x = fixed.pop("E_x", E_x) if E_x is None else E_x
    E_y = fixed.pop("E_y", E_y) if E_y is None else E_y
    fixed.pop("E_x", None), fixed.pop("E_y", None)
    return fit_group_ols(x, y, E_x=E_x, E_y=E_y, fixed=fixed, **kwargs)


def l2l_fit(frame: pd.DataFrame, x_col: str, y_col: str, group_col: str | Sequence[str] | None = None,
            holdout_lowest: float | None = None, task: bool | None = None,
            chance: float | None = None, *, options: L2LOptions | None = None,
            **kwargs) -> L2LResult:
    """Fit ``y_col`` as a function of ``x_col`` per group and score held-out points.

    Parameters
    ----------
    frame : DataFrame
        One row per checkpoint (or evaluation point); not modified.
    x_col, y_col : str
        The x loss and the y loss (or, with ``task=True``, the task loss and accuracy).
    group_col : str or list of str, optional
        Columns defining the groups, e.g. ``["Pretraining Data", "Tokenizer"]``. Pooling
        rows that differ in a pretraining-data or tokenizer column warns.
    holdout_lowest : float, optional
        Default 0.2. Fraction of each group's rows with the lowest x held out (``floor(f n)``, at least
        one when ``f > 0``); 0 fits every row.
    task : bool, optional
        Default False. Fit the sigmoid link (loss -> accuracy) instead of the shifted power law.
    chance : float, optional
        Fix the sigmoid's high-loss asymptote ``a`` at this chance level (task mode).
    options : L2LOptions, optional
        The other options (offsets, fixed parameters, bounds, objective, bootstrap ...,
        see :class:`L2LOptions`) as one object; its fields as keywords, and the three
        options above when given, change it.

    Returns
    -------
    L2LResult
        Also emits each group's warnings as :class:`FitWarning`.

    Raises
    ------
    ValueError
        For missing columns, a bad fraction or level, or non-positive losses.

    Examples
    --------
    >>> from scaling.data.llm_line import load_llm_line
    >>> res = l2l_fit(load_llm_line(), "C4 Validation Loss", "FineWeb-Edu Validation Loss",
    ...               "Pretraining Data", n_boot=200)
    >>> sorted(res.groups)[:2]
    ['C4', 'Dolma']
    """
    given = {k: v for k, v in (("holdout_lowest", holdout_lowest), ("task", task),
                                ("chance", chance)) if v is not None}
    opts = L2LOptions.build(options, **given, **kwargs)
    cols = [] if group_col is None else ([group_col] if isinstance(group_col, str)
                                         else list(group_col))
    x, y, complete = _checked(frame, x_col, y_col, cols, opts)
    groups, skipped = _fit_groups(frame, (x, y, complete), cols, (x_col, y_col), opts)
    law = SIGMOID_LINK.name if opts.task else SHIFTED_POWER_LAW.name
    result = L2LResult(x_col, y_col, law, groups, skipped, _settings(cols, opts), warnings=[])
    for name, group in groups.items():
        for note in group.notes:
            warnings.warn(f"{name}: {note}", FitWarning, stacklevel=2)
    if not groups:
        logger.info("no group had %d complete rows; nothing fitted", opts.min_points)
    return result


def _settings(cols: list[str], opts: L2LOptions) -> dict:
    """The options a result records."""
    task = opts.task
    return {"group_col": cols, "holdout_lowest": opts.holdout_lowest, "task": task,
            "chance": opts.chance, "loss": opts.loss or ("mse" if task else "huber"),
            "delta": opts.delta, "margin": opts.margin, "min_points": opts.min_points,
            "n_boot": opts.n_boot, "level": opts.level, "seed": opts.seed,
            "boot_col": opts.boot_col, "min_monotone": opts.min_monotone}


def _fit_groups(frame, data, cols, columns: tuple[str, str], opts: L2LOptions):
    """Every group with enough complete rows fitted (``{name: GroupFit}``), the others
    skipped (``{name: reason}``); ``data`` is (x, y, complete)."""
    x, y, complete = data
    labels = _group_labels(frame, cols)
    pool = _pool_notes(frame, labels, cols, opts.pool_columns)
    groups, skipped = {}, {}
    for name in sorted(labels.unique()):
        rows = np.flatnonzero((labels == name).to_numpy() & complete)
        if rows.size < opts.min_points:
            skipped[name] = (f"{rows.size} complete rows (< min_points = {opts.min_points})")
            continue
        group = _fit_one(frame, x, y, rows, name, columns, opts)
        group.notes.extend(n for n in pool if n.startswith(f"group {name!r}"))
        groups[name] = group
    return groups, skipped


def _checked(frame: pd.DataFrame, x_col: str, y_col: str, cols: list[str], opts: L2LOptions):
    """The x and y columns as floats and the mask of complete rows, after checking the
    columns and options (``ValueError`` naming the bad one)."""
    extra = [opts.boot_col] if opts.boot_col else []
    missing = [c for c in [x_col, y_col, *cols, *extra] if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the table; it has {list(frame.columns)}")
    task, chance = opts.task, opts.chance
    if not 0 <= opts.holdout_lowest < 1:
        raise ValueError(f"`holdout_lowest` must be in [0, 1), got {opts.holdout_lowest}")
    if not 0 < opts.level < 1:
        raise ValueError(f"`level` must be in (0, 1), got {opts.level}")
    if not 0 < opts.margin < 1:
        raise ValueError(f"`margin` must be in (0, 1), got {opts.margin}")
    if chance is not None and not task:
        raise ValueError("`chance` applies to task mode (task=True) only")
    if chance is not None and not 0 <= chance < 1:
        raise ValueError(f"`chance` must be in [0, 1), got {chance}")
    if task and (opts.E_x is not None or opts.E_y is not None):
        raise ValueError("`E_x`/`E_y` apply to the shifted power law, not to task mode")
    x = pd.to_numeric(frame[x_col], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(frame[y_col], errors="coerce").to_numpy(dtype=float)
    complete = np.isfinite(x) & np.isfinite(y)
    bad = complete & ((x <= 0) | (y <= 0) if not task else (x <= 0) | (y < 0) | (y > 1))
    if bad.any():
        rows = list(frame.index[bad][:5])
        what = "losses must be > 0" if not task else "loss must be > 0 and accuracy in [0, 1]"
        hint = ""
        if task and np.all(y[complete] >= 0) and 1 < np.nanmax(y[complete]) <= 100:
            hint = (f"; column {y_col!r} looks like a percentage (up to "
                    f"{np.nanmax(y[complete]):.3g}): divide it by 100")
        raise ValueError(f"{what}: bad values in rows {rows}{hint}")
    return x, y, complete


def _fit_one(frame, x, y, rows, name, columns: tuple[str, str], opts: L2LOptions):
    """One group's :func:`fit_group` (or the OLS recipe) with its lowest x held out."""
    order = rows[np.argsort(x[rows], kind="stable")]
    n_hold = int(np.floor(opts.holdout_lowest * order.size))
    if opts.holdout_lowest > 0:
        n_hold = max(n_hold, 1)
    fit_mask = np.arange(order.size) >= n_hold
    fitter = fit_group if opts.loss != "ols" else _ols
    boot_groups = None if not opts.boot_col else frame[opts.boot_col].to_numpy()[order]
    shared = {f: getattr(opts, f) for f in ("task", "chance", "bounds", "loss", "delta",
                                            "margin", "n_boot", "level", "seed",
                                            "min_monotone", "max_iter")}
    return fitter(x[order], y[order], name=name, x_fit_mask=fit_mask,
                  E_x=_per_group(opts.E_x, name), E_y=_per_group(opts.E_y, name),
                  fixed={p: _per_group(v, name) for p, v in (opts.fixed or {}).items()},
                  boot_groups=boot_groups, x_name=columns[0], y_name=columns[1], **shared)
