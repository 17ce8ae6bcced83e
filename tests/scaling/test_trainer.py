"""Tests for the proxy trainer (scaling.trainer): curves, resume after SIGKILL, branches."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from scaling.data import load_table
from scaling.trainer import TrainConfig, apply_overrides, load_config, train, train_from_cli

VOLATILE = ["wall_s", "tokens_per_s"]  # timings differ between runs; everything else must not


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def tiny(**changes) -> TrainConfig:
    """A 32-wide 2-layer model: a few dozen steps take about a second on one core."""
    values = dict(run_id="tiny", n_layer=2, n_head=2, d_model=32, seq_len=32, batch_size=8,
                  total_steps=40, eval_every=10, ckpt_every=10, eval_tokens=2048, threads=1,
                  schedule={"kind": "cosine", "peak_lr": 3e-3, "end_lr": 3e-4,
                            "warmup_steps": 4})
    values.update(changes)
    return TrainConfig(**values)


def stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in VOLATILE if c in frame.columns])


def test_tiny_model_curve_passes_data_validation(tmp_path):
    summary = train(tiny(), tmp_path)
    (run,) = summary["runs"]
    assert run["status"] == "done" and run["steps_done"] == 40
    table = load_table(tmp_path)
    assert list(table.runs["run_id"]) == ["tiny"]
    assert table.runs["N_convention"].iloc[0] == "non_embedding"
    points = table.points
    assert list(points["step"]) == [10, 20, 30, 40]
    assert np.allclose(points["D"], points["step"] * 8 * 32)
    assert np.allclose(points["C"], 6 * table.runs["N"].iloc[0] * points["D"])
    assert {"val/code", "val/prose", "train_loss", "grad_norm", "lr"} <= set(points.columns)
    assert points["loss"].iloc[-1] < points["loss"].iloc[0] < np.log(256)
    steps = load_table(tmp_path / "steps.csv", runs=tmp_path / "runs.csv").points
    assert list(steps["step"]) == list(range(1, 41))
    assert (steps["tokens_per_s"] > 0).all() and steps["wall_s"].is_monotonic_increasing
    info = json.loads((tmp_path / "runs" / "tiny" / "run.json").read_text())
    assert info["torch_version"] == torch.__version__ and info["corpus_sha256"]
    assert info["device"].startswith("cpu")


def test_training_is_deterministic_on_cpu(tmp_path):
    a = train(tiny(total_steps=20), tmp_path / "a")["runs"][0]
    b = train(tiny(total_steps=20), tmp_path / "b")["runs"][0]
    assert a["final_loss"] == b["final_loss"]


def test_finished_run_is_skipped_and_a_changed_config_refused(tmp_path):
    first = train(tiny(total_steps=20), tmp_path)["runs"][0]
    mtime = (tmp_path / "runs" / "tiny" / "checkpoint.pt").stat().st_mtime_ns
    again = train(tiny(total_steps=20), tmp_path)["runs"][0]
    assert again["final_loss"] == first["final_loss"]
    assert (tmp_path / "runs" / "tiny" / "checkpoint.pt").stat().st_mtime_ns == mtime
    with pytest.raises(ValueError, match=r"different config \(d_model: 32 -> 48"):
        train(tiny(total_steps=20, d_model=48), tmp_path)


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import scaling.data.io
    from test_trainer import tiny
    from scaling.trainer import train

    seen = [0]

    def kill_at_known_point(path):  # after the temp file is written, before its rename
        if path.name == {name!r}:
            seen[0] += 1
            if seen[0] == {nth}:
                os.kill(os.getpid(), signal.SIGKILL)

    scaling.data.io._before_replace = kill_at_known_point
    train(tiny(total_steps=60, eval_every=5, ckpt_every=5), {out!r})
""")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    return train(tiny(total_steps=60, eval_every=5, ckpt_every=5), out)["runs"][0], out


@pytest.mark.parametrize("name, nth", [("checkpoint.pt", 3), ("points.csv", 4),
                                       ("run.json", 5)])
def test_sigkill_mid_run_then_rerun_gives_the_uninterrupted_points(tmp_path, uninterrupted,
                                                                   name, nth):
    # killed at a known point (the nth atomic write of `name`, between writing the temporary
    # file and renaming it), not after a sleep, so the test cannot race the run
    out = tmp_path / "killed"
    script = KILLED_RUN.format(tests=os.path.dirname(__file__), out=str(out), name=name,
                               nth=nth)
    proc = subprocess.run([sys.executable, "-c", script], timeout=300)
    assert proc.returncode == -signal.SIGKILL, "the run was not killed at the hook"
    info = json.loads((out / "runs" / "tiny" / "run.json").read_text())
    assert info["status"] == "running" and 0 < info["steps_done"] < 60
    assert list((out / "runs" / "tiny").glob(".*.tmp")), "the kill left no temporary file"

    resumed = train(tiny(total_steps=60, eval_every=5, ckpt_every=5), out)["runs"][0]
    assert not list((out / "runs" / "tiny").glob(".*.tmp")), "the rerun left a temporary"
    whole, whole_dir = uninterrupted
    assert resumed["final_loss"] == whole["final_loss"]
    for table in ("points.csv", "steps.csv"):
        got = stable(pd.read_csv(out / table))
        want = stable(pd.read_csv(whole_dir / table))
        pd.testing.assert_frame_equal(got, want)


