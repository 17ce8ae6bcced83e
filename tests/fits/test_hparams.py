"""Hyperparameter laws: near-optimal bands and eta*(C), B*(C) from a synthetic sweep whose
optimum follows DeepSeek LLM's published laws."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.fits.hparams import DEEPSEEK_2024, hparam_laws, hparam_laws_from_table


def sweep(seed, noise=0.0005):
    """5 budgets x 7 learning rates x 7 batch sizes around eta_opt(C), B_opt(C) of
    DeepSeek-AI 2024 eq. (1); loss quadratic in log lr and log batch size."""
    rng = np.random.default_rng(seed)
    C, L, LR, BS = [], [], [], []
    for c in np.geomspace(1e17, 1e20, 5):
        eta = DEEPSEEK_2024["lr"][0] * c ** DEEPSEEK_2024["lr"][1]
        b = DEEPSEEK_2024["batch_size"][0] * c ** DEEPSEEK_2024["batch_size"][1]
        for lr in eta * np.geomspace(1 / 4, 4, 7):
            for bs in b * np.geomspace(1 / 4, 4, 7):
                loss = 2.0 + 30 * c ** -0.05 + 0.04 * np.log(lr / eta) ** 2 \
                    + 0.03 * np.log(bs / b) ** 2
                C.append(c)
                L.append(loss * (1 + noise * rng.standard_normal()))
                LR.append(lr)
                BS.append(bs)
    return np.array(C), np.array(L), {"lr": np.array(LR), "batch_size": np.array(BS)}


@pytest.fixture(scope="module")
def laws():
    return hparam_laws(*sweep(0), n_boot=300, target_compute=1e21)


@pytest.mark.parametrize("name", ["lr", "batch_size"])
def test_recovers_published_exponents(laws, name):
    truth = DEEPSEEK_2024[name][1]
    law = laws.laws[name]
    assert law["exponent"] == pytest.approx(truth, abs=0.03)
    assert law["exponent_ci"][0] <= truth <= law["exponent_ci"][1]


def test_bands_and_target(laws):
    assert len(laws.budgets) == 5
    for row in laws.budgets:
        assert 1 <= row["n_band"] < row["n_runs"]
        assert row["lr_band"][0] <= row["lr_best"] <= row["lr_band"][1]
    eta = DEEPSEEK_2024["lr"][0] * 1e21 ** DEEPSEEK_2024["lr"][1]
    ci = laws.target["values"]["lr"]["ci"]
    assert ci[0] <= eta <= ci[1]
    assert "lr*(C) = " in laws.report()


def test_needs_two_swept_budgets():
    C, L, hp = sweep(0)
    one = C == C.min()
    with pytest.raises(ValueError, match=">= 2 compute budgets"):
        hparam_laws(C[one], L[one], {"lr": hp["lr"][one]}, n_boot=0)
    with pytest.raises(ValueError, match="lr must be finite and > 0; bad value .* row 0"):
        hparam_laws(C, L, {"lr": -hp["lr"]}, n_boot=0)


def test_from_table_and_cli(tmp_path):
    from scaling.commands import main

    C, L, hp = sweep(1)
    N = np.sqrt(C / 120)  # 20 tokens per parameter
    frame = pd.DataFrame({"N": N, "D": C / (6 * N), "loss": L, "peak_lr": hp["lr"],
                          "batch_size": hp["batch_size"]})
    frame.insert(0, "run_id", [f"r{i}" for i in range(len(frame))])
    r = hparam_laws_from_table(frame, n_boot=0)
    assert set(r.laws) == {"lr", "batch_size"}
    path = tmp_path / "sweep.csv"
    frame.to_csv(path, index=False)
    res = CliRunner().invoke(main, ["hparams", str(path), "--bootstrap", "100",
                                    "--compute", "1e21"])
    assert res.exit_code == 0, res.output
    assert "lr*(C)" in res.output and "at C = 1e+21" in res.output
    frame.drop(columns=["peak_lr", "batch_size"]).to_csv(path, index=False)
    bad = CliRunner().invoke(main, ["hparams", str(path)])
    assert bad.exit_code == 2 and "no swept hyperparameter" in bad.output


def test_plan_section_is_none_without_sweeps():
    from scaling.data import load_chinchilla_epoch
    from scaling.fits.hparams import HparamLaws, hparam_plan_section

    assert hparam_plan_section(load_chinchilla_epoch(), 1e21) is None
    C, L, hp = sweep(3)
    N = np.sqrt(C / 120)
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(C.size)], "N": N,
                          "D": C / (6 * N), "loss": L, "peak_lr": hp["lr"]})
    section = hparam_plan_section(frame, 1e21, n_boot=50)
    assert "lr*(C) = " in HparamLaws(**section).report()  # plan_report renders it so


@pytest.mark.slow  # plan_compute's prediction-interval calibration refits ~40 s on 2 cores
def test_plan_reports_the_laws_when_the_table_has_sweeps():
    from scaling.fits import plan_compute

    from scaling.fits import ScalingLawFit

    C, L, hp = sweep(2)
    # the learning-rate sweep at the middle batch size: 5 budgets x 7 runs
    keep = np.isclose(hp["batch_size"], DEEPSEEK_2024["batch_size"][0]
                      * C ** DEEPSEEK_2024["batch_size"][1])
    N = np.sqrt(C[keep] / 120)
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(keep.sum())], "N": N,
                          "D": C[keep] / (6 * N), "loss": L[keep], "peak_lr": hp["lr"][keep]})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_compute(frame, 1e21, n_boot=0, sensitivity=False,
                            estimator=ScalingLawFit(starts=32, repeats="best:peak_lr"))
    assert plan.hparams["target"]["C"] == 1e21
    assert "lr*(C) = " in plan.report()
    eta = DEEPSEEK_2024["lr"][0] * 1e21 ** DEEPSEEK_2024["lr"][1]
    assert plan.hparams["target"]["values"]["lr"]["value"] == pytest.approx(eta, rel=0.5)


def test_cli_sweep_with_compute_only_no_model_size(tmp_path):
    # the help says "compute (C, or N and D)": a C column without N used to be refused
    from cli import main

    rows = []
    for C in [1e17, 3e17, 1e18, 3e18, 1e19]:
        best = 0.3 * C ** -0.125
        for lr in best * np.logspace(-0.6, 0.6, 9):
            rows.append({"run_id": f"c{C:.0e}-{lr:.3e}", "C": C, "peak_lr": lr,
                         "loss": (2 + 50 * C ** -0.05) * (1 + 0.02 * np.log(lr / best) ** 2)})
    path = tmp_path / "sweep.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    result = CliRunner().invoke(main, ["hparams", str(path), "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert "lr*(C) = 0.3 C^-0.1250" in result.output
