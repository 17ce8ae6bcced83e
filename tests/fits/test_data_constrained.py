"""Data-constrained law (Muennighoff et al. 2023): the authors' printed values and the
recovery of R_D* and of repeated-data losses from a synthetic 60-run ladder."""

import warnings

import numpy as np
import pytest

from scaling.fits import FitWarning, get_law
from scaling.fits.data_constrained_fit import fit_data_constrained
from scaling.fits.laws.data_constrained import (MUENNIGHOFF_2023, data_constrained,
                                                data_constrained_optimum, effective_data,
                                                repeat_value_half_life)

P = MUENNIGHOFF_2023


def test_published_constants_reproduce_printed_losses():
    # huggingface/datablations README, "Parametric Fit": the two models of the paper's
    # Figure 1 (right), printed as 2.2256440889984477 and 2.2269634075087867
    assert data_constrained(6.34e9, 242e9, 25e9, **P) == pytest.approx(2.2256, abs=5e-5)
    assert data_constrained(8.67e9, 178e9, 25e9, **P) == pytest.approx(2.2270, abs=5e-5)


def test_optimal_allocation_matches_printed_grid_search():
    # same README: optimal_allocation(8.67e9, 178e9, 25e9) -> "227B tokens, 9.1 epochs,
    # 6.8B parameters" (a grid search with ~0.4% steps)
    n, d, loss = data_constrained_optimum(6 * 8.67e9 * 178e9, 25e9, P)
    assert d == pytest.approx(227e9, rel=0.01)
    assert d / 25e9 == pytest.approx(9.1, abs=0.05)
    assert n == pytest.approx(6.8e9, rel=0.01)
    assert loss < data_constrained(6.34e9, 242e9, 25e9, **P)


def test_effective_data_limits():
    # one epoch is worth itself; infinitely many are worth (1 + R_D*) epochs (Sec. 3.1)
    assert effective_data(1e9, 1e9, 15.0) == pytest.approx(1e9)
    assert effective_data(1e15, 1e9, 15.0) == pytest.approx(16e9)
    assert repeat_value_half_life(P["RD_star"]) == pytest.approx(1 + 15.387756 * np.log(2))


def ladder(seed, noise=0.01):
    """60 runs over 1-60 epochs: 4 (N, U) pairs x 15 epoch counts, from the paper's law."""
    rng = np.random.default_rng(seed)
    epochs = np.geomspace(1, 60, 15)
    N = np.repeat([5e6, 2e7, 5e7, 2e7], 15)
    U = np.repeat([1e8, 4e8, 1e9, 1e8], 15)
    D = U * np.tile(epochs, 4)
    loss = data_constrained(N, D, U, **P) * (1 + noise * rng.standard_normal(60))
    return N, D, U, loss


@pytest.fixture(scope="module")
def paper_fit():
    # the paper's procedure, with its first stage (the Chinchilla terms from single-epoch
    # runs) given: R_D*, R_N* fitted on the 60 repeated runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit_data_constrained(*ladder(seed=0), base=P)


def test_synthetic_ladder_recovers_rd_star(paper_fit):
    result, params = paper_fit
    assert params["RD_star"] == pytest.approx(P["RD_star"], rel=0.15)
    assert result.law.startswith("data-constrained")
    assert set(result.params) == {"RD_star", "RN_star"}


@pytest.mark.parametrize("epochs", [4, 40])
def test_synthetic_ladder_predicts_repeated_loss(paper_fit, epochs):
    _, params = paper_fit
    for n, u in ((2e7, 4e8), (5e6, 1e8)):
        truth = data_constrained(n, u * epochs, u, **P)
        assert data_constrained(n, u * epochs, u, **params) == pytest.approx(truth, rel=0.005)


def test_joint_fit_runs_through_the_registry():
    law = get_law("data-constrained")
    assert law.variables == ("N", "D", "U")
    N, D, U, loss = ladder(seed=1, noise=0.002)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, params = fit_data_constrained(N, D, U, loss, procedure="joint")
    for epochs in (4, 40):
        truth = data_constrained(2e7, 4e8 * epochs, 4e8, **P)
        assert data_constrained(2e7, 4e8 * epochs, 4e8, **params) == pytest.approx(truth,
                                                                                   rel=0.005)


def test_first_stage_needs_single_epoch_runs():
    N, D, U, loss = ladder(seed=0)
    with pytest.raises(ValueError, match="single-epoch runs .* found 4, need >= 6"):
        fit_data_constrained(N, D, U, loss)
    with pytest.raises(ValueError, match="unique tokens U must be finite and > 0; .* row 2"):
        fit_data_constrained(N, D, np.r_[U[:2], -1.0, U[3:]], loss, base=P)
    with pytest.raises(ValueError, match="`procedure` must be"):
        fit_data_constrained(N, D, U, loss, procedure="two-stage")


def test_plan_section_answers_how_many_epochs():
    from scaling.fits.plan_data import data_constrained_plan

    base = {p: P[p] for p in ("E", "A", "B", "alpha", "beta")}
    section = data_constrained_plan(6 * 8.67e9 * 178e9, 25e9, base)
    assert section["epochs"] == pytest.approx(9.1, abs=0.05)  # the README's grid search
    assert section["loss_penalty"] > 0
    losses = [r["loss"] for r in section["epochs_table"]]
    assert min(losses) >= section["loss"] - 1e-9
    assert "Muennighoff et al. 2023's values" in section["warnings"][0]


def test_plan_fits_repetition_on_a_table_with_unique_tokens():
    import pandas as pd

    from scaling.fits.plan_data import data_constrained_plan

    N, D, U, loss = ladder(seed=0)
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(60)], "N": N, "D": D, "U": U,
                          "loss": loss})
    base = {p: P[p] for p in ("E", "A", "B", "alpha", "beta")}
    from scaling.data import validate

    section = data_constrained_plan(1e19, 1e9, base, table=validate(frame))
    assert section["source"].startswith("R_D*, R_N* fitted on the table's 60 runs")
    assert section["params"]["RD_star"] == pytest.approx(P["RD_star"], rel=0.15)


def test_cli_plan_unique_tokens(tmp_path):
    from click.testing import CliRunner

    from scaling.commands import main

    res = CliRunner().invoke(main, ["plan", "bundled:chinchilla_epoch", "--drop-highest", "5",
                                    "--compute", "5.88e23", "--bootstrap", "0",
                                    "--no-sensitivity", "--unique-tokens", "3e11"])
    assert res.exit_code == 0, res.output
    assert "with 3e+11 unique tokens" in res.output and "epochs" in res.output
    bad = CliRunner().invoke(main, ["plan", "bundled:chinchilla_epoch", "--compute", "1e23",
                                    "--unique-tokens", "-5"])
    assert bad.exit_code == 2


def test_epochs_column_gives_unique_tokens_and_chinchilla_warns():
    import pandas as pd

    from scaling.fits import ScalingLawFit

    N, D, U, loss = ladder(seed=0, noise=0.002)
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(60)], "N": N, "D": D,
                          "epochs": D / U, "loss": loss})
    with pytest.warns(FitWarning, match="60 run\\(s\\) repeat data|repeat data"):
        ScalingLawFit(law="chinchilla", starts=8).fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ScalingLawFit(law="data-constrained", starts=16).fit(frame)
    np.testing.assert_allclose(np.sort(fit.result_.data["points"]["U"]), np.sort(U), rtol=1e-12)
    with pytest.raises(ValueError, match="needs the unique tokens of each run: a `U` column"):
        ScalingLawFit(law="data-constrained").fit(frame.drop(columns="epochs"))
