"""One group's loss-to-loss (or loss-to-task) curve: fitted on some rows, refitted on
bootstrap resamples, and scored on the held-out rows (:func:`fit_group`, the step
:func:`fits.l2l.l2l_fit` runs for each group)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from scaling.data.options import Options

from ..bootstrap import percentile_interval, resample_counts
from ..objectives import get_objective
from .engine import bootstrap_link, fit_link
from .result import GroupFit, predictive_samples
from .shifted import SHIFTED_POWER_LAW, shifted_bounds, shifted_grid
from .task import SIGMOID_LINK, monotonicity, reliability, sigmoid_bounds, sigmoid_grid

__all__ = ["fit_group", "GroupOptions", "bound_notes"]

#: Bootstrap draws kept in a result (all draws set the parameter and held-out intervals).
KEEP_DRAWS = 400


@dataclass(frozen=True)
class GroupOptions(Options):
    """Options of :func:`fit_group` (see :func:`fits.l2l.l2l_fit` for their meaning);
    ``boot_groups`` labels the rows for resampling whole groups of them."""

    task: bool = False
    chance: float | None = None
    E_x: float | None = None
    E_y: float | None = None
    fixed: Mapping[str, float] | None = None
    bounds: Mapping[str, tuple[float, float]] | None = None
    loss: str | None = None
    delta: float = 1e-3
    margin: float = 0.95
    n_boot: int = 1000
    level: float = 0.9
    seed: int = 0
    boot_groups: object = None
    min_monotone: float = 0.7
    x_name: str = "x"
    y_name: str = "y"
    max_iter: int = 200


def bound_notes(fit, x_name: str, y_name: str) -> list[str]:
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


def fit_group(x, y, *, name: str = "all", x_fit_mask=None,
              options: GroupOptions | None = None, **kwargs) -> GroupFit:
    """Fit one group's curve on the rows in ``x_fit_mask`` and score the others.

    See :func:`l2l_fit` for the options (a :class:`GroupOptions` or its fields as
    keywords); ``x_fit_mask`` (bool, default all) marks the fitted rows, the rest are
    held out.
    """
    opts = GroupOptions.build(options, **kwargs)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    fit_mask = np.ones(x.size, dtype=bool) if x_fit_mask is None else np.asarray(x_fit_mask)
    xf, yf, xh, yh = x[fit_mask], y[fit_mask], x[~fit_mask], y[~fit_mask]
    objective = get_objective(opts.loss or ("mse" if opts.task else "huber"), delta=opts.delta)
    if opts.task:
        rho = monotonicity(xf, yf)
        if abs(rho) < opts.min_monotone:
            flag = (f"accuracy is not monotone in loss (Spearman rho {rho:+.2f}, |rho| < "
                    f"{opts.min_monotone:g}); no sigmoid fitted: the task is too noisy or near "
                    "chance at these losses")
            return GroupFit(name, None, flag=flag, notes=[flag],
                            heldout={"n": int(xh.size), "monotonicity": rho})
    law, fixed, base = _link_setup(x, xf, yf, opts)
    starts = (sigmoid_grid(xf, yf, base) if opts.task else
              shifted_grid((np.log(xf),), np.log(yf), base))
    for p, v in fixed.items():
        starts[:, law.params.index(p)] = v
    result, theta = fit_link(law, xf, yf, objective, bounds=base, fixed=fixed, starts=starts,
                             max_iter=opts.max_iter,
                             data_info={"x": opts.x_name, "y": opts.y_name, "group": name,
                                        "n_heldout": int(xh.size)},
                             choices={"seed": opts.seed,
                                      "margin": None if opts.task else opts.margin})
    notes = bound_notes(result, opts.x_name, opts.y_name)
    result.warnings = notes
    fitted = law.function(xf, **result.values)
    residuals = (np.log(yf) - np.log(fitted)) if objective.space == "log" else yf - fitted
    boot_groups = opts.boot_groups
    if boot_groups is not None and np.unique(np.asarray(boot_groups)[fit_mask]).size < 2:
        notes.append("the fitted rows come from a single bootstrap group (`boot_col`); "
                     "resampling single rows instead")
        boot_groups = None
    step = {"law": law, "x": xf, "y": yf, "objective": objective, "theta": theta,
            "bounds": base, "fixed": fixed, "result": result, "residuals": residuals}
    boot, samples = {}, None
    if opts.n_boot:
        groups = None if boot_groups is None else np.asarray(boot_groups)[fit_mask]
        boot, samples = _bootstrap(step, groups, opts)
    heldout = _heldout(step, xh, yh, samples if boot else None, opts)
    rel = reliability(yf, fitted) if opts.task else None
    if rel is not None and rel["level"] == "low":
        notes.append(f"low reliability: residual sd {100 * rel['residual_sd']:.2f} points, "
                     f"R^2 {rel['r2']:.2f}; predictions of this task are mostly noise")
    return GroupFit(name, result, heldout=heldout, bootstrap=boot, reliability=rel,
                    notes=notes)


def _link_setup(x, xf, yf, opts: GroupOptions):
    """The link law, its fixed parameters and its bounds for these rows."""
    fixed_extra = {p: float(v) for p, v in dict(opts.fixed or {}).items() if v is not None}
    if opts.task:
        law = SIGMOID_LINK
        fixed = {"a": float(opts.chance)} if opts.chance is not None else {}
        base = sigmoid_bounds(xf, yf, chance=opts.chance)
    else:
        law = SHIFTED_POWER_LAW
        fixed = {k: float(v) for k, v in (("E_x", opts.E_x), ("E_y", opts.E_y))
                 if v is not None}
        # the law must be defined at every x it will be asked about, held-out ones included
        base = shifted_bounds(x, yf, margin=opts.margin)
    fixed = {**fixed, **fixed_extra}
    base.update({k: tuple(v) for k, v in (opts.bounds or {}).items()})
    unknown = sorted(set(fixed) - set(law.params))
    if unknown:
        raise ValueError(f"cannot fix {unknown}: law {law.name!r} has parameters "
                         f"{list(law.params)}")
    return law, fixed, base


def _bootstrap(step: dict, groups, opts: GroupOptions):
    """Refit on ``opts.n_boot`` resamples: parameter intervals set on the result, and the
    kept draws (the bootstrap section of the group) with all the samples."""
    law, result, fixed = step["law"], step["result"], step["fixed"]
    counts = resample_counts(step["y"].size, opts.n_boot, seed=opts.seed, groups=groups)
    samples = bootstrap_link(law, step["x"], step["y"], step["objective"], step["theta"],
                             bounds=step["bounds"], fixed=fixed, counts=counts,
                             max_iter=opts.max_iter)
    for p, e in result.params.items():
        if p not in fixed:
            lo, hi = percentile_interval(samples[p], opts.level)
            e.interval = (float(lo), float(hi))
    keep = slice(0, KEEP_DRAWS)  # enough draws for 90% intervals, a compact JSON
    boot = {"params": {p: [float(f"{v:.7g}") for v in samples[p][keep]] for p in samples},
            "residuals": [float(f"{r:.7g}") for r in step["residuals"]],
            "space": step["objective"].space, "n_boot": int(opts.n_boot),
            "seed": int(opts.seed), "unit": "checkpoints" if groups is None else "groups"}
    result.choices["bootstrap"] = {k: boot[k] for k in ("n_boot", "seed", "unit")}
    return boot, samples


def _heldout(step: dict, xh, yh, samples, opts: GroupOptions) -> dict:
    """The held-out rows' predictions, errors and (with ``samples``) interval coverage."""
    heldout = {"n": int(xh.size)}
    if not xh.size:
        return heldout
    law, values = step["law"], step["result"].values
    predicted = law.function(xh, **values)
    heldout.update({"x": xh.tolist(), "y": yh.tolist(), "predicted": predicted.tolist(),
                    "mean_rel_error": float(np.mean(np.abs(predicted - yh) / np.abs(yh))),
                    "mean_abs_error": float(np.mean(np.abs(predicted - yh))),
                    "coverage": None})
    if samples is not None:
        draws = predictive_samples(law, samples, step["residuals"], xh,
                                   space=step["objective"].space, seed=opts.seed)
        lo, hi = percentile_interval(draws, opts.level, axis=0)
        heldout.update({"lower": lo.tolist(), "upper": hi.tolist(),
                        "coverage": float(np.mean((yh >= lo) & (yh <= hi)))})
    return heldout
