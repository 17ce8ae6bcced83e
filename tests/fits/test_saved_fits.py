"""Saved fits: a lossless JSON round trip for every family, batch predictions without
refitting (API and `scaling predict FIT.json --at TARGETS.csv`), issue 12 item 4."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.fits import (FitResult, FitWarning, ScalingLawFit, backtest, bootstrap, chinchilla,
                          with_bootstrap)
from scaling.fits.saved import load_saved, predict_targets

TRUTH = {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.37}


def _ladder(seed=0):
    """30 runs from a known Chinchilla law with 0.3% noise."""
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid(np.geomspace(1e7, 3e9, 6), np.geomspace(2e8, 6e10, 5))
    n, d = n.ravel(), d.ravel()
    loss = chinchilla(n, d, **TRUTH) * np.exp(0.003 * rng.standard_normal(n.size))
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(n.size)], "N": n, "D": d,
                         "loss": loss})


@pytest.fixture(scope="module")
def point_fit():
    """A point fit with bootstrap draws and backtests (random starts keep it fast)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        est = ScalingLawFit(starts=64, seed=0)
        table = _ladder()
        result = est.fit(table).result_
        result = with_bootstrap(result, bootstrap(result, n_boot=200, seed=0))
        result = result.with_data(backtest=backtest(est, table, result))
    return result


def _round_trip(payload):
    return json.loads(json.dumps(payload))


def test_point_fit_round_trips_with_bootstrap_and_backtest(point_fit):
    first = _round_trip(point_fit.to_dict())
    again = FitResult.from_dict(first).to_dict()
    assert again == first
    # every converged refit's draw is kept (unconverged ones are dropped after a retry)
    assert len(first["draws"]["alpha"]) == first["choices"]["bootstrap"]["used"] > 150
    assert "backtest" in first["data"] and first["data"]["data_hash"]
    assert first["choices"]["bootstrap"]["n_boot"] == 200


