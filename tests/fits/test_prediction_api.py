"""Every prediction is a Prediction: DataFrame in, DataFrame out (index kept), intervals
at the one default level, warnings on the result; plots only on the caller's Axes."""

import warnings

import numpy as np
import pandas as pd
import pytest

from scaling import fits
from scaling.fits import DEFAULT_LEVEL, Prediction, ScalingLawFit


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    N = np.repeat([1e7, 3e7, 1e8, 3e8], 4)
    D = np.tile([2e8, 6e8, 2e9, 6e9], 4)
    loss = (1.8 + 400 * N ** -0.34 + 2000 * D ** -0.37) * np.exp(rng.normal(0, 0.004, N.size))
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(N.size)], "N": N, "D": D,
                         "loss": loss})


@pytest.fixture(scope="module")
def fitted(frame):
    return ScalingLawFit(law="chinchilla", starts=16).fit(frame, warn=False)


def test_dataframe_in_dataframe_out_with_index_and_intervals(fitted):
    targets = pd.DataFrame({"N": [1e9, 3e8], "D": [2e10, 6e9]}, index=["big", "edge"])
    pred = fitted.predict(targets, n_boot=100)
    assert isinstance(pred, Prediction) and pred.level == DEFAULT_LEVEL == 0.9
    v = fitted.result_.values
    expected = v["E"] + v["A"] / targets["N"] ** v["alpha"] + v["B"] / targets["D"] ** v["beta"]
    np.testing.assert_allclose(np.asarray(pred), expected.to_numpy(), rtol=1e-12)
    out = pred.to_frame()
    assert list(out.index) == ["big", "edge"]
    assert {"N", "D", "value", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
            "extrapolation"} <= set(out.columns)
    assert (out["pi_lower"] <= out["ci_lower"]).all() and (out["ci_upper"] <= out["pi_upper"]).all()
    assert out.loc["edge", "extrapolation"] == pytest.approx(0.0)
    assert out.loc["big", "extrapolation"] > 0.5  # C = N D is ~1.1 decades past the largest
    assert pred.interval_method == "backtest" and fitted.calibration_ is not None


def test_keywords_and_errors_name_the_laws_variables(fitted):
    pred = fitted.predict(N=1e9, D=2e10, n_boot=0, calibration="default")
    assert pred.ci is None and pred.pi.shape == (1, 2) and len(pred) == 1
    assert float(pred) == pytest.approx(float(fitted.result_.predict(N=1e9, D=2e10)))
    with pytest.raises(ValueError, match="give both N and D"):
        fitted.predict(N=1e9)
    with pytest.raises(ValueError, match=r"unknown variable\(s\) \['U'\]"):
        fitted.predict(N=1e9, D=2e10, U=1e9)
    with pytest.raises(TypeError, match="not both"):
        fitted.predict(pd.DataFrame({"N": [1e9], "D": [1e10]}), N=1.0)


def test_law_targets_is_generic_in_the_laws_variables():
    from scaling.fits.laws import get_law
    from scaling.fits.predict import law_targets

    law = get_law("data-constrained")
    assert set(law.variables) > {"N", "D"}
    at = law_targets(law, {v: [1e9, 2e9] for v in law.variables})
    assert list(at) == list(law.variables) and at[law.variables[-1]].shape == (2,)
    with pytest.raises(ValueError, match="missing"):
        law_targets(law, {"N": 1e9, "D": 1e10})


def test_prediction_entry_keeps_its_json_shape():
    from scaling.fits.calibration import default_calibration
    from scaling.fits.intervals import prediction_entry

    entry = prediction_entry(2.0, [1.9, 2.1], [1.8, 2.2], 0.9, 1.5, {"N": 1.0, "C": 1.5},
                             default_calibration("test"))
    assert entry == {"value": 2.0, "ci": [1.9, 2.1], "pi": [1.8, 2.2], "level": 0.9,
                     "extrapolation": {"decades": 1.5, "by": {"N": 1.0, "C": 1.5}},
                     "pi_method": "default"}


def test_fit_warnings_stay_on_the_result_when_asked(frame):
    two = frame[frame["N"] <= 3e7]  # 2 model sizes: not identified
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = ScalingLawFit(law="chinchilla", starts=8).fit(two, warn=False).result_
    assert any("NOT identified" in w for w in quiet.warnings)
    with pytest.warns(fits.FitWarning, match="NOT identified"):
        ScalingLawFit(law="chinchilla", starts=8).fit(two)


def test_predict_point_carries_the_fits_and_the_extrapolations_warnings(frame):
    est = ScalingLawFit(law="chinchilla", starts=8)
    from scaling.fits.calibration import default_calibration

    pred = fits.predict_point(est, frame, N=1e12, D=1e13, n_boot=0,
                              calibration=default_calibration("test"))
    assert isinstance(pred, Prediction)
    assert any("decades beyond the fitted range" in w for w in pred.warnings)
    assert pred.entry(0)["pi_method"] == "default"


def test_fit_result_html_is_tables(fitted):
    html = fitted.result_._repr_html_()
    assert html.count("<table") == 2 and "alpha" in html and "<pre>" not in html
    params = fitted.result_.params_frame()
    assert params.loc["alpha", "value"] == pytest.approx(fitted.result_["alpha"])


