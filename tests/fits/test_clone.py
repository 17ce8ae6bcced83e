"""clone(est, **changes): refits in backtests and calibration keep every hyperparameter
of the user's estimator (fixed, tied, prior, y, row selection)."""

import numpy as np
import pandas as pd
import pytest

from scaling import fits
from scaling.fits.backtest import backtest
from scaling.fits.estimator import clone
from scaling.fits.intervals import calibrate


def _runs(n_runs=12):
    rows = []
    for n in np.geomspace(1e6, 1e9, n_runs):
        rows.append({"run_id": f"n{n:.0f}", "N": n, "D": 1e9,
                     "loss": fits.power_law(n, 2.0, 60.0, 0.3)})
    return pd.DataFrame(rows)


def test_clone_copies_every_hyperparameter_and_applies_changes():
    est = fits.ScalingLawFit(law="chinchilla", fixed={"E": 1.69}, tied={"alpha": "beta"},
                             prior={"A": (400.0, 0.5)}, y="loss", where="N > 1", seed=3)
    copy = clone(est, drop_highest=2)
    assert copy is not est and not hasattr(copy, "result_")
    assert copy.get_params() == {**est.get_params(), "drop_highest": 2}
    copy.fixed["E"] = 9.0  # deep copy: the user's estimator is untouched
    assert est.fixed == {"E": 1.69}
    with pytest.raises(ValueError, match=r"\['Q'\] are not parameters of ScalingLawFit"):
        clone(est, Q=1)


def test_backtest_without_a_result_keeps_a_fixed_parameter():
    # the data follow E = 2.0 exactly: an unconstrained refit would predict them to 1e-6;
    # the user's E = 2.5 must survive into the backtest's own fit and every refit
    table = fits.as_table(_runs(9))
    est = fits.ScalingLawFit(law="power-law", fixed={"E": 2.5})
    bt = backtest(est, table, n_boot=0, n_scale_groups=2)
    assert bt["leave_largest_out"]["mean_abs_rel_error"] > 1e-3
    assert all(band["mean_abs_rel_error"] > 1e-3 for band in bt["leave_one_scale_out"])


def test_calibration_refits_keep_the_constraint():
    table = fits.as_table(_runs(16))
    est = fits.ScalingLawFit(law="power-law", fixed={"E": 2.5})
    cal = calibrate(est, table, n_boot=0)
    assert cal.refits, "calibration made no refits"
    assert all(r["params"]["E"] == pytest.approx(2.5) for r in cal.refits)
