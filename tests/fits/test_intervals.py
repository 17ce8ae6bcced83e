"""Prediction intervals (fits.intervals): the growth law, its calibration, the fallback,
bootstrap hygiene and the shape of every prediction's JSON. The statistical acceptance
checks (coverage on bundled data and synthetic misspecification) are in
test_intervals_coverage.py (slow)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scaling import fits
from scaling.fits.intervals import (DEFAULT_RATE, MIN_RATE, Calibration, calibrate,
                                    default_calibration, extrapolation, observation_scatter)

KEYS = {"value", "ci", "pi", "level", "extrapolation"}


def _power_runs(n=24, noise=0.01, seed=0):
    """Loss vs N from a power law whose exponent drifts with N (the one-variable law
    cannot follow it: a misspecified extrapolation)."""
    rng = np.random.default_rng(seed)
    N = np.geomspace(1e6, 1e9, n)
    alpha = 0.3 - 0.02 * np.log10(N / 1e6)
    loss = (2.0 + 60.0 * N ** -alpha) * np.exp(noise * rng.standard_normal(n))
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], "N": N, "D": 1e9,
                         "loss": loss})


@pytest.fixture(scope="module")
def power_fit():
    est = fits.ScalingLawFit(law="power-law", starts=32)  # a 3-parameter law: 32 starts agree
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.FitWarning)
        table = fits.as_table(_power_runs())
        result = est.fit(table).result_
        cal = calibrate(est, table, result)
    return est, table, result, cal


def test_interval_grows_with_distance_and_contains_ci():
    cal = Calibration(scatter=0.01, rate=0.02, method="backtest", scores=[0.5] * 50, n_cuts=10)
    lo0, hi0 = cal.interval(2.0, 0.0, 0.9)
    lo1, hi1 = cal.interval(2.0, 1.0, 0.9)
    assert hi1 - lo1 > hi0 - lo0
    m = float(stats.t.ppf(0.95, df=9))  # scores below the t floor: the floor is used
    assert cal.multiplier(0.9) == pytest.approx(m)
    assert np.log(hi1 / 2.0) == pytest.approx(m * np.hypot(0.01, 0.02))
    lo, hi = cal.interval(2.0, 1.0, 0.9, ci=[1.9, 2.2])
    assert lo < 1.9 and hi > 2.2  # the pi contains the ci
    assert cal.interval(2.0, 1.0, 0.95)[1] > hi1  # a higher level is wider


def test_multiplier_is_conformal_quantile_when_errors_are_heavy_tailed():
    scores = np.r_[np.full(80, 0.5), np.full(20, 3.0)]
    cal = Calibration(0.01, 0.02, "backtest", scores=scores.tolist(), n_cuts=10)
    assert cal.multiplier(0.9) == pytest.approx(3.0)  # rank ceil(101 * 0.9) = 91 of 100
    assert Calibration(0.01, 0.02, "default").multiplier(0.9) == pytest.approx(1.6448536)
    with pytest.raises(ValueError, match=r"`level` must be in \(0, 1\)"):
        cal.multiplier(90)


def test_extrapolation_is_decades_past_the_range_in_any_variable():
    fitted = {"N": np.array([1e7, 1e8]), "D": np.array([1e9, 1e10])}
    inside = extrapolation(fitted, {"N": 5e7, "D": 5e9})
    assert inside["decades"] == 0.0
    far = extrapolation(fitted, {"N": 1e9, "D": 1e10})  # N one decade, C one decade past
    assert far["decades"] == pytest.approx(1.0) and far["by"]["N"] == pytest.approx(1.0)
    below = extrapolation({"x": np.array([1e6, 1e8])}, {"x": np.array([1e5, 1e9])})
    assert below["decades"] == pytest.approx([1.0, 1.0])


def test_too_few_runs_fall_back_to_the_conservative_default():
    frame = _power_runs(n=7)
    est = fits.ScalingLawFit(law="power-law")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.FitWarning)
        cal = calibrate(est, frame)
    assert cal.method == "default" and cal.rate == DEFAULT_RATE and cal.scatter >= 0.01
    assert "only 7 runs" in cal.notes[0] and "conservative default" in cal.notes[0]
    # never narrower than the default at the same distance
    assert default_calibration("x").sd(1.0) == pytest.approx(np.hypot(0.01, DEFAULT_RATE))


def test_calibration_from_backtests(power_fit):
    _, _, result, cal = power_fit
    assert cal.method == "backtest" and cal.n_cuts >= 5
    assert cal.rate >= MIN_RATE and cal.scatter >= observation_scatter(result) * 0.999
    assert cal.max_distance > 0.3
    assert {"cut", "distance", "log_error", "ci_sd"} <= set(cal.points[0])
    payload = cal.to_dict(0.9)
    assert payload["multiplier"] >= 1.6448 and payload["n_heldout"] == len(cal.scores)
    again = Calibration.from_dict(payload)  # a saved fit keeps its calibration
    assert again.multiplier(0.9) == pytest.approx(cal.multiplier(0.9))
    assert again.interval(2.0, 1.0, 0.9) == pytest.approx(cal.interval(2.0, 1.0, 0.9))


def test_observation_scatter_groups_points_by_run():
    # two runs of many points: a run offset counts once per run, not once per point
    result = fits.FitResult("power-law", "", "", {"E": None, "A": None, "alpha": None}, 0.0,
                            200, 2, data={"points": {
                                "run_id": ["a"] * 100 + ["b"] * 100,
                                "loss": [1.02] * 100 + [0.98] * 100,
                                "predicted": [1.0] * 200}})
    per_run = observation_scatter(result, n_params=1)
    assert per_run == pytest.approx(np.sqrt((np.log(1.02) ** 2 + np.log(0.98) ** 2) / 1), rel=1e-6)


def test_bootstrap_counts_retried_and_dropped_refits(power_fit):
    _, _, result, _ = power_fit
    # 6 iterations are too few for every refit: some converge on the retry (4x budget),
    # the rest are dropped and counted
    boot = fits.bootstrap(result, n_boot=60, seed=1, max_iter=6)
    meta = boot.meta
    assert meta["n_retried"] == 60 and 0 < meta["n_dropped"] < 60
    assert meta["n_used"] + meta["n_dropped"] == 60
    assert meta["n_used"] == boot.n_boot == boot.samples["alpha"].size
    assert np.all(boot.converged)
    assert "bootstrap" not in result.choices  # the fit is not changed; a copy carries it
    assert fits.with_bootstrap(result, boot).choices["bootstrap"]["used"] == meta["n_used"]
    with pytest.raises(ValueError, match="only 0 of 60 bootstrap refits converged"):
        fits.bootstrap(result, n_boot=60, seed=1, max_iter=1)


def test_point_prediction_json_has_value_ci_pi_level_extrapolation(power_fit):
    est, table, _, cal = power_fit
    out = fits.predict_point(est, table, x=1e10, n_boot=100, level=0.8, calibration=cal)
    loss = out.entry(0)
    assert KEYS <= set(loss)
    assert loss["level"] == 0.8 and loss["extrapolation"]["decades"] == pytest.approx(1.0)
    assert loss["pi"][0] < loss["ci"][0] < loss["value"] < loss["ci"][1] < loss["pi"][1]


def test_l2l_prediction_json_has_value_ci_pi_level_extrapolation():
    rng = np.random.default_rng(0)
    x = np.linspace(3.0, 4.0, 40)
    y = 0.9 * (x - 2.0) ** 1.1 + 1.0
    frame = pd.DataFrame({"lx": x, "ly": y * np.exp(0.002 * rng.standard_normal(x.size))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.FitWarning)
        res = fits.l2l_fit(frame, "lx", "ly", n_boot=200)
    out = fits.l2l_predict(res.to_dict(), [2.9, 3.5])
    assert KEYS <= set(out)
    (lo_far, hi_far), (lo_in, hi_in) = out["pi"]
    assert out["extrapolation"]["decades"][0] > 0 == out["extrapolation"]["decades"][1]
    for (lo, hi), (clo, chi) in zip(out["pi"], out["ci"]):
        assert lo <= clo and chi <= hi
    assert out["interval"] == out["pi"]


def test_early_curve_prediction_has_ci_inside_pi():
    from tests.fits.test_curve_fit import synthetic

    truth = {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4}
    curve = synthetic("tissue", truth)[1]
    out = fits.predict_from_prefix(curve, truth, law="tissue", upto_step=4000, n_boot=50,
                                   discrepancy=0.01)
    final = out["final_loss"]
    assert KEYS <= set(final)
    assert final["pi"][0] <= final["ci"][0] and final["ci"][1] <= final["pi"][1]
    assert final["extrapolation"]["decades"] == pytest.approx(np.log10(curve.steps[-1] / 4000),
                                                              abs=0.01)


def test_calibration_plot_draws_errors_and_growth_law(power_fit, tmp_path):
    from scaling.fits.plots import plot_calibration

    _, _, _, cal = power_fit
    path = plot_calibration(cal.to_dict(0.9), tmp_path / "calibration.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = plot_calibration(cal.to_dict(0.9))
    ax = fig.axes[0]
    assert len(ax.collections) == cal.n_cuts  # one scatter per cut
    assert "PI half-width" in ax.get_legend().get_texts()[-1].get_text()
