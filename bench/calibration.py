"""Calibration benchmark: coverage and width of 90% prediction intervals, one named row per
kind of prediction, on bundled data.

Each row is a function returning the predictions it checks as ``(covered, width,
needed)`` triples: whether the 90% ``pi`` covered the observed value, its relative width
``(hi - lo) / value``, and the width that would have just covered (``2 |observed - value|
/ value``, for a symmetric interval). Narrow matters as much as covering: a row whose
median width is far above its median needed width is honest but not useful.

    python bench/calibration.py                 # every row
    python bench/calibration.py curve/heldout   # rows whose name starts with this

Add a row: write ``def _my_rows() -> list[tuple[bool, float, float]]`` and register it in
``ROWS`` under a name ``family/what/detail``.
"""

from __future__ import annotations

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


ROWS = {
    **{f"curve/heldout/{law}/{size}": _heldout(law, size)
       for law in ("mpl", "tissue") for size in ("25M", "100M")},
    "curve/early/tissue/100M-from-25M": _early("tissue"),
    "curve/early/mpl/100M-from-25M": _early("mpl"),
}


def main(prefix: str = "") -> None:
    print(f"{'row':<36} {'n':>3} {'coverage':>9} {'median width':>13} "
          f"{'needed width':>13} {'seconds':>8}")
    for name, fn in ROWS.items():
        if not name.startswith(prefix):
            continue
        start = time.process_time()
        rows = fn()
        cpu = time.process_time() - start
        covered, width, needed = (np.array(x) for x in zip(*rows))
        print(f"{name:<36} {len(rows):>3} {covered.mean():>9.0%} {np.median(width):>13.2%} "
              f"{np.median(needed):>13.2%} {cpu:>8.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
