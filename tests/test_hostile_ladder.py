"""Hostile faults on ladders (issue 24): custom specs in parallel, a SIGKILLed parent.

Slow: every test here trains a ladder with worker processes that import torch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

# a custom spec without `threads` (the presets set it): 2 sizes x 2 budgets of a cosine
# schedule = 4 jobs of one run each, checkpoints every 8 steps
CUSTOM = {"name": "custom4",
          "sizes": [{"n_layer": 1, "d_model": 16, "n_head": 1},
                    {"n_layer": 1, "d_model": 24, "n_head": 2}],
          "tokens": [64 * 96, 64 * 160], "schedules": [{"kind": "cosine", "peak_lr": 3e-3}],
          "base": {"seq_len": 16, "batch_size": 4, "eval_every": 16, "eval_tokens": 512,
                   "ckpt_every": 8, "device": "cpu"}}
RUN_IDS = sorted(["L1-d16-cosine-s0-T96", "L1-d16-cosine-s0-T160", "L1-d24-cosine-s0-T96",
                  "L1-d24-cosine-s0-T160"])


def _ladder(spec: Path, out: Path, workers: int) -> list[str]:
    return [sys.executable, "-c", "from scaling.commands import main; main()", "ladder",
            "--preset", str(spec), "--out", str(out), "--workers", str(workers), "--quiet"]


def _tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    points = pd.read_csv(out / "points.csv").sort_values(["run_id", "step"])
    runs = pd.read_csv(out / "runs.csv").sort_values("run_id")
    return points.reset_index(drop=True), runs.reset_index(drop=True)


def _assert_same_tables(out: Path, reference: Path) -> None:
    points, runs = _tables(out)
    ref_points, ref_runs = _tables(reference)
    assert sorted(runs["run_id"]) == RUN_IDS
    assert points[["run_id", "step"]].equals(ref_points[["run_id", "step"]])
    np.testing.assert_allclose(points["loss"], ref_points["loss"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(runs["N"], ref_runs["N"], rtol=0)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "custom4.json"
    assert "threads" not in CUSTOM["base"]
    path.write_text(json.dumps(CUSTOM))
    return path


@pytest.fixture(scope="module")
def reference(spec_file, tmp_path_factory) -> Path:
    """The custom spec trained in one process, one run after another."""
    out = tmp_path_factory.mktemp("reference")
    done = subprocess.run(_ladder(spec_file, out, 1), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_custom_spec_runs_in_parallel_with_the_same_points(spec_file, reference, tmp_path):
    done = subprocess.run(_ladder(spec_file, tmp_path, 2), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not supported between" not in done.stdout + done.stderr
    assert "ladder custom4: 4 runs" in done.stdout
    _assert_same_tables(tmp_path, reference)


def _children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_ladder_parent_leaves_no_worker_and_the_rerun_resumes(
        spec_file, reference, tmp_path):
    parent = subprocess.Popen(_ladder(spec_file, tmp_path, 2), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list((tmp_path / "runs").glob("*/checkpoint.pt")):  # the first checkpoint
            assert parent.poll() is None, "the ladder ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint after 300 s"
            time.sleep(0.05)
        workers = [pid for pid in _children(parent.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert workers, "no worker processes found"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    finally:
        if parent.poll() is None:
            parent.kill()
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived the ladder"
    finished = [p for p in (tmp_path / "runs").glob("*/run.json")
                if json.loads(p.read_text()).get("status") == "done"]
    assert len(finished) < 4  # the kill cut the ladder short
    again = subprocess.run(_ladder(spec_file, tmp_path, 2), capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    _assert_same_tables(tmp_path, reference)
