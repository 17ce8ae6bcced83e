"""Loss -> accuracy sigmoid: recovery, the chance floor, monotonicity flags, reliability."""

import numpy as np
import pandas as pd
import pytest

from scaling.fits import FitWarning
from scaling.fits.l2l import SIGMOID_LINK, fit_group, l2l_fit, monotonicity, reliability, sigmoid_link

TRUE = {"a": 0.25, "b": 0.85, "k": -3.0, "L0": 2.6}


def _task(n=50, noise=0.003, seed=0):
    rng = np.random.default_rng(seed)
    L = np.sort(rng.uniform(2.0, 4.0, n))
    return L, sigmoid_link(L, **TRUE) + noise * rng.standard_normal(n)


def test_sigmoid_link_asymptotes():
    assert sigmoid_link(100.0, **TRUE) == pytest.approx(0.25)
    assert sigmoid_link(-100.0, **TRUE) == pytest.approx(0.85)
    assert sigmoid_link(2.6, **TRUE) == pytest.approx(0.55)


def test_log_model_jacobian_matches_finite_differences():
    L = np.linspace(2.0, 4.0, 9)
    theta = np.array([[0.25, 0.85, -3.0, 2.6]])
    log_f, jac = SIGMOID_LINK.log_model((np.log(L),), theta)
    np.testing.assert_allclose(np.exp(log_f[0]), sigmoid_link(L, **TRUE))
    for i in range(4):
        step = np.zeros_like(theta)
        step[0, i] = 1e-6
        up = SIGMOID_LINK.log_model((np.log(L),), theta + step)[0]
        down = SIGMOID_LINK.log_model((np.log(L),), theta - step)[0]
        np.testing.assert_allclose(jac[0, i], (up - down)[0] / 2e-6, rtol=1e-5, atol=1e-8)


def test_recovers_sigmoid_with_chance_fixed():
    L, acc = _task()
    group = fit_group(L, acc, task=True, chance=0.25, n_boot=200)
    fit = group.fit
    assert fit["a"] == 0.25 and fit.choices["fixed"] == {"a": 0.25}
    for name in ("b", "k", "L0"):
        assert fit[name] == pytest.approx(TRUE[name], rel=0.05), name
    assert group.reliability["level"] == "high"
    assert group.reliability["residual_sd"] == pytest.approx(0.003, rel=0.3)


def test_recovers_free_lower_asymptote():
    L, acc = _task(n=80, noise=0.002, seed=2)
    fit = fit_group(L, acc, task=True, n_boot=0).fit
    assert fit["a"] == pytest.approx(0.25, abs=0.03)


def test_non_monotone_task_is_flagged_not_fitted():
    rng = np.random.default_rng(0)
    L = np.linspace(2.0, 4.0, 30)
    acc = 0.25 + 0.01 * rng.standard_normal(30)  # a task at chance: no signal
    group = fit_group(L, acc, task=True, chance=0.25)
    assert group.fit is None
    assert "not monotone" in group.flag


def test_grouped_task_fit_warns_on_flagged_group():
    rng = np.random.default_rng(0)
    L, acc = _task(n=30)
    frame = pd.DataFrame({"loss": np.r_[L, L], "acc": np.r_[acc, 0.25 + 0.01 *
                                                               rng.standard_normal(30)],
                          "set": ["good"] * 30 + ["noise"] * 30})
    with pytest.warns(FitWarning, match="noise: accuracy is not monotone in loss"):
        res = l2l_fit(frame, "loss", "acc", "set", task=True, chance=0.25, n_boot=50)
    assert res.groups["noise"].fit is None
    assert res.to_dict()["groups"]["noise"]["params"] == {}
    assert "not fitted" in res.report()


def test_monotonicity_and_reliability():
    L, acc = _task()
    assert monotonicity(L, acc) < -0.9
    rel = reliability(acc, sigmoid_link(L, **TRUE))
    assert rel["r2"] > 0.99 and rel["level"] == "high"
    assert reliability(acc, np.full_like(acc, acc.mean()))["level"] == "low"
