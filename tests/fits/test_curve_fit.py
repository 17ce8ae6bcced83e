"""Fitting curve laws: synthetic recovery, result contract, acceptance on the bundled
Multi-Power curves."""

import json
import warnings

import numpy as np
import pytest

from scaling.data import load_multipower
from scaling.data.schedules import lr_schedule
from scaling.fits.curve import (Curve, CurveProblem, MPL_PUBLISHED, MPL_SHAPE_PRIOR, compare_schedules,
                        curves_from_table, fit_curve_law, fit_curves, fit_curves_joint,
                        get_curve_law, plot_schedules, predict_curve, predict_from_prefix,
                        prefix_report, published_for_schedule)
from scaling.fits.objectives import get_objective
from scaling.fits.result import FitResult

SCHEDULES = [
    {"kind": "constant", "peak_lr": 3e-4, "warmup_steps": 500, "total_steps": 8000},
    {"kind": "cosine", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 500,
     "total_steps": 8000},
    {"kind": "two_stage", "peak_lr": 3e-4, "end_lr": 9e-5, "warmup_steps": 500,
     "decay_start": 4000, "total_steps": 8000},
]


def synthetic(law, truth, noise=3e-4, seed=0, decay=0.999):
    rng = np.random.default_rng(seed)
    curves = []
    for i, spec in enumerate(SCHEDULES):
        lr = lr_schedule(spec)
        steps = np.arange(500, 8000, 64)
        plan = get_curve_law(law).make_plan(lr, steps, warmup_steps=500, decay=decay)
        loss = plan.loss(truth) * np.exp(noise * rng.standard_normal(steps.size))
        curves.append(Curve(f"run{i}", steps, loss, lr, warmup_steps=500, schedule=spec))
    return curves


def test_tissue_recovers_known_parameters():
    truth = {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4}
    res = fit_curve_law(synthetic("tissue", truth), "tissue")
    assert res.choices["decay"] == 0.999
    for name, value in truth.items():
        assert res[name] == pytest.approx(value, rel=0.1), name


def test_mpl_recovers_known_curves():
    truth = MPL_PUBLISHED["100M"]
    curves = synthetic("mpl", truth, noise=1e-4)
    res = fit_curve_law(curves, "mpl")
    for name in ("L0", "A", "alpha"):
        assert res[name] == pytest.approx(truth[name], rel=0.1), name
    # the curves (and a schedule none of them had) are recovered to the noise level
    spec = {"kind": "wsd", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 500,
            "cooldown_frac": 0.2, "total_steps": 8000}
    _, fitted = predict_curve(res, spec)
    _, true = predict_curve(truth, spec, law="mpl")
    # (the authors' procedure runs in its own convention, the warmup's rise counted, and
    # L0 is converted with G ~ 1: exact late, ~0.2% in the first steps after warmup)
    assert np.max(np.abs(fitted / true - 1)) < 2.5e-3
    assert np.max(np.abs(fitted / true - 1)[2000:]) < 1e-3


def test_result_is_json_with_heldout_errors():
    truth = {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4}
    curves = synthetic("tissue", truth)
    res = fit_curve_law(curves[:2], "tissue", heldout=curves[2:], select="loco")
    assert isinstance(res, FitResult)
    payload = json.loads(res.to_json())
    held = payload["data"]["heldout"]["run2"]
    assert set(held) >= {"mean_rel_error", "max_rel_error", "final_pred", "final_true"}
    assert held["mean_rel_error"] < 2e-3
    assert any(c["chosen"] for c in payload["convergence"]["candidates"])
    assert "loco_mean" in payload["convergence"]["candidates"][0]
    assert "tissue" in res.report()


def test_bad_options_raise():
    curves = synthetic("tissue", {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4})
    with pytest.raises(ValueError, match="`select` must be one of"):
        fit_curve_law(curves, "tissue", select="best")
    with pytest.raises(ValueError, match="select='loco' needs at least 2 curves"):
        fit_curve_law(curves[:1], "tissue", select="loco")
    with pytest.raises(ValueError, match="cannot fix"):
        fit_curve_law(curves, "tissue", fixed={"gamma": 0.5})


