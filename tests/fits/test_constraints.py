"""Fixed, tied and prior parameters and bound overrides: API and CLI."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from scaling import fits
from scaling.fits import FitWarning, ScalingLawFit
from scaling.fits.constraints import parse_constraints, to_lmfit_parameters
from scaling.fits.params import ParamModel

# an over-training ladder: 5 sizes at different tokens per parameter
N5 = np.array([2e7, 6e7, 2e8, 6e8, 2e9])
D5 = np.array([4e10, 1.2e9, 2e10, 3e9, 8e10])


def _ladder5(seed):
    rng = np.random.default_rng(seed)
    loss = fits.chinchilla(N5, D5, 1.8, 400.0, 2000.0, 0.33, 0.33) * \
        np.exp(rng.normal(0, 0.003, N5.size))
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(5)], "N": N5, "D": D5,
                         "loss": loss})


@pytest.mark.parametrize("seed", [0, 1])
def test_tied_exponent_recovered_from_five_points(seed):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)  # 4 free parameters, 5 points: no warning
        result = ScalingLawFit(tied={"beta": "alpha"}).fit(_ladder5(seed)).result_
    assert result["alpha"] == result["beta"]
    assert result["alpha"] == pytest.approx(0.33, abs=0.02)
    assert result.converged
    assert result.params["beta"].stderr == result.params["alpha"].stderr


def test_five_points_five_free_parameters_warns_instead_of_refusing():
    with pytest.warns(FitWarning, match=r"under-identified: 5 points for 5 free parameters.*"
                                        r"--tie alpha=beta"):
        result = ScalingLawFit().fit(_ladder5(0)).result_
    assert all(p.stderr is None or np.isnan(p.stderr) for p in result.params.values())


def test_fewer_points_than_free_parameters_raises_naming_the_options():
    with pytest.raises(ValueError, match=r"has 3 free parameters and needs at least 3 points "
                                         r"\(4 to check the fit\); got 2; fix or tie"):
        fits.fit_law("power-law", {"x": [1e6, 1e7]}, [3.0, 2.5])
    # fixing one parameter makes two points enough
    with pytest.warns(FitWarning, match="under-identified: 2 points for 2 free"):
        result = fits.fit_law("power-law", {"x": [1e6, 1e7]}, [3.0, 2.5], fixed={"E": 1.0})
    assert result["E"] == 1.0


def test_prior_pulls_towards_its_mean_and_is_recorded():
    rng = np.random.default_rng(3)
    x = np.geomspace(1e6, 1e9, 8)
    y = fits.power_law(x, 2.0, 60.0, 0.3) * np.exp(rng.normal(0, 0.01, x.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        free = fits.fit_law("power-law", {"x": x}, y, loss="log-mse")
        tight = fits.fit_law("power-law", {"x": x}, y, loss="log-mse",
                             prior={"alpha": (0.5, 1e-4)})
    assert abs(free["alpha"] - 0.3) < 0.1
    assert tight["alpha"] == pytest.approx(0.5, abs=2e-3)
    assert tight.choices["prior"] == {"alpha": {"mean": 0.5, "sd_fit_space": 1e-4}}
    assert tight.params["alpha"].stderr < 2e-4  # the prior dominates the posterior width


def test_bounds_override_and_bad_constraints():
    x = np.geomspace(1e6, 1e9, 6)
    y = fits.power_law(x, 2.0, 60.0, 0.3)
    with pytest.warns(FitWarning, match=r"alpha hit its upper bound 0.2; widen `bounds` "
                                        r"\(--bounds alpha=LO:HI\)"):
        fits.fit_law("power-law", {"x": x}, y, bounds={"alpha": (0.0, 0.2)})
    with pytest.raises(ValueError, match=r"cannot fix \['Q'\]: law 'power-law' has parameters"):
        fits.fit_law("power-law", {"x": x}, y, fixed={"Q": 1.0})
    with pytest.raises(ValueError, match="cannot tie E to alpha: one is fitted on a log scale"):
        fits.fit_law("power-law", {"x": x}, y, tied={"E": "alpha"})
    with pytest.raises(ValueError, match="`prior` on E, which is fixed or tied"):
        fits.fit_law("power-law", {"x": x}, y, fixed={"E": 2.0}, prior={"E": (2.0, 0.1)})


def test_parse_constraints_and_lmfit_round_trip():
    parsed = parse_constraints(fix=["E=1.69"], tie=["alpha=beta"], prior=["A=400:0.5"],
                               bounds=["beta=0.1:0.6"])
    assert parsed == {"fixed": {"E": 1.69}, "tied": {"alpha": "beta"},
                      "prior": {"A": (400.0, 0.5)}, "bounds": {"beta": (0.1, 0.6)}}
    with pytest.raises(ValueError, match=r"--prior 'alpha=0.3' : cannot read|--prior"):
        parse_constraints(prior=["alpha=0.3"])
    with pytest.raises(ValueError, match="--fix expects NAME=VALUE, got 'E'"):
        parse_constraints(fix=["E"])
    law = fits.get_law("chinchilla")
    params = to_lmfit_parameters(law, fixed={"E": 1.69}, tied={"alpha": "beta"},
                                 bounds={"beta": (0.1, 0.6)})
    assert not params["E"].vary and params["alpha"].expr == "beta"
    model = ParamModel.from_lmfit(law, params)
    assert model.fixed == {"E": 1.69} and model.tied == {"alpha": "beta"}
    assert model.free_names == ["A", "B", "beta"]
    theta = model.expand(np.array([[1.0, 2.0, 0.3]]))[0]
    assert theta[3] == theta[4] == 0.3 and theta[0] == pytest.approx(np.log(1.69))


def test_y_column_fits_a_hyperparameter_law():
    C = np.geomspace(1e17, 1e21, 7)
    lr = fits.power_law(C, 1e-4, 3.0, 0.1)
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(C.size)], "N": C / 6e10,
                          "D": 1e10, "loss": 3.0, "lr_opt": lr})
    result = ScalingLawFit(law="power-law", x="C", y="lr_opt").fit(frame).result_
    assert result["alpha"] == pytest.approx(0.1, rel=1e-4)
    assert result.data["y"] == "lr_opt" and result.equation.startswith("lr_opt(")
    with pytest.raises(ValueError, match="`y` column 'nope' is not in the table"):
        ScalingLawFit(law="power-law", y="nope").fit(frame)


@pytest.fixture(scope="module")
def cli_fixed():
    out = CliRunner().invoke(main, ["fit", "bundled:chinchilla_epoch", "--drop-highest", "5",
                                    "--fix", "E=1.69", "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_cli_fix_holds_e_and_frees_the_rest(cli_fixed):
    params = cli_fixed["params"]
    assert params["E"]["value"] == 1.69 and params["E"]["stderr"] is None
    assert cli_fixed["convergence"]["converged"]
    for name in ("A", "B", "alpha", "beta"):
        assert params[name]["stderr"] > 0 and params[name]["at_bound"] is None
    assert cli_fixed["choices"]["free"] == ["A", "B", "alpha", "beta"]


def test_cli_tie_gives_one_exponent():
    out = CliRunner().invoke(main, ["fit", "bundled:chinchilla_epoch", "--drop-highest", "5",
                                    "--tie", "alpha=beta", "--json"])
    assert out.exit_code == 0, out.output
    params = json.loads(out.output)["params"]
    assert params["alpha"]["value"] == params["beta"]["value"]
    assert 0.3 < params["alpha"]["value"] < 0.4


@pytest.mark.parametrize("args, message", [
    (["--fix", "E=abc"], "--fix 'E=abc': cannot read 'abc'"),
    (["--tie", "alpha=gamma"], "cannot tie ['gamma']"),
    (["--bounds", "alpha=0.5"], "--bounds 'alpha=0.5'"),
])
def test_cli_bad_constraints_exit_2_with_one_line(args, message):
    out = CliRunner().invoke(main, ["fit", "bundled:chinchilla_epoch", *args])
    assert out.exit_code == 2
    assert message in out.output and "Traceback" not in out.output


def test_l2l_fix_offsets_through_the_cli():
    out = CliRunner().invoke(main, ["l2l", "bundled:llm_line", "--x", "C4 Validation Loss",
                                    "--y", "FineWeb-Edu Validation Loss", "--group",
                                    "Pretraining Data", "--bootstrap", "0", "--fix",
                                    "E_x=1.8", "--fix", "E_y=2.1", "--json"])
    assert out.exit_code == 0, out.output
    groups = json.loads(out.output)["groups"]
    for group in groups.values():
        params = group["fit"]["params"]
        assert params["E_x"]["value"] == 1.8 and params["E_y"]["value"] == 2.1


def test_fit_law_accepts_lmfit_parameters():
    x = np.geomspace(1e6, 1e10, 10)
    y = fits.power_law(x, 1.7, 40.0, 0.25)
    law = fits.get_law("power-law")
    params = to_lmfit_parameters(law, fixed={"E": 1.7}, bounds={"alpha": (0.1, 0.5)})
    result = fits.fit_law("power-law", {"x": x}, y, fixed=params)
    assert result["E"] == 1.7 and result["alpha"] == pytest.approx(0.25, rel=1e-8)
    assert result.choices["bounds"]["alpha"] == pytest.approx([0.1, 0.5])
    assert result.choices["bounds"]["A"] == pytest.approx(list(law.bounds["A"]), rel=1e-9)
