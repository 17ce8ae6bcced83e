"""`scaling loop` end to end with the synthetic oracle trainer (slow) and the cpu-demo
preset (heavy): the record, refinement never widening, the stop rule, SIGKILL at every
stage, the backends, and the coverage of the validation rung over 50 seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from scaling.loop import KILL_ENV, STAGES, read_loops, run_loop
from scaling.loop_design import options_from
from tests.no_torch import NO_TORCH

pytestmark = pytest.mark.slow

#: a short loop: two refinement steps at most, a smaller bootstrap
SHORT = {"max_steps": 2, "n_boot": 100}
#: the reference loop: a goal it cannot reach, so that it passes every stage (refine2 too)
FULL = {**SHORT, "goal_width": 0.01}

_CHILD = ("import json, sys\nfrom scaling.loop import run_loop\n"
          "from scaling.loop_design import options_from\n"
          "run_loop(options_from('synthetic', **json.loads(sys.argv[2])), sys.argv[1])\n")


def _child(out, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", _CHILD, str(out), json.dumps(FULL)],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("loop-reference")
    record = run_loop(options_from("synthetic", **FULL), out)
    return out, record


def _check_refinement(record):
    steps = [s for s in record["steps"] if "width" in s]
    widths = [s["width"] for s in steps]
    assert all(b <= a for a, b in zip(widths, widths[1:])), widths
    assert all(s["width"] == min(x["width_fit"] for x in steps[:i + 1])
               for i, s in enumerate(steps))
    goal, stop = record["options"]["goal_width"], record["stop"]
    assert stop["step"] == len(steps) - 1
    for s in steps[:-1]:  # it went on only while the goal was not met and budget was left
        assert s["width"] > goal and s["left_flops"] > 0
    last = steps[-1]
    reason = {"goal": last["width"] <= goal,
              "budget": last["left_flops"] <= 0 or "no run within the remaining" in stop["text"],
              "max-steps": stop["step"] == record["options"]["max_steps"]}
    assert reason[stop["reason"]], stop
    if stop["reason"] != "goal":
        assert last["width"] > goal


def test_record_holds_design_predictions_before_training_and_verdict(reference):
    out, record = reference
    assert record["status"] == "done"
    assert record["design"]["expected"]["width"] > 0
    refines = [s for s in record["steps"] if "run" in s]
    assert len(refines) == 2 and record["stop"]["reason"] == "max-steps"
    for s in refines:
        pred, obs = s["run"]["predicted"], s["observed"]
        assert pred["pi"][0] < pred["value"] < pred["pi"][1]
        assert obs["run_id"] == s["run"]["run_id"]
    val = record["validation"]
    assert val["recorded"] == "before training"
    largest = max(o["C"] for o in record["ladder"] + [s["observed"] for s in refines])
    assert val["run"]["C"] == pytest.approx(4 * largest)
    v = record["verdict"]
    lo, hi = val["prediction"]["pi"]
    assert v["inside"] == (lo <= val["observed"]["loss"] <= hi)
    assert val["early"]["available"], val["early"]
    assert val["early"]["upto_step"] < 0.31 * 100 * 20
    _check_refinement(record)
    saved = read_loops(out)
    assert saved["loops"] == [record]
    assert saved["history"] == {"loops": 1, "held": int(v["inside"]), "rate": float(v["inside"])}
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64") == 2 and "verdict:" in page


def test_rerun_of_a_finished_loop_keeps_the_record_and_other_loops_append(reference, tmp_path):
    out, record = reference
    assert run_loop(options_from("synthetic", **FULL), out, report=False) == record
    other = run_loop(options_from("synthetic", **FULL, seed=1), out, report=False)
    saved = read_loops(out)
    assert [r["id"] for r in saved["loops"]] == [record["id"], other["id"]]
    assert saved["history"]["loops"] == 2
    saved["loops"] = saved["loops"][:1]  # leave the shared fixture's folder as it was
    (out / "loop.json").write_text(json.dumps(saved, indent=2) + "\n")


def test_stops_at_the_goal_width_first(tmp_path):
    record = run_loop(options_from("synthetic", **SHORT, goal_width=0.9), tmp_path,
                      report=False)
    assert record["stop"]["reason"] == "goal" and record["stop"]["step"] == 0
    assert len(record["steps"]) == 1


def test_stops_when_the_budget_is_spent_first(tmp_path):
    record = run_loop(options_from("synthetic", **SHORT, ladder_share=1.0), tmp_path,
                      report=False)
    assert record["stop"]["reason"] == "budget" and record["stop"]["step"] == 0
    assert record["steps"][0]["width"] > record["options"]["goal_width"]


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_at_any_stage_and_a_rerun_give_the_same_record(stage, tmp_path, reference):
    killed = _child(tmp_path, {KILL_ENV: stage})
    assert killed.returncode == -9, killed.stderr[-2000:]
    partial = read_loops(tmp_path)["loops"][0]
    assert partial["status"] != "done"
    if stage == "validate-predicted":  # the prediction is on disk, the rung is not trained
        assert partial["validation"]["recorded"] == "before training"
        assert "observed" not in partial["validation"]
        assert not (tmp_path / "runs" / "validate-s0").exists()
    again = _child(tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert read_loops(tmp_path)["loops"] == [reference[1]]


def _backend_record(tmp_path, backend, **options):
    return run_loop(options_from("synthetic", **FULL), tmp_path, backend=backend,
                    report=False, **options)


def test_local_workers_give_the_same_record(tmp_path, reference):
    assert _backend_record(tmp_path, "local", workers=2) == reference[1]


def test_ray_gives_the_same_record(tmp_path, reference, request):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    request.addfinalizer(ray.shutdown)
    assert _backend_record(tmp_path, "ray") == reference[1]


def test_slurm_local_gives_the_same_record(tmp_path, reference):
    pytest.importorskip("submitit")
    assert _backend_record(tmp_path, "slurm", slurm={"cluster": "local"}) == reference[1]


@pytest.mark.heavy
@pytest.mark.xfail(strict=True, reason=(
    "known: 50/50 inside since issue 25's Student-t floor on the effective number of "
    "nested cuts (6.6 of 8 here: multiplier 1.97; these 50 loops need < 1.84), which is what "
    "covers bundled Chinchilla (>= 1.8-2.0 needed); 46/50 before. docs/loop.md"))
def test_validation_rung_lands_inside_the_90pct_interval_80_to_97pct_of_50_loops(tmp_path):
    inside = []
    for seed in range(50):
        record = run_loop(options_from("synthetic", **SHORT, seed=seed), tmp_path / str(seed),
                          report=False)
        _check_refinement(record)
        inside.append(record["verdict"]["inside"])
    assert 0.80 <= sum(inside) / len(inside) <= 0.97, inside


@pytest.mark.heavy
def test_cpu_demo_preset_writes_report_and_record(tmp_path):
    from click.testing import CliRunner

    from scaling.commands import main

    result = CliRunner().invoke(main, ["loop", "--preset", "cpu-demo", "--out",
                                       str(tmp_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "verdict: " in result.output
    record = read_loops(tmp_path)["loops"][0]
    assert record["status"] == "done" and record["options"]["trainer"] == "proxy"
    assert {"design", "ladder", "steps", "validation", "verdict", "fan"} <= set(record)
    _check_refinement(record)
    assert "data:image/png;base64" in (tmp_path / "report.html").read_text()




def test_synthetic_loop_needs_no_torch(tmp_path):
    done = subprocess.run([sys.executable, "-c", NO_TORCH, "loop", "--preset", "synthetic",
                           "--max-steps", "0", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "verdict: " in done.stdout
    assert read_loops(tmp_path)["loops"][0]["status"] == "done"
