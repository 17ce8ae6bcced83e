"""A law is one file: the registry, numeric Jacobians, variable-projection starts, the
broken power law fitted and predicted through the CLI, `scaling laws` (issue 12 item 2)."""

import dataclasses
import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.fits import FitWarning, fit_law
from scaling.fits.laws import (CHINCHILLA, REGISTRY, Law, all_laws, describe_law, get_any_law,
                               law_names)
from scaling.fits.laws.bnsl import BNSL, broken_power_law

BNSL_TRUTH = {"a": 1.8, "b": 40.0, "c0": 0.1, "c1": 0.25, "d1": 3e8, "f1": 0.3}


@pytest.mark.parametrize("method", ["central", "complex-step"])
def test_numeric_jacobian_matches_the_analytic_one(method):
    numeric = dataclasses.replace(CHINCHILLA, name="chinchilla-numeric", log_model=None,
                                  grid=None, guess=None, jacobian=method)
    assert numeric.numeric_jacobian and not CHINCHILLA.numeric_jacobian
    n, d = np.meshgrid(np.geomspace(1e7, 1e10, 4), np.geomspace(1e8, 1e12, 4))
    log_vars = (np.log(n.ravel()), np.log(d.ravel()))
    theta = np.array([[0.5, 6.0, 7.5, 0.34, 0.28], [0.2, 4.0, 9.0, 0.5, 0.4]])
    log_f, jac = numeric.log_model(log_vars, theta)
    log_f0, jac0 = CHINCHILLA.log_model(log_vars, theta)
    np.testing.assert_allclose(log_f, log_f0, rtol=1e-14)
    tol = 1e-13 if method == "complex-step" else 1e-7
    np.testing.assert_allclose(jac, jac0, rtol=tol, atol=tol)


def test_a_user_law_in_a_few_lines_fits_with_defaults():
    # parameters read from the signature; no Jacobian, no grid, no guess
    def saturating(x, E, A, alpha):
        return E + A * x ** -alpha

    law = Law(name="mine", function=saturating, variables=("x",), params=(),
              log_params=("E", "A"), linear=("E", "A"),
              bounds={"E": (1e-3, 10.0), "A": (1e-3, 1e6), "alpha": (0.01, 2.0)})
    assert law.params == ("E", "A", "alpha")
    x = np.geomspace(1e6, 1e10, 12)
    result = fit_law(law, {"x": x}, saturating(x, 2.0, 50.0, 0.3))
    assert result["alpha"] == pytest.approx(0.3, rel=1e-5)  # numeric Jacobian: ~1e-6
    assert result.converged


def test_law_spec_errors_name_the_parameter():
    with pytest.raises(ValueError, match=r"\['beta'\] are not parameters"):
        Law(name="bad", function=lambda x, E: E, variables=("x",), params=(),
            log_params=("beta",), bounds={"E": (0, 1)})
    with pytest.raises(ValueError, match=r"\['E'\] have no bounds"):
        Law(name="bad", function=lambda x, E: E, variables=("x",), params=(),
            log_params=(), bounds={})


def test_registry_lists_every_family_and_loads_each_law():
    assert law_names("point")[:3] == ["power-law", "kaplan", "chinchilla"]
    assert {"bnsl", "mpl", "tissue", "tissue-sized", "shifted-power-law"} <= set(REGISTRY)
    laws = all_laws()
    for name, law in laws.items():
        assert law.name == name
        d = describe_law(name)
        assert d["citation"] and d["equation"] and set(d["params"]) == set(law.params)
    assert describe_law("mpl")["shared"] == ["C", "beta", "gamma"]
    assert get_any_law("tissue").linear == ("L0", "A", "C")


