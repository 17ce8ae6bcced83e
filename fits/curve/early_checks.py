"""Warnings on an early-curve prediction's reference fit: runs unlike the predicted one
(peak LR, schedule family, tokens per step) and overlap with the predicted run or its size."""

from __future__ import annotations

import numpy as np

from .curves import Curve

__all__ = ["reference_mismatch", "reference_overlap"]


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
