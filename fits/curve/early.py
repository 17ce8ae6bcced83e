"""Final loss of a run from its early curve, with an interval that carries the
uncertainty of the reference fit.

A prefix of a run constrains ``L0, A, alpha`` but not the annealing part of the law: the
shape (``C, beta, gamma`` of the multi-power law) and the amplitude (``B``; ``C`` of the
LR-annealing law) come from a reference fit on other runs. The amplitude grows with model
size (published multi-power fits: ``B`` 364 -> 438 from 25M to 100M, +20%), so it is not
carried over as is: by default it is carried over *relative to* ``A``, the amplitude of the
power-law part, which the prefix does identify (published ``B / A``: 693 -> 729, +5%).

The interval is a bootstrap with two sources, resampled together and refitted in one batch:
the reference's runs (multinomial counts over its curves; the reference is refitted per
resample, which moves the carried-over shape and ratio) and the prefix's steps (moving
blocks). Without the reference's curves only the second source is used. The pieces are in
:mod:`fits.curve.early_point`, the reference checks in :mod:`fits.curve.early_checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..multistart import multistart
from ..objectives import get_objective
from .calibrate import FALLBACK_RATES, ErrorGrowth, early_growth, mismatch, reference_axes
from .curves import Curve
from .early_checks import reference_mismatch, reference_overlap
from .early_point import (AMPLITUDE_MODES, PrefixOptions, alternatives, block_weights,
                          carry, discrepancy_sd, prefix_point, reference_of,
                          reference_rows)
from .mpl import MPL_PUBLISHED
from .problem import CurveProblem

__all__ = ["predict_from_prefix", "predict_from_prefix_only", "prefix_report",
           "reference_mismatch", "reference_overlap", "AMPLITUDE_MODES", "PREFIX_ONLY_SD",
           "prefix_point", "PrefixOptions", "predict_early"]


@dataclass(frozen=True)
class _Prefix:
    """The checked inputs of one early-curve prediction."""

    curve: Any
    head: Any
    reference: Any
    law: Any
    ref: dict
    ref_row: np.ndarray
    free: tuple
    objective: Any
    decay: float | None
    opts: PrefixOptions

    def point(self, curve, head, row):
        """:func:`prefix_point` with this prediction's settings."""
        return prefix_point(curve, head, self.law, row, self.free, self.opts.amplitude,
                            self.objective, self.decay, self.opts.max_iter)


def _prepare(curve, reference, opts: PrefixOptions) -> _Prefix:
    law, ref, fit_decay = reference_of(reference, opts.law)
    amplitude = opts.amplitude
    if amplitude not in AMPLITUDE_MODES:
        raise ValueError(f"`amplitude` must be one of {list(AMPLITUDE_MODES)}, "
                         f"got {amplitude!r}")
    decay = opts.decay if opts.decay is not None else fit_decay
    if law.decays and decay is None:
        decay = 0.999
    head = curve.head(opts.upto_step) if opts.upto_step is not None else curve
    amp, free = law.amplitude, opts.free
    if free is None:
        free = ("L0", "A", "alpha") + (("B", "beta") if law.sized else ())
    free = tuple(free) + ((amp,) if amplitude == "free" and amp not in free else ())
    unknown = sorted(set(free) - set(law.params))
    if unknown:
        raise ValueError(f"`free` names unknown parameters {unknown}; law {law.name!r} has "
                         f"{list(law.params)}")
    if amplitude == "scaled" and "A" not in free:
        raise ValueError("amplitude='scaled' ties the amplitude to A, so A must be free")
    objective = get_objective(opts.loss, delta=opts.delta)
    ref_row = law.natural(law.to_theta(ref))[None]
    return _Prefix(curve, head, reference, law, ref, ref_row, free, objective, decay, opts)


