"""Every `scaling ...` command in README.md and docs/*.md stays true.

Fast: each documented command parses against the real CLI (options exist, values have
the right types; templates such as ``scaling fit DATA --law chinchilla|kaplan`` are
checked for their option names). Slow: every concrete command runs, in document order,
in a scratch folder holding small stand-ins for the user files the docs mention (big
jobs made small: a tiny ladder instead of ``cpu-5min``, 50 bootstrap resamples).
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
import warnings
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```(?:bash|sh|shell|console)?\n(.*?)```", re.S)
# upper-case placeholders (DATA, FIT.json, ID, A,B,C ...) and option alternatives mark a
# template, not a command to run
_TEMPLATE = re.compile(r"(\[|\||\b[A-Z][A-Z_]+\b(?!\s*=)|\bFIT\.json\b|\bRESULT\.json\b)")


def documented_commands():
    """(file name, command line) for every `scaling` line of a shell block."""
    out = []
    for path in DOCS:
        for block in _BLOCK.findall(path.read_text()):
            pending = ""
            for line in block.splitlines():
                line = line.rstrip()
                if line.endswith("\\"):
                    pending += line[:-1] + " "
                    continue
                command = (pending + line).strip()
                pending = ""
                command = command[2:] if command.startswith("$ ") else command
                if command.startswith("scaling "):
                    out.append((path.name, _strip_comment(command)))
    return out


def _strip_comment(command: str) -> str:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return shlex.join(list(lexer))


def _is_template(command: str) -> bool:
    args = shlex.split(command)[1:]
    return any(_TEMPLATE.search(a) and not a.startswith("bundled:") for a in args
               if not re.fullmatch(r"[\w.]+=.*", a) and "/" not in a
               and not a.startswith("--")) or "|" in command or "[" in command


def _left(ctx) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(getattr(ctx, "protected_args", [])) + list(ctx.args)


def _resolve(args, resilient=True):
    """The click command an argument list reaches (parsing every level), and what is
    left unparsed."""
    ctx = main.make_context("scaling", list(args), resilient_parsing=resilient)
    command, rest = main, _left(ctx)
    while isinstance(command, click.Group) and rest:
        name, sub, rest = command.resolve_command(ctx, rest)
        ctx = sub.make_context(name, list(rest), parent=ctx, resilient_parsing=resilient)
        command, rest = sub, _left(ctx)
    return command, rest


COMMANDS = documented_commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 30


@pytest.mark.parametrize("where,command", COMMANDS, ids=[f"{w}:{c[:60]}" for w, c in COMMANDS])
def test_documented_command_parses(where, command, tmp_path, monkeypatch):
    args = shlex.split(command)[1:]
    if _is_template(command):
        words = [a for a in args if not a.startswith("-")][:2]
        command_obj = _resolve(words)[0]
        known = {opt for p in command_obj.params for opt in p.opts + p.secondary_opts}
        used = {a.split("=")[0] for a in args if a.startswith("--")}
        assert used <= known | {"--help"}, f"{where}: unknown option(s) {used - known}"
        return
    # input files the docs assume exist (a saved fit, the user's CSV) exist here
    monkeypatch.chdir(tmp_path)
    for arg in args:
        if re.fullmatch(r"[\w./-]+\.(json|csv)", arg) and "/" not in arg:
            Path(arg).touch()
    # a full parse: unknown options, wrong types and missing arguments all fail here
    rest = _resolve(args, resilient=False)[1]
    assert not rest, f"{where}: `{command}` leaves arguments {rest} unparsed"


# -- running them ----------------------------------------------------------------------
_TINY_LADDER = """{"name": "docs-tiny", "sizes": [{"n_layer": 1, "d_model": 16, "n_head": 1},
 {"n_layer": 1, "d_model": 24, "n_head": 2}, {"n_layer": 1, "d_model": 32, "n_head": 2}],
 "tokens": [2048, 4096, 8192], "seeds": [0],
 "schedules": [{"kind": "wsd", "peak_lr": 3e-3, "end_lr": 3e-4, "warmup_steps": 2,
                "cooldown_frac": 0.2}],
 "base": {"seq_len": 32, "batch_size": 8, "eval_every": 4, "eval_tokens": 1024,
          "ckpt_every": 8, "threads": 1}}"""


def _scratch(tmp_path: Path) -> Path:
    """Stand-ins for the user files the docs name."""
    import pandas as pd

    from scaling.data import export_dataset, load_chinchilla_epoch

    export_dataset("chinchilla_epoch", tmp_path)  # points.csv + runs.csv
    final = load_chinchilla_epoch().final_points()
    pd.DataFrame({"run_id": final["run_id"], "params": final["N"], "D": final["D"],
                  "train/loss": final["loss"]}).to_csv(tmp_path / "metrics.csv", index=False)
    shutil.copy(ROOT / "tests" / "data" / "fixtures" / "hf_trainer_state_tokens_seen.json",
                tmp_path / "trainer_state.json")
    (tmp_path / "tiny-ladder.json").write_text(_TINY_LADDER)
    # a ladder-shaped file: 3 checkpoints per run, a dataset column, a repeated run
    rows = []
    for i, (rid, n, d, loss) in enumerate(zip(final["run_id"], final["N"], final["D"],
                                              final["loss"])):
        for step, frac in ((250, 0.25), (500, 0.5), (1000, 1.0)):
            rows.append({"run_id": rid, "step": step, "N": n, "D": d * frac,
                         "loss": loss * (1 + 0.05 * (1 - frac)),
                         "dataset": "c4" if i % 2 else "pile"})
    ladder = pd.DataFrame(rows)
    repeat = ladder[ladder["run_id"] == final["run_id"].iloc[0]].assign(
        run_id=lambda f: f["run_id"] + "-seed1", loss=lambda f: f["loss"] * 1.002)
    pd.concat([ladder, repeat]).to_csv(tmp_path / "ladder.csv", index=False)
    # targets for a saved fit, and an LR sweep's optimum per budget (eta* ~ C^-0.125)
    pd.DataFrame({"N": [1e9, 7e10], "D": [2e10, 1.4e12]}).to_csv(tmp_path / "targets.csv",
                                                                index=False)
    budgets = np.geomspace(1e18, 1e21, 6)
    pd.DataFrame({"run_id": [f"b{i}" for i in range(6)], "N": np.sqrt(budgets / 120),
                  "C": budgets, "loss": 2 + 40 * budgets ** -0.05,
                  "lr_opt": 0.3 * budgets ** -0.125 + 1e-4}).to_csv(tmp_path / "lr_sweep.csv",
                                                                    index=False)
    return tmp_path


def _shrink(command: str) -> str:
    command = command.replace("--preset cpu-5min", "--preset tiny-ladder.json")
    command = command.replace("--preset cpu-demo", "--preset synthetic")  # minutes -> seconds
    command = re.sub(r"--bootstrap \d+", "--bootstrap 50", command)
    command = re.sub(r"--set total_steps=\d+", "--set total_steps=20", command)
    if command.startswith("scaling train"):
        if "total_steps" not in command:
            command += " --set total_steps=20"
        command += (" --set eval_every=10 --set eval_tokens=1024 --set seq_len=32"
                    " --set batch_size=4 --set schedule.warmup_steps=2")
    return command


@pytest.mark.slow
def test_every_documented_command_runs(tmp_path, monkeypatch):
    folder = _scratch(tmp_path / "work")
    monkeypatch.chdir(folder)
    if SHARED.exists():
        (folder.parent / "shared").symlink_to(SHARED)
    failures = []
    for where, command in COMMANDS:
        if _is_template(command) or ("../shared" in command and not SHARED.exists()):
            continue
        if command.split()[:2] == ["scaling", "demo"]:  # CI runs it, and its own test
            continue
        if "--config my-config.json" in command:  # the docs show a config of one's own
            Path("my-config.json").write_text('{"d_model": 32, "n_layer": 1, "n_head": 2, '
                                        '"seq_len": 32, "batch_size": 4}')
        small = _shrink(command)
        started = time.perf_counter()
        result = CliRunner().invoke(main, shlex.split(small)[1:])
        print(f"{time.perf_counter() - started:6.1f} s  {small}")
        if result.exit_code != 0:
            failures.append(f"{where}: `{command}` -> exit {result.exit_code}: "
                            f"{result.output.strip().splitlines()[-1:] or result.exception}")
    assert not failures, "\n".join(failures)
