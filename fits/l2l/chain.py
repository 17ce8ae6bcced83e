"""Chained prediction: (N, D) -> loss on the proxy distribution -> loss elsewhere (or accuracy).

Step 1 fits a point law L_x(N, D) with :class:`fits.ScalingLawFit` on the final points of a
proxy ladder; step 2 fits the link (shifted power law, or the sigmoid for a task) on
(L_x, y) pairs of the same runs. Both steps are refitted on the *same* bootstrap
resamples of runs, so the interval of the chained prediction carries the uncertainty
of both fits and their correlation (the two-step method of Bhagia et al. 2024,
arXiv 2412.04403, with loss-to-loss links from Brandfonbrener et al. 2024).
"""

from __future__ import annotations

import numpy as np

from scipy import stats

from ..bootstrap import bootstrap, percentile_interval, resample_counts, with_bootstrap
from ..intervals import calibrate, extrapolation
from ..fit import ScalingLawFit, as_table
from ..laws import get_law
from ..objectives import get_objective
from ..prediction import Prediction
from .engine import bootstrap_link
from .fit import fit_group
from .result import LINK_LAWS

__all__ = ["chain_predict"]


def chain_predict(data, y_col: str, *, N: float, D: float, law: str = "chinchilla",
                  task: bool = False, chance: float | None = None, E_x=None, E_y=None,
                  pairs: str = "all", n_boot: int = 1000, seed: int = 0, level: float = 0.9,
                  noise: bool = True, margin: float = 0.95, k: float = 6.0,
                  **fit_options) -> Prediction:
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
        Point law of step 1 (default ``"chinchilla"``); ``fit_options`` go to
        :class:`fits.ScalingLawFit` (``loss``, ``delta``, ``drop_highest``, ...).
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
    if pairs not in ("all", "final"):
        raise ValueError(f"`pairs` must be 'all' or 'final', got {pairs!r}")
    if n_boot < 2:
        raise ValueError(f"`n_boot` must be >= 2, got {n_boot}")
    table = as_table(data)
    if y_col not in table.points.columns:
        raise ValueError(f"column {y_col!r} is not in the points of the runs table; it has "
                         f"{list(table.points.columns)}")
    point_law = get_law(law)
    step1 = ScalingLawFit(law=law, seed=seed, **fit_options).fit(table).result_
    at = {"N": float(N), "D": float(D)}
    x_hat = float(point_law.predict(step1.values, **at))
    boot1 = bootstrap(step1, n_boot=n_boot, seed=seed, level=level)
    step1 = with_bootstrap(step1, boot1)
    x_draws = boot1.derived(lambda **q: point_law.function(at["N"], at["D"], **q))
    run_ids = list(step1.data["points"]["run_id"])
    # the same counts bootstrap() drew, one column per run, so both steps see one resample
    counts = resample_counts(len(run_ids), n_boot, seed=seed)[boot1.meta["kept_index"]]
    n_boot = counts.shape[0]  # unconverged refits of step 1 were dropped

    frame = table.merged() if pairs == "all" else table.final_points()
    if pairs == "all":
        frame = frame[frame["step"] > 0]
    frame = frame[np.isfinite(frame["loss"]) & np.isfinite(frame[y_col].astype(float))]
    column = {r: i for i, r in enumerate(run_ids)}
    pair_counts = np.ones((n_boot, len(frame)))
    idx = np.array([column.get(r, -1) for r in frame["run_id"]])
    pair_counts[:, idx >= 0] = counts[:, idx[idx >= 0]]

    x, y = frame["loss"].to_numpy(float), frame[y_col].to_numpy(float)
    # the link must be defined at every resampled target loss, not only at the fitted ones
    reach = None if task else {"E_x": (0.0, margin * min(x.min(), x_hat, x_draws.min()))}
    link = fit_group(x, y, name="proxy", task=task, chance=chance, E_x=E_x, E_y=E_y,
                     bounds=reach, margin=margin, n_boot=0, level=level, seed=seed,
                     x_name="loss", y_name=y_col)
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
    notes = list(step1.warnings) + list(link.notes)
    if np.any(x_draws <= samples.get("E_x", -np.inf)):
        notes.append("some resamples put the predicted x loss at or below E_x; those are "
                     "dropped from the interval")
    rng = np.random.default_rng(seed + 1)
    y_hat = float(link_law.function(x_hat, **fitted.values))
    x_ci = [float(v) for v in percentile_interval(x_draws, level)]
    y_ci = [float(v) for v in percentile_interval(link_law.function(x_draws, **samples), level)]
    # pi: the x loss of a new run at (N, D) (calibrated scatter + discrepancy growing with
    # the extrapolation, fits.intervals) carried through the link plus the link's scatter
    estimator = ScalingLawFit(law=law, seed=seed, **fit_options)
    cal = calibrate(estimator, table, step1)
    reach = extrapolation({"N": step1.data["points"]["N"], "D": step1.data["points"]["D"]}, at)
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
        quantity=y_col, law=f"{law} -> {link.fit.law}",
        interval_method=("pi: a new run (calibrated scatter and discrepancy of the point law, "
                         "checkpoint scatter of the link); ci: the expected value"
                         if noise else "expected value only (noise=False: pi == ci)"),
        warnings=tuple(notes + list(cal.notes)),
        extra={"x_loss": x_hat, "x_loss_ci_lower": x_ci[0], "x_loss_ci_upper": x_ci[1],
               "x_loss_pi_lower": x_pi[0], "x_loss_pi_upper": x_pi[1]},
        details={"calibration": cal.to_dict(level),
                 "steps": {"scaling": step1.to_dict(), "link": link.to_dict(samples=False)}})