def test_bnsl_has_no_jacobian_and_recovers_a_break():
    assert BNSL.numeric_jacobian
    x = np.geomspace(3e6, 3e10, 25)
    rng = np.random.default_rng(0)
    y = broken_power_law(x, **BNSL_TRUTH) * np.exp(0.002 * rng.standard_normal(x.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        result = fit_law("bnsl", {"x": x}, y)
    assert result["c0"] == pytest.approx(0.1, abs=0.01)
    assert result["c0"] + result["c1"] == pytest.approx(0.35, abs=0.02)  # slope after it
    assert np.log10(result["d1"]) == pytest.approx(np.log10(3e8), abs=0.15)


def test_bnsl_fits_and_predicts_through_the_cli(tmp_path):
    x = np.geomspace(3e6, 3e10, 25)
    rng = np.random.default_rng(1)
    y = broken_power_law(x, **BNSL_TRUTH) * np.exp(0.001 * rng.standard_normal(x.size))
    data = tmp_path / "runs.csv"
    data.write_text("run_id,N,loss\n" + "".join(f"r{i},{a:.17g},{b:.17g}\n"
                                                 for i, (a, b) in enumerate(zip(x, y))))
    saved = tmp_path / "bnsl.json"
    runner = CliRunner()
    out = runner.invoke(main, ["fit", str(data), "--law", "bnsl", "--x", "N",
                               "--save", str(saved)])
    assert out.exit_code == 0, out.output
    assert "Caballero et al. 2023" in out.output
    targets = tmp_path / "targets.csv"
    targets.write_text("N\n1e8\n1e11\n")
    out = runner.invoke(main, ["predict", str(saved), "--at", str(targets), "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)["predictions"]
    params = {k: v["value"] for k, v in json.loads(saved.read_text())["params"].items()}
    np.testing.assert_allclose([r["value"] for r in rows],
                               broken_power_law(np.array([1e8, 1e11]), **params), rtol=1e-12)
    np.testing.assert_allclose([r["value"] for r in rows],
                               broken_power_law(np.array([1e8, 1e11]), **BNSL_TRUTH), rtol=5e-3)
    assert rows[0]["extrapolation"]["decades"] == 0.0
    assert rows[1]["extrapolation"]["decades"] == pytest.approx(np.log10(1e11 / 3e10))


def test_scaling_laws_lists_equations_parameters_and_citations():
    runner = CliRunner()
    out = runner.invoke(main, ["laws"])
    assert out.exit_code == 0, out.output
    for name in REGISTRY:
        assert f"{name}  (" in out.output
    assert "L(N, D) = E + A / N^alpha + B / D^beta" in out.output
    assert "arXiv 2210.14891" in out.output and "jacobian: numeric (central)" in out.output
    out = runner.invoke(main, ["laws", "chinchilla", "--json"])
    [entry] = json.loads(out.output)
    assert entry["params"]["alpha"] == {"lower": 0.0, "upper": 3.0, "log_scale": False,
                                        "linear": False}
    out = runner.invoke(main, ["laws", "chinchila"])
    assert out.exit_code == 2 and "unknown law(s) ['chinchila']" in out.output


USER_LAW = '''
import numpy as np
from scaling.fits.laws.base import Law


def kaplan_x(x, E, x_c, alpha):
    """L = E + (x / x_c)^-alpha (Kaplan et al. 2020, arXiv 2001.08361, with a floor E)."""
    return E + np.power(x / x_c, -alpha)


LAW = Law(name="kaplan-x", function=kaplan_x, variables=("x",), params=(),
          log_params=("E", "x_c"), linear=("E",),
          bounds={"E": (1e-3, 10.0), "x_c": (1e-3, 1e20), "alpha": (0.01, 2.0)},
          start_values={"x_c": (1e3, 1e6, 1e9, 1e12), "alpha": (0.05, 0.1, 0.3, 0.6)},
          equation="L(x) = E + (x / x_c)^-alpha", citation="Kaplan et al. 2020")
'''


def test_a_law_file_plus_a_registry_line_is_all_the_cli_needs(tmp_path, monkeypatch):
    (tmp_path / "h2_user_law.py").write_text(USER_LAW)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(REGISTRY, "kaplan-x", ("point", "h2_user_law:LAW"))
    x = np.geomspace(1e6, 1e10, 15)
    y = 1.7 + (x / 8.8e13) ** -0.076 * np.exp(0.0005 * np.random.default_rng(0).standard_normal(15))
    (tmp_path / "runs.csv").write_text("run_id,N,loss\n" + "".join(
        f"r{i},{a:.17g},{b:.17g}\n" for i, (a, b) in enumerate(zip(x, y))))
    runner = CliRunner()
    out = runner.invoke(main, ["laws", "kaplan-x"])
    assert out.exit_code == 0 and "jacobian: numeric (central)" in out.output
    out = runner.invoke(main, ["fit", str(tmp_path / "runs.csv"), "--law", "kaplan-x", "--x",
                               "N", "--json", "--save", str(tmp_path / "fit.json")])
    assert out.exit_code == 0, out.output
    fitted = json.loads(out.output)["params"]
    assert fitted["alpha"]["value"] == pytest.approx(0.076, rel=0.1)
    (tmp_path / "t.csv").write_text("N\n1e11\n")
    out = runner.invoke(main, ["predict", str(tmp_path / "fit.json"), "--at",
                               str(tmp_path / "t.csv"), "--json"])
    assert out.exit_code == 0, out.output
    value = json.loads(out.output)["predictions"][0]["value"]
    params = {k: v["value"] for k, v in fitted.items()}
    assert value == pytest.approx(params["E"] + (1e11 / params["x_c"]) ** -params["alpha"],
                                  rel=1e-12)