def test_cooldown_branch_equals_the_same_schedule_trained_alone(tmp_path):
    wsd = {"kind": "wsd", "peak_lr": 3e-3, "end_lr": 3e-4, "warmup_steps": 4,
           "cooldown_frac": 0.25}
    runs = train(tiny(total_steps=40, schedule=wsd, branches=[20]), tmp_path / "b")["runs"]
    assert [r["run_id"] for r in runs] == ["tiny", "tiny-cd20"]
    alone = train(tiny(run_id="tiny-cd20", total_steps=20, schedule=wsd), tmp_path / "a")
    got = stable(pd.read_csv(tmp_path / "b" / "runs" / "tiny-cd20" / "steps.csv"))
    want = stable(pd.read_csv(tmp_path / "a" / "runs" / "tiny-cd20" / "steps.csv"))
    pd.testing.assert_frame_equal(got, want)
    assert runs[1]["final_loss"] == alone["runs"][0]["final_loss"]
    table = load_table(tmp_path / "b")
    assert sorted(table.runs["run_id"]) == ["tiny", "tiny-cd20"]
    assert table.runs.set_index("run_id").loc["tiny-cd20", "decay_start"] == 15


def test_branches_must_depart_from_the_run(tmp_path):
    with pytest.raises(ValueError, match="follow this run's LR to their end"):
        tiny(schedule={"kind": "constant", "peak_lr": 1e-3}, branches=[20])
    with pytest.raises(ValueError, match=r"`branches` must be step counts in \[1, total_steps\)"):
        tiny(branches=[40])


def test_divergence_stops_the_run_and_records_why(tmp_path):
    cfg = tiny(schedule={"kind": "constant", "peak_lr": 1e4}, grad_clip=0.0, spike_patience=3)
    (run,) = train(cfg, tmp_path)["runs"]
    assert run["status"] == "diverged"
    assert "loss spike" in run["stop_reason"] or "non-finite" in run["stop_reason"]
    assert run["steps_done"] < 40
    assert not (tmp_path / "runs.csv").exists()  # diverged runs stay out of the table


def test_config_file_and_set_overrides(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"d_model": 48, "schedule": {"kind": "cosine",
                                                          "peak_lr": 1e-3}}))
    cfg = load_config(path, ["d_model=32", "schedule.warmup_steps=5", "run_id=x"])
    assert (cfg.d_model, cfg.run_id, cfg.schedule["warmup_steps"]) == (32, "x", 5)
    assert apply_overrides({}, ["eval_sets=[\"code\"]"]) == {"eval_sets": ["code"]}
    with pytest.raises(ValueError, match="must look like key=value"):
        apply_overrides({}, ["d_model"])
    with pytest.raises(ValueError, match=r"unknown config field\(s\) \['width'\]"):
        load_config(None, ["width=3"])
    with pytest.raises(ValueError, match="`total_steps` must be a positive integer"):
        load_config(None, ["total_steps=0"])


def test_train_from_cli_reports_the_run(tmp_path):
    summary = train_from_cli(None, ["n_layer=2", "d_model=32", "seq_len=32", "batch_size=8",
                                    "total_steps=12", "eval_every=6", "threads=1",
                                    "eval_tokens=1024", "schedule.warmup_steps=2"], tmp_path)
    assert "run: done" in summary["report"] and "scaling fit" in summary["report"]


def test_the_suggested_fit_command_works_and_small_models_get_one_thread(tmp_path):
    import re
    import shlex

    from click.testing import CliRunner

    from cli import main
    from scaling.trainer import auto_threads

    assert auto_threads(tiny(threads=None)) == 1
    assert auto_threads(tiny(threads=3)) == 3
    out = tmp_path / "one"
    summary = train_from_cli(None, ["n_layer=2", "d_model=32", "seq_len=32", "batch_size=8",
                                    "total_steps=12", "eval_every=4", "eval_tokens=1024",
                                    "schedule.warmup_steps=2"], out)
    command = re.search(r"`(scaling fit [^`]+)`", summary["report"]).group(1)
    result = CliRunner().invoke(main, shlex.split(command)[1:] + ["--starts", "8"])
    assert result.exit_code == 0, (command, result.output)


def test_a_finished_runs_status_file_is_a_config(tmp_path):
    from scaling.config import load_config

    train(tiny(total_steps=8, eval_every=4), tmp_path)
    status = next(tmp_path.rglob("run.json"))
    config = load_config(status, ["schedule.peak_lr=1e-3"])
    assert config.d_model == 32 and config.schedule["peak_lr"] == 1e-3