def test_early_curve_prediction_returns_value_and_interval():
    truth = {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4}
    curve = synthetic("tissue", truth)[1]
    out = predict_from_prefix(curve, {**truth, "C": 0.4}, law="tissue", upto_step=4000,
                              n_boot=50)
    lo, hi = out["final_loss"]["ci"]
    assert lo <= out["final_loss"]["value"] <= hi
    assert out["final_loss"]["value"] == pytest.approx(curve.loss[-1], rel=3e-3)


def test_schedule_comparison_ranks_decays_ahead_of_constant():
    rows = compare_schedules(MPL_PUBLISHED["25M"], 24000, 3e-4, warmup_steps=2160, law="mpl")
    assert rows[-1]["name"] == "constant"
    assert [r["final_loss"] for r in rows] == sorted(r["final_loss"] for r in rows)


def _size(size):
    table = load_multipower()
    return table.subset([r for r in table.runs["run_id"] if r.startswith(size + "/")])


@pytest.mark.parametrize("size", ["25M", "100M"])
def test_tissue_predicts_test_curves(size):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_curves(_size(size), "tissue")
    assert len(res.data["heldout"]) == 6
    assert res.data["heldout_summary"]["PredE"] <= 0.0018


@pytest.mark.parametrize("size, target, method", [("25M", 0.0012, "luo2025"),
                                                   ("100M", 0.0018, "converged")])
def test_mpl_predicts_test_curves(size, target, method):
    # the method is chosen by leave-one-run-out on the table (issue 25), not by a default
    # that won on one public dataset; at 100M LOCO prefers the converged optimum, which
    # predicts these test curves a little worse than the authors' procedure (0.00175 vs
    # the published 0.001425): the price of not looking at the test curves
    res = fit_curves(_size(size), "mpl")
    assert res.choices["select"] == "loco" and res.choices["method"] == method
    assert res.data["heldout_summary"]["PredE"] <= target


def test_mpl_candidates_are_chosen_by_leave_one_curve_out():
    # the 25M trap: the converged optimum (objective 1.4e-4, PredE 0.00137) is not the
    # best predictor; LOCO over the three fit curves picks the authors' procedure
    res = fit_curves(_size("25M"), "mpl", methods=("converged", "luo2025"))
    assert res.choices["select"] == "loco" and res.choices["method"] == "luo2025"
    cands = {c["method"]: c for c in res.convergence["candidates"]}
    assert cands["luo2025"]["loco_mean"] < cands["converged"]["loco_mean"]
    assert cands["converged"]["objective"] < 0.5 * cands["luo2025"]["objective"]
    assert res.data["heldout_summary"]["PredE"] == pytest.approx(0.00103, abs=1e-5)
    text = res.report()
    assert "chosen by leave-one-curve-out" in text and "<- chosen" in text


@pytest.mark.parametrize("size", ["25M", "100M"])
def test_luo2025_procedure_reproduces_published_parameters(size):
    table = load_multipower()
    curves = [c for c in curves_from_table(table) if c.run_id.startswith(size + "/")]
    fit = [c for c in curves if c.split == "fit"]
    test = [c for c in curves if c.split == "test"]
    res = fit_curve_law(fit, "mpl", methods=("luo2025",), heldout=test)
    # the published parameters, L0 converted to the package's convention (the warmup's
    # rise is not annealing: L0 + B (lr_peak - lr[0]))
    converted = published_for_schedule(MPL_PUBLISHED[size], fit[0].lr)
    for name, value in converted.items():
        assert res[name] == pytest.approx(value, rel=2e-4), name
    # ... and test errors as low as the published ones (0.00103 / 0.00134 against the
    # published 0.00110 / 0.00142), while the objective is far above the optimum
    published = {"25M": 0.00110, "100M": 0.00142}[size]
    assert published - 1e-4 < res.data["heldout_summary"]["PredE"] < published
    best = fit_curve_law(fit, "mpl", methods=("converged",))
    assert res.objective > 2 * best.objective


