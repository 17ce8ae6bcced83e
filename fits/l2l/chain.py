"""Chained prediction: (N, D) -> loss on the proxy distribution -> loss elsewhere (or accuracy).

Step 1 fits a point law L_x(N, D) with :class:`fits.ScalingLawFit` on the final points of a
proxy ladder; step 2 fits the link (shifted power law, or the sigmoid for a task) on
(L_x, y) pairs of the same runs. Both steps are refitted on the *same* bootstrap
resamples of runs, so the interval of the chained prediction carries the uncertainty
of both fits and their correlation (the two-step method of Bhagia et al. 2024,
arXiv 2412.04403, with loss-to-loss links from Brandfonbrener et al. 2024).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from scipy import stats

from ..bootstrap import bootstrap, percentile_interval, resample_counts, with_bootstrap
from ..intervals import calibrate, extrapolation
from ..fit import ScalingLawFit, as_table
from ..laws import get_law
from ..objectives import get_objective
from ..prediction import Prediction
from scaling.data.options import Options
from .engine import bootstrap_link
from .group import fit_group
from .result import LINK_LAWS

__all__ = ["chain_predict", "ChainOptions"]


@dataclass(frozen=True)
class ChainOptions(Options):
    """Options of :func:`chain_predict` (see there); ``fit_options`` go to step 1's
    :class:`fits.ScalingLawFit`."""

    task: bool = False
    chance: float | None = None
    E_x: object = None
    E_y: object = None
    pairs: str = "all"
    n_boot: int = 1000
    seed: int = 0
    level: float = 0.9
    noise: bool = True
    margin: float = 0.95
    k: float = 6.0
    fit_options: dict | None = None


def chain_predict(data, y_col: str, *, N: float, D: float, law: str = "chinchilla",
                  options: ChainOptions | None = None, **kwargs) -> Prediction:
    """Predict ``y_col`` of a model of ``N`` parameters trained on ``D`` tokens.

    Parameters
    ----------
    data : RunsTable, DataFrame or path
        The proxy ladder; ``loss`` is the x loss, ``y_col`` (e.g. ``"val/code"`` or a task
        accuracy) a column of its points.
    y_col : str
    N, D : float
        The target model.
    law : str
        Point law of step 1 (default ``"chinchilla"``).
    options : ChainOptions, optional
        The options below as one object; keyword arguments change it. Keywords that are
        not :class:`ChainOptions` fields go to :class:`fits.ScalingLawFit` (``loss``,
        ``delta``, ``drop_highest``, ...).
    task, chance, E_x, E_y
        Step 2 options, see :func:`fits.l2l.l2l_fit`.
    pairs : {"all", "final"}
        Fit the link on every evaluation point of every run (``step > 0``) or on final
        points only.
    n_boot : int
        Bootstrap resamples over runs, shared by both steps.
    seed : int
    level : float
        Interval level (default 0.9).
    margin : float
        Upper bound of the fitted offsets as a fraction of the smallest loss, fitted or
        predicted (see :func:`fits.l2l.l2l_fit`).
    noise : bool
        Add resampled residuals of both steps (a prediction interval for one new run)
        rather than the interval of the expected value.
    k : float
        FLOPs per parameter per token for the extrapolation distance.

    Returns
    -------
    Prediction
        One row: ``y_col`` at (N, D); ``ci`` is the bootstrap interval of the expected
        value (both steps refitted on the same resamples), ``pi`` a new run's; the
        predicted x loss and its intervals in ``extra`` (``x_loss``, ``x_loss_ci_lower``
        ...); ``details``: ``{"calibration", "steps": {"scaling", "link"}}``.

    Raises
    ------
    ValueError
        If ``y_col`` is missing, ``pairs`` is unknown or ``n_boot < 2``.
    """
    names = {f.name for f in fields(ChainOptions)}
    extra = {k: v for k, v in kwargs.items() if k not in names}
    opts = ChainOptions.build(options, **{k: v for k, v in kwargs.items() if k in names})
    fit_options = {**(opts.fit_options or {}), **extra}
    if opts.pairs not in ("all", "final"):
        raise ValueError(f"`pairs` must be 'all' or 'final', got {opts.pairs!r}")
    if opts.n_boot < 2:
        raise ValueError(f"`n_boot` must be >= 2, got {opts.n_boot}")
    table = as_table(data)
    if y_col not in table.points.columns:
        raise ValueError(f"column {y_col!r} is not in the points of the runs table; it has "
                         f"{list(table.points.columns)}")
    at = {"N": float(N), "D": float(D)}
    step1 = _scaling_step(table, law, at, opts, fit_options)
    link = _link_step(table, y_col, step1, opts)
    return _chained_prediction(table, y_col, law, at, step1, link, opts, fit_options)


def _scaling_step(table, law: str, at: dict, opts: ChainOptions, fit_options: dict) -> dict:
    """Step 1: the point law fitted and bootstrapped over runs; the resample counts."""
    point_law = get_law(law)
    step1 = ScalingLawFit(law=law, seed=opts.seed, **fit_options).fit(table).result_
    x_hat = float(point_law.predict(step1.values, **at))
    boot1 = bootstrap(step1, n_boot=opts.n_boot, seed=opts.seed, level=opts.level)
    step1 = with_bootstrap(step1, boot1)
    x_draws = boot1.derived(lambda **q: point_law.function(at["N"], at["D"], **q))
    run_ids = list(step1.data["points"]["run_id"])
    # the same counts bootstrap() drew, one column per run, so both steps see one resample
    counts = resample_counts(len(run_ids), opts.n_boot, seed=opts.seed)[boot1.meta["kept_index"]]
    return {"fit": step1, "x_hat": x_hat, "x_draws": x_draws, "run_ids": run_ids,
            "counts": counts}


def _pairs(table, y_col: str, step1: dict, pairs: str):
    """The (x loss, y) pairs of the link and their resample counts (B, n)."""
    counts, run_ids = step1["counts"], step1["run_ids"]
    frame = table.merged() if pairs == "all" else table.final_points()
    if pairs == "all":
        frame = frame[frame["step"] > 0]
    frame = frame[np.isfinite(frame["loss"]) & np.isfinite(frame[y_col].astype(float))]
    column = {r: i for i, r in enumerate(run_ids)}
    pair_counts = np.ones((counts.shape[0], len(frame)))
    idx = np.array([column.get(r, -1) for r in frame["run_id"]])
    pair_counts[:, idx >= 0] = counts[:, idx[idx >= 0]]
    return frame["loss"].to_numpy(float), frame[y_col].to_numpy(float), pair_counts


def _link_step(table, y_col: str, step1: dict, opts: ChainOptions) -> dict:
    """Step 2: the link fitted on the pairs and refitted on step 1's resamples."""
    x, y, pair_counts = _pairs(table, y_col, step1, opts.pairs)
    # the link must be defined at every resampled target loss, not only at the fitted ones
    reach = None if opts.task else {
        "E_x": (0.0, opts.margin * min(x.min(), step1["x_hat"], step1["x_draws"].min()))}
    link = fit_group(x, y, name="proxy", task=opts.task, chance=opts.chance, E_x=opts.E_x,
                     E_y=opts.E_y, bounds=reach, margin=opts.margin, n_boot=0,
                     level=opts.level, seed=opts.seed, x_name="loss", y_name=y_col)
    if link.fit is None:
        raise ValueError(f"cannot chain through {y_col!r}: {link.flag}")
    fitted = link.fit
    link_law = LINK_LAWS[fitted.law]
    fixed = fitted.choices.get("fixed", {})
    bounds = {p: tuple(b) for p, b in fitted.choices["bounds"].items()}
    objective = get_objective(fitted.choices["loss"], delta=fitted.choices.get("delta", 1e-3))
    theta = np.array([np.log(fitted[p]) if p in link_law.log_params else fitted[p]
                      for p in link_law.params])
    samples = bootstrap_link(link_law, x, y, objective, theta, bounds=bounds, fixed=fixed,
                             counts=pair_counts)
    return {"group": link, "law": link_law, "samples": samples, "objective": objective,
            "x": x, "y": y}


