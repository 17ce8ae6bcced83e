"""Hostile inputs and faults, round 2 (issue 24): bounded work, clean outputs, no orphans.

The corpus of :mod:`tests.test_hostile_corpus` grows here with the cases an outside attack
found: unbounded expression arithmetic, absurd model sizes and counts, non-regular files,
deep JSON, damaged saved loss-to-loss fits, ladder specs that collide with what the ladder
sets, live links and terminal escapes from user text. Each line is (files, command, exit
code, message fragment), run exactly like the first corpus. The tests that need a ladder
(a SIGKILLed parent, a custom spec with workers) are in ``test_hostile_ladder.py`` (slow).
"""

from __future__ import annotations

import copy
import errno
import json
import math
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from scaling.commands import main

from .test_hostile_corpus import (CHIN, GOOD, L2L, SPEC, TARGETS, _argv, run_case,
                                  fit_json, l2l_json)

_L2L_BOOT = {"params": {"K": [0.93, 0.94], "kappa": [1.06, 1.05], "E_x": [2.96, 2.95],
                        "E_y": [3.15, 3.16]}, "residuals": [0.001, -0.001], "space": "log",
             "n_boot": 2, "seed": 0}


def l2l_boot(**changes) -> str:
    """A saved l2l fit whose group carries bootstrap draws; ``changes`` edit the draws
    (``DROP`` removes a key), or replace the whole entry with ``bootstrap=...``."""
    boot = copy.deepcopy(_L2L_BOOT)
    if "bootstrap" in changes:
        boot = changes.pop("bootstrap")
    for key, value in changes.items():
        if value == "DROP":
            boot.pop(key)
        else:
            boot[key] = value
    params = {"K": 0.93, "kappa": 1.06, "E_x": 2.96, "E_y": 3.15}
    return json.dumps({"x": "x", "y": "y", "law": "shifted-power-law", "warnings": [],
                       "groups": {"C4": {"params": params, "bootstrap": boot}}})


def spec(**changes) -> str:
    return json.dumps({**SPEC, **changes})


def deep(levels: int = 5000) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


BIG_SIZE = [{"n_layer": 1, "d_model": 16, "n_head": 1, "seq_len": 100_000_000}]
WHERE = ["10**10**10 > 0", "9**9**9 > 0", "'a'*10**10 == 'a'", "N in [0]*10**9",
         "1/0 > 0", "1 % 0 > 0", "2.0**5000 > N", "10**400 > N"]

