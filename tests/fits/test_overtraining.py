"""Over-training law (Gadre et al. 2024): tied exponent from a 5-point ladder; error link."""

import warnings

import numpy as np
import pytest

from scaling.fits import chinchilla, fit_law, get_law
from scaling.fits.laws.overtraining import OVERTRAINING, fit_top1_error, overtraining, top1_error

TRUE = {"E": 1.9, "a": 30.0, "b": 90.0, "eta": 0.16}


def test_is_chinchilla_with_tied_exponents():
    N, D = np.array([1e8, 1e9]), np.array([2e9, 5e11])
    six = 6.0 ** -TRUE["eta"]
    expected = chinchilla(N, D, TRUE["E"], TRUE["a"] * six, TRUE["b"] * six,
                          2 * TRUE["eta"], 2 * TRUE["eta"])
    np.testing.assert_allclose(overtraining(N, D, **TRUE), expected, rtol=1e-12)


def test_jacobian_matches_finite_differences():
    log_vars = (np.log([1e7, 1e8, 1e9]), np.log([1e9, 3e9, 2e10]))
    theta = OVERTRAINING.to_theta(TRUE)[None, :]
    _, jac = OVERTRAINING.log_model(log_vars, theta)
    for i in range(4):
        step = np.zeros_like(theta)
        step[0, i] = 1e-6
        numeric = (OVERTRAINING.log_model(log_vars, theta + step)[0]
                   - OVERTRAINING.log_model(log_vars, theta - step)[0]) / 2e-6
        np.testing.assert_allclose(jac[:, i], numeric, rtol=1e-6, atol=1e-9)


def five_point_ladder(seed, noise=0.001):
    """Five small runs, three at M = 20 and two over-trained (M = 640, 160)."""
    rng = np.random.default_rng(seed)
    N = np.array([1e7, 3e7, 1e8, 3e8, 1e9])
    D = N * np.array([20, 640, 20, 160, 20])
    return N, D, overtraining(N, D, **TRUE) * (1 + noise * rng.standard_normal(5))


def test_five_point_ladder_recovers_tied_exponent():
    N, D, L = five_point_ladder(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_law("overtraining", {"N": N, "D": D}, L, loss="log-mse")
    assert result["eta"] == pytest.approx(TRUE["eta"], abs=0.02)
    # extrapolates to a 10x larger, 10x over-trained model
    assert result.predict(N=1e10, D=2e12) == pytest.approx(overtraining(1e10, 2e12, **TRUE),
                                                           rel=0.01)


def test_registered():
    assert get_law("overtraining") is OVERTRAINING
    assert get_law("gadre") is OVERTRAINING


def test_top1_error_link_recovers_parameters():
    L = np.linspace(2.5, 4.0, 8)
    err = top1_error(L, 0.85, 2.0, 0.9) + 0.001 * np.random.default_rng(1).standard_normal(8)
    fit = fit_top1_error(L, err)
    assert fit["gamma"] == pytest.approx(0.9, rel=0.15)
    assert top1_error(2.0, fit["epsilon"], fit["k"], fit["gamma"]) == pytest.approx(
        top1_error(2.0, 0.85, 2.0, 0.9), abs=0.01)
    with pytest.raises(ValueError, match="needs >= 4"):
        fit_top1_error(L[:3], err[:3])
    with pytest.raises(ValueError, match=r"fractions in \(0, 1\]"):
        fit_top1_error(L, err * 10)


def test_tied_chinchilla_is_the_same_fit():
    # Gadre et al.'s form is Chinchilla with alpha tied to beta: the tie machinery
    # (fit_law(..., tied={"alpha": "beta"})) must land on the same optimum, alpha = 2 eta
    N, D, L = five_point_ladder(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tied = fit_law("chinchilla", {"N": N, "D": D}, L, loss="log-mse",
                       tied={"alpha": "beta"})
        direct = fit_law("overtraining", {"N": N, "D": D}, L, loss="log-mse")
    assert tied["alpha"] == tied["beta"]
    assert tied["alpha"] == pytest.approx(2 * direct["eta"], rel=1e-5)
    assert tied["alpha"] / 2 == pytest.approx(TRUE["eta"], abs=0.02)