def test_early_curve_result_is_a_prediction_and_a_small_detail():
    from scaling.fits.curve import EarlyCurve
    from scaling.fits.curve import early_result

    out = {"final_loss": {"value": 2.9, "ci": [2.88, 2.92], "pi": [2.8, 3.0], "level": 0.9,
                          "extrapolation": {"decades": 0.5}},
           "params": {"L0": 2.5, "A": 0.4}, "fixed": {"alpha": 0.5},
           "tied": {"B": {"to": "A", "ratio": 2.0}}, "amplitude": "scaled",
           "upto_step": 299, "final_step": 999, "fraction_seen": 0.3,
           "interval_method": "bootstrap", "warnings": ["w"],
           "curve": {"steps": list(range(1000)), "loss": [3.0] * 1000}}
    early = early_result.early_curve(out, run_id="run-a", law="tissue")
    assert isinstance(early, EarlyCurve)
    frame = early.to_frame()
    assert list(frame.index) == ["run-a"] and frame["pi_upper"].iloc[0] == 3.0
    assert frame["step"].iloc[0] == 999 and early.warnings == ("w",)
    assert early.detail.tied["B"]["to"] == "A" and early.curve_frame().shape == (1000, 2)
    assert len(repr(early)) < 1000 and "<table" in early._repr_html_()
    with pytest.raises(AttributeError):
        early.detail.upto_step = 3  # immutable


def test_selection_finish_returns_a_new_result(fitted):
    from dataclasses import replace

    from scaling.fits.selection import finish_selection

    class Sel:  # a selection with nothing held out and no pooled groups
        heldout = pd.DataFrame()
        record = {}

    before = replace(fitted.result_)
    out = finish_selection(before, Sel(), None, None, warn=False)
    assert out is not before and out.warnings == before.warnings


def test_schedule_ranking_is_a_prediction_indexed_by_schedule_and_plots_on_an_ax():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from scaling.fits.curve import compare_schedules, plot_schedules, predict_schedules
    from scaling.fits.curve.mpl import MPL_PUBLISHED

    pred = predict_schedules(MPL_PUBLISHED["25M"], 24000, 3e-4, warmup_steps=2160, law="mpl")
    rows = compare_schedules(MPL_PUBLISHED["25M"], 24000, 3e-4, warmup_steps=2160, law="mpl")
    assert list(pred.index) == [r["name"] for r in rows]
    np.testing.assert_allclose(pred.value, [r["final_loss"] for r in rows], rtol=0)
    assert np.all(np.diff(pred.value) >= 0) and pred.to_frame().index[0] == rows[0]["name"]
    assert pred.pi is None and "no interval" in pred.warnings[0]
    fig, ax = plt.subplots()
    out = plot_schedules(MPL_PUBLISHED["25M"], 24000, 3e-4, warmup_steps=2160, law="mpl", ax=ax)
    assert out is fig and len(ax.lines) == len(rows) and fig._suptitle is None
    plt.close(fig)


def test_residuals_and_curve_plots_draw_only_on_the_callers_axes(fitted):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from scaling.fits.plots import plot_residuals

    fig, axes = plt.subplots(1, 2)
    assert plot_residuals(fitted.result_, ax=axes) is fig
    assert fig._suptitle is None and axes[0].get_xlabel() == "N"
    plt.close(fig)


@pytest.mark.slow
def test_curve_fit_plot_takes_one_axes():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from scaling.data import load_multipower
    from scaling.fits.curve import fit_curves
    from scaling.fits.plots import plot_curve_fit

    table = load_multipower().subset(["25M/constant_24000", "25M/cosine_24000"])
    fig, ax = plt.subplots()
    assert plot_curve_fit(fit_curves(table, "tissue"), table, ax=ax) is fig
    assert len(ax.lines) == 4 and ax.get_xlabel() == "step" and len(fig.axes) == 1
    plt.close(fig)


def test_plan_loss_is_a_prediction_and_the_plan_a_frame(frame):
    plan = fits.plan_compute(frame, 1e20, estimator=ScalingLawFit(law="chinchilla", starts=8),
                             n_boot=50, sensitivity=False)
    pred = plan.loss_prediction()
    assert pred.value[0] == plan.loss.value and tuple(pred.pi[0]) == tuple(plan.loss.pi)
    assert pred.level == 0.9 and pred.at["N"][0] == plan.N_opt.value
    table = plan.to_frame()
    assert list(table.index) == ["N_opt", "D_opt", "tokens_per_param", "loss"]
    assert table.loc["loss", "pi_lower"] <= table.loc["loss", "ci_lower"]
    assert "<table" in plan._repr_html_()


def test_l2l_result_is_a_frame_and_its_prediction_has_ci_and_pi():
    from scaling.fits.l2l import l2l_fit

    rng = np.random.default_rng(0)
    x = np.linspace(3.0, 4.0, 40)
    y = (0.9 * (x - 2.0) ** 1.1 + 1.0) * np.exp(0.002 * rng.standard_normal(x.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.FitWarning)
        res = l2l_fit(pd.DataFrame({"lx": x, "ly": y}), "lx", "ly", n_boot=100)
    table = res.to_frame()
    assert list(table.index) == list(res.groups) and "heldout_coverage" in table
    assert "<table" in res._repr_html_()
    pred = res.predict([2.9, 3.5])
    assert isinstance(pred, Prediction) and pred.extrapolation[0] > 0 == pred.extrapolation[1]
    assert np.all(pred.pi[:, 0] <= pred.ci[:, 0]) and np.all(pred.ci[:, 1] <= pred.pi[:, 1])
