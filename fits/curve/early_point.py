"""The pieces of an early-curve prediction (:mod:`fits.curve.early`): the reference's
law and parameters, what is carried over from it (``fixed`` / ``tied``), the point
prediction from a prefix, and the two bootstrap sources (the reference's runs, refitted
per resample; moving blocks of the prefix's steps). A leaf below ``early`` and
``selection`` (which backtests :func:`prefix_point`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..multistart import multistart
from .laws import get_curve_law, is_fit
from .luo import fit_luo2025
from .problem import CurveProblem

__all__ = ["AMPLITUDE_MODES", "PrefixOptions", "prefix_point", "carry", "reference_of", "discrepancy_sd",
           "block_weights", "reference_rows", "alternatives"]

# the annealing amplitude and shape of each law are its own fields (CurveLaw.amplitude)
AMPLITUDE_MODES = ("scaled", "fixed", "free")


def reference_of(reference, law):
    if is_fit(reference):
        return get_curve_law(reference.law), reference.values, reference.choices.get("decay")
    if law is None:
        raise ValueError("pass `law=` when giving reference parameters as a dict")
    return get_curve_law(law), dict(reference), None


def discrepancy_sd(reference, discrepancy):
    """Relative sd of the law's own error in predicting a final loss, and its source."""
    if discrepancy is None:
        return 0.0, None
    if discrepancy != "reference":
        sd = float(discrepancy)
        if not sd >= 0:
            raise ValueError(f"`discrepancy` must be 'reference', None or a float >= 0, "
                             f"got {discrepancy!r}")
        return sd, f"model discrepancy: relative sd {sd:.4g} (given)"
    held = reference.data.get("heldout", {}) if is_fit(reference) else {}
    errors = [np.log(h["final_pred"] / h["final_true"]) for h in held.values()]
    if not errors:
        return 0.0, None
    sd = float(np.sqrt(np.mean(np.square(errors))))
    return sd, (f"model discrepancy: relative sd {sd:.4g}, the RMS log error of the "
                f"reference fit's final-loss predictions on its {len(errors)} held-out runs "
                f"(Student-t draws, {max(len(errors), 2)} dof: an sd from few runs)")


def block_weights(n, block, n_boot, rng):
    """Moving-block bootstrap counts over ``n`` consecutive points."""
    n_blocks = int(np.ceil(n / block))
    starts = rng.integers(0, max(n - block, 0) + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n]
    return np.stack([np.bincount(row, minlength=n) for row in idx]).astype(float)


def reference_rows(reference, law, ref, curves, objective, decay, n_boot, rng, max_iter):
    """Natural parameter rows (n_boot, P) of the reference refitted on bootstrap
    resamples of its runs. Resamples of a few runs repeat (3 runs give 10 distinct
    ones), so each distinct resample is refitted once: warm-started from the reference,
    or, for a fit made by Luo et al.'s procedure (not an optimum), by that procedure.
    Returns the rows and a description of the refits."""
    counts = rng.multinomial(len(curves), np.full(len(curves), 1 / len(curves)), n_boot)
    distinct, inverse = np.unique(counts, axis=0, return_inverse=True)
    luo = is_fit(reference) and reference.choices.get("method") == "luo2025"
    refit = "by Luo et al.'s procedure" if luo else "warm-started"
    how = f"reference refitted {refit} on each of the {len(distinct)} distinct resamples"
    if luo:
        rows = []
        for row in distinct:
            repeated = [c for c, k in zip(curves, row) for _ in range(k)]
            rows.append(fit_luo2025(CurveProblem(law, repeated, objective))[0])
        theta = np.array(rows)
    else:
        weights = np.hstack([np.repeat(distinct[:, [i]], c.loss.size, axis=1)
                             for i, c in enumerate(curves)]).astype(float)
        problem = CurveProblem(law, curves, objective, decay=decay, weights=weights)
        lower, upper = law.theta_bounds()
        theta = multistart(problem, np.tile(law.to_theta(ref), (len(distinct), 1)), lower,
                           upper, max_iter=max_iter).theta
    return law.natural(theta)[np.ravel(inverse)], how


def carry(law, free, amplitude, ref_rows):
    """``fixed`` and ``tied`` of the prefix problem from natural reference rows (S, P)."""
    col = {p: ref_rows[:, i] for i, p in enumerate(law.params)}
    amp = law.amplitude
    if not amp:  # a law without an amplitude parameter: nothing to carry over or scale
        amplitude = "free"
    fixed = {p: col[p] for p in law.params if p not in free and p != amp}
    tied = {}
    if amplitude == "fixed":
        fixed[amp] = col[amp]
    elif amplitude == "scaled":
        tied[amp] = ("A", col[amp] / col["A"])
    return fixed, tied


