"""`scaling loop`: design rule, options, verdict, adapters and CLI errors (fast tests).

The end-to-end loops (coverage over 50 seeds, kills, backends, the cpu-demo) are in
test_loop_e2e.py (slow).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from scaling.loop import verdict
from scaling.loop_design import (LoopOptions, design_ladder, expected_width, options_from,
                                 validation_point, width_of)
from scaling.loop_fit import interval_of
from scaling.loop_synthetic import ORACLE, oracle_loss, synthetic_job


def test_design_spends_the_ladder_share_of_the_budget():
    options = options_from("synthetic", target_compute=1e21, budget=0.01)
    design = design_ladder(options)
    assert design["budget_flops"] == pytest.approx(1e19)
    assert design["cost_flops"] == pytest.approx(options.ladder_share * 1e19, rel=1e-9)
    assert len(design["runs"]) == options.n_budgets * options.sizes_per_budget
    # isoFLOP: each budget's sizes share one compute, budgets 4x apart
    budgets = sorted({round(math.log10(r["C"]), 6) for r in design["runs"]})
    assert np.diff(budgets) == pytest.approx([math.log10(4)] * 3)
    assert design["c_max"] == pytest.approx(max(r["C"] for r in design["runs"]))


def test_budget_in_flops_and_target_pair():
    options = options_from("synthetic", target=(1e9, 2e10), budget=3e17)
    assert options.target_point == {"N": 1e9, "D": 2e10}
    assert design_ladder(options)["budget_flops"] == 3e17


def test_grid_design_stays_within_budget():
    options = options_from("synthetic", design="grid")
    design = design_ladder(options)
    assert design["cost_flops"] <= options.ladder_share * options.budget_flops * (1 + 1e-9)
    assert "grid" in design["rule"]


def test_expected_width_grows_with_the_distance_to_the_target():
    # a budget in FLOPs: the same ladder, a target further away
    near = expected_width(design_ladder(options_from("synthetic", target_compute=1e20,
                                                     budget=1e18)), 0.9)
    far = expected_width(design_ladder(options_from("synthetic", target_compute=1e23,
                                                    budget=1e18)), 0.9)
    assert far["decades"] > near["decades"]
    assert far["width"] > near["width"] > 0
    # 90% default interval at d decades: 2 sinh(1.645 sqrt(0.01^2 + (0.03 d)^2)) wide
    d = near["decades"]
    assert near["width"] == pytest.approx(2 * math.sinh(1.6449 * math.hypot(0.01, 0.03 * d)),
                                          rel=1e-3)


def test_validation_rung_is_k_times_the_largest_compute():
    options = options_from("synthetic")
    run = validation_point(options, 1e18)
    assert run["C"] == pytest.approx(4e18)
    assert run["D"] / run["N"] == pytest.approx(20)
    fixed = validation_point(options_from("synthetic", validate=(1e8, 3e9)), 1e18)
    assert (fixed["N"], fixed["D"]) == (1e8, 3e9)


@pytest.mark.parametrize("changes,match", [
    ({"target": None, "target_compute": None}, "exactly one of `target_compute`"),
    ({"budget": -1}, "`budget` must be"),
    ({"trainer": "magic"}, r"`trainer` must be one of \['synthetic', 'proxy'\]"),
    ({"n_budgets": 1}, "n_budgets` >= 2"),
    ({"validate_factor": 1.0}, "`validate_factor` must be > 1"),
])
def test_bad_options_are_refused(changes, match):
    values = {"target_compute": 1e21, **changes}
    with pytest.raises(ValueError, match=match):
        LoopOptions(**values)


def test_unknown_preset():
    with pytest.raises(ValueError, match=r"unknown loop preset 'big'; presets are"):
        options_from("big")


def test_options_key_changes_with_the_options():
    assert options_from("synthetic").key() == options_from("synthetic").key()
    assert options_from("synthetic", seed=1).key() != options_from("synthetic").key()


def test_verdict_inside_outside_and_error_in_half_widths():
    pred = {"value": 2.0, "pi": [2.0 / math.e ** 0.1, 2.0 * math.e ** 0.2]}
    up = verdict(pred, 2.0 * math.e ** 0.1, 0.9)
    assert up["inside"] and up["error_half_widths"] == pytest.approx(0.5)
    down = verdict(pred, 2.0 / math.e ** 0.2, 0.9)
    assert not down["inside"] and down["error_half_widths"] == pytest.approx(-2.0)
    assert down["text"].startswith("verdict: MISSED")
    assert "outside" in down["text"] and "-2.00 half-widths" in down["text"]


def test_width_is_relative_full_width():
    assert width_of(2.0, (1.8, 2.2)) == pytest.approx(0.2)


def test_interval_of_reads_dicts_and_predictions():
    from scaling.fits.prediction import Prediction

    raw = {"value": np.array([2.0, 3.0]), "pi": np.array([[1.8, 2.2], [2.7, 3.3]]),
           "ci": None, "decades": np.array([0.5, 1.0])}
    typed = Prediction(value=raw["value"], ci=None, pi=raw["pi"], level=0.9,
                       at={"N": np.array([1.0, 2.0]), "D": np.array([1.0, 2.0])},
                       extrapolation=raw["decades"])
    for source in (raw, typed):
        got = interval_of(source, 1)
        assert got["value"] == 3.0 and got["pi"] == [2.7, 3.3] and got["decades"] == 1.0


def test_synthetic_runs_are_deterministic_and_follow_the_oracle(tmp_path):
    job = {"run_id": "r1", "N": 1e8, "D": 2e9, "seed": 3, "noise": 0.01}
    first = synthetic_job(job, str(tmp_path / "a"))
    again = synthetic_job(job, str(tmp_path / "b"))
    assert first["final_loss"] == again["final_loss"]
    ratio = first["final_loss"] / float(oracle_loss(1e8, 2e9))
    assert abs(math.log(ratio)) < 0.05  # 5 sigma
    assert float(oracle_loss(1e8, 2e9)) == pytest.approx(
        ORACLE["E"] + ORACLE["A"] / 1e8 ** 0.34 + ORACLE["B"] / 2e9 ** 0.28)
    other = synthetic_job({**job, "seed": 4}, str(tmp_path / "c"))
    assert other["final_loss"] != first["final_loss"]


@pytest.mark.parametrize("args,message", [
    ([], "give --target-compute C or --target N,D"),
    (["--target", "1,2,3"], "expected N,D"),
    (["--target-compute", "1e21", "--target", "1e9,2e10"], "not both"),
    (["--target-compute", "1e21", "--budget", "0%"], "must be > 0"),
    (["--preset", "nope"], "Invalid value for '--preset'"),
])
def test_cli_errors_exit_2(tmp_path, args, message):
    from scaling.commands import main

    result = CliRunner().invoke(main, ["loop", "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "o" / "loop.json").exists()