def test_curve_fit_round_trips_with_heldout():
    from tests.fits.test_curve_fit import synthetic
    from scaling.fits.curve import fit_curve_law

    curves = synthetic("tissue", {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res = fit_curve_law(curves[:2], "tissue", heldout=curves[2:], decays=(0.999,))
    first = _round_trip(res.to_dict())
    back = FitResult.from_dict(first)
    assert back.to_dict() == first
    assert back.heldout["run2"]["mean_rel_error"] == res.heldout["run2"]["mean_rel_error"]
    # a curve fit predicts along any schedule, through FitResult.predict
    spec = {"kind": "cosine", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 500,
            "total_steps": 8000}
    from scaling.fits.curve import predict_curve

    np.testing.assert_allclose(back.predict(schedule=spec), predict_curve(res, spec)[1],
                               rtol=1e-12)
    with pytest.raises(ValueError, match="schedule= .* or lr="):
        back.predict(N=1e9)
    # a table of schedules (CSV cells are text; empty cells are absent fields)
    targets = {"kind": ["cosine", "constant"], "total_steps": ["8000", "16000"],
               "peak_lr": ["3e-4", "3e-4"], "end_lr": ["3e-5", ""],
               "warmup_steps": ["500", "500"], "step": ["", "12000"]}
    preds = predict_targets(back, targets)
    constant = {"kind": "constant", "peak_lr": 3e-4, "warmup_steps": 500, "total_steps": 16000}
    np.testing.assert_allclose(preds.value, [predict_curve(res, spec)[1][-1],
                                                predict_curve(res, constant, [12000])[1][0]],
                               rtol=1e-12)
    # decades past the last fitted step (the cosine's last step 7999 is just past it)
    last = res.data["step_range"][1]
    np.testing.assert_allclose(preds.extrapolation,
                               np.log10(np.array([7999, 12000]) / last), rtol=1e-12)
    # a calibrated curve fit gives each row a pi (issue 25), wider further out
    assert np.all(preds.pi[:, 0] < preds.value) and np.all(preds.value < preds.pi[:, 1])
    assert np.all(preds.pi[:, 0] <= preds.ci[:, 0])
    width = preds.width()
    assert width[1] > width[0] and "jackknife" in preds.interval_method


def test_l2l_fit_round_trips():
    from scaling.fits.l2l import L2LResult, l2l_fit

    rng = np.random.default_rng(0)
    x = np.linspace(2.6, 4.0, 40)
    y = 0.9 * (x - 1.5) ** 1.2 + 1.4
    frame = pd.DataFrame({"Lx": x, "Ly": y * np.exp(0.002 * rng.standard_normal(x.size))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res = l2l_fit(frame, "Lx", "Ly", n_boot=50, seed=0)
    first = _round_trip(res.to_dict())
    back = L2LResult.from_dict(first)
    assert back.to_dict() == first
    preds = predict_targets(back, {"x": [3.0, 3.5]})
    np.testing.assert_allclose(preds.value, res.predict([3.0, 3.5]).value, rtol=1e-12)
    assert np.all(preds.ci[:, 0] < preds.value) and np.all(preds.value < preds.ci[:, 1])
    assert np.all(preds.pi[:, 0] <= preds.ci[:, 0]) and np.all(preds.ci[:, 1] <= preds.pi[:, 1])
    # the 20% lowest-x points are held out: x = 2.6 lies below the fitted range
    low = predict_targets(back, {"Lx": [2.6]})
    fitted_min = min(res.groups["all"].fit.data["points"]["x"])
    assert preds.extra["below_fitted_x"].tolist() == [0.0, 0.0]
    assert low.extra["below_fitted_x"][0] == pytest.approx(fitted_min - 2.6)


def test_targets_get_value_interval_and_distance(point_fit):
    N = np.array([1e8, 1e9, 7e10])
    D = np.array([2e9, 2e10, 1.4e12])
    preds = predict_targets(FitResult.from_dict(_round_trip(point_fit.to_dict())),
                            {"N": N, "D": D}, level=0.9)
    np.testing.assert_allclose(preds.value, chinchilla(N, D, **point_fit.values), rtol=1e-13)
    draws = {p: np.asarray(v)[:, None] for p, v in point_fit.draws.items()}
    expected = np.percentile(chinchilla(N[None], D[None], **draws), [5, 95], axis=0)
    np.testing.assert_allclose(preds.ci[:, 0], expected[0], rtol=1e-12)
    np.testing.assert_allclose(preds.ci[:, 1], expected[1], rtol=1e-12)
    # inside the fitted box: 0; 7e10 params at 1.4e12 tokens: log10(7e10 * 1.4e12 / (3e9 * 6e10))
    assert preds.extrapolation[:2].tolist() == [0.0, 0.0]
    assert preds.extrapolation[2] == pytest.approx(np.log10(7e10 * 1.4e12 / 1.8e20))


@pytest.fixture(scope="module")
def chinchilla_saved(tmp_path_factory):
    """`scaling fit bundled:chinchilla_epoch --drop-highest 5 --save f.json` (once)."""
    path = tmp_path_factory.mktemp("saved") / "f.json"
    out = CliRunner().invoke(main, ["fit", "bundled:chinchilla_epoch", "--drop-highest", "5",
                                    "--save", str(path)])
    assert out.exit_code == 0, out.output
    return path


def test_cli_predicts_10000_targets_equal_to_the_law(chinchilla_saved, tmp_path):
    rng = np.random.default_rng(1)
    N, D = 10 ** rng.uniform(7, 11, 10_000), 10 ** rng.uniform(9, 13, 10_000)
    targets = tmp_path / "targets.csv"
    pd.DataFrame({"N": N, "D": D}).to_csv(targets, index=False, float_format="%.17g")
    out = CliRunner().invoke(main, ["predict", str(chinchilla_saved), "--at", str(targets),
                                    "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    rows = payload["predictions"]
    assert payload["n_targets"] == len(rows) == 10_000
    params = {k: v["value"] for k, v in json.loads(chinchilla_saved.read_text())["params"].items()}
    value = np.array([r["value"] for r in rows])
    np.testing.assert_allclose(value, chinchilla(N, D, **params), rtol=1e-12, atol=0)
    assert np.array([r["N"] for r in rows]) == pytest.approx(N, rel=1e-15)
    # every prediction's JSON: value, ci, pi, level, extrapolation
    assert all(r["extrapolation"]["decades"] >= 0 for r in rows)
    assert all(r["level"] == 0.9 and r["ci"] is None for r in rows)
    pi = np.array([r["pi"] for r in rows])
    assert np.all(pi[:, 0] < value) and np.all(value < pi[:, 1])
    # no backtest saved: the conservative default, which widens with distance
    width = np.log(pi[:, 1] / pi[:, 0])
    far = np.array([r["extrapolation"]["decades"] for r in rows])
    assert width[far > 2].min() > width[far == 0].max()
    assert any("conservative default" in n for n in payload["notes"])
    assert any("without bootstrap draws" in n for n in payload["notes"])


def test_cli_writes_csv_and_names_missing_columns(chinchilla_saved, tmp_path):
    targets = tmp_path / "t.csv"
    targets.write_text("N,D\n7e10,1.4e12\n1e9,2e10\n")
    preds = tmp_path / "preds.csv"
    out = CliRunner().invoke(main, ["predict", str(chinchilla_saved), "--at", str(targets),
                                    "--out", str(preds)])
    assert out.exit_code == 0, out.output
    table = pd.read_csv(preds)
    assert list(table.columns) == ["N", "D", "value", "pi_lower", "pi_upper",
                                   "extrapolation_decades"]
    assert table["value"].iloc[0] == pytest.approx(
        FitResult.from_dict(json.loads(chinchilla_saved.read_text())).predict(N=7e10, D=1.4e12),
        rel=1e-15)
    bad = tmp_path / "bad.csv"
    bad.write_text("N,tokens\n7e10,1.4e12\n")
    out = CliRunner().invoke(main, ["predict", str(chinchilla_saved), "--at", str(bad)])
    assert out.exit_code == 2
    assert "law 'chinchilla' predicts at 'D'" in out.output
    bad.write_text("N,D\n7e10,lots\n")
    out = CliRunner().invoke(main, ["predict", str(chinchilla_saved), "--at", str(bad)])
    assert out.exit_code == 2 and "column 'D' must hold numbers; bad: row 2 ('lots')" in out.output
    out = CliRunner().invoke(main, ["predict", str(chinchilla_saved), "--at", "3e9"])
    assert out.exit_code == 2 and "--at TARGETS.csv" in out.output


def test_load_saved_rejects_what_is_not_a_fit(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"groups": {}}')
    with pytest.raises(ValueError, match="is not a saved fit: it names no law"):
        load_saved(path)
    path.write_text('{"law": "nope"}')
    with pytest.raises(ValueError, match="unknown law 'nope'"):
        load_saved(path)


def test_saved_fit_prediction_imports_neither_pandas_nor_scipy(chinchilla_saved, tmp_path):
    # what keeps `scaling predict FIT.json --at ...` fast as a whole process
    import subprocess
    import sys

    targets = tmp_path / "t.csv"
    targets.write_text("N,D\n7e10,1.4e12\n")
    code = ("import sys; from scaling.commands import main\n"
            f"main(['predict', {str(chinchilla_saved)!r}, '--at', {str(targets)!r}, '--json'],"
            " standalone_mode=False)\n"
            "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_saved_backtest_calibrates_the_batch_prediction_interval(point_fit):
    """A fit saved with --backtest carries its calibration: the batch pi is the one the
    fit's own backtests give, wider than its ci."""
    from scaling.fits.calibration import Calibration

    saved = FitResult.from_dict(_round_trip(point_fit.to_dict()))
    targets = {"N": np.array([1e8, 1e10]), "D": np.array([1e10, 1e12])}
    preds = predict_targets(saved, targets, level=0.9)
    cal = Calibration.from_dict(point_fit.data["backtest"]["calibration"])
    expected = cal.interval(preds.value, preds.extrapolation, 0.9, preds.ci)
    np.testing.assert_allclose(preds.pi, expected, rtol=1e-12)
    assert np.all(preds.pi[:, 0] <= preds.ci[:, 0])
    assert np.all(preds.pi[:, 1] >= preds.ci[:, 1])
    assert "calibrated by the fit's own backtests" in preds.warnings[0]
