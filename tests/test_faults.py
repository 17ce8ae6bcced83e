"""Faults while writing: a full disk or read-only folder exits 2 naming the path and never
loses a finished fit; a process killed between writing a temporary file and renaming it
leaves the previous file whole, and a rerun gives the same result (issue 13)."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

import scaling.data.io
from scaling.commands import main

from .test_hostile_corpus import GOOD


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(GOOD)
    return path


@pytest.fixture(scope="module")
def saved_fit(tmp_path_factory):
    """A real saved fit (with its points, for plots) of the corpus' good table."""
    folder = tmp_path_factory.mktemp("saved")
    (folder / "runs.csv").write_text(GOOD)
    result = CliRunner().invoke(main, ["fit", str(folder / "runs.csv"), "--starts", "8",
                                       "--save", str(folder / "fit.json")])
    assert result.exit_code == 0, result.output
    return (folder / "fit.json").read_text()


def _fail_with(code, text):
    def hook(path):
        raise OSError(code, text, str(path))
    return hook


def test_full_disk_on_save_prints_the_fit_and_names_the_path(tmp_path, table, monkeypatch):
    monkeypatch.setattr(scaling.data.io, "_before_replace",
                        _fail_with(errno.ENOSPC, "No space left on device"))
    save = tmp_path / "fit.json"
    result = CliRunner().invoke(main, ["fit", str(table), "--starts", "8", "--save", str(save)])
    assert result.exit_code == 2
    assert "alpha" in result.output and "converged" in result.output  # the fit is not lost
    assert (f"could not save to {save}: No space left on device; the result is printed above"
            in result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]  # no temporary left


def test_read_only_report_folder_exits_2_and_keeps_the_old_report(tmp_path, monkeypatch,
                                                                   saved_fit):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("the old report")
    monkeypatch.setattr(scaling.data.io, "_before_replace",
                        _fail_with(errno.EACCES, "Permission denied"))
    fit = tmp_path / "fit.json"
    fit.write_text(saved_fit)
    result = CliRunner().invoke(main, ["report", str(fit), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: cannot write or read ")
    assert "Permission denied" in result.output and "internal error" not in result.output
    assert (out / "report.md").read_text() == "the old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json", "out"]  # no lock left


def test_a_second_report_writer_on_the_same_folder_is_refused(tmp_path):
    import fcntl

    from .test_hostile_corpus import CHIN, fit_json

    fit = tmp_path / "fit.json"
    fit.write_text(fit_json(CHIN))
    with open(tmp_path / ".out.lock", "a") as held:  # as a running `scaling report` holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        result = CliRunner().invoke(main, ["report", str(fit), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "another scaling process is writing this folder now" in result.output
    assert not (tmp_path / "out").exists()


def test_ansi_escapes_in_data_never_reach_the_terminal(tmp_path):
    path = tmp_path / "runs.csv"
    rows = GOOD.splitlines()
    path.write_text("run_id," + rows[0] + "\n" + "".join(
        f"\x1b]0;pwned\x07r{i}\x1b[2J,{row}\n" for i, row in enumerate(rows[1:])))
    result = CliRunner().invoke(main, ["fit", str(path), "--starts", "8", "--law", "bogus"])
    assert result.exit_code == 2
    result = CliRunner().invoke(main, ["fit", str(path), "--starts", "8", "--json"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("N,D,loss\n1e8,\x1b[31mred\x1b[0m,3\n2e8,2e9,2.9\n")
    result = CliRunner().invoke(main, ["fit", str(bad)])
    assert result.exit_code == 2 and "column 'D'" in result.output
    assert "\x1b" not in result.output


KILLED = textwrap.dedent("""
    import os, signal, sys
    import scaling.data.io
    from scaling.commands import main

    def kill(path):  # after the temporary is complete, before the rename
        if path.name == {name!r}:
            os.kill(os.getpid(), signal.SIGKILL)

    scaling.data.io._before_replace = kill
    main({argv!r})
""")


def _run_killed(argv, name):
    script = KILLED.format(argv=argv, name=name)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300,
                          env={**os.environ, "SCALING_QUIET": "1"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


def test_sigkill_while_saving_a_fit_keeps_the_old_file(tmp_path, table):
    save = tmp_path / "fit.json"
    save.write_text("the previous fit\n")
    argv = ["fit", str(table), "--starts", "8", "--json", "--save", str(save)]
    _run_killed(argv, "fit.json")
    assert save.read_text() == "the previous fit\n"  # never half-written
    (left,) = tmp_path.glob(".fit.json.*.tmp")  # the killed writer's temporary
    os.utime(left, (time.time() - 3600,) * 2)
    rerun = CliRunner().invoke(main, argv)
    assert rerun.exit_code == 0, rerun.output
    assert save.read_text() == rerun.output  # the whole result, as printed
    assert not list(tmp_path.glob(".fit.json.*.tmp"))  # the stale temporary is gone


@pytest.mark.parametrize("name", ["report.html",
                                  pytest.param("out", marks=pytest.mark.slow)])
def test_sigkill_while_writing_a_report_keeps_the_old_report(tmp_path, name, saved_fit):
    fit = tmp_path / "fit.json"
    fit.write_text(saved_fit)
    out = tmp_path / "out"
    argv = ["report", str(fit), "--out", str(out)]
    assert CliRunner().invoke(main, argv).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # killed while writing report.html inside the staging folder, or just before the swap
    _run_killed(argv, name)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert list(tmp_path.glob(".out.*.tmp"))  # the killed writer's staging folder
    assert CliRunner().invoke(main, argv).exit_code == 0
    assert not list(tmp_path.glob(".out.*.tmp"))  # removed by the rerun
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after.keys() == before.keys() and after["fit.json"] == before["fit.json"]
