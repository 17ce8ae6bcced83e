"""Every law: paper-symbol function, analytic Jacobian, bounds, and recovery of known truth."""

import numpy as np
import pytest

from scaling import fits
from scaling.fits.laws import LAWS, get_law, power_law_inverse

# one line per law: truth and a design that identifies it
TRUTH = {
    "power-law": ({"E": 2.0, "A": 50.0, "alpha": 0.3}, {"x": np.geomspace(1e6, 1e10, 9)}),
    "chinchilla": ({"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.37}, None),
    "kaplan": ({"N_c": 6.4e13, "D_c": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.095}, None),
    # numeric Jacobian, default variable-projection grid (fits/laws/bnsl.py)
    "bnsl": ({"a": 1.8, "b": 40.0, "c0": 0.1, "c1": 0.25, "d1": 3e8, "f1": 0.3},
             {"x": np.geomspace(3e6, 3e10, 25)}),
    # Gadre et al. 2024: Chinchilla with tied exponents, in C and M = D / N
    "overtraining": ({"E": 1.9, "a": 30.0, "b": 90.0, "eta": 0.16}, None),
    # Muennighoff et al. 2023 constants; single-epoch grid + repeated runs (U < D)
    "data-constrained": ({"E": 1.869, "A": 520.3, "B": 1487.0, "alpha": 0.3527, "beta": 0.3527,
                          "RD_star": 15.39, "RN_star": 5.31},
                         {"N": np.r_[np.repeat(np.geomspace(1e7, 1e10, 5), 5),
                                     np.repeat([1e7, 1e8, 1e9, 3e8], 6)],
                          "D": np.r_[np.tile(np.geomspace(1e8, 1e12, 5), 5),
                                     np.repeat([1e8, 1e9, 2e9, 1e11], 6)
                                     * np.tile([2, 4, 8, 16, 32, 64], 4)],
                          "U": np.r_[np.tile(np.geomspace(1e8, 1e12, 5), 5),
                                     np.repeat([1e8, 1e9, 2e9, 1e11], 6)]}),
}


def _design(name):
    truth, design = TRUTH[name]
    if design is None:
        n, d = np.meshgrid(np.geomspace(1e7, 1e10, 7), np.geomspace(1e8, 1e12, 7))
        design = {"N": n.ravel(), "D": d.ravel()}
    return truth, design


def test_every_law_has_a_recovery_case():
    assert set(TRUTH) == set(LAWS)


@pytest.mark.parametrize("name", sorted(LAWS))
def test_jacobian_matches_finite_differences(name):
    law = get_law(name)
    truth, design = _design(name)
    log_vars = tuple(np.log(design[v]) for v in law.variables)
    theta = law.to_theta(truth)[None, :] + 0.05
    _, jac = law.log_model(log_vars, theta)
    eps = 1e-6
    for i in range(theta.shape[1]):
        step = np.zeros_like(theta)
        step[0, i] = eps
        fd = (law.log_model(log_vars, theta + step)[0] - law.log_model(log_vars, theta - step)[0])
        np.testing.assert_allclose(jac[0, i], fd[0] / (2 * eps), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", sorted(LAWS))
def test_log_model_matches_paper_function(name):
    law = get_law(name)
    truth, design = _design(name)
    log_f, _ = law.log_model(tuple(np.log(design[v]) for v in law.variables),
                             law.to_theta(truth)[None, :])
    direct = law(*(design[v] for v in law.variables), **truth)
    np.testing.assert_allclose(np.exp(log_f[0]), direct, rtol=1e-12)


# a start whose derivatives overflow (data-constrained: inf x 0) is a failed start, not a
# numpy RuntimeWarning and a NaN step (fits.multistart.evaluate_in_blocks)
@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(LAWS))
def test_noise_free_data_recovers_truth_to_1e6(name):
    law = get_law(name)
    truth, design = _design(name)
    y = law(*(design[v] for v in law.variables), **truth)
    result = fits.fit_law(name, design, y)
    for key, value in truth.items():
        assert result[key] == pytest.approx(value, rel=1e-6), key
    assert result.objective < 1e-12
    assert result.converged


@pytest.mark.parametrize("name,tolerance", [("power-law", 0.05), ("chinchilla", 0.1),
                                            ("kaplan", 0.1)])
def test_noisy_data_recovers_exponents(name, tolerance):
    law = get_law(name)
    truth, design = _design(name)
    rng = np.random.default_rng(0)
    y = law(*(design[v] for v in law.variables), **truth)
    y = y * np.exp(rng.normal(0, 0.003, y.shape))
    result = fits.fit_law(name, design, y, loss="log-mse")
    for key in [p for p in law.params if p not in law.log_params]:
        assert result[key] == pytest.approx(truth[key], rel=tolerance), key


def test_power_law_inverse_round_trips():
    x = np.geomspace(1e6, 1e10, 5)
    loss = fits.power_law(x, 2.0, 50.0, 0.3)
    np.testing.assert_allclose(power_law_inverse(loss, 2.0, 50.0, 0.3), x, rtol=1e-10)


def test_power_law_inverse_below_floor_raises():
    with pytest.raises(ValueError, match="not above the irreducible loss E = 2"):
        power_law_inverse(1.9, 2.0, 50.0, 0.3)


def test_chinchilla_is_the_paper_formula():
    assert fits.chinchilla(1e9, 2e10, 1.69, 406.4, 410.7, 0.34, 0.28) == pytest.approx(
        1.69 + 406.4 / 1e9 ** 0.34 + 410.7 / 2e10 ** 0.28)


def test_kaplan_is_the_paper_formula():
    N, D = 1e9, 1e10
    expected = ((6.4e13 / N) ** (0.076 / 0.095) + 1.8e13 / D) ** 0.095
    assert fits.kaplan(N, D, 6.4e13, 1.8e13, 0.076, 0.095) == pytest.approx(expected)


def test_unknown_law_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown law 'chinchila'; known laws are \[.*'chinchilla'"):
        get_law("chinchila")


def test_user_bounds_validated():
    law = get_law("chinchilla")
    with pytest.raises(ValueError, match="'gamma', which is not a parameter"):
        law.theta_bounds({"gamma": (0, 1)})
    with pytest.raises(ValueError, match="lower < upper"):
        law.theta_bounds({"alpha": (1, 0)})
    with pytest.raises(ValueError, match="lower bound of 'E' must be > 0"):
        law.theta_bounds({"E": (0, 1)})


def test_predict_needs_positive_variables():
    law = get_law("chinchilla")
    params = TRUTH["chinchilla"][0]
    with pytest.raises(ValueError, match=r"needs \['D'\] to predict"):
        law.predict(params, N=1e9)
    with pytest.raises(ValueError, match="must be finite and > 0"):
        law.predict(params, N=-1.0, D=1e9)
