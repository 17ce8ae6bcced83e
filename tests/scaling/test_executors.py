"""Ladder executors (scaling.executors): same points on every backend, locks, killed workers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scaling.executors import FAULT_ENV, FileLock, make_executor
from scaling.ladder import run_ladder

from .conftest import mini_ladder, read_points

RUN_IDS = ["L1-d16-wsd-s0-T24", "L1-d16-wsd-s0-T24-cd16", "L1-d32-wsd-s0-T24",
           "L1-d32-wsd-s0-T24-cd16"]


def assert_complete_and_equal(out_dir, reference):
    """Every run once, every point once, losses equal to the in-process ladder's."""
    runs = pd.read_csv(out_dir / "runs.csv")
    assert sorted(runs["run_id"]) == RUN_IDS
    points = read_points(out_dir)
    assert not points.duplicated(["run_id", "step"]).any()
    assert points[["run_id", "step"]].equals(reference[["run_id", "step"]])
    np.testing.assert_allclose(points["loss"], reference["loss"], rtol=0, atol=1e-6)
    steps = pd.read_csv(out_dir / "steps.csv")
    for run_id, rows in steps.groupby("run_id"):
        assert rows["step"].tolist() == list(range(1, len(rows) + 1)), run_id


def trained_by(out_dir) -> dict[str, list]:
    """run id -> the (host, pid) of every job attempt that trained it (lock history)."""
    out: dict[str, list] = {}
    for path in (out_dir / "locks").glob("*.history"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            for run_id in entry["trained"]:
                out.setdefault(run_id, []).append((entry["host"], entry["pid"]))
    return out


# --------------------------------------------------------------------------------------
# locks


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lock_excludes_a_second_owner_until_released(tmp_path):
    first, second = FileLock(tmp_path / "a.lock"), FileLock(tmp_path / "a.lock")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert second.owner()["pid"] == os.getpid()
    first.release()
    assert second.try_acquire()
    first.release()  # not its lock any more: must not remove it
    assert (tmp_path / "a.lock").exists()
    second.release()
    assert not (tmp_path / "a.lock").exists()


def test_lock_of_a_dead_process_or_an_old_one_is_stale(tmp_path):
    path = tmp_path / "b.lock"
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid()}))
    assert FileLock(path).try_acquire()
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1}))  # another machine's lock
    assert not FileLock(path, stale_after_s=60).try_acquire()
    old = time.time() - 120
    os.utime(path, (old, old))  # not refreshed for 2 minutes
    assert FileLock(path, stale_after_s=60).try_acquire()


def test_executor_arguments_are_checked():
    with pytest.raises(ValueError, match=r"`backend` must be one of \['local', 'ray', 'slurm'\]"):
        make_executor("dask")
    with pytest.raises(ValueError, match="`workers` must be a positive integer, got 0"):
        make_executor("local", workers=0)
    with pytest.raises(ValueError, match="`stale_after_s` must be > 0"):
        FileLock("x.lock", stale_after_s=0)


def test_slurm_backend_off_a_cluster_says_so(tmp_path):
    pytest.importorskip("submitit")
    if any((Path(d) / "srun").exists() for d in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.skip("this machine has SLURM")
    with pytest.raises(ValueError, match="`--backend slurm`: .*srun.*--slurm-local"):
        make_executor("slurm", folder=tmp_path)


# --------------------------------------------------------------------------------------
# backends: same points as the in-process ladder; a killed worker loses nothing


BACKENDS = [
    # slow: every ladder here starts worker processes that import torch (~5-20 s each)
    pytest.param("local", {"workers": 2}, id="local-2-workers", marks=pytest.mark.slow),
    pytest.param("slurm", {"slurm": {"cluster": "local", "time_min": 5}}, id="submitit-local",
                 marks=pytest.mark.slow),
    # a Ray local cluster takes ~1.5 min to start and run: heavy (test_loop_e2e runs Ray
    # in the default slow suite)
    pytest.param("ray", {}, id="ray-local-cluster", marks=[pytest.mark.slow, pytest.mark.heavy]),
]


def start_backend(backend: str, request) -> None:
    if backend == "ray":
        ray = pytest.importorskip("ray")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        request.addfinalizer(ray.shutdown)
    elif backend == "slurm":
        pytest.importorskip("submitit")


@pytest.mark.parametrize("backend,options", BACKENDS)
def test_backend_matches_in_process_and_resumes_a_killed_worker(backend, options, tmp_path,
                                                                 monkeypatch, request,
                                                                 mini_reference):
    # the worker training the larger run SIGKILLs itself after step 12 (checkpoint at 8);
    # set before any worker (or Ray cluster) starts, so every worker inherits it
    monkeypatch.setenv(FAULT_ENV, "L1-d32-wsd-s0-T24@12")
    start_backend(backend, request)
    first = run_ladder(mini_ladder(), tmp_path, quiet=True, backend=backend, **options)
    assert "L1-d32-wsd-s0-T24" in [f["job"] for f in first["failed"]]
    assert (tmp_path / "locks" / ".fault-L1-d32-wsd-s0-T24").exists()
    assert "FAILED L1-d32-wsd-s0-T24" in first["report"]
    again = run_ladder(mini_ladder(), tmp_path, quiet=True, backend=backend, **options)
    assert again["failed"] == []
    assert sorted(r["run_id"] for r in again["runs"]) == RUN_IDS
    assert_complete_and_equal(tmp_path, mini_reference)
    assert not list((tmp_path / "locks").glob("*.lock"))


# --------------------------------------------------------------------------------------
# two ladder commands on one output folder


@pytest.mark.slow
def test_two_concurrent_ladder_commands_train_each_run_once(tmp_path, mini_reference):
    spec = tmp_path / "mini.json"
    spec.write_text(json.dumps(mini_ladder().to_dict()))
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from scaling.commands import main; main()", "ladder",
               "--preset", str(spec),
               "--out", str(out), "--quiet"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("ladder mini: 4 runs" in text for text in outputs), outputs
    assert_complete_and_equal(out, mini_reference)
    owners = trained_by(out)
    assert sorted(owners) == RUN_IDS
    assert all(len(who) == 1 for who in owners.values()), owners  # nobody trained a run twice
