"""Ladder designs (scaling.design): isoFLOP budgets, shapes around the expected optimum."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scaling.commands import main
from scaling.design import isoflop_configs, shape_for_params
from scaling.flops import chinchilla_optimal_N, params_from_shape
from scaling.ladder import LadderSpec, get_preset

COSINE = {"kind": "cosine", "peak_lr": 3e-3, "end_lr": 3e-4, "warmup_steps": 5}
BASE = {"seq_len": 64, "batch_size": 32, "eval_every": 50, "eval_tokens": 2048,
        "ckpt_every": 100, "threads": 1, "device": "cpu"}


def n_of(job) -> float:
    return params_from_shape(job.n_layer, job.d_model, 256, job.seq_len).non_embedding


def test_chinchilla_optimal_N_is_20_tokens_per_parameter():
    n = chinchilla_optimal_N(5.88e23)  # Chinchilla's budget: 70B params, 1.4T tokens
    assert n == pytest.approx(7.0e10, rel=0.01)
    assert 6 * n * 20 * n == pytest.approx(5.88e23)
    with pytest.raises(ValueError, match="`C` and `tokens_per_param` must be > 0"):
        chinchilla_optimal_N(0)


def test_shape_for_params_is_the_nearest_shape_in_log_N():
    shape = shape_for_params(85e6, seq_len=1024, vocab_size=50257)  # GPT-2 small's 85M
    assert (shape["n_layer"], shape["d_model"]) == (12, 768) and shape["n_head"] == 12
    assert shape["N"] == params_from_shape(12, 768, 50257, 1024).non_embedding


def test_isoflop_3_budgets_x_4_sizes_every_run_within_5_percent_of_its_budget():
    spec = get_preset("cpu-5min")
    spec = LadderSpec(**{**spec.to_dict(), "design": "isoflop",
                         "budgets": [1e13, 3e13, 1e14], "sizes_per_budget": 4})
    jobs = spec.configs()
    assert len(jobs) == 12
    for budget in (1e13, 3e13, 1e14):
        runs = [j for j in jobs if j.group == f"C={budget:.3g}"]
        n = np.array([n_of(j) for j in runs])
        assert len(runs) == 4 and np.all(np.diff(n) > 0)  # distinct, increasing sizes
        assert n[0] < chinchilla_optimal_N(budget) < n[-1]  # they span the expected optimum
        flops = np.array([6 * n_of(j) * j.total_steps * j.tokens_per_step for j in runs])
        np.testing.assert_array_less(np.abs(flops / budget - 1), 0.05)
        assert all(j.branches == [] for j in runs)


def test_isoflop_exact_flops_counts_attention_and_logits():
    jobs = isoflop_configs([1e11], 3, BASE, [COSINE], [0], flops="exact")
    from scaling.flops import flops_per_token_exact

    for j in jobs:
        used = flops_per_token_exact(j.n_layer, j.d_model, j.seq_len, 256) * \
            j.total_steps * j.tokens_per_step
        assert abs(used / 1e11 - 1) < 0.05


def test_isoflop_mistakes_are_named():
    with pytest.raises(ValueError, match="C=1e\\+07: size N=.* off the budget; raise the budget"):
        isoflop_configs([1e7], 3, BASE, [COSINE], [0])
    with pytest.raises(ValueError, match="`sizes_per_budget` must be an integer >= 2, got 1"):
        isoflop_configs([1e11], 1, BASE, [COSINE], [0])
    with pytest.raises(ValueError, match=r"isoFLOP run C3e9-L2-d16-cosine-s0 \(39 steps\): "
                                         "`warmup_steps` must be < `total_steps`"):
        isoflop_configs([3e9], 4, BASE, [{**COSINE, "warmup_steps": 40}], [0])
    with pytest.raises(ValueError, match="`flops` must be '6N' or 'exact'"):
        isoflop_configs([1e11], 3, BASE, [COSINE], [0], flops="8N")
    with pytest.raises(ValueError, match="ladder `budgets` is empty"):
        LadderSpec(design="isoflop", schedules=[COSINE])
    with pytest.raises(ValueError, match="ladder `design` must be one of"):
        LadderSpec(design="random", sizes=[{}], tokens=[1e5], schedules=[COSINE])


def test_cli_budgets_must_be_numbers(tmp_path):
    result = CliRunner().invoke(main, ["ladder", "--budgets", "1e13,lots", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 2
    assert "expected FLOP budgets separated by commas" in result.output


@pytest.mark.slow
@pytest.mark.heavy  # trains a ladder (~1.5 min)
def test_isoflop_ladder_on_cpu_lands_on_its_budgets_and_feeds_isoflop(tmp_path):
    spec = tmp_path / "iso.json"
    schedule = {**COSINE, "warmup_steps": 2}
    spec.write_text(json.dumps({"name": "iso", "schedules": [schedule], "base": BASE,
                                "design": "grid", "sizes": [{}], "tokens": [1]}))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ladder", "--preset", str(spec), "--design", "isoflop",
                                       "--budgets", "3e9,1e10,3e10", "--sizes-per-budget",
                                       "4", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "isoFLOP minima: C=3e+09" in result.output
    assert (out / "runs" / "C3e9-L2-d8-cosine-s0").is_dir()
    runs = pd.read_csv(out / "runs.csv")
    points = pd.read_csv(out / "points.csv")
    final = points.loc[points.groupby("run_id")["step"].idxmax()].merge(
        runs[["run_id", "group"]], on="run_id")
    assert len(final) == 12
    budget = final["group"].str[2:].astype(float)
    np.testing.assert_array_less(np.abs(final["C"] / budget - 1), 0.05)
    iso = CliRunner().invoke(main, ["isoflop", str(out), "--bootstrap", "0", "--json"])
    assert iso.exit_code == 0, iso.output