def _bootstrap_finals(p: _Prefix, theta, bounds, rng):
    """Final losses refitted on resamples of the reference's runs and the prefix's
    blocks (one batch), and the description of the resampling."""
    opts, law, n_boot = p.opts, p.law, p.opts.n_boot
    method = []
    ref_rows = np.repeat(p.ref_row, n_boot, axis=0)
    curves_ref = list(opts.reference_curves or [])
    if len(curves_ref) >= 2:
        ref_rows, how = reference_rows(p.reference, law, p.ref, curves_ref, p.objective,
                                       p.decay, n_boot, rng, opts.max_iter)
        method.append(f"bootstrap over the reference's {len(curves_ref)} runs ({how})")
    n = p.head.loss.size
    block = opts.block or max(2, int(round(2 * n ** (1 / 3))))
    weights = block_weights(n, block, n_boot, rng)
    method.append(f"moving-block bootstrap over the prefix's steps (blocks of {block} "
                  "points)")
    fixed_b, tied_b = carry(law, p.free, opts.amplitude, ref_rows)
    boot_problem = CurveProblem(law, [p.head], p.objective, decay=p.decay, fixed=fixed_b,
                                tied=tied_b, weights=weights)
    boot = multistart(boot_problem, np.tile(theta, (n_boot, 1)), *bounds,
                      max_iter=opts.max_iter, merge_quantum=None)
    full_b = CurveProblem(law, [p.curve], p.objective, decay=p.decay, fixed=fixed_b,
                          tied=tied_b)
    return full_b.predictions(boot.theta)[0][:, -1], method


def _calibrated_pi(p: _Prefix, value, ci, steps_past):
    """pi from backtests on finished curves: how far the error of this very procedure
    grows with the steps left and the LR/size mismatch (fits/curve/calibrate.py).
    Returns ``(lo, hi, method lines, mixture warnings, growth)``."""
    opts, curve, ref_row = p.opts, p.curve, p.ref_row
    ref_lr, ref_N = reference_axes(p.reference, opts.run_sizes, opts.reference_curves)
    growth = opts.growth
    if growth is None:
        def predict(c, h, row):
            return p.point(c, h, row)[0]
        growth = early_growth(p.reference, curve, predict, ref_row,
                              calibration_curves=opts.calibration_curves, ref_lr=ref_lr,
                              ref_N=ref_N,
                              fallback_s0=discrepancy_sd(p.reference, "reference")[0])
    far = mismatch(curve, ref_lr, ref_N)
    half = growth.quantile(opts.level) * float(growth.sd(steps=steps_past, **far))
    # a new run is never surer than the law's mean: pi contains ci
    lo, hi = min(value * np.exp(-half), ci[0]), max(value * np.exp(half), ci[1])
    method = [f"pi: {growth.describe()}; this prediction is {steps_past:.2f} decades of "
              f"steps past the prefix, {far['lr']:.2f} decades of peak LR and "
              f"{far['N']:.2f} of model size from the reference; ci: "]
    mixed = []
    for alt in alternatives(p.reference, p.law):  # candidates LOCO could not tell apart
        other = float(p.point(curve, p.head, alt)[0][-1])
        if abs(np.log(other / value)) > half:
            lo, hi = min(lo, other * np.exp(-half)), max(hi, other * np.exp(half))
            mixed.append("the reference's fitting candidates that leave-one-run-out "
                         "cannot tell apart disagree here by more than the interval: it "
                         "is widened to cover both (a mixture)")
    return lo, hi, method, mixed, growth


def _sampled_pi(p: _Prefix, finals, rng):
    """pi from the resampled finals times the given (or the reference's) discrepancy."""
    level = p.opts.level
    sd, note = discrepancy_sd(p.reference, p.opts.discrepancy)
    method = []
    if sd > 0:
        finals = finals * np.exp(sd * rng.standard_normal(finals.size))
        method.append(note)
    finals = finals[np.isfinite(finals)]
    lo, hi = np.quantile(finals, [(1 - level) / 2, (1 + level) / 2])
    return lo, hi, method


