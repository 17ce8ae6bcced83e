"""Long per-step curves are fitted on exact Huber block sums (fits/curve/reduce.py)."""

import tracemalloc
import warnings

import numpy as np
import pytest

from scaling.data.schedules import lr_schedule
from scaling.fits.curve import MPL_PUBLISHED, Curve, MPLPlan, fit_curve_law
from scaling.fits.curve.laws import get_curve_law
from scaling.fits.curve.problem import CurveProblem, CurveSum
from scaling.fits.curve.reduce import (ReducedSum, curve_reduction, make_curve_sum,
                                       reduction_bound)
from scaling.fits.objectives import get_objective

TRUE = MPL_PUBLISHED["25M"]


def wsd_curve(T, seed=0, noise=0.01):
    spec = {"kind": "wsd", "peak_lr": 3e-4, "end_lr": 3e-5, "warmup_steps": 1000,
            "cooldown_frac": 0.2, "total_steps": T}
    lr = lr_schedule(spec)
    steps = np.arange(1000, T)
    L = MPLPlan(lr, steps).loss(TRUE)
    loss = L * np.exp(noise * np.random.default_rng(seed).standard_normal(L.size))
    return Curve("r", steps, loss, lr, warmup_steps=1000, schedule=spec)


@pytest.fixture(scope="module")
def curve20k():
    return wsd_curve(20_000)


def _sums(curve, law="mpl"):
    law = get_curve_law(law)
    objective = get_objective("huber")
    with curve_reduction(above=1_000):
        reduced = make_curve_sum(law, [curve], objective)
    return law, reduced, CurveSum(law, [curve], objective)


@pytest.mark.parametrize("change", [{}, {"alpha": 0.45}, {"L0": 3.0, "B": 500.0},
                                    {"gamma": 0.4, "beta": 0.7, "C": 1.0}])
def test_reduced_objective_within_its_bound(curve20k, change):
    law, reduced, full = _sums(curve20k)
    assert isinstance(reduced, ReducedSum) and reduced.n_points == curve20k.loss.size
    assert sum(c.loss.size for c in reduced.curves) < curve20k.loss.size / 5
    theta = law.to_theta({**TRUE, **change})
    report = reduction_bound(reduced, full, theta)
    gap = abs(report["objective_reduced"] - report["objective_full"])
    assert report["objective_full"] == pytest.approx(float(full.value(theta[None])[0]))
    assert gap <= report["error_bound"]
    # the default block widths keep the bound well under 1% of the objective
    assert report["error_bound_rel"] < 0.01


def test_reduced_gradient_matches_finite_differences(curve20k):
    law, reduced, _ = _sums(curve20k)
    theta = law.to_theta({**TRUE, "alpha": 0.47, "gamma": 0.6})
    value, grad = reduced.evaluate(theta[None])[:2]
    assert value[0] == pytest.approx(reduced.value(theta[None])[0], rel=1e-12)
    for j in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        fd = (reduced.value(up[None])[0] - reduced.value(down[None])[0]) / (2 * h)
        assert grad[0, j] == pytest.approx(fd, rel=2e-3, abs=1e-6 * abs(value[0]))


def test_short_curves_and_weights_are_fitted_point_by_point(curve20k):
    law, objective = get_curve_law("mpl"), get_objective("huber")
    assert type(make_curve_sum(law, [curve20k], objective)) is CurveSum  # 19,000 <= 20,000
    with curve_reduction(above=1_000):
        weights = np.ones(curve20k.loss.size)
        assert type(make_curve_sum(law, [curve20k], objective, weights=weights)) is CurveSum
        assert type(make_curve_sum(law, [curve20k], get_objective("mse"))) is CurveSum
    with curve_reduction(False, above=1_000):
        assert type(make_curve_sum(law, [curve20k], objective)) is CurveSum
    with pytest.raises(ValueError, match="unknown curve-reduction settings"):
        with curve_reduction(width=3):
            pass


def test_reduced_problem_keeps_its_blocks_when_rebuilt(curve20k):
    with curve_reduction(above=1_000):
        problem = CurveProblem(get_curve_law("mpl"), [curve20k], get_objective("huber"))
    rebuilt = CurveProblem(problem.law, problem.curves, problem.objective)  # as luo.py does
    assert isinstance(rebuilt.problem, ReducedSum)
    assert rebuilt.problem.n_points == curve20k.loss.size
    # predictions are exact at every observed step, not only at the blocks' nodes
    theta = problem.law.to_theta(TRUE)
    predicted = rebuilt.predictions(theta[None])[0][0]
    exact = MPLPlan(curve20k.lr, curve20k.steps).loss(TRUE)
    np.testing.assert_allclose(predicted, exact, rtol=1e-9)


def _fit(curve, law, reduce, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with curve_reduction(reduce, above=1_000):
            return fit_curve_law([curve], law, **options)


@pytest.mark.parametrize("law, options", [
    ("tissue", {"decays": (0.999,)}),
    pytest.param("mpl", {}, marks=pytest.mark.slow),  # the full MPL fit takes ~30 s
])
def test_reduced_fit_agrees_with_full_fit(curve20k, law, options):
    full = _fit(curve20k, law, False, **options)
    reduced = _fit(curve20k, law, True, **options)
    assert "curve_reduction" not in full.choices
    report = reduced.choices["curve_reduction"]
    assert report["applied"] and report["points"] == curve20k.loss.size
    assert report["error_bound_rel"] < 0.01
    # the multi-power law's converged optimum here has C at its bound, where beta and
    # gamma trade off along a flat valley and move by 1-2%: only the identified ones
    names = ("L0", "A", "alpha") if law == "mpl" else full.values
    for name in names:
        assert reduced.values[name] == pytest.approx(full.values[name], rel=0.01), name
    # residual statistics come from the full per-step curve
    assert reduced.data["residual_variance"] == pytest.approx(
        full.data["residual_variance"], rel=0.02)
    assert reduced.data["residual_variance"] == pytest.approx(1e-4, rel=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("law", ["mpl", "tissue"])
def test_million_step_curve(law):
    curve = wsd_curve(1_000_000)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_curve_law([curve], law)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    report = result.choices["curve_reduction"]
    assert report["points"] == curve.loss.size and report["blocks"] < 20_000
    assert report["error_bound_rel"] < 0.01
    assert peak < 1.0e9  # the full fit held 1.15 GB of arrays
    # the fit explains the curve down to its 1% noise (residual statistics per step)
    assert result.data["residual_variance"] == pytest.approx(1e-4, rel=0.05)
