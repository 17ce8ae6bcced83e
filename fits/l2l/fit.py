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
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..bootstrap import percentile_interval, resample_counts
from ..objectives import get_objective
from ..result import FitWarning
from .engine import bootstrap_link, fit_link
from .result import GroupFit, L2LResult, predictive_samples
from .shifted import SHIFTED_POWER_LAW, _grid as shifted_grid, shifted_bounds
from .task import SIGMOID_LINK, monotonicity, reliability, sigmoid_bounds, sigmoid_grid

__all__ = ["l2l_fit", "fit_group", "POOL_COLUMNS"]

logger = logging.getLogger(__name__)

#: Columns naming what sets a loss-to-loss curve; pooling rows that differ in one warns.
POOL_COLUMNS = ("pretraining data", "pretraining_data", "dataset", "data", "tokenizer")
#: Bootstrap draws kept in a result (all draws set the parameter and held-out intervals).
_KEEP_DRAWS = 400


def _per_group(value, name):
    if isinstance(value, Mapping):
        return value.get(name)
    return value


def _bound_notes(fit, x_name: str, y_name: str) -> list[str]:
    """The fit's warnings, with the generic at-bound note replaced by a specific one for
    the offsets and the accuracy asymptotes."""
    notes = []
    for p, e in fit.params.items():
        if not e.at_bound:
            continue
        special = p in ("E_x", "E_y") or (p in ("a", "b") and
                                          (e.lower if e.at_bound == "lower" else e.upper)
                                          in (0.0, 1.0))
        if not special:
            continue
        bound = e.lower if e.at_bound == "lower" else e.upper
        if p in ("E_x", "E_y"):
            what = x_name if p == "E_x" else y_name
            notes.append(f"{p} sits at its {e.at_bound} bound {bound:.4g}: the offsets are not "
                         f"identified by these pairs (the curve is nearly a power law for many "
                         f"offsets); supply {p} from a single-dataset fit of {what} "
                         f"(`{p}=`, --fix {p}=VALUE) or read its interval")
        elif p in ("a", "b") and bound in (0.0, 1.0):
            notes.append(f"{p} sits at {bound:g}, the limit of an accuracy: the data do not "
                         f"reach that asymptote of the sigmoid, so it is not identified; "
                         "predictions far beyond the fitted losses are uncertain")
        fit.warnings = [n for n in fit.warnings if not n.startswith(f"{p} hit its")]
    return list(fit.warnings) + notes