def predict_from_prefix(curve: Curve, reference, *, options: PrefixOptions | None = None,
                        **settings) -> dict:
    """Final loss of a run from its first steps, its planned schedule and a reference fit.

    Parameters
    ----------
    curve : Curve
        The run, with its full planned schedule (``curve.lr``).
    reference : FitResult or dict
        Reference parameters (and law), e.g. a fit on a smaller model size.
    options : PrefixOptions, optional
        The settings as one object; keyword ``settings`` (``law``, ``upto_step``,
        ``amplitude``, ``free``, ``reference_curves``, ``level``, ``n_boot``, ``block``,
        ``seed``, ``loss``, ``delta``, ``decay``, ``discrepancy``, ``max_iter``,
        ``run_sizes``, ``calibration_curves``, ``growth``: :class:`PrefixOptions`)
        override its fields.

    Returns
    -------
    dict
        ``{"final_loss": {"value", "ci": [lo, hi], "pi": [lo, hi], "level",
        "extrapolation"}, "level", "params", "fixed", "tied",
        "upto_step", "fraction_seen", "final_step", "interval_method", "warnings",
        "curve": {"steps", "loss"}}``.

    Raises
    ------
    ValueError
        For an unknown amplitude mode or parameter, or a prefix without points.

    Examples
    --------
    >>> from scaling.data import load_multipower
    >>> from scaling.fits.curve import curves_from_table, fit_curves
    >>> table = load_multipower()
    >>> ref = fit_curves(table.subset([r for r in table.runs["run_id"]
    ...                                if r.startswith("25M/")]), "tissue")  # doctest: +SKIP
    >>> run = curves_from_table(table, ["100M/cosine_72000"])[0]
    >>> out = predict_from_prefix(run, ref, upto_step=21600)  # doctest: +SKIP
    """
    opts = PrefixOptions.of(options, **settings)
    p = _prepare(curve, reference, opts)
    level = opts.level
    L, theta, problem, fixed, tied = p.point(curve, p.head, p.ref_row)  # point estimate
    lower_full, upper_full = p.law.theta_bounds()
    bounds = (lower_full[problem.free], upper_full[problem.free])
    # bootstrap: reference runs (refit per resample) x prefix blocks, one batch each
    rng = np.random.default_rng(opts.seed)
    finals, method = _bootstrap_finals(p, theta, bounds, rng)
    value = float(L[-1])
    # ci: the law's final loss (resampling only); pi: a new run's, with the law's own
    # discrepancy on unseen schedules and lengths (docs/uncertainty.md)
    ci = np.quantile(finals[np.isfinite(finals)], [(1 - level) / 2, (1 + level) / 2])
    seen = int(p.head.steps[-1])
    steps_past = float(np.log10(max(curve.steps[-1], 1) / max(seen, 1)))
    mixed, growth = [], opts.growth
    if opts.discrepancy == "reference":
        lo, hi, first, mixed, growth = _calibrated_pi(p, value, ci, steps_past)
        method = first + method
    else:
        lo, hi, extra = _sampled_pi(p, finals, rng)
        method = method + extra
    reach = {"decades": steps_past,
             "variable": "step", "fraction_seen": float((seen + 1) / curve.total_steps)}
    return {"final_loss": {"value": value,
                           "ci": [float(min(ci[0], value)), float(max(ci[1], value))],
                           "pi": [float(min(lo, value)), float(max(hi, value))],
                           "level": level, "extrapolation": reach},
            "level": level, "params": p.law.from_theta(problem.full(theta)[0]),
            "fixed": {k: float(v[0]) for k, v in fixed.items()},
            "tied": {k: {"to": s, "ratio": float(r[0])} for k, (s, r) in tied.items()},
            "amplitude": opts.amplitude, "upto_step": seen,
            "final_step": int(curve.steps[-1]),
            "fraction_seen": float((p.head.steps[-1] + 1) / curve.total_steps),
            "interval_method": "; ".join(method) + f"; {opts.n_boot} resamples, refitted "
                               "together",
            "growth": None if growth is None else growth.to_dict(),
            "warnings": mixed[:1] + reference_mismatch(reference, curve)
                        + reference_overlap(reference, curve, opts.run_sizes),
            "curve": {"steps": curve.steps.tolist(), "loss": L.tolist()}}


def predict_early(curve: Curve, reference=None, **options):
    """:func:`predict_from_prefix` (or, with no ``reference``, :func:`predict_from_prefix_only`)
    as a typed :class:`~fits.curve.early_result.EarlyCurve`: a ``Prediction`` of the final
    loss (``to_frame()``), a small ``EarlyDetail`` and the predicted curve as arrays."""
    from .early_result import early_curve

    if reference is None:
        out = predict_from_prefix_only(curve, **options)
        law = "mpl"
    else:
        out = predict_from_prefix(curve, reference, **options)
        law = options.get("law") or getattr(reference, "law", "")
    return early_curve(out, run_id=curve.run_id, law=law)


#: Model-discrepancy sd of a prefix-only prediction (no reference): a guess, wider than
#: the 0.3-0.6% final-loss errors of the published fits across sizes, not calibrated.
PREFIX_ONLY_SD = 0.02
#: Peak LR of the runs behind the published Multi-Power fits (Luo et al. 2025).
PUBLISHED_PEAK_LR = 3e-4


