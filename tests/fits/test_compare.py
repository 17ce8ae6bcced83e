"""Recipe comparison: the effective compute multiplier of B over A, with an interval."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.fits.compare import compare_ladders, effective_compute_multiplier

P = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}  # Hoffmann et al. 2022


def ladder(multiplier, seed, noise=0.005):
    """24 runs (6 sizes x 4 token ratios). A recipe worth ``multiplier`` x compute is the
    law evaluated at (s N, s D) with s^2 = multiplier: its frontier is L*(multiplier C)."""
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(1e7, 1e9, 6), 4)
    D = N * np.tile([5, 10, 20, 40], 6) * np.repeat(np.geomspace(1, 4, 6), 4)
    s = np.sqrt(multiplier)
    loss = P["E"] + P["A"] * (s * N) ** -P["alpha"] + P["B"] * (s * D) ** -P["beta"]
    return pd.DataFrame({"N": N, "D": D, "loss": loss * (1 + noise * rng.standard_normal(24))})


def test_multiplier_of_the_law_itself():
    s = np.sqrt(1.5)
    scaled = dict(P, A=P["A"] * s ** -P["alpha"], B=P["B"] * s ** -P["beta"])
    m = effective_compute_multiplier(np.geomspace(1e18, 1e24, 4), P, scaled)
    np.testing.assert_allclose(m, 1.5, rtol=1e-9)


@pytest.fixture(scope="module")
def better_b():
    return compare_ladders(ladder(1.0, 0), ladder(1.5, 1), n_boot=200)


def test_one_and_a_half_times_compute_is_found(better_b):
    for row in better_b.budgets:
        assert row["ci"][0] <= 1.5 <= row["ci"][1]
        assert row["ci"][0] > 1
        assert row["verdict"] == "B better"
    assert "B better" in better_b.report()


def test_identical_recipes_get_no_verdict():
    same = compare_ladders(ladder(1.0, 0), ladder(1.0, 1), n_boot=200)
    for row in same.budgets:
        assert row["ci"][0] <= 1 <= row["ci"][1]
        assert row["verdict"].startswith("no difference")


def test_cli_compare_writes_plot(tmp_path):
    from scaling.commands import main

    ladder(1.0, 0).to_csv(tmp_path / "a.csv", index=False)
    ladder(1.5, 1).to_csv(tmp_path / "b.csv", index=False)
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                                    "--bootstrap", "100", "--names", "base,new",
                                    "--budgets", "1e18,1e19", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "new better" in res.output
    assert (tmp_path / "o" / "frontiers.png").stat().st_size > 1000
    bad = CliRunner().invoke(main, ["compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                                    "--budgets", "lots"])
    assert bad.exit_code == 2 and "--budgets" in bad.output


def test_saved_fits_give_the_same_multiplier(better_b):
    from scaling.fits import FitResult

    saved = [FitResult.from_dict(fit.to_dict()) for fit in better_b.fits.values()]
    again = compare_ladders(*saved, n_boot=0)
    for old, new in zip(better_b.budgets, again.budgets):
        assert new["multiplier"] == pytest.approx(old["multiplier"], rel=1e-9)
        assert new["ci"] is None and new["verdict"].startswith("no interval")
    from scaling.fits import FitWarning, fit_law

    with pytest.raises(ValueError, match="must be a Chinchilla fit"), \
            pytest.warns(FitWarning):
        other = fit_law("power-law", {"x": np.geomspace(1, 100, 8)}, np.geomspace(3, 2, 8),
                        loss="log-mse")
        compare_ladders(other, saved[1], n_boot=0)
