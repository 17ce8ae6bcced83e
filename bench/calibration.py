"""Calibration benchmark: coverage and width of 90% prediction intervals, one named row per
kind of prediction, on bundled data.

Each row is a function returning the predictions it checks as ``(covered, width,
needed)`` triples: whether the 90% ``pi`` covered the observed value, its relative width
``(hi - lo) / value``, and the width that would have just covered (``2 |observed - value|
/ value``, for a symmetric interval). Narrow matters as much as covering: a row whose
median width is far above its median needed width is honest but not useful.

    python bench/calibration.py                 # every row
    python bench/calibration.py curve/heldout   # rows whose name starts with this
    python bench/calibration.py point/          # point laws; l2l/, plan/ likewise

Add a row: write ``def _my_rows() -> list[tuple[bool, float, float]]`` and register it in
``ROWS`` under a name ``family/what/detail``.
"""

from __future__ import annotations

import itertools
import sys
import time
import warnings

import numpy as np

LEVEL = 0.9


def _triple(value, lo, hi, observed):
    return (bool(lo <= observed <= hi), (hi - lo) / value, 2 * abs(observed - value) / value)


# -- curve laws (bundled:multipower) -------------------------------------------------
_FITS = {}


def _curve_fit(law, size):
    from scaling.data import load_multipower
    from scaling.fits.curve import fit_curves

    if (law, size) not in _FITS:
        table = load_multipower()
        runs = [r for r in table.runs["run_id"] if r.startswith(size + "/")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[law, size] = fit_curves(table.subset(runs), law)
    return _FITS[law, size]


def _heldout(law, size):
    def rows():
        fit = _curve_fit(law, size)
        return [_triple(h["final_pred"], *h["pi"], h["final_true"])
                for h in fit.data["heldout"].values()]
    return rows


def _early(law):
    """100M cosine_72000 from the 25M reference at 10/20/30/50/70% of the run, the
    interval calibrated on the table's other finished runs."""
    def rows():
        from scaling.data import load_multipower
        from scaling.fits.curve import curves_from_table, prefix_report

        curves = curves_from_table(load_multipower())
        run = next(c for c in curves if c.run_id == "100M/cosine_72000")
        sizes = {c.run_id: c.N for c in curves}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = prefix_report(run, _curve_fit(law, "25M"), n_boot=50,
                                   calibration_curves=curves, run_sizes=sizes)
        return [_triple(r["value"], *r["pi"], r["final_true"]) for r in report]
    return rows


# -- point laws (bundled:chinchilla_epoch, the 5 highest-loss runs dropped) ----------
def _chinchilla_split(held_out):
    from scaling.data import load_chinchilla_epoch

    table = load_chinchilla_epoch()
    final = table.final_points()
    keep = final.iloc[np.argsort(-final["loss"].to_numpy(), kind="stable")[5:]]
    C = (keep["N"] * keep["D"]).to_numpy()
    cut = np.quantile(C, 1 - held_out)
    return table, table.subset(keep["run_id"][C < cut]), keep[C >= cut]


def _point_largest(held_out):
    """Fit on all but the largest ``held_out`` of compute, calibrate on the fitted runs
    only (their own leave-largest-out backtests), predict the held-out runs."""
    def rows():
        from scaling import fits
        from scaling.fits.intervals import calibrate, point_intervals

        _, train, held = _chinchilla_split(held_out)
        est = fits.ScalingLawFit(law="chinchilla")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = est.fit(train).result_
            cal = calibrate(est, train, res)
            out = point_intervals(res, cal, {"N": held["N"].to_numpy(),
                                             "D": held["D"].to_numpy()}, level=LEVEL,
                                  n_boot=1000)
        return [_triple(v, lo, hi, y) for v, (lo, hi), y in
                zip(out.value, out.pi, held["loss"].to_numpy())]
    return rows


# -- loss-to-loss (bundled:llm_line, groups = Pretraining Data) -----------------------
def _llm_line():
    import pandas as pd

    from scaling.data import load_dataset

    frame = load_dataset("llm_line")
    return frame if isinstance(frame, pd.DataFrame) else frame.merged()


def _l2l_heldout():
    """C4 -> FineWeb-Edu, the 20% lowest-C4 checkpoints of each set held out."""
    from scaling import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fits.l2l_fit(_llm_line(), "C4 Validation Loss", "FineWeb-Edu Validation Loss",
                           "Pretraining Data", holdout_lowest=0.2, level=LEVEL)
    out = []
    for group in res.groups.values():
        h = group.heldout
        if h.get("lower") is not None:
            out += [_triple(p, lo, hi, y) for p, lo, hi, y in
                    zip(h["predicted"], h["lower"], h["upper"], h["y"])]
    return out


def _l2l_past_range():
    """Every ordered pair of the five validation losses: the 20% lowest-x checkpoints of
    each set are the targets; the fit sees the rest (holding out its own lowest 20% to
    calibrate the discrepancy growth) and a saved-result prediction translates the
    targets, further below the fitted range than the calibration points."""
    import pandas as pd

    from scaling import fits
    from scaling.fits.l2l.result import l2l_prediction

    frame = _llm_line()
    cols = [c for c in frame.columns if c.endswith("Validation Loss")]
    group = "Pretraining Data"
    out = []
    for x, y in itertools.permutations(cols, 2):
        f = frame.dropna(subset=[x, y, group])
        parts = [(sub.sort_values(x), int(np.floor(0.2 * len(sub))))
                 for _, sub in f.groupby(group)]
        train = pd.concat([s.iloc[n:] for s, n in parts])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            saved = fits.l2l_fit(train, x, y, group, holdout_lowest=0.2, level=LEVEL,
                                 n_boot=200).to_dict()
        for sub, n in parts:
            name = str(sub[group].iloc[0])
            if n == 0 or not (saved["groups"].get(name) or {}).get("params"):
                continue
            pred = l2l_prediction(saved, sub[x].to_numpy()[:n], name)
            out += [_triple(v, lo, hi, obs) for v, (lo, hi), obs in
                    zip(pred.value, pred.pi, sub[y].to_numpy()[:n])]
    return out


# -- plans (bundled:chinchilla_epoch at the Chinchilla budget) ------------------------
def _plan_robust():
    """Plans from all but the largest 10/20/30% of compute at 5.88e23 FLOPs: does the
    robust N's interval (N whose expected loss is within 0.5% of the best) contain the
    N* of the fit on every run? Widths in decades of N (not relative)."""
    from scaling import fits

    table, _, _ = _chinchilla_split(0.1)
    est = fits.ScalingLawFit(law="chinchilla", drop_highest=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = fits.plan_compute(table, 5.88e23, estimator=est, n_boot=0, sensitivity=False)
    out = []
    for held_out in (0.1, 0.2, 0.3):
        _, train, _ = _chinchilla_split(held_out)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = fits.plan_compute(train, 5.88e23, estimator=fits.ScalingLawFit(),
                                     n_boot=300, sensitivity=False)
        lo, hi = plan.robust["interval"]
        truth = full.N_opt.value
        out.append((bool(lo <= truth <= hi), float(np.log10(hi / lo)),
                    float(2 * abs(np.log10(truth / plan.robust["N"])))))
    return out


def _loop_one(seed):
    import tempfile

    from scaling.loop import run_loop
    from scaling.loop_design import options_from

    with tempfile.TemporaryDirectory() as out:
        rec = run_loop(options_from("synthetic", max_steps=2, n_boot=100, seed=seed), out,
                       report=False, echo=lambda *a, **k: None)
    pred, observed = rec["validation"]["prediction"], rec["verdict"]["observed"]
    return _triple(pred["value"], *pred["pi"], observed)


def _loop_synthetic(n_loops: int = 50):
    """``scaling loop --preset synthetic --max-steps 2``, seeds 0-49: the validation rung
    (4x the largest compute) against its 90% ``pi`` recorded before training (the
    acceptance of issue 27 asks for 80-97% inside; see docs/loop.md)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        return list(pool.map(_loop_one, range(n_loops)))


ROWS = {
    **{f"curve/heldout/{law}/{size}": _heldout(law, size)
       for law in ("mpl", "tissue") for size in ("25M", "100M")},
    "curve/early/tissue/100M-from-25M": _early("tissue"),
    "curve/early/mpl/100M-from-25M": _early("mpl"),
    **{f"point/chinchilla/largest-{p:.0%}-compute-held-out": _point_largest(p)
       for p in (0.1, 0.2, 0.3)},
    "l2l/llm_line/C4->FineWeb-Edu/20%-lowest": _l2l_heldout,
    "l2l/llm_line/all-pairs/past-the-range": _l2l_past_range,
    "plan/chinchilla/robust-N-interval(decades)": _plan_robust,
    "loop/synthetic/validation-rung-4x": _loop_synthetic,
}


def main(prefix: str = "") -> None:
    print(f"{'row':<44} {'n':>3} {'coverage':>9} {'median width':>13} "
          f"{'needed width':>13} {'seconds':>8}")
    for name, fn in ROWS.items():
        if not name.startswith(prefix):
            continue
        start = time.process_time()
        rows = fn()
        cpu = time.process_time() - start
        covered, width, needed = (np.array(x) for x in zip(*rows))
        unit = ".2f" if "(decades)" in name else ".2%"  # plan rows: decades of N
        print(f"{name:<44} {len(rows):>3} {covered.mean():>9.0%} "
              f"{np.median(width):>13{unit}} {np.median(needed):>13{unit}} {cpu:>8.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
