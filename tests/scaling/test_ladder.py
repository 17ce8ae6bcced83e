"""Tests for the ladder runner (scaling.ladder)."""

import json

import pytest

from scaling.data import load_table
from scaling.ladder import (
    PRESETS,
    LadderSpec,
    get_preset,
    ladder_check,
    ladder_from_cli,
    load_ladder,
    run_ladder,
)

WSD = {"kind": "wsd", "peak_lr": 3e-3, "end_lr": 3e-4, "warmup_steps": 3,
       "cooldown_frac": 0.25}
BASE = {"seq_len": 32, "batch_size": 8, "eval_every": 8, "eval_tokens": 1024,
        "ckpt_every": 8, "threads": 1}


def tiny_ladder(**changes) -> LadderSpec:
    values = dict(name="tiny", sizes=[{"n_layer": 1, "d_model": 16, "n_head": 1},
                                      {"n_layer": 1, "d_model": 32, "n_head": 2}],
                  tokens=[8 * 32 * 16, 8 * 32 * 24], schedules=[WSD], seeds=[0], base=BASE)
    values.update(changes)
    return LadderSpec(**values)


def test_wsd_budgets_become_cooldown_branches_of_one_run_per_size():
    jobs = tiny_ladder().configs()
    assert [(j.run_id, j.total_steps, j.branches) for j in jobs] == [
        ("L1-d16-wsd-s0-T24", 24, [16]), ("L1-d32-wsd-s0-T24", 24, [16])]


def test_other_schedules_train_one_run_per_budget():
    cosine = {"kind": "cosine", "peak_lr": 3e-3, "warmup_steps": 3}
    jobs = tiny_ladder(schedules=[cosine], seeds=[0, 1]).configs()
    assert [j.run_id for j in jobs][:4] == ["L1-d16-cosine-s0-T16", "L1-d16-cosine-s0-T24",
                                            "L1-d16-cosine-s1-T16", "L1-d16-cosine-s1-T24"]
    assert all(j.branches == [] for j in jobs)


def test_run_ladder_writes_a_fittable_table_and_skips_finished_runs(tmp_path):
    summary = run_ladder(tiny_ladder(), tmp_path, quiet=True)
    assert sorted(r["run_id"] for r in summary["runs"]) == [
        "L1-d16-wsd-s0-T24", "L1-d16-wsd-s0-T24-cd16", "L1-d32-wsd-s0-T24",
        "L1-d32-wsd-s0-T24-cd16"]
    table = load_table(tmp_path)
    assert table.n_runs == 4 and set(table.final_points()["D"]) == {8 * 32 * 16, 8 * 32 * 24}
    assert json.loads((tmp_path / "ladder.json").read_text())["name"] == "tiny"
    assert "validation loss falls with N" in summary["report"]
    checkpoints = {p: p.stat().st_mtime_ns for p in tmp_path.glob("runs/*/checkpoint.pt")}
    again = run_ladder(tiny_ladder(), tmp_path, quiet=True)
    # skipped, not retrained (no wall-clock limit: that belongs in bench/)
    assert {p: p.stat().st_mtime_ns for p in checkpoints} == checkpoints
    assert [r["final_loss"] for r in again["runs"]] == [r["final_loss"] for r in summary["runs"]]


def test_presets_span_five_sizes_and_ten_x_in_N():
    from scaling.flops import params_from_shape

    for name in PRESETS:
        spec = get_preset(name)
        n = [params_from_shape(s["n_layer"], s["d_model"], 256, spec.base["seq_len"])
             .non_embedding for s in spec.sizes]
        assert len(n) >= 5 and max(n) / min(n) >= 10, name
        assert spec.configs()  # every job's config is valid


def test_load_ladder_reads_files_and_names_mistakes(tmp_path):
    path = tmp_path / "ladder.json"
    path.write_text(json.dumps({"sizes": [{"d_model": 32}], "tokens": [1e5],
                                "schedules": [WSD]}))
    assert load_ladder(path).sizes == [{"d_model": 32}]
    assert load_ladder("cpu-5min").name == "cpu-5min"
    with pytest.raises(ValueError, match="neither a ladder preset"):
        load_ladder(tmp_path / "missing.json")
    path.write_text(json.dumps({"sizes": [{"d_model": 32}], "budget": 3}))
    with pytest.raises(ValueError, match=r"unknown ladder field\(s\) \['budget'\]"):
        load_ladder(path)
    with pytest.raises(ValueError, match="ladder `tokens` is empty"):
        LadderSpec(sizes=[{}], schedules=[WSD])


@pytest.mark.heavy
@pytest.mark.slow
def test_cpu_5min_preset_meets_acceptance(tmp_path):
    summary = ladder_from_cli("cpu-5min", tmp_path, quiet=True)
    checks = summary["checks"]  # its wall time is measured by bench/ladder_preset.py
    assert len(checks["sizes"]) >= 5 and checks["N_span"] >= 10
    assert checks["monotone"], checks["violations"]
    best = min(checks[law]["leave_largest_out_error"] for law in ("power_law", "chinchilla"))
    assert best <= 0.04
    assert ladder_check(tmp_path)["n_runs"] == 15
