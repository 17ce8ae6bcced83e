"""Objectives alone: values, derivatives against finite differences, registry errors."""

import numpy as np
import pytest

from scaling.fits.objectives import OBJECTIVES, get_objective, huber

R = np.array([-0.05, -2e-3, -5e-4, 0.0, 3e-4, 1e-3, 0.02])


def test_huber_matches_scipy_definition():
    from scipy.special import huber as scipy_huber

    np.testing.assert_allclose(huber(R, 1e-3)[0], scipy_huber(1e-3, R), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_psi_is_the_derivative_of_rho(name):
    objective = get_objective(name)
    eps = 1e-8
    # away from the kinks in curvature (Huber at |r| = delta, asymmetric at 0)
    r = R[(np.abs(np.abs(R) - 1e-3) > 1e-6) & (R != 0)]
    fd = (objective(r + eps)[0] - objective(r - eps)[0]) / (2 * eps)
    np.testing.assert_allclose(objective(r)[1], fd, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_weights_are_positive(name):
    assert np.all(get_objective(name)(R)[2] > 0)


def test_asymmetric_penalizes_over_prediction():
    rho = get_objective("asymmetric", k=4.0)(np.array([-0.1, 0.1]))[0]
    # r = log L - log L_hat < 0: the law over-predicts the loss
    assert rho[0] == pytest.approx(4 * rho[1])


def test_objective_is_summed_not_averaged():
    objective = get_objective("log-mse")
    assert objective.value(np.ones(10)) == pytest.approx(10.0)


def test_objective_spaces():
    assert get_objective("mse").space == "linear"
    assert {get_objective(n).space for n in ("huber", "log-mse", "asymmetric")} == {"log"}


def test_bad_objective_arguments():
    with pytest.raises(ValueError, match=r"`loss` must be one of \['asymmetric', 'huber'"):
        get_objective("l1")
    with pytest.raises(ValueError, match="`delta` must be a positive number"):
        get_objective("huber", delta=0)
    with pytest.raises(ValueError, match="asymmetry weight `k` must be a positive"):
        get_objective("asymmetric", k=-1)
