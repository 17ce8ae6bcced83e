"""Shifted power law (loss -> loss): the function, its Jacobian and recovery of known truth."""

import warnings

import numpy as np
import pytest

from scaling.fits import FitWarning
from scaling.fits.l2l import (SHIFTED_POWER_LAW, fit_group, shifted_power_law,
                      shifted_power_law_inverse)

TRUE = {"K": 1.2, "kappa": 1.3, "E_x": 1.8, "E_y": 1.5}


def _pairs(n=40, noise=1e-3, seed=0, lo=2.2, hi=4.0, params=TRUE):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(lo, hi, n))
    y = shifted_power_law(x, **params) * np.exp(noise * rng.standard_normal(n))
    return x, y


def test_shifted_power_law_is_the_papers_equation():
    x = np.array([2.0, 3.0, 4.5])
    expected = 1.2 * (x - 1.8) ** 1.3 + 1.5
    np.testing.assert_allclose(shifted_power_law(x, **TRUE), expected)


def test_shifted_power_law_undefined_at_or_below_offset():
    assert np.isnan(shifted_power_law(np.array([1.8, 1.0]), **TRUE)).all()


def test_inverse_round_trips():
    x = np.array([2.0, 3.0, 4.5])
    np.testing.assert_allclose(shifted_power_law_inverse(shifted_power_law(x, **TRUE), **TRUE), x)
    with pytest.raises(ValueError, match="not above the offset E_y"):
        shifted_power_law_inverse(1.0, **TRUE)


def test_log_model_jacobian_matches_finite_differences():
    x = np.linspace(2.2, 4.0, 7)
    theta = np.array([[np.log(1.2), 1.3, 1.8, 1.5]])
    log_f, jac = SHIFTED_POWER_LAW.log_model((np.log(x),), theta)
    np.testing.assert_allclose(np.exp(log_f[0]), shifted_power_law(x, **TRUE))
    for i in range(4):
        step = np.zeros_like(theta)
        step[0, i] = 1e-6
        up = SHIFTED_POWER_LAW.log_model((np.log(x),), theta + step)[0]
        down = SHIFTED_POWER_LAW.log_model((np.log(x),), theta - step)[0]
        np.testing.assert_allclose(jac[0, i], (up - down)[0] / 2e-6, rtol=1e-5, atol=1e-8)


def test_recovers_kappa_and_K_to_1_percent_with_offsets_supplied():
    x, y = _pairs(noise=2e-3)
    fit = fit_group(x, y, E_x=TRUE["E_x"], E_y=TRUE["E_y"], n_boot=0).fit
    assert fit["K"] == pytest.approx(TRUE["K"], rel=0.01)
    assert fit["kappa"] == pytest.approx(TRUE["kappa"], rel=0.01)
    assert fit.choices["fixed"] == {"E_x": 1.8, "E_y": 1.5}
    assert fit.params["E_x"].stderr is None


def test_recovers_all_parameters_when_offsets_are_identified():
    # a wide, clearly curved range pins the offsets down
    params = {"K": 0.8, "kappa": 0.6, "E_x": 1.5, "E_y": 1.2}
    x, y = _pairs(n=60, noise=5e-4, lo=1.6, hi=5.0, params=params, seed=3)
    group = fit_group(x, y, n_boot=200, seed=0)
    for name, value in params.items():
        assert group.fit[name] == pytest.approx(value, rel=0.1), name
        lo, hi = group.fit.params[name].interval
        assert lo <= value <= hi, name
    assert not group.notes


def test_warns_when_offset_sits_at_its_bound():
    # nearly straight pairs: the offsets are not identified
    rng = np.random.default_rng(1)
    x = np.linspace(3.2, 4.0, 20)
    y = 0.95 * x + 0.1 + 1e-3 * rng.standard_normal(20)
    group = fit_group(x, y, n_boot=0)
    assert any("sits at its" in note and "E_x" in note for note in group.notes)
    at_bound = [p for p, e in group.fit.params.items() if e.at_bound]
    assert at_bound


def test_offsets_stay_below_every_observed_x():
    x, y = _pairs()
    group = fit_group(x, y, x_fit_mask=x > 2.6, n_boot=0, margin=0.9)
    assert group.fit["E_x"] <= 0.9 * x.min() + 1e-12
    assert np.all(np.isfinite(group.heldout["predicted"]))


def test_fit_invariant_to_row_order():
    x, y = _pairs()
    order = np.random.default_rng(0).permutation(x.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        a = fit_group(x, y, n_boot=0).fit.values
        b = fit_group(x[order], y[order], n_boot=0).fit.values
    for name in a:
        assert a[name] == pytest.approx(b[name], rel=1e-5, abs=1e-8)