def fit_group(x, y, *, name: str = "all", x_fit_mask=None, task: bool = False,
              chance: float | None = None, E_x: float | None = None, E_y: float | None = None,
              fixed: Mapping[str, float] | None = None,
              bounds: Mapping[str, tuple[float, float]] | None = None, loss: str | None = None,
              delta: float = 1e-3, margin: float = 0.95, n_boot: int = 1000,
              level: float = 0.9, seed: int = 0, boot_groups=None, min_monotone: float = 0.7,
              x_name: str = "x", y_name: str = "y", max_iter: int = 200) -> GroupFit:
    """Fit one group's curve on the rows in ``x_fit_mask`` and score the others.

    See :func:`l2l_fit` for the parameters; ``x_fit_mask`` (bool, default all) marks the
    fitted rows, the rest are held out.
    """
    fixed_extra = {p: float(v) for p, v in dict(fixed or {}).items() if v is not None}
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    fit_mask = np.ones(x.size, dtype=bool) if x_fit_mask is None else np.asarray(x_fit_mask)
    xf, yf, xh, yh = x[fit_mask], y[fit_mask], x[~fit_mask], y[~fit_mask]
    objective = get_objective(loss or ("mse" if task else "huber"), delta=delta)
    if task:
        law, fixed = SIGMOID_LINK, ({"a": float(chance)} if chance is not None else {})
        rho = monotonicity(xf, yf)
        if abs(rho) < min_monotone:
            flag = (f"accuracy is not monotone in loss (Spearman rho {rho:+.2f}, |rho| < "
                    f"{min_monotone:g}); no sigmoid fitted: the task is too noisy or near "
                    "chance at these losses")
            return GroupFit(name, None, flag=flag, notes=[flag],
                            heldout={"n": int(xh.size), "monotonicity": rho})
        base = sigmoid_bounds(xf, yf, chance=chance)
    else:
        law = SHIFTED_POWER_LAW
        fixed = {k: float(v) for k, v in (("E_x", E_x), ("E_y", E_y)) if v is not None}
        # the law must be defined at every x it will be asked about, held-out ones included
        base = shifted_bounds(x, yf, margin=margin)
    fixed = {**fixed, **fixed_extra}
    base.update({k: tuple(v) for k, v in (bounds or {}).items()})
    unknown = sorted(set(fixed) - set(law.params))
    if unknown:
        raise ValueError(f"cannot fix {unknown}: law {law.name!r} has parameters "
                         f"{list(law.params)}")
    starts = (sigmoid_grid(xf, yf, base) if task else
              shifted_grid((np.log(xf),), np.log(yf), base))
    for p, v in fixed.items():
        starts[:, law.params.index(p)] = v
    result, theta = fit_link(law, xf, yf, objective, bounds=base, fixed=fixed, starts=starts,
                             max_iter=max_iter,
                             data_info={"x": x_name, "y": y_name, "group": name,
                                        "n_heldout": int(xh.size)},
                             choices={"seed": seed, "margin": None if task else margin})
    notes = _bound_notes(result, x_name, y_name)
    result.warnings = notes
    boot, heldout = {}, {"n": int(xh.size)}
    fitted = law.function(xf, **result.values)
    residuals = (np.log(yf) - np.log(fitted)) if objective.space == "log" else yf - fitted
    if boot_groups is not None and np.unique(np.asarray(boot_groups)[fit_mask]).size < 2:
        notes.append("the fitted rows come from a single bootstrap group (`boot_col`); "
                     "resampling single rows instead")
        boot_groups = None
    if n_boot:
        counts = resample_counts(yf.size, n_boot, seed=seed,
                                 groups=None if boot_groups is None
                                 else np.asarray(boot_groups)[fit_mask])
        samples = bootstrap_link(law, xf, yf, objective, theta, bounds=base, fixed=fixed,
                                 counts=counts, max_iter=max_iter)
        for p, e in result.params.items():
            if p not in fixed:
                lo, hi = percentile_interval(samples[p], level)
                e.interval = (float(lo), float(hi))
        keep = slice(0, _KEEP_DRAWS)  # enough draws for 90% intervals, a compact JSON
        boot = {"params": {p: [float(f"{v:.7g}") for v in samples[p][keep]] for p in samples},
                "residuals": [float(f"{r:.7g}") for r in residuals], "space": objective.space,
                "n_boot": int(n_boot), "seed": int(seed),
                "unit": "checkpoints" if boot_groups is None else "groups"}
        result.choices["bootstrap"] = {k: boot[k] for k in ("n_boot", "seed", "unit")}
    if xh.size:
        predicted = law.function(xh, **result.values)
        heldout.update({"x": xh.tolist(), "y": yh.tolist(), "predicted": predicted.tolist(),
                        "mean_rel_error": float(np.mean(np.abs(predicted - yh) / np.abs(yh))),
                        "mean_abs_error": float(np.mean(np.abs(predicted - yh))),
                        "coverage": None})
        if boot:
            draws = predictive_samples(law, samples, residuals, xh, space=objective.space,
                                       seed=seed)
            lo, hi = percentile_interval(draws, level, axis=0)
            heldout.update({"lower": lo.tolist(), "upper": hi.tolist(),
                            "coverage": float(np.mean((yh >= lo) & (yh <= hi)))})
    rel = reliability(yf, fitted) if task else None
    if rel is not None and rel["level"] == "low":
        notes.append(f"low reliability: residual sd {100 * rel['residual_sd']:.2f} points, "
                     f"R^2 {rel['r2']:.2f}; predictions of this task are mostly noise")
    return GroupFit(name, result, heldout=heldout, bootstrap=boot, reliability=rel,
                    notes=notes)


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
    from .recipe import fit_group_ols

    fixed = {p: v for p, v in (fixed or {}).items() if v is not None}
    E_x = fixed.pop("E_x", E_x) if E_x is None else E_x
    E_y = fixed.pop("E_y", E_y) if E_y is None else E_y
    fixed.pop("E_x", None), fixed.pop("E_y", None)
    return fit_group_ols(x, y, E_x=E_x, E_y=E_y, fixed=fixed, **kwargs)