def _chained_prediction(table, y_col: str, law: str, at: dict, step1: dict, link: dict,
                        opts: ChainOptions, fit_options: dict) -> Prediction:
    """Both steps' draws carried to ``y_col`` at ``at``: the ci and a new run's pi."""
    fit1, x_hat, x_draws = step1["fit"], step1["x_hat"], step1["x_draws"]
    group, link_law, samples = link["group"], link["law"], link["samples"]
    objective, x, y = link["objective"], link["x"], link["y"]
    fitted, level, noise = group.fit, opts.level, opts.noise
    n_boot = step1["counts"].shape[0]  # unconverged refits of step 1 were dropped
    notes = list(fit1.warnings) + list(group.notes)
    if np.any(x_draws <= samples.get("E_x", -np.inf)):
        notes.append("some resamples put the predicted x loss at or below E_x; those are "
                     "dropped from the interval")
    rng = np.random.default_rng(opts.seed + 1)
    y_hat = float(link_law.function(x_hat, **fitted.values))
    x_ci = [float(v) for v in percentile_interval(x_draws, level)]
    y_ci = [float(v) for v in percentile_interval(link_law.function(x_draws, **samples), level)]
    # pi: the x loss of a new run at (N, D) (calibrated scatter + discrepancy growing with
    # the extrapolation, fits.intervals) carried through the link plus the link's scatter
    estimator = ScalingLawFit(law=law, seed=opts.seed, **fit_options)
    cal = calibrate(estimator, table, fit1)
    reach = extrapolation({"N": fit1.data["points"]["N"], "D": fit1.data["points"]["D"]}, at)
    x_pi_draws = x_draws
    if noise:
        sd = cal.half_width(reach["decades"], level) / stats.norm.ppf(0.5 + level / 2)
        x_pi_draws = x_draws * np.exp(sd * rng.standard_normal(n_boot))
    y_draws = link_law.function(x_pi_draws, **samples)
    if noise:
        pred = link_law.function(x, **fitted.values)
        r2 = np.log(y) - np.log(pred) if objective.space == "log" else y - pred
        e = rng.choice(r2, size=n_boot)
        y_draws = y_draws * np.exp(e) if objective.space == "log" else y_draws + e
    x_pi = [float(v) for v in percentile_interval(x_pi_draws, level)]
    y_pi = [float(v) for v in percentile_interval(y_draws, level)]
    return Prediction(
        value=[y_hat], ci=[y_ci], pi=[y_pi], level=level, at=at,
        extrapolation=[float(reach["decades"])],
        extrapolation_by={k: [float(v)] for k, v in reach["by"].items()},
        quantity=y_col, law=f"{law} -> {fitted.law}",
        interval_method=("pi: a new run (calibrated scatter and discrepancy of the point law, "
                         "checkpoint scatter of the link); ci: the expected value"
                         if noise else "expected value only (noise=False: pi == ci)"),
        warnings=tuple(notes + list(cal.notes)),
        extra={"x_loss": x_hat, "x_loss_ci_lower": x_ci[0], "x_loss_ci_upper": x_ci[1],
               "x_loss_pi_lower": x_pi[0], "x_loss_pi_upper": x_pi[1]},
        details={"calibration": cal.to_dict(level),
                 "steps": {"scaling": fit1.to_dict(), "link": group.to_dict(samples=False)}})
