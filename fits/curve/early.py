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
blocks). Without the reference's curves only the second source is used.
"""

from __future__ import annotations

import numpy as np

from ..multistart import multistart
from ..objectives import get_objective
from ..result import FitResult
from .calibrate import FALLBACK_RATES, ErrorGrowth, early_growth, mismatch, reference_axes
from .curves import Curve
from .laws import get_curve_law
from .luo import fit_luo2025
from .mpl import MPL_PUBLISHED
from .problem import CurveProblem

__all__ = ["predict_from_prefix", "predict_from_prefix_only", "prefix_report",
           "reference_mismatch", "reference_overlap", "AMPLITUDE_MODES", "PREFIX_ONLY_SD",
           "prefix_point"]


# the annealing amplitude and shape of each law are its own fields (CurveLaw.amplitude)
AMPLITUDE_MODES = ("scaled", "fixed", "free")


def _reference(reference, law):
    if isinstance(reference, FitResult):
        return get_curve_law(reference.law), reference.values, reference.choices.get("decay")
    if law is None:
        raise ValueError("pass `law=` when giving reference parameters as a dict")
    return get_curve_law(law), dict(reference), None


def _discrepancy(reference, discrepancy):
    """Relative sd of the law's own error in predicting a final loss, and its source."""
    if discrepancy is None:
        return 0.0, None
    if discrepancy != "reference":
        sd = float(discrepancy)
        if not sd >= 0:
            raise ValueError(f"`discrepancy` must be 'reference', None or a float >= 0, "
                             f"got {discrepancy!r}")
        return sd, f"model discrepancy: relative sd {sd:.4g} (given)"
    held = reference.data.get("heldout", {}) if isinstance(reference, FitResult) else {}
    errors = [np.log(h["final_pred"] / h["final_true"]) for h in held.values()]
    if not errors:
        return 0.0, None
    sd = float(np.sqrt(np.mean(np.square(errors))))
    return sd, (f"model discrepancy: relative sd {sd:.4g}, the RMS log error of the "
                f"reference fit's final-loss predictions on its {len(errors)} held-out runs "
                f"(Student-t draws, {max(len(errors), 2)} dof: an sd from few runs)")


def _block_weights(n, block, n_boot, rng):
    """Moving-block bootstrap counts over ``n`` consecutive points."""
    n_blocks = int(np.ceil(n / block))
    starts = rng.integers(0, max(n - block, 0) + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n]
    return np.stack([np.bincount(row, minlength=n) for row in idx]).astype(float)


def _reference_rows(reference, law, ref, curves, objective, decay, n_boot, rng, max_iter):
    """Natural parameter rows (n_boot, P) of the reference refitted on bootstrap
    resamples of its runs. Resamples of a few runs repeat (3 runs give 10 distinct
    ones), so each distinct resample is refitted once: warm-started from the reference,
    or, for a fit made by Luo et al.'s procedure (not an optimum), by that procedure.
    Returns the rows and a description of the refits."""
    counts = rng.multinomial(len(curves), np.full(len(curves), 1 / len(curves)), n_boot)
    distinct, inverse = np.unique(counts, axis=0, return_inverse=True)
    luo = isinstance(reference, FitResult) and reference.choices.get("method") == "luo2025"
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


def _carry(law, free, amplitude, ref_rows):
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


def _alternatives(reference, law):
    """Natural rows (1, P) of the reference's plausible alternative fits (same momentum
    only: the prefix problem keeps the reference's)."""
    cal = (getattr(reference, "data", None) or {}).get("calibration") or {}
    decay = reference.choices.get("decay") if isinstance(reference, FitResult) else None
    return [law.natural(law.to_theta(a["params"]))[None]
            for a in cal.get("alternatives", []) if a.get("decay") == decay]