CASES = [
    # ---- expressions: bounded integers, sizes and depth, on every verb with --where -------
    *[({}, f'fit bundled:chinchilla_epoch --where "{w}"', 2, f"row filter (where) {w!r}")
      for w in WHERE],
    ({}, 'fit bundled:chinchilla_epoch --where "10**10**10 > 0"', 2, "beyond the float range"),
    ({}, "fit bundled:chinchilla_epoch --where \"'a'*10**10 == 'a'\"", 2,
     "longer than 10000"),
    ({}, 'fit bundled:chinchilla_epoch --where "1/0 > 0"', 2, "divides by zero"),
    ({}, 'fit bundled:chinchilla_epoch --where "2.0**5000 > N"', 2, "overflows the float range"),
    ({}, 'fit bundled:chinchilla_epoch --where "' + "-" * 150 + '1 > 0"', 2,
     "nested more than 100 levels"),
    ({}, 'fit bundled:chinchilla_epoch --where "' + "(" * 300 + "1" + ")" * 300 + ' > 0"', 2,
     "too many nested parentheses"),
    ({}, 'fit bundled:chinchilla_epoch --where "' + "N > 0 and " * 500 + 'N > 0"', 2,
     "characters long; at most 4000"),
    ({}, 'fit bundled:chinchilla_epoch --where "' + "9" * 3990 + ' > N"', 2,
     "beyond the float range"),
    ({"d.csv": GOOD}, 'plan {d.csv} --compute 1e21 --where "10**10**10 > 0"', 2,
     "beyond the float range"),
    ({"d.csv": GOOD}, 'plan {d.csv} --compute 1e21 --where "1 % 0 > 0"', 2, "divides by zero"),
    ({"d.csv": GOOD}, 'report {d.csv} --out {tmp}/o --bootstrap 0 --where "[0]*10**9 == N"',
     2, "longer than 10000"),
    ({"d.csv": GOOD}, 'report {d.csv} --out {tmp}/o --bootstrap 0 --where "10**400 > N"', 2,
     "beyond the float range"),
    ({"l.csv": L2L}, 'l2l {l.csv} --x x_loss --y y_loss --where "9**9**9 > 0"', 2,
     "beyond the float range"),
    ({"l.csv": L2L}, 'l2l {l.csv} --x x_loss --y y_loss --where "1/0 > 0"', 2,
     "divides by zero"),
    # ---- model sizes: refused with the memory estimate before anything is allocated ---------
    ({}, "train --out {tmp}/o --set d_model=1000000000", 2, "needs at least"),
    ({}, "train --out {tmp}/o --set d_model=65536", 2, "parameters 412 GB"),
    ({}, "train --out {tmp}/o --set seq_len=1000000000", 2, "needs at least"),
    ({}, "train --out {tmp}/o --set batch_size=1000000000", 2, "batch_size=1000000000) needs"),
    ({}, "train --out {tmp}/o --set n_layer=1000000", 2, "needs at least"),
    ({}, "train --out {tmp}/o --set schedule.peak_lr=NaN", 2, "`schedule.peak_lr` is NaN"),
    ({}, "train --out {tmp}/o --set total_steps=1000000000000", 2,
     "`total_steps` must be at most 10,000,000"),
    ({"s.json": spec(sizes=BIG_SIZE)}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "seq_len=100000000, batch_size=32) needs at least"),
    ({"s.json": spec(base={"batch_size": 10 ** 9})}, "ladder --preset {s.json} --out {tmp}/o",
     2, "needs at least"),
    ({"s.json": spec(sizes=[{"n_layer": 1, "d_model": 1_000_000_000, "n_head": 1}])},
     "ladder --preset {s.json} --out {tmp}/o", 2, "needs at least"),
    # ---- ladder specs: fields the ladder sets, NaN peak LRs --------------------------------
    ({"s.json": spec(base={"run_id": "x"})}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `base.run_id`: the ladder sets"),
    ({"s.json": spec(base={"total_steps": 5})}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `base.total_steps`"),
    ({"s.json": spec(sizes=[{"n_layer": 1, "d_model": 16, "n_head": 1, "seed": 3}])},
     "ladder --preset {s.json} --out {tmp}/o", 2, "ladder `sizes[0].seed`"),
    ({"s.json": spec(base={"nonsense": 1})}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `base`: unknown field(s) ['nonsense']"),
    ({"s.json": spec(sizes=[{"n_layer": 1, "d_model": 16, "n_head": 1, "peak_lr": math.nan}])},
     "ladder --preset {s.json} --out {tmp}/o", 2,
     "`sizes[0].peak_lr` must be a positive finite number"),
    ({"s.json": spec(schedules=[{"kind": "cosine", "peak_lr": math.nan}])},
     "ladder --preset {s.json} --out {tmp}/o", 2,
     "`schedules[0].peak_lr` must be a positive finite number"),
    ({"s.json": spec(schedules=[{"kind": "cosine", "peak_lr": -1}])},
     "ladder --preset {s.json} --out {tmp}/o", 2, "positive finite number"),
    # ---- huge counts -------------------------------------------------------------------
    ({}, "fit bundled:chinchilla_epoch --bootstrap 1000000000", 2, "0<=x<=100000"),
    ({}, "fit bundled:chinchilla_epoch --starts 1000000000", 2,
     "random starts must be in 1..100000"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e21 --bootstrap 1000000000", 2, "0<=x<=100000"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y y_loss --bootstrap 1000000000", 2,
     "0<=x<=100000"),
    ({"j.json": fit_json()}, "schedules compare {j.json} --total-steps 1000000000000 "
     "--peak-lr 3e-4", 2, "2<=x<=10000000"),
    ({"j.json": fit_json()}, "schedules compare {j.json} --total-steps 100000000 "
     "--peak-lr 3e-4", 2, "2<=x<=10000000"),
    ({"j.json": l2l_json()}, "l2l predict {j.json} --x-values " + ",".join(["3.5"] * 10001),
     2, "at most 10000 are translated"),
    # ---- deep JSON: named, never a RecursionError ------------------------------------------
    ({"d.json": deep()}, "ladder --preset {d.json} --out {tmp}/o", 2,
     "nests objects or lists more than 64 levels deep"),
    ({"d.json": deep()}, "train --config {d.json} --out {tmp}/o", 2, "more than 64 levels"),
    ({"d.json": deep(), "t.csv": TARGETS}, "predict {d.json} --at {t.csv}", 2,
     "more than 64 levels"),
    ({"d.json": "[" * 5000 + "]" * 5000, "t.csv": TARGETS}, "predict {d.json} --at {t.csv}", 2,
     "more than 64 levels"),
    ({"d.json": deep()}, "l2l predict {d.json} --x-values 3.5", 2, "more than 64 levels"),
    ({"d.json": deep()}, "schedules compare {d.json} --total-steps 100 --peak-lr 3e-4", 2,
     "more than 64 levels"),
    ({"d.json": deep()}, "report {d.json} --out {tmp}/o", 2, "more than 64 levels"),
    ({"d.json": deep(), "t.csv": TARGETS}, "predict {d.json} --at {t.csv}", 2, "{d.json}"),
    # ---- saved loss-to-loss fits: draws and bounds ------------------------------------------
    ({"j.json": l2l_boot(bootstrap="abc")}, "l2l predict {j.json} --x-values 3.5", 2,
     "`groups.C4.bootstrap` must be an object (or null), got str"),
    ({"j.json": l2l_boot(residuals="DROP")}, "l2l predict {j.json} --x-values 3.5", 2,
     "`groups.C4.bootstrap` lacks ['residuals'] (a truncated file?"),
    ({"j.json": l2l_boot(params="DROP", space="DROP")}, "l2l predict {j.json} --x-values 3.5",
     2, "lacks ['params', 'space']"),
    ({"j.json": l2l_boot(space="cubic")}, "l2l predict {j.json} --x-values 3.5", 2,
     "`groups.C4.bootstrap.space` must be 'log' or 'linear'"),
    ({"j.json": l2l_boot(residuals=[0.1, None])}, "l2l predict {j.json} --x-values 3.5", 2,
     "`groups.C4.bootstrap.residuals[1]` must be a finite number"),
    ({"j.json": l2l_boot(residuals="abc")}, "l2l predict {j.json} --x-values 3.5", 2,
     "`groups.C4.bootstrap.residuals` must be a list of numbers, got str"),
    ({"j.json": l2l_boot(params={"K": [1.0], "kappa": [1.0], "E_x": [2.9], "E_y": [3.1, 3.2]})},
     "l2l predict {j.json} --x-values 3.5", 2, "equally many draws of each parameter"),
    ({"j.json": l2l_boot(params={"K": ["a"], "kappa": [1.0], "E_x": [2.9], "E_y": [3.1]})},
     "l2l predict {j.json} --x-values 3.5", 2, "`groups.C4.bootstrap.params.K[0]` must be"),
    ({"j.json": l2l_boot(params={"K": [1.0]})}, "l2l predict {j.json} --x-values 3.5", 2,
     "must hold draws of K, kappa, E_x, E_y"),
    ({"j.json": l2l_boot(residuals=[0.0] * 100_001)}, "l2l predict {j.json} --x-values 3.5", 2,
     "holds 100001 values; at most 100000"),
    ({"j.json": l2l_json()}, "l2l predict {j.json} --x-values 1e308", 2,
     "x = 1e+308 is not a loss in nats"),
    ({"j.json": l2l_boot()}, "l2l predict {j.json} --x-values 3.5,1e300", 2,
     "x = 1e+300 is not a loss in nats"),
    ({"j.json": json.dumps({**json.loads(l2l_json()), "settings": {"level": 5}})},
     "l2l predict {j.json} --x-values 3.5", 2, "`settings.level` must be a number in (0, 1)"),
    # ---- CSV quoting in targets: a quoted comma is one cell, a ragged row is named ----------
    ({"j.json": fit_json(CHIN), "t.csv": 'N,D,name\n1e9,2e10,"a,b"\n'},
     "predict {j.json} --at {t.csv}", 0, "a,b"),
    ({"j.json": fit_json(CHIN), "t.csv": 'N,D,name\n1e9,2e10,a,b\n'},
     "predict {j.json} --at {t.csv}", 2, "row(s) [2] have a different number of fields"),
    ({"j.json": fit_json(CHIN), "t.csv": "N,D,N\n1e9,2e10,1e9\n"},
     "predict {j.json} --at {t.csv}", 2, "duplicate column(s) ['N']"),
]


@pytest.mark.parametrize("files, command, code, fragment", CASES,
                         ids=[f"{i:03d}-{c[1].split()[0]}" for i, c in enumerate(CASES)])
def test_hostile_input_round2(tmp_path, monkeypatch, files, command, code, fragment):
    output = run_case(tmp_path, monkeypatch, files, command, code, fragment)
    assert "RecursionError" not in output and "MemoryError" not in output


def test_group_labels_that_collide_get_distinct_folders():
    from scaling.reporting import _folders

    folders = _folders(["a/b", "a_b", "A_B", "../a_b", ""])
    assert len(set(f.lower() for f in folders.values())) == 5
    assert all("/" not in f and not f.startswith(".") for f in folders.values())


def test_corpus_round2_spans_every_category():
    verbs = {c[1].split()[0] for c in CASES}
    assert {"fit", "plan", "report", "l2l", "train", "ladder", "predict", "schedules"} <= verbs
    assert len(CASES) >= 60


# --------------------------------------------------------------------------------------
# non-regular files: a link to /dev/zero is refused, not read until memory runs out


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("command", ["l2l predict {z} --x-values 3.5",
                                     "ladder --preset {z} --out {tmp}/o",
                                     "train --config {z} --out {tmp}/o",
                                     "schedules compare {z} --total-steps 100 --peak-lr 3e-4",
                                     "report {z} --out {tmp}/o",
                                     "predict {z} --at {t}"])
def test_a_link_to_dev_zero_is_refused(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    link = tmp_path / "fit.json"
    link.symlink_to("/dev/zero")
    (tmp_path / "t.csv").write_text(TARGETS)
    argv = _argv(command, {"z": str(link), "tmp": str(tmp_path), "t": str(tmp_path / "t.csv")})
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "fit.json" in result.output and "Traceback" not in result.output
    assert "not a regular file" in result.output, result.output


# --------------------------------------------------------------------------------------
# clean outputs


def _saved_fit_with_warning(tmp_path, warning: str):
    from scaling.data import load_dataset  # noqa: F401  (bundled data present)

    save = tmp_path / "fit.json"
    result = CliRunner().invoke(main, ["fit", "bundled:chinchilla_epoch", "--save", str(save)])
    assert result.exit_code == 0, result.output
    payload = json.loads(save.read_text())
    payload["warnings"] = [warning]
    save.write_text(json.dumps(payload))
    return save


def test_report_md_keeps_no_live_link_and_no_escape_from_a_saved_fit(tmp_path):
    save = _saved_fit_with_warning(
        tmp_path, "see [a](javascript:alert(1)) and [b]: javascript:x \x1b]0;title\x07 here")
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["report", str(save), "--out", str(out)])
    assert result.exit_code == 0, result.output
    md = (out / "report.md").read_text()
    assert "[a]\\(javascript:alert(1))" in md and "](javascript" not in md
    assert "[b]\\: javascript:x" in md
    assert "\x1b" not in md and "\x07" not in md
    assert "\x1b" not in (out / "report.html").read_text()
    assert "![" in md and "](fit.png)" in md  # the report's own plot stays an image


def test_osc_escape_in_a_target_cell_never_reaches_the_terminal(tmp_path):
    fit = tmp_path / "f.json"
    fit.write_text(fit_json(CHIN))
    targets = tmp_path / "t.csv"
    targets.write_text("N,D,name\n1e9,2e10,\x1b]0;pwned\x07x\x1b[31mred\n")
    for extra in ([], ["--json"]):
        result = CliRunner().invoke(main, ["predict", str(fit), "--at", str(targets), *extra])
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert "xred" in result.output or "u001b" in result.output


def test_symlinked_out_is_followed_and_no_lock_is_left(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    result = CliRunner().invoke(main, ["report", "bundled:chinchilla_epoch", "--out", str(link),
                                       "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (real / "report.md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # no .lock, no .tmp


def test_a_full_disk_names_the_path_and_predict_prints_what_it_computed(tmp_path, monkeypatch):
    fit = tmp_path / "f.json"
    fit.write_text(fit_json(CHIN))
    targets = tmp_path / "t.csv"
    targets.write_text(TARGETS)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(main, ["predict", str(fit), "--at", str(targets), "--out",
                                       str(out)])
    assert result.exit_code == 2, result.output
    assert f"cannot write or read {out}: No space left on device" in result.output
    assert "N,D,value" in result.output and "2e+10" in result.output.replace("20000000000", "2e+10")
    assert not out.exists() and not list(tmp_path.glob(".p.csv.*"))


# --------------------------------------------------------------------------------------
# the library pieces behind the CLI lines above


def test_where_bounds_are_checked_before_computing():
    import pandas as pd

    from scaling.data.where import MAX_DEPTH, where_mask

    frame = pd.DataFrame({"N": [1e8, 2e9], "tag": ["a", "b"]})
    assert where_mask(frame, "N < 2**30").tolist() == [True, False]
    assert where_mask(frame, "tag == 'a' * 1").tolist() == [True, False]
    assert where_mask(frame, "N > 10**-400").tolist() == [True, True]  # a float underflow
    assert where_mask(frame, "N * 10**300 * 10**10 > 0").tolist() == [True, True]  # column inf
    for expression, why in (("10**10**10 > 0", "beyond the float range"),
                            ("(-1)**3 * 7**1000 > N", "beyond the float range"),
                            ("'ab' * 5001 == tag", "longer than 10000"),
                            ("[1, 2] + [0] * 9999 == N", "longer than 10000"),
                            ("tag * 10**9 == 'a'", "repeated text from a column"),
                            ("3 * tag == 'aaa'", "repeated text from a column"),
                            ("N // 0 > 1 and 5 // 0 > 1", "divides by zero"),
                            ("-" * (MAX_DEPTH + 5) + "1 < N", "nested more than")):
        with pytest.raises(ValueError, match="row filter"):
            try:
                where_mask(frame, expression)
            except ValueError as err:
                assert why in str(err), str(err)
                raise


def test_memory_estimate_refuses_with_the_numbers_and_accepts_the_presets():
    from scaling.config import TrainConfig, check_memory, memory_estimate
    from scaling.ladder import get_preset

    config = TrainConfig(d_model=1024, n_head=8, n_layer=4, seq_len=64, batch_size=8)
    parts = memory_estimate(config)
    n = 12 * 4 * 1024 ** 2 + (256 + 64) * 1024
    assert parts["params"] == 4 * n and parts["optimizer"] == 12 * n
    assert parts["activations"] == 4 * 8 * 64 * (8 * 4 * 1024 + 2 * 256)
    with pytest.raises(ValueError, match=r"needs at least 0\.\d+ GB .* but this machine has "
                                         r"0\.001 GB"):
        check_memory(config, available=10 ** 6)
    check_memory(config, available=sum(parts.values()))  # exactly enough: accepted
    for name in ("cpu-5min", "gpu-30min"):  # the presets fit one 80 GB GPU
        for job in get_preset(name).configs():
            check_memory(job, available=80 * 10 ** 9)


def test_custom_spec_without_threads_gets_its_share_of_the_cores():
    from scaling.config import TrainConfig
    from scaling.ladder import _threads

    small, wide = TrainConfig(d_model=64), TrainConfig(d_model=512, n_head=8)
    assert small.threads is None
    assert _threads(small, None) is None  # one worker: the trainer decides
    assert _threads(small, 4) == 1  # a narrow model keeps its one thread
    assert 1 <= _threads(wide, 1) == 1
    assert _threads(TrainConfig(d_model=64, threads=6), 2) == 2


def test_ladder_summary_after_failed_and_diverged_runs_names_the_real_remedy():
    from scaling.ladder_checks import _report

    summary = {"ladder": "x", "out_dir": "out", "wall_s": 3.0, "checks": {},
               "runs": [{"run_id": "r1", "status": "diverged",
                         "stop_reason": "non-finite training loss (nan) at step 2"}],
               "diverged": ["r1"],
               "failed": [{"job": "r2", "error": "out/runs/r2/checkpoint.pt: refusing to load "
                           "this checkpoint as unsafe ...; delete the file", "remedy": None},
                          {"job": "r3", "error": "BrokenProcessPool: a worker died",
                           "remedy": "rerun the same command to resume it"}]}
    text = _report(summary)
    assert "ladder x: 0 runs" in text
    assert "validation loss falls" not in text and "scaling fit" not in text
    assert "no run finished" in text
    assert "DIVERGED r1" in text and "lower its peak_lr" in text and "out/runs/r1" in text
    line2 = [line for line in text.splitlines() if line.startswith("FAILED r2")][0]
    assert "rerun" not in line2 and "delete the file" in line2
    assert "FAILED r3: BrokenProcessPool: a worker died (rerun the same command" in text


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_refused_checkpoint_message_is_ours_and_whole(tmp_path):
    torch = pytest.importorskip("torch")

    from scaling.trainer import _load_checkpoint

    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"\x80\x04\x95" + b"garbage" * 20)
    with pytest.raises(ValueError) as info:
        _load_checkpoint(torch, path)
    text = str(info.value)
    assert "refusing to load this checkpoint as unsafe" in text
    assert "weights_only" not in text and "rerun" not in text
    assert text.endswith("delete the file to train this run again from step 0")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_dies_with_its_parent(tmp_path):
    """The worker set-up of the local pool: kill the parent (SIGKILL), the child follows."""
    script = textwrap.dedent(f"""
        import multiprocessing, os, signal, sys, time
        from scaling.executors import _init_worker

        def child(parent, ready):
            _init_worker(None, parent)
            open(ready, "w").write(str(os.getpid()))
            time.sleep(120)

        if __name__ == "__main__":
            ctx = multiprocessing.get_context("spawn")
            proc = ctx.Process(target=child, args=(os.getpid(), {str(tmp_path / 'ready')!r}))
            proc.start()
            while not os.path.exists({str(tmp_path / 'ready')!r}):
                time.sleep(0.02)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    (tmp_path / "parent.py").write_text(script)
    subprocess.run([sys.executable, str(tmp_path / "parent.py")], timeout=120)
    pid = int((tmp_path / "ready").read_text())
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            break
        if state == "Z":
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        pytest.fail("the worker outlived its parent")


def test_cpu_workers_share_the_machine_memory(tmp_path, monkeypatch):
    import scaling.config
    from scaling.config import TrainConfig, memory_estimate
    from scaling.ladder import LadderSpec, run_ladder

    spec = LadderSpec(sizes=[{"n_layer": 4, "d_model": 1024, "n_head": 8}], tokens=[1e4],
                      schedules=[{"kind": "cosine", "peak_lr": 1e-3}],
                      base={"device": "cpu", "seq_len": 64, "batch_size": 4})
    need = sum(memory_estimate(spec.configs()[0]).values())
    assert isinstance(spec.configs()[0], TrainConfig)
    monkeypatch.setattr(scaling.config, "machine_memory", lambda: int(1.5 * need))
    with pytest.raises(ValueError, match=r"but a 1/2 share of this machine has"):
        run_ladder(spec, tmp_path, quiet=True, workers=2)
    assert not (tmp_path / "runs").exists()  # refused before any run started


def test_an_absurd_model_is_refused_before_torch_is_imported(tmp_path):
    # what keeps `scaling train --set d_model=1000000000` within seconds and ~100 MB
    code = ("import sys\nfrom scaling.commands import main\n"
            f"try:\n    main(['train', '--set', 'd_model=1000000000', '--out', "
            f"{str(tmp_path / 'o')!r}])\n"
            "except SystemExit as exit:\n    print('exit', exit.code)\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split()[-3:] == ["exit", "2", "False"], out.stdout + out.stderr
    assert "needs at least" in out.stderr and not (tmp_path / "o").exists()
