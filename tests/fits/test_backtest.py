"""Backtests and point predictions."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling import fits
from cli import main
from scaling.fits.backtest import backtest, seed_noise


def _runs(noise=0.0, seeds=1):
    rng = np.random.default_rng(0)
    rows = []
    for n in np.geomspace(1e6, 1e9, 8):
        for seed in range(seeds):
            loss = fits.power_law(n, 2.0, 60.0, 0.3) * np.exp(rng.normal(0, noise))
            rows.append({"run_id": f"n{n:.0f}-s{seed}", "N": n, "D": 1e9, "seed": seed,
                         "loss": loss})
    return pd.DataFrame(rows)


def test_exact_law_backtests_to_zero_error():
    est = fits.ScalingLawFit(law="power-law")
    bt = backtest(est, _runs())
    largest = bt["leave_largest_out"]
    assert largest["mean_abs_rel_error"] < 1e-6 and largest["useful"]
    assert len(largest["held_out"]) == 1 and largest["n_fit"] == 7
    assert all(band["mean_abs_rel_error"] < 1e-6 for band in bt["leave_one_scale_out"])


def test_seed_noise_is_measured():
    frame = _runs(noise=0.01, seeds=3)
    table = fits.as_table(frame)
    noise = seed_noise(table.final_points())
    assert 0.004 < noise < 0.02
    bt = backtest(fits.ScalingLawFit(law="power-law"), table)
    assert bt["seed_noise"] == pytest.approx(noise)


def test_backtest_needs_enough_runs():
    with pytest.raises(ValueError, match="a backtest needs at least 6 runs"):
        backtest(fits.ScalingLawFit(law="power-law"), _runs().iloc[:5])


def test_fit_cli_backtest_and_bootstrap():
    result = CliRunner().invoke(main, ["fit", "bundled:chinchilla_epoch", "--drop-highest", "5",
                                       "--bootstrap", "200", "--backtest", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    largest = payload["data"]["backtest"]["leave_largest_out"]
    assert largest["mean_abs_rel_error"] < 0.04 and largest["useful"]
    lo, hi = payload["params"]["alpha"]["interval"]
    assert lo < payload["params"]["alpha"]["value"] < hi


def test_predict_point_with_interval_and_extrapolation():
    out = fits.predict_point(fits.ScalingLawFit(law="power-law"), _runs(noise=0.005), x=1e10,
                             n_boot=200)
    assert isinstance(out, fits.Prediction)
    assert out.ci[0, 0] < out.value[0] < out.ci[0, 1]
    assert out.extrapolation[0] == pytest.approx(1.0)
    assert out.value[0] == pytest.approx(fits.power_law(1e10, 2.0, 60.0, 0.3), rel=0.01)


def test_predict_point_warns_far_out_and_needs_its_variables():
    out = fits.predict_point(fits.ScalingLawFit(law="power-law"), _runs(), x=1e13, n_boot=0)
    assert any("4.0 decades beyond" in w for w in out.warnings)
    with pytest.raises(ValueError, match="give both N and D"):
        fits.predict_point(fits.ScalingLawFit(), _runs(), N=1e9)


def test_predict_cli_point_law():
    result = CliRunner().invoke(main, ["predict", "bundled:chinchilla_epoch", "--drop-highest",
                                       "5", "--N", "7e10", "--D", "1.4e12", "--bootstrap", "200"])
    assert result.exit_code == 0, result.output
    assert "predicted loss 1.97" in result.output
    assert "1.66 decades past the largest fitted run" in result.output