def test_instant_drop_start_is_the_global_optimum():
    from scipy.optimize import minimize
    from scaling.fits.curve.luo import instant_drop_start

    table = load_multipower()
    fit = [c for c in curves_from_table(table) if c.run_id.startswith("100M/")
           and c.split == "fit"]
    objective = get_objective("huber", delta=1e-3)
    start = instant_drop_start(fit, objective)

    def value(x):
        total = 0.0
        for c in fit:
            pred = x[0] + x[1] * np.cumsum(c.lr)[c.steps] ** -x[2] - x[3] * (3e-4 - c.lr[c.steps])
            if np.any(pred <= 0):
                return 1e9
            total += objective(np.log(c.loss / pred)[None])[0].sum()
        return total

    ours = value([start[p] for p in ("L0", "A", "alpha", "B")])
    for x0 in ([2.6, 0.5, 0.4, 100.0], [2.9, 0.7, 0.5, 1000.0], [2.7, 0.6, 0.3, 550.0]):
        res = minimize(value, x0, method="L-BFGS-B", bounds=[(0, None)] * 4,
                       options={"maxiter": 100000, "ftol": 1e-12, "gtol": 1e-10})
        assert ours <= res.fun * (1 + 1e-6)


def test_method_options_are_validated():
    curves = synthetic("tissue", {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4})
    with pytest.raises(ValueError, match="`methods` must be a non-empty subset"):
        fit_curve_law(curves, "tissue", methods=("adam",))
    with pytest.raises(ValueError, match="'luo2025' fits the multi-power law"):
        fit_curve_law(curves, "tissue", methods=("luo2025",))
    mpl = synthetic("mpl", MPL_PUBLISHED["25M"], noise=1e-4)
    with pytest.raises(ValueError, match="no `fixed`"):
        fit_curve_law(mpl, "mpl", methods=("luo2025",), fixed={"gamma": 0.6})


def test_tied_parameter_jacobian_matches_finite_differences():
    curves = synthetic("mpl", MPL_PUBLISHED["25M"], noise=0.0)[1:2]
    law = get_curve_law("mpl")
    problem = CurveProblem(law, curves, get_objective("mse"),
                           fixed={"C": 2.0, "beta": 0.6, "gamma": 0.6}, tied={"B": ("A", 700.0)})
    theta = np.array([3.0, np.log(0.5), 0.5])
    _, jac = problem.residuals(theta[None])
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        fd = (problem.residuals((theta + step)[None])[0] -
              problem.residuals((theta - step)[None])[0]) / 2e-6
        np.testing.assert_allclose(jac[0, i], fd[0], rtol=1e-4, atol=1e-9)
    assert law.from_theta(problem.full(theta[None])[0])["B"] == pytest.approx(350.0)


def test_prefix_options_are_validated():
    curve = synthetic("tissue", {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4})[1]
    truth = {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4}
    with pytest.raises(ValueError, match="`amplitude` must be one of"):
        predict_from_prefix(curve, truth, law="tissue", amplitude="grow")
    with pytest.raises(ValueError, match="`free` names unknown parameters"):
        predict_from_prefix(curve, truth, law="tissue", free=("L0", "A", "delta"))
    with pytest.raises(ValueError, match="pass `law=`"):
        predict_from_prefix(curve, truth)