def alternatives(reference, law):
    """Natural rows (1, P) of the reference's plausible alternative fits (same momentum
    only: the prefix problem keeps the reference's)."""
    cal = (getattr(reference, "data", None) or {}).get("calibration") or {}
    decay = reference.choices.get("decay") if is_fit(reference) else None
    return [law.natural(law.to_theta(a["params"]))[None]
            for a in cal.get("alternatives", []) if a.get("decay") == decay]


def prefix_point(curve, head, law, ref_row, free, amplitude, objective, decay, max_iter=100):
    """Point prediction of ``curve`` from its ``head`` with the shape (and the amplitude
    ratio) carried over from the natural reference row ``ref_row`` (1, P).

    Returns ``(loss along curve.steps, theta, problem, fixed, tied)``."""
    fixed, tied = carry(law, free, amplitude, ref_row)
    problem = CurveProblem(law, [head], objective, decay=decay, fixed=fixed, tied=tied)
    lower, upper = law.theta_bounds()
    start = law.to_theta(dict(zip(law.params, ref_row[0])))[problem.free][None]
    theta = multistart(problem, start, lower[problem.free], upper[problem.free],
                       max_iter=3 * max_iter, merge_quantum=None).theta[0]
    full = CurveProblem(law, [curve], objective, decay=decay, fixed=fixed, tied=tied)
    return full.predictions(theta[None])[0][0], theta, problem, fixed, tied


@dataclass(frozen=True)
class PrefixOptions:
    """Settings of :func:`fits.curve.early.predict_from_prefix` as one object (its keyword arguments;
    ``PrefixOptions.of(options, **changes)`` for a variant).

    Parameters
    ----------
    law : str, optional
        Law name when ``reference`` is a dict.
    upto_step : int, optional
        Use points up to this step (default: all of ``curve``).
    amplitude : {"scaled", "fixed", "free"}
        How the annealing amplitude (``B`` of the multi-power law, ``C`` of the
        LR-annealing law) is carried over: in proportion to ``A`` (default; the amplitude
        grows with model size, its ratio to ``A`` much less), as is, or refitted on the
        prefix (poorly identified before the LR has decayed much).
    free : sequence of str, optional
        Parameters refitted on the prefix (default ``L0, A, alpha``; the size-extended
        law also ``B, beta``).
    reference_curves : list of Curve, optional
        The curves the reference was fitted on; when given (>= 2), the interval also
        resamples them (bootstrap over runs) and refits the reference per resample.
    level : float
        Coverage of the interval (default 0.9).
    n_boot, block, seed
        Bootstrap resamples, block length in prefix points (default ~ 2 n**(1/3)), seed.
    loss, delta
        Objective on log residuals.
    decay : float, optional
        Momentum of the LR-annealing law (default: the reference fit's, else 0.999).
    discrepancy : "reference", float or None
        Model-discrepancy term of the interval: each resampled final loss is multiplied
        by ``exp(sd * z)``, ``z`` standard normal. ``"reference"`` (default) takes ``sd``
        from the reference fit's own final-loss errors on its held-out runs (the law's
        error in extrapolating to unseen schedules and lengths, which resampling the
        data cannot show); a float gives ``sd``; None adds nothing. With
        ``"reference"`` the pi is calibrated instead: backtests of this procedure on
        finished curves (the reference's own, stored at fit time, and
        ``calibration_curves``) give how the error grows with the decades of steps past
        the prefix and the decades of peak LR and model size between the run and the
        reference (:func:`fits.curve.calibrate.early_growth`); the value times
        ``exp(+-t sd)``. The ci stays the bootstrap.
    max_iter : int
        Iteration cap of the batched refits.
    run_sizes : dict, optional
        Run ids -> model sizes N, for the overlap warnings (:func:`reference_overlap`).
    calibration_curves : list of Curve, optional
        Finished runs (any size or LR; the target and the reference's runs are skipped)
        to backtest the reference on.
    growth : ErrorGrowth, optional
        A calibrated error model to reuse (``out["growth"]`` of an earlier call).
    """

    law: str | None = None
    upto_step: int | None = None
    amplitude: str = "scaled"
    free: Any = None
    reference_curves: Any = None
    level: float = 0.9
    n_boot: int = 200
    block: int | None = None
    seed: int = 0
    loss: str = "huber"
    delta: float = 1e-3
    decay: float | None = None
    discrepancy: Any = "reference"
    max_iter: int = 100
    run_sizes: dict | None = None
    calibration_curves: Any = None
    growth: Any = None

    @classmethod
    def of(cls, options=None, **changes) -> "PrefixOptions":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown early-curve option(s) {unknown}; expected some of "
                            f"{sorted(names)}")
        return dataclasses.replace(options or cls(), **changes)