def predict_from_prefix_only(curve: Curve, *, upto_step=None, level: float = 0.9,
                             n_boot: int = 50, seed: int = 0) -> dict:
    """Final loss of a run from its own prefix alone (multi-power law, no reference fit).

    The shape of the LR-annealing term cannot be learnt from a prefix, so it is borrowed
    from each published Multi-Power fit (25M and 100M, Luo et al. 2025) in turn, the
    amplitude scaled with ``A`` (:func:`predict_from_prefix`); the value is their mean and
    the interval spans both intervals, each with a model discrepancy of
    :data:`PREFIX_ONLY_SD` (2%). The interval is wide on purpose and not calibrated: give
    a reference fit on runs like this one for a tighter one.
    """
    # the published fits' runs peaked at 3e-4: a run at another peak LR widens the
    # discrepancy by the documented LR-mismatch rate (fits/curve/calibrate.py)
    lr_far = mismatch(curve, ref_lr=[PUBLISHED_PEAK_LR])["lr"]
    sd = float(np.hypot(PREFIX_ONLY_SD, FALLBACK_RATES["lr"] * lr_far))
    outs = [predict_from_prefix(curve, params, law="mpl", upto_step=upto_step, level=level,
                                n_boot=n_boot, seed=seed, discrepancy=sd)
            for params in MPL_PUBLISHED.values()]
    value = float(np.mean([o["final_loss"]["value"] for o in outs]))
    out = dict(outs[0])
    out["final_loss"] = {
        **outs[0]["final_loss"], "value": value,
        "ci": [min(o["final_loss"]["ci"][0] for o in outs),
               max(o["final_loss"]["ci"][1] for o in outs)],
        "pi": [min(o["final_loss"]["pi"][0] for o in outs),
               max(o["final_loss"]["pi"][1] for o in outs)]}
    out["interval_method"] = ("prefix only: envelope over the published 25M and 100M "
                              "Multi-Power annealing shapes, each " + outs[0]["interval_method"]
                              + f", model discrepancy sd {sd:.1%} ({PREFIX_ONLY_SD:.0%}, "
                              f"plus {FALLBACK_RATES['lr']:.0%} per decade of peak LR from the "
                              f"published runs' {PUBLISHED_PEAK_LR:g}: {lr_far:.2f} decades; "
                              "not calibrated)")
    out["warnings"] = ["no reference fit: the annealing shape is borrowed from published "
                       "fits and the interval is a wide, uncalibrated guess; fit a reference "
                       "on runs like this one for a calibrated prediction"]
    out["curve"] = {"steps": outs[0]["curve"]["steps"],
                    "loss": np.mean([o["curve"]["loss"] for o in outs], axis=0).tolist()}
    return out


def prefix_report(curve: Curve, reference, fractions=(0.1, 0.2, 0.3, 0.5, 0.7),
                  **options) -> list[dict]:
    """How the early-curve prediction and its interval change as more of the run is seen.

    Parameters
    ----------
    curve : Curve
        The full observed run (its last point is the truth compared with).
    reference : FitResult or dict
    fractions : sequence of float
        Parts of the scheduled run observed.
    **options
        Passed to :func:`predict_from_prefix`.

    Returns
    -------
    list of dict
        Per fraction: ``fraction, upto_step, value, ci, pi, level, final_true,
        rel_error`` (signed), ``pi_width_rel`` and ``ci_width_rel`` (widths over the true
        final loss), ``covered`` (by the prediction interval) and ``ci_covered``.
    """
    true = float(curve.loss[-1])
    rows = []
    for frac in fractions:
        upto = int(frac * curve.total_steps)
        out = predict_from_prefix(curve, reference, upto_step=upto, **options)
        if out.get("growth") and options.get("growth") is None:  # calibrate once
            options = {**options, "growth": ErrorGrowth.from_dict(out["growth"])}
        value, (lo, hi) = out["final_loss"]["value"], out["final_loss"]["pi"]
        ci = out["final_loss"]["ci"]
        rows.append({"fraction": float(frac), "upto_step": out["upto_step"],
                     "value": value, "ci": ci, "pi": [lo, hi], "level": out["level"],
                     "final_true": true, "rel_error": value / true - 1.0,
                     "pi_width_rel": (hi - lo) / true, "ci_width_rel": (ci[1] - ci[0]) / true,
                     "covered": bool(lo <= true <= hi),
                     "ci_covered": bool(ci[0] <= true <= ci[1])})
    return rows