def test_plot_schedules_writes_png(tmp_path):
    path = tmp_path / "schedules.png"
    png = plot_schedules(MPL_PUBLISHED["25M"], 24000, 3e-4, path, warmup_steps=2160,
                         law="mpl", n_points=60)
    assert path.read_bytes() == png
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def _early_setup(law):
    table = load_multipower()
    curves = curves_from_table(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = fit_curves(_size("25M"), law)
    fit25 = [c for c in curves if c.run_id.startswith("25M/") and c.split == "fit"]
    run = next(c for c in curves if c.run_id == "100M/cosine_72000")
    return ref, fit25, run


def test_tissue_early_curve_final_loss_within_1pct_and_covered():
    # acceptance: 100M cosine_72000 seen to step 21600 (30%), the 25M fit as reference
    ref, fit25, run = _early_setup("tissue")
    out = predict_from_prefix(run, ref, upto_step=21600, reference_curves=fit25)
    lo, hi = out["final_loss"]["pi"]
    assert run.loss[-1] == pytest.approx(2.8632)
    assert abs(out["final_loss"]["value"] / run.loss[-1] - 1) <= 0.01
    assert lo <= run.loss[-1] <= hi
    assert "bootstrap over the reference's 3 runs" in out["interval_method"]
    assert out["tied"]["C"]["to"] == "A"


@pytest.mark.slow
def test_mpl_early_curve_final_loss_within_1pct_and_covered():
    ref, fit25, run = _early_setup("mpl")
    rows = prefix_report(run, ref, fractions=(0.3,), reference_curves=fit25, n_boot=100)
    assert abs(rows[0]["rel_error"]) <= 0.01
    assert rows[0]["covered"]


def test_prefix_report_lists_error_and_width_per_fraction():
    ref, fit25, run = _early_setup("tissue")
    rows = prefix_report(run, ref, reference_curves=fit25, n_boot=100)
    assert [r["fraction"] for r in rows] == [0.1, 0.2, 0.3, 0.5, 0.7]
    assert all(abs(r["rel_error"]) < 0.01 and r["ci_width_rel"] > 0 for r in rows)
    # the model-discrepancy term (the reference's own held-out final-loss errors) keeps
    # the late intervals honest: the bootstrap alone misses the truth at 50% and 70%
    assert all(r["covered"] for r in rows)
    # more of the run seen, a narrower interval
    assert rows[-1]["ci_width_rel"] < rows[0]["ci_width_rel"]


def test_joint_fit_shares_shape_and_lets_amplitude_grow():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = fit_curves_joint(load_multipower(), "mpl")
    small, large = fits["25M"], fits["100M"]
    for name in ("C", "beta", "gamma"):
        assert small[name] == large[name]
    assert large["B"] > small["B"]
    assert large.choices["joint"]["shared"] == ["C", "beta", "gamma"]
    assert len(large.data["heldout"]) == 6
    # 0.00171 with the warmup's rise not counted as annealing (0.00158 when it was)
    assert large.data["heldout_summary"]["PredE"] < 0.0018


def test_shape_prior_penalty_gradient_and_result():
    curves = synthetic("mpl", MPL_PUBLISHED["25M"], noise=1e-4)
    law = get_curve_law("mpl")
    problem = CurveProblem(law, curves[1:2], get_objective("huber"), prior=MPL_SHAPE_PRIOR,
                           prior_scale=1e-6, fixed={"L0": 3.0})
    theta = law.to_theta(MPL_PUBLISHED["25M"])[problem.free] + 0.05
    value, grad, curv, _ = problem.evaluate(theta[None])
    assert value[0] == pytest.approx(problem.value(theta[None])[0])
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        fd = (problem.value((theta + step)[None]) - problem.value((theta - step)[None]))
        assert grad[0, i] == pytest.approx(fd[0] / 2e-6, rel=1e-4, abs=1e-12)
    with pytest.raises(ValueError, match="not free parameters"):
        CurveProblem(law, curves, get_objective("huber"), prior={"L0": (3.0, 0.1)},
                     fixed={"L0": 3.0})
    with pytest.raises(ValueError, match="must be > 0"):
        CurveProblem(law, curves, get_objective("huber"), prior={"beta": (0.5, 0.0)})
    res = fit_curve_law(curves, "mpl", prior=MPL_SHAPE_PRIOR)
    assert res.choices["prior"]["gamma"]["mean"] == MPL_SHAPE_PRIOR["gamma"][0]
    assert res.choices["prior_scale"] > 0 and "prior" in res.choices["objective_description"]
    assert res["gamma"] == pytest.approx(MPL_PUBLISHED["25M"]["gamma"], abs=0.1)


def test_discrepancy_widens_interval_and_is_reported():
    truth = {"L0": 2.8, "A": 0.6, "alpha": 0.45, "C": 0.4}
    curve = synthetic("tissue", truth)[1]
    kw = dict(law="tissue", upto_step=4000, n_boot=50)
    plain = predict_from_prefix(curve, truth, discrepancy=None, **kw)
    wide = predict_from_prefix(curve, truth, discrepancy=0.01, **kw)
    assert wide["final_loss"]["value"] == plain["final_loss"]["value"]
    width = [np.diff(o["final_loss"]["pi"])[0] for o in (plain, wide)]
    assert width[1] > width[0]
    assert "model discrepancy" in wide["interval_method"]
    with pytest.raises(ValueError, match="`discrepancy` must be"):
        predict_from_prefix(curve, truth, discrepancy=-1.0, **kw)