def prefix_point(curve, head, law, ref_row, free, amplitude, objective, decay, max_iter=100):
    """Point prediction of ``curve`` from its ``head`` with the shape (and the amplitude
    ratio) carried over from the natural reference row ``ref_row`` (1, P).

    Returns ``(loss along curve.steps, theta, problem, fixed, tied)``."""
    fixed, tied = _carry(law, free, amplitude, ref_row)
    problem = CurveProblem(law, [head], objective, decay=decay, fixed=fixed, tied=tied)
    lower, upper = law.theta_bounds()
    start = law.to_theta(dict(zip(law.params, ref_row[0])))[problem.free][None]
    theta = multistart(problem, start, lower[problem.free], upper[problem.free],
                       max_iter=3 * max_iter, merge_quantum=None).theta[0]
    full = CurveProblem(law, [curve], objective, decay=decay, fixed=fixed, tied=tied)
    return full.predictions(theta[None])[0][0], theta, problem, fixed, tied


def predict_from_prefix(curve: Curve, reference, *, law=None, upto_step=None,
                        amplitude: str = "scaled", free=None, reference_curves=None,
                        level: float = 0.9, n_boot: int = 200, block=None, seed: int = 0,
                        loss: str = "huber", delta: float = 1e-3, decay=None,
                        discrepancy="reference", max_iter: int = 100,
                        run_sizes: dict | None = None, calibration_curves=None,
                        growth=None) -> dict:
    """Final loss of a run from its first steps, its planned schedule and a reference fit.

    Parameters
    ----------
    curve : Curve
        The run, with its full planned schedule (``curve.lr``).
    reference : FitResult or dict
        Reference parameters (and law), e.g. a fit on a smaller model size.
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
    calibration_curves : list of Curve, optional
        Finished runs (any size or LR; the target and the reference's runs are skipped)
        to backtest the reference on.
    growth : ErrorGrowth, optional
        A calibrated error model to reuse (``out["growth"]`` of an earlier call).
    max_iter : int
        Iteration cap of the batched refits.

    Returns
    -------
    dict
        ``{"final_loss": {"value", "ci": [lo, hi], "pi": [lo, hi], "level",
        "extrapolation"}, "level", "params", "fixed", "tied",
        "upto_step", "fraction_seen", "final_step", "interval_method",
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
    law, ref, fit_decay = _reference(reference, law)
    if amplitude not in AMPLITUDE_MODES:
        raise ValueError(f"`amplitude` must be one of {list(AMPLITUDE_MODES)}, "
                         f"got {amplitude!r}")
    decay = decay if decay is not None else fit_decay
    if law.decays and decay is None:
        decay = 0.999
    head = curve.head(upto_step) if upto_step is not None else curve
    amp = law.amplitude
    if free is None:
        free = ("L0", "A", "alpha") + (("B", "beta") if law.sized else ())
    free = tuple(free) + ((amp,) if amplitude == "free" and amp not in free else ())
    unknown = sorted(set(free) - set(law.params))
    if unknown:
        raise ValueError(f"`free` names unknown parameters {unknown}; law {law.name!r} has "
                         f"{list(law.params)}")
    if amplitude == "scaled" and "A" not in free:
        raise ValueError("amplitude='scaled' ties the amplitude to A, so A must be free")
    objective = get_objective(loss, delta=delta)
    ref_row = law.natural(law.to_theta(ref))[None]
    lower_full, upper_full = law.theta_bounds()

    # point estimate
    L, theta, problem, fixed, tied = prefix_point(curve, head, law, ref_row, free, amplitude,
                                                  objective, decay, max_iter)
    lower, upper = lower_full[problem.free], upper_full[problem.free]

    # bootstrap: reference runs (refit per resample) x prefix blocks, one batch each
    rng = np.random.default_rng(seed)
    method = []
    ref_rows = np.repeat(ref_row, n_boot, axis=0)
    curves_ref = list(reference_curves or [])
    if len(curves_ref) >= 2:
        ref_rows, how = _reference_rows(reference, law, ref, curves_ref, objective, decay,
                                        n_boot, rng, max_iter)
        method.append(f"bootstrap over the reference's {len(curves_ref)} runs ({how})")
    n = head.loss.size
    block = block or max(2, int(round(2 * n ** (1 / 3))))
    weights = _block_weights(n, block, n_boot, rng)
    method.append(f"moving-block bootstrap over the prefix's steps (blocks of {block} "
                  "points)")
    fixed_b, tied_b = _carry(law, free, amplitude, ref_rows)
    boot_problem = CurveProblem(law, [head], objective, decay=decay, fixed=fixed_b,
                                tied=tied_b, weights=weights)
    boot = multistart(boot_problem, np.tile(theta, (n_boot, 1)), lower, upper,
                      max_iter=max_iter, merge_quantum=None)
    full_b = CurveProblem(law, [curve], objective, decay=decay, fixed=fixed_b, tied=tied_b)
    finals = full_b.predictions(boot.theta)[0][:, -1]
    value = float(L[-1])
    # ci: the law's final loss (resampling only); pi: a new run's, with the law's own
    # discrepancy on unseen schedules and lengths (docs/uncertainty.md)
    ci_lo, ci_hi = np.quantile(finals[np.isfinite(finals)], [(1 - level) / 2, (1 + level) / 2])
    seen = int(head.steps[-1])
    steps_past = float(np.log10(max(curve.steps[-1], 1) / max(seen, 1)))
    mixed = []
    if discrepancy == "reference":
        # pi from backtests on finished curves: how far the error of this very procedure
        # grows with the steps left and the LR/size mismatch (fits/curve/calibrate.py)
        ref_lr, ref_N = reference_axes(reference, run_sizes, reference_curves)
        if growth is None:
            def predict(c, h, row):
                return prefix_point(c, h, law, row, free, amplitude, objective, decay,
                                    max_iter)[0]
            growth = early_growth(reference, curve, predict, ref_row,
                                  calibration_curves=calibration_curves, ref_lr=ref_lr,
                                  ref_N=ref_N,
                                  fallback_s0=_discrepancy(reference, "reference")[0])
        far = mismatch(curve, ref_lr, ref_N)
        half = growth.quantile(level) * float(growth.sd(steps=steps_past, **far))
        # a new run is never surer than the law's mean: pi contains ci
        lo, hi = min(value * np.exp(-half), ci_lo), max(value * np.exp(half), ci_hi)
        method = [f"pi: {growth.describe()}; this prediction is {steps_past:.2f} decades of "
                  f"steps past the prefix, {far['lr']:.2f} decades of peak LR and "
                  f"{far['N']:.2f} of model size from the reference; ci: "] + method
        for alt in _alternatives(reference, law):  # candidates LOCO could not tell apart
            other = float(prefix_point(curve, head, law, alt, free, amplitude, objective,
                                       decay, max_iter)[0][-1])
            if abs(np.log(other / value)) > half:
                lo, hi = min(lo, other * np.exp(-half)), max(hi, other * np.exp(half))
                mixed.append("the reference's fitting candidates that leave-one-run-out "
                             "cannot tell apart disagree here by more than the interval: it "
                             "is widened to cover both (a mixture)")
    else:
        sd, note = _discrepancy(reference, discrepancy)
        if sd > 0:
            finals = finals * np.exp(sd * rng.standard_normal(finals.size))
            method.append(note)
        finals = finals[np.isfinite(finals)]
        lo, hi = np.quantile(finals, [(1 - level) / 2, (1 + level) / 2])
    params = law.from_theta(problem.full(theta)[0])
    reach = {"decades": steps_past,
             "variable": "step", "fraction_seen": float((seen + 1) / curve.total_steps)}
    return {"final_loss": {"value": value,
                           "ci": [float(min(ci_lo, value)), float(max(ci_hi, value))],
                           "pi": [float(min(lo, value)), float(max(hi, value))],
                           "level": level, "extrapolation": reach},
            "level": level, "params": params,
            "fixed": {p: float(v[0]) for p, v in fixed.items()},
            "tied": {p: {"to": s, "ratio": float(r[0])} for p, (s, r) in tied.items()},
            "amplitude": amplitude, "upto_step": int(head.steps[-1]),
            "final_step": int(curve.steps[-1]),
            "fraction_seen": float((head.steps[-1] + 1) / curve.total_steps),
            "interval_method": "; ".join(method) + f"; {n_boot} resamples, refitted "
                               "together",
            "growth": None if growth is None else growth.to_dict(),
            "warnings": mixed[:1] + reference_mismatch(reference, curve)
                        + reference_overlap(reference, curve, run_sizes),
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


def reference_mismatch(reference, curve: Curve, *, lr_tol: float = 0.1) -> list[str]:
    """Warnings when a reference fit's runs differ from the predicted run in peak LR,
    schedule family or tokens per step (a law fitted at one peak LR says little about
    another: a 3e-4 reference predicting a 1e-3 run was off by 18%)."""
    runs = getattr(reference, "data", {}).get("run_schedules") or {}
    if not runs:
        return []
    target = curve.summary()
    notes = []
    peaks = [r["peak_lr"] for r in runs.values() if r.get("peak_lr")]
    if peaks and all(abs(target["peak_lr"] / p - 1) > lr_tol for p in peaks):
        notes.append(f"the reference was fitted at peak LR {min(peaks):.3g}"
                     + (f"-{max(peaks):.3g}" if max(peaks) > min(peaks) else "")
                     + f"; run {curve.run_id!r} peaks at {target['peak_lr']:.3g}: the law's "
                     "parameters depend on the peak LR; the interval is widened for the "
                     "mismatch (fits/curve/calibrate.py)")
    kinds = {r.get("kind") for r in runs.values()} - {None}
    if target["kind"] and kinds and target["kind"] not in kinds:
        notes.append(f"run {curve.run_id!r} has a {target['kind']!r} schedule, which none of "
                     f"the reference's runs had ({', '.join(sorted(kinds))})")
    tps = {r.get("tokens_per_step") for r in runs.values()} - {None}
    if target["tokens_per_step"] and tps and target["tokens_per_step"] not in tps:
        notes.append(f"run {curve.run_id!r} takes {target['tokens_per_step']:.4g} tokens per "
                     f"step, the reference's runs {', '.join(f'{t:.4g}' for t in sorted(tps))}")
    return notes


def reference_overlap(reference, curve: Curve, run_sizes: dict | None = None) -> list[str]:
    """Warnings when the reference's fitted or held-out runs include the predicted run, or
    its held-out runs include runs of the target's model size.

    A reference fitted on the run says nothing about predicting it; held-out runs of the
    target's size (or the run itself) enter the model-discrepancy term, so the interval
    then measures how a one-size law misses another size (a 25M law held out on 100M runs
    gave a 30%-wide interval) or uses the target's own final loss.

    ``run_sizes`` maps run ids to model sizes N (e.g. from the runs table); without it only
    the run itself is checked.
    """
    data = getattr(reference, "data", None) or {}
    fitted, held = list(data.get("run_ids") or []), list(data.get("heldout") or {})
    notes = []
    if curve.run_id in fitted:
        notes.append(f"the reference was fitted on run {curve.run_id!r} itself: this is not a "
                     "prediction; fit the reference on other runs (`scaling fit ... "
                     "--fit-runs ID,...`)")
    elif curve.run_id in held:
        notes.append(f"the reference's held-out runs include run {curve.run_id!r} itself: its "
                     "final loss entered the interval's discrepancy term; leave it out of the "
                     "reference (`scaling fit ... --where \"run_id != '...'\"`)")
    if run_sizes and curve.N:
        same = [r for r in held if r != curve.run_id and run_sizes.get(r) is not None
                and np.isclose(float(run_sizes[r]), float(curve.N), rtol=0.01)]
        if same:
            notes.append(f"the reference's held-out runs include {len(same)} run(s) of the "
                         f"target's size N={curve.N:.4g} ({', '.join(same[:3])}"
                         f"{' ...' if len(same) > 3 else ''}): its held-out errors (the floor of "
                         "its schedule intervals) measure a one-size law across sizes; fit "
                         "the reference on another size only (`scaling fit ... --where "
                         "\"model == '25M'\" --fit-runs ... --save ref.json`)")
    return notes


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