def l2l_fit(frame: pd.DataFrame, x_col: str, y_col: str, group_col: str | Sequence[str] | None = None,
            holdout_lowest: float = 0.2, task: bool = False, chance: float | None = None, *,
            E_x=None, E_y=None, fixed=None, bounds=None, loss: str | None = None,
            delta: float = 1e-3,
            margin: float = 0.95, min_points: int = 15, n_boot: int = 1000, level: float = 0.9,
            seed: int = 0, boot_col: str | None = None, min_monotone: float = 0.7,
            pool_columns: Sequence[str] | None = None, max_iter: int = 200) -> L2LResult:
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
    holdout_lowest : float
        Fraction of each group's rows with the lowest x held out (``floor(f n)``, at least
        one when ``f > 0``); 0 fits every row.
    task : bool
        Fit the sigmoid link (loss -> accuracy) instead of the shifted power law.
    chance : float, optional
        Fix the sigmoid's high-loss asymptote ``a`` at this chance level (task mode).
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
    cols = [] if group_col is None else ([group_col] if isinstance(group_col, str)
                                         else list(group_col))
    extra = [boot_col] if boot_col else []
    missing = [c for c in [x_col, y_col, *cols, *extra] if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the table; it has {list(frame.columns)}")
    if not 0 <= holdout_lowest < 1:
        raise ValueError(f"`holdout_lowest` must be in [0, 1), got {holdout_lowest}")
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1), got {level}")
    if not 0 < margin < 1:
        raise ValueError(f"`margin` must be in (0, 1), got {margin}")
    if chance is not None and not task:
        raise ValueError("`chance` applies to task mode (task=True) only")
    if chance is not None and not 0 <= chance < 1:
        raise ValueError(f"`chance` must be in [0, 1), got {chance}")
    if task and (E_x is not None or E_y is not None):
        raise ValueError("`E_x`/`E_y` apply to the shifted power law, not to task mode")
    x = pd.to_numeric(frame[x_col], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(frame[y_col], errors="coerce").to_numpy(dtype=float)
    complete = np.isfinite(x) & np.isfinite(y)
    bad = complete & ((x <= 0) | (y <= 0) if not task else (x <= 0) | (y < 0) | (y > 1))
    if bad.any():
        rows = list(frame.index[bad][:5])
        what = "losses must be > 0" if not task else "loss must be > 0 and accuracy in [0, 1]"
        raise ValueError(f"{what}: bad values in rows {rows}")
    labels = _group_labels(frame, cols)
    pool = _pool_notes(frame, labels, cols, pool_columns)
    groups, skipped = {}, {}
    for name in sorted(labels.unique()):
        rows = np.flatnonzero((labels == name).to_numpy() & complete)
        if rows.size < min_points:
            skipped[name] = (f"{rows.size} complete rows (< min_points = {min_points})")
            continue
        order = rows[np.argsort(x[rows], kind="stable")]
        n_hold = int(np.floor(holdout_lowest * order.size))
        if holdout_lowest > 0:
            n_hold = max(n_hold, 1)
        fit_mask = np.arange(order.size) >= n_hold
        fitter = fit_group if loss != "ols" else _ols
        group = fitter(x[order], y[order], name=name, x_fit_mask=fit_mask, task=task,
                          chance=chance, E_x=_per_group(E_x, name), E_y=_per_group(E_y, name),
                          fixed={p: _per_group(v, name) for p, v in (fixed or {}).items()},
                          bounds=bounds, loss=loss, delta=delta, margin=margin, n_boot=n_boot,
                          level=level, seed=seed,
                          boot_groups=None if not boot_col else frame[boot_col].to_numpy()[order],
                          min_monotone=min_monotone, x_name=x_col, y_name=y_col,
                          max_iter=max_iter)
        group.notes.extend(n for n in pool if n.startswith(f"group {name!r}"))
        groups[name] = group
    settings = {"group_col": cols, "holdout_lowest": holdout_lowest, "task": task,
                "chance": chance, "loss": loss or ("mse" if task else "huber"), "delta": delta,
                "margin": margin, "min_points": min_points, "n_boot": n_boot, "level": level,
                "seed": seed, "boot_col": boot_col, "min_monotone": min_monotone}
    result = L2LResult(x_col, y_col, SIGMOID_LINK.name if task else SHIFTED_POWER_LAW.name,
                       groups, skipped, settings, warnings=[])
    for name, group in groups.items():
        for note in group.notes:
            warnings.warn(f"{name}: {note}", FitWarning, stacklevel=2)
    if not groups:
        logger.info("no group had %d complete rows; nothing fitted", min_points)
    return result
