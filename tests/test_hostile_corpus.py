"""A corpus of malformed files and flags, run through every verb (issue 13).

One line per case: (files to write, command line, expected exit code, message fragment).
Every refusal exits 2 with one line naming the field, column, row or path at fault; the few
accept-with-warning cases exit 0 and print a ``warning:`` line naming the cause. The corpus
only grows: add a line for every new hostile input found.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from click.testing import CliRunner

from scaling.commands import main


def _chinchilla_rows(N, D):
    loss = 1.82 + 482.0 / np.asarray(N) ** 0.3478 + 2085.4 / np.asarray(D) ** 0.3658
    return "".join(f"{n:g},{d:g},{value:.6f}\n" for n, d, value in zip(N, D, loss))


_N = [1e8, 1e8, 3e8, 3e8, 1e9, 1e9, 3e9, 3e9]
_D = [2e9, 8e9, 4e9, 2e10, 1e10, 4e10, 3e10, 1e11]
GOOD = "N,D,loss\n" + _chinchilla_rows(_N, _D)          # one row per run, 8 runs
HEAD = "N,D,loss\n"
CURVE_RUNS = ("run_id,N,schedule,peak_lr,end_lr,warmup_steps,total_steps\n"
              "a,1e8,cosine,3e-4,3e-5,10,100\n")
CURVE_POINTS = "run_id,step,loss\n" + "".join(f"a,{s},{3 + 5 / s ** 0.5:.5f}\n"
                                              for s in range(20, 101, 10))
L2L = ("model,x_loss,y_loss,name\n"
       + "".join(f"m{i},{3 + i / 10:.2f},{2.5 + i / 12:.3f},n{i}\n" for i in range(20)))


def _param(value, lower, upper):
    return {"value": value, "stderr": 0.01, "lower": lower, "upper": upper,
            "at_bound": None, "interval": None}


TISSUE = {"law": "tissue", "equation": "L(s) = L0 + A S1^-alpha - C S2", "citation": "Tissue 2024",
          "params": {"L0": _param(3.149, 0.05, 20.0), "A": _param(0.524, 1e-4, 1e3),
                     "alpha": _param(0.5005, 0.01, 3.0), "C": _param(1.913, 0.0, 1e4)},
          "objective": 0.01, "n_points": 300, "n_runs": 3, "data": {}, "choices": {},
          "convergence": {"converged": True}, "warnings": [], "version": "", "draws": {}}
CHIN = {"law": "chinchilla", "equation": "L = E + A/N^alpha + B/D^beta", "citation": "Hoffmann",
        "params": {"E": _param(1.82, 1e-4, 100.0), "A": _param(482.0, 1e-6, 1e20),
                   "B": _param(2085.0, 1e-6, 1e20), "alpha": _param(0.348, 0.0, 3.0),
                   "beta": _param(0.366, 0.0, 3.0)},
        "objective": 0.01, "n_points": 8, "n_runs": 8, "data": {}, "choices": {},
        "convergence": {"converged": True}, "warnings": [], "version": "", "draws": {}}


def fit_json(base=TISSUE, drop=(), **changes):
    """A saved fit: ``base`` with top-level ``changes``; ``p_<name>=...`` edits a parameter's
    value (``p_<name>=dict`` replaces it); ``drop`` removes parameters."""
    payload = copy.deepcopy(base)
    for key, value in changes.items():
        if key.startswith("p_"):
            name = key[2:]
            if isinstance(value, dict) or value == "LIST":
                payload["params"][name] = [1, 2] if value == "LIST" else value
            else:
                payload["params"].setdefault(name, _param(0.1, 0.0, 1.0))["value"] = value
        else:
            payload[key] = value
    for name in drop:
        payload["params"].pop(name)
    return json.dumps(payload)


L2L_PARAMS = {"K": 0.93, "kappa": 1.06, "E_x": 2.96, "E_y": 3.15}


def l2l_json(law="shifted-power-law", groups=None, **params):
    """A saved loss-to-loss fit with one group, C4; ``params`` edit its parameters."""
    edited = {k: v for k, v in {**L2L_PARAMS, **params}.items() if v != "DROP"}
    return json.dumps({"x": "x", "y": "y", "law": law, "warnings": [],
                       "groups": {"C4": {"params": edited}} if groups is None else groups})


TARGETS = "N,D\n1e9,2e10\n"
SPEC = {"sizes": [{"n_layer": 1, "d_model": 16, "n_head": 1}], "tokens": [1e4],
        "schedules": [{"kind": "cosine", "peak_lr": 1e-3}]}


def spec(**changes):
    return json.dumps({**SPEC, **changes})


# (files {name: text}, argv (paths as {name}, the folder as {tmp}), exit code, fragment)
CASES = [
    # ---- fit: files -------------------------------------------------------------------
    ({}, "fit {tmp}/missing.csv", 2, "does not exist"),
    ({"e.csv": ""}, "fit {e.csv}", 2, "is empty"),
    ({"h.csv": HEAD}, "fit {h.csv}", 2, "has no rows (only a header)"),
    ({"d.xyz": GOOD}, "fit {d.xyz}", 2, "cannot tell the format"),
    ({"d.csv": "N,D\n1e8,2e9\n"}, "fit {d.csv}", 2, "missing required column(s): 'loss'"),
    ({"d.csv": "D,loss\n2e9,3\n"}, "fit {d.csv}", 2, "missing required column(s): 'N'"),
    ({"d.csv": "N,loss\n1e8,3\n2e8,2.9\n"}, "fit {d.csv}", 2, "needs token counts D (or C)"),
    ({"d.csv": HEAD + "1e8,abc,3\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'D'"),
    ({"d.csv": HEAD + "1e8,2e9,abc\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'loss'"),
    ({"d.csv": HEAD + "x1e8,2e9,3\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'N'"),
    ({"d.csv": HEAD + "1e8,2e9,nan\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'loss' has NaN"),
    ({"d.csv": HEAD + "1e8,2e9,inf\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'loss'"),
    ({"d.csv": HEAD + "1e8,2e9,-3\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'loss' must be > 0"),
    ({"d.csv": HEAD + "1e8,2e9,0\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'loss' must be > 0"),
    ({"d.csv": HEAD + "-1e8,2e9,3\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'N' must be > 0"),
    ({"d.csv": HEAD + "0,2e9,3\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'N' must be > 0"),
    ({"d.csv": HEAD + "1e8,-2e9,3\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'D' must be > 0"),
    ({"d.csv": HEAD + "1e8,0,3\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'D' must be > 0"),
    ({"d.csv": HEAD + "1e8,inf,3\n2e8,2e9,2.9\n"}, "fit {d.csv}", 2, "column 'D'"),
    ({"d.csv": HEAD + "1e8,2e9,3\n1e8,2e9,3\n"}, "fit {d.csv}", 2, "duplicated rows"),
    ({"d.csv": "N,D,loss,loss\n1e8,2e9,3,4\n"}, "fit {d.csv}", 2,
     "names column 'loss' twice (columns 3 and 4)"),
    ({"d.csv": "N,N,D,loss\n1e8,1e8,2e9,3\n"}, "fit {d.csv}", 2, "names column 'N' twice"),
    ({"d.csv": "N, N ,D,loss\n1e8,1e8,2e9,3\n"}, "fit {d.csv}", 2, "names column 'N' twice"),
    ({"d.csv": HEAD + "1.3,2e9,3\n7e9,2e9,2.9\n2.6,4e9,2.8\n"}, "fit {d.csv}", 2,
     "column 'N' mixes units"),
    ({"d.csv": "run_id,step,N,D,loss\na,1.5,1e8,2e9,3\n"}, "fit {d.csv}", 2, "column 'step'"),
    ({"d.csv": "run_id,step,N,D,loss\na,-1,1e8,2e9,3\n"}, "fit {d.csv}", 2, "column 'step'"),
    ({"d.csv": "run_id,step,N,D,loss\na,1,1e8,2e9,3\na,1,1e8,3e9,2.9\n"}, "fit {d.csv}", 2,
     "duplicated (run_id, step)"),
    ({"d.csv": "run_id,step,N,D,loss\n,1,1e8,2e9,3\n"}, "fit {d.csv}", 2, "column 'run_id' is empty"),
    ({"d.csv": "run_id,step,N,D,loss\na,1,1e8,2e9,3\na,2,2e8,4e9,2.9\n"}, "fit {d.csv}", 2,
     "column 'N' must be constant within a run"),
    ({"d.csv": "run_id,N,D,loss\na,1e8,2e9,3\na,1e8,4e9,2.9\n"}, "fit {d.csv}", 2,
     "column 'step' is needed"),
    ({"d.csv": "N,D,loss,N_convention\n1e8,2e9,3,weird\n"}, "fit {d.csv}", 2,
     "column 'N_convention' must be one of"),
    ({"d.csv": "N,D,loss,N_convention\n1e8,2e9,3,total\n2e8,2e9,2.9,non_embedding\n"},
     "fit {d.csv}", 2, "mixed N conventions"),
    ({"d.jsonl": '{"N": 1e8, "D": 2e9, "loss": 3}\n{broken\n'}, "fit {d.jsonl}", 2,
     "could not read"),
    ({"d.json": "[1, 2, 3]"}, "fit {d.json}", 2, "missing required column"),
    ({"d.parquet": "not a parquet file"}, "fit {d.parquet}", 2, "could not read"),
    ({"d.tsv": "N\tD\tloss\n1e8\tabc\t3\n"}, "fit {d.tsv}", 2, "column 'D'"),
    ({"d.csv": "\x00\x01\x02garbage\xff\n\x00,\x01\n"}, "fit {d.csv}", 2, "missing required column"),
    ({"d.csv": 'N,D,loss\n1e8,2e9,"3\n'}, "fit {d.csv}", 2, "could not read"),
    ({"sub/notes.txt": "x"}, "fit {tmp}/sub", 2, "has no points file"),
    ({"d.csv": GOOD}, "fit {d.csv} --col loss", 2, "must look like NEW=OLD"),
    ({"d.csv": GOOD}, "fit {d.csv} --col =loss", 2, "must look like NEW=OLD"),
    ({"d.csv": GOOD}, "fit {d.csv} --col loss=train/loss", 2, "'train/loss'"),
    ({"d.csv": GOOD}, "fit {d.csv} --col loss=N --col loss=D", 2, "gives 'loss' twice"),
    ({"p.csv": "run_id,D,loss\na,2e9,3\n", "r.csv": "run_id,N\nb,1e8\n"},
     "fit {p.csv} --runs {r.csv}", 2, "missing from the runs file: ['a']"),
    ({"p.csv": "run_id,D,loss\na,2e9,3\n", "r.csv": "run_id,N\na,1e8\na,2e8\n"},
     "fit {p.csv} --runs {r.csv}", 2, "run_id must be unique in the runs file"),
    ({"p.csv": "run_id,D,loss\na,2e9,3\n", "r.csv": "N\n1e8\n"},
     "fit {p.csv} --runs {r.csv}", 2, "the runs file has no 'run_id' column"),
    ({"p.csv": "run_id,D,loss\na,2e9,3\n", "r.csv": "run_id,N\n,1e8\n"},
     "fit {p.csv} --runs {r.csv}", 2, "column 'run_id' is empty"),
    ({"p.csv": "run_id,D,loss\na,2e9,3\n"}, "fit {p.csv} --runs {tmp}/nope.csv", 2,
     "does not exist"),
    ({"d.csv": HEAD + "1e8,2e9,3\n1e8,4e9,2.9\n1e8,8e9,2.8\n1e8,2e10,2.7\n"},
     "fit {d.csv} --law power-law --x N", 2,
     "every point has the same x (1e+08)"),
    ({"d.csv": HEAD + "1e8,2e9,3\n2e8,4e9,2.9\n"}, "fit {d.csv}", 2,
     "has 5 free parameters and needs at least 5 points"),
    ({}, "fit bundled:nonexistent", 2, "nonexistent"),
    ({}, "fit bundled:../../etc/passwd", 2, "etc/passwd"),
    # ---- fit: flags -------------------------------------------------------------------
    ({"d.csv": GOOD}, "fit {d.csv} --starts abc", 2, "a number of random starts, got 'abc'"),
    ({"d.csv": GOOD}, "fit {d.csv} --starts 0", 2, "random starts must be in 1..100000"),
    ({"d.csv": GOOD}, "fit {d.csv} --starts -5", 2, "random starts must be in 1..100000"),
    ({"d.csv": GOOD}, "fit {d.csv} --drop-highest -1", 2, "--drop-highest"),
    ({"d.csv": GOOD}, "fit {d.csv} --delta 0", 2, "--delta"),
    ({"d.csv": GOOD}, "fit {d.csv} --delta nan", 2, "--delta"),
    ({"d.csv": GOOD}, "fit {d.csv} --delta -1", 2, "--delta"),
    ({"d.csv": GOOD}, "fit {d.csv} --delta abc", 2, "--delta"),
    ({"d.csv": GOOD}, "fit {d.csv} --asymmetry nan", 2, "--asymmetry"),
    ({"d.csv": GOOD}, "fit {d.csv} --asymmetry inf", 2, "--asymmetry"),
    ({"d.csv": GOOD}, "fit {d.csv} --asymmetry 0", 2, "--asymmetry"),
    ({"d.csv": GOOD}, "fit {d.csv} --loss cubic", 2, "--loss"),
    ({"d.csv": GOOD}, "fit {d.csv} --law chinchila", 2, "--law"),
    ({"d.csv": GOOD}, "fit {d.csv} --law power-law --x Q", 2, "--x"),
    ({"d.csv": GOOD}, "fit {d.csv} --bootstrap -1", 2, "--bootstrap"),
    ({"d.csv": GOOD}, "fit {d.csv} --seed abc", 2, "--seed"),
    ({"d.csv": GOOD}, "fit {d.csv} --starts 8 --save {tmp}/no/such/dir/fit.json", 2,
     "does not exist"),
    ({"d.csv": GOOD, "dir/x": ""}, "fit {d.csv} --starts 8 --save {tmp}/dir", 2, "--save"),
    ({"d.csv": GOOD}, "fit {d.csv} --fit-runs a,b", 2, "--fit-runs and --method apply"),
    ({"d.csv": GOOD}, "fit {d.csv} --method luo2025", 2, "--fit-runs and --method apply"),
    ({"d.csv": GOOD}, "fit {d.csv} --method wrong", 2, "--method"),
    ({"d.csv": GOOD}, "fit {d.csv} --log-format hf", 2, "--model-size"),
    ({"d.csv": GOOD}, "fit {d.csv} --log-format bogus", 2, "--log-format"),
    ({"d.csv": GOOD}, "fit {d.csv} --log-format hf --model-size abc", 2, "--model-size"),
    ({"d.csv": GOOD}, "fit {d.csv} --log-format hf --model-size nan", 2, "--model-size"),
    ({"d.csv": GOOD}, "fit {d.csv} --law tissue --y acc", 2, "--y applies to the point laws"),
    ({"d.csv": GOOD}, "fit {d.csv} --y nonexistent --starts 8", 2, "nonexistent"),
    ({"d.csv": GOOD}, "fit {d.csv} --fix E=abc", 2, "E=abc"),
    ({"d.csv": GOOD}, "fit {d.csv} --fix Q=1", 2, "Q"),
    ({"d.csv": GOOD}, "fit {d.csv} --bounds alpha=2:1", 2, "alpha"),
    ({"d.csv": GOOD}, "fit {d.csv} --starts 8", 0, "E "),  # the baseline: the corpus' good table fits
    # ---- fit: accepted with a warning -------------------------------------------------
    ({"d.csv": "\ufeff" + GOOD}, "fit {d.csv} --starts 8", 0,
     "warning: {d.csv}: skipped a UTF-8 byte-order mark"),
    ({"d.csv": " N , D ,loss\n" + GOOD.split("\n", 1)[1]}, "fit {d.csv} --starts 8", 0,
     "removed spaces around header name(s) ' N ', ' D '"),
    ({"d.csv": GOOD + "5e9,2e11,1e-308\n"}, "fit {d.csv} --starts 8", 0,
     "warning: column 'loss' has implausible value(s): 1e-308 in row 9"),
    ({"d.csv": GOOD}, "fit {d.csv} --starts 8 --col N=D --col D=N", 0, "chinchilla"),
    ({"d.csv": HEAD + _chinchilla_rows([1e8, 2e8, 4e8, 8e8, 1.6e9, 3.2e9],
                                       [2e9, 4e9, 8e9, 1.6e10, 3.2e10, 6.4e10])},
     "fit {d.csv} --starts 8", 0, "N and D are collinear"),
    ({"d.csv": HEAD + _chinchilla_rows([1e8, 2e8, 4e8, 1e8, 2e8, 4e8],
                                       [2e9, 2e9, 2e9, 8e9, 8e9, 8e9])},
     "fit {d.csv} --starts 8", 0, "D is NOT identified"),
    ({"d.csv": HEAD + _chinchilla_rows([1e8, 1e8, 1e8, 1e9, 1e9, 1e9],
                                       [2e9, 8e9, 3e10, 2e9, 8e9, 3e10])},
     "fit {d.csv} --starts 8", 0, "N is NOT identified"),
    # ---- plan ---------------------------------------------------------------------------
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e-300", 2, "--compute"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e300", 2, "--compute"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute nan", 2, "--compute"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute inf", 2, "--compute"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute -1e22", 2, "--compute"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 0", 2, "--compute"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute abc", 2, "--compute"),
    ({"d.csv": GOOD}, "plan {d.csv}", 2, "give --compute"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --price nan", 2, "--price"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --price -1", 2, "--price"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --price inf", 2, "--price"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --mfu 0", 2, "--mfu"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --mfu 2", 2, "--mfu"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --mfu nan", 2, "--mfu"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --gpus 0", 2, "--gpus"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --max-extrapolation -3", 2,
     "--max-extrapolation"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --max-extrapolation nan", 2,
     "--max-extrapolation"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --target-loss -1", 2, "--target-loss"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --target-loss nan", 2, "--target-loss"),
    ({"d.csv": GOOD}, "plan {d.csv} --target-loss 0", 2, "--target-loss"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --law mpl", 2, "--law"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --bootstrap -1", 2, "--bootstrap"),
    ({"d.csv": GOOD}, "plan {d.csv} --compute 1e22 --delta nan", 2, "--delta"),
    ({"d.csv": HEAD + "1e8,2e9,abc\n"}, "plan {d.csv} --compute 1e22", 2, "column 'loss'"),
    ({}, "plan {tmp}/missing.csv --compute 1e22", 2, "does not exist"),
    # ---- predict ----------------------------------------------------------------------
    ({"d.csv": GOOD}, "predict {d.csv} --N nan --D 1e12", 2, "--N"),
    ({"d.csv": GOOD}, "predict {d.csv} --N -1 --D 1e12", 2, "--N"),
    ({"d.csv": GOOD}, "predict {d.csv} --N 0 --D 1e12", 2, "--N"),
    ({"d.csv": GOOD}, "predict {d.csv} --N abc --D 1e12", 2, "--N"),
    ({"d.csv": GOOD}, "predict {d.csv} --N 1e9 --D inf", 2, "--D"),
    ({"d.csv": GOOD}, "predict {d.csv} --N 1e9 --D -5", 2, "--D"),
    ({"d.csv": GOOD}, "predict {d.csv} --law power-law --at abc", 2, "--at 'abc'"),
    ({"d.csv": GOOD}, "predict {d.csv} --out {tmp}/o.csv", 2, "apply to a saved fit"),
    ({"d.csv": GOOD}, "predict {d.csv} --bootstrap -1", 2, "--bootstrap"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS},
     "predict {tmp}/r --law tissue --run a", 2, "--upto-step"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS},
     "predict {tmp}/r --law tissue --run a --upto-step 0", 2, "--upto-step"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS},
     "predict {tmp}/r --law tissue --run a --upto-step 50", 2, "--reference"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS},
     "predict {tmp}/r --law tissue --run a --upto-step 50 --reference {tmp}/none.json", 2,
     "--reference"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS, "f.json": "{not json"},
     "predict {tmp}/r --law tissue --run a --upto-step 50 --reference {f.json}", 2,
     "is not JSON"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS, "f.json": fit_json()},
     "predict {tmp}/r --law tissue --run a --upto-step 500 --reference {f.json}", 2,
     "--upto-step 500 is at or beyond the last logged step"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS, "f.json": fit_json()},
     "predict {tmp}/r --law mpl --run a --upto-step 50 --reference {f.json}", 2,
     "is a 'tissue' fit; --law mpl needs a 'mpl' reference"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS, "f.json": fit_json()},
     "predict {tmp}/r --law tissue --run zzz --upto-step 50 --reference {f.json}", 2, "zzz"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS, "f.json": fit_json(p_L0=-1e6)},
     "predict {tmp}/r --law tissue --run a --upto-step 50 --reference {f.json}", 2,
     "`params.L0.value` = -1e+06 is outside its bounds"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS, "f.json": fit_json(p_L0=None)},
     "predict {tmp}/r --law tissue --run a --upto-step 50 --reference {f.json}", 2,
     "`params.L0.value` is null"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS,
      "f.json": fit_json(p_extra=0.5)},
     "predict {tmp}/r --law tissue --run a --upto-step 50 --reference {f.json}", 2,
     "unknown 'extra'"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS, "f.json": fit_json(drop=["C"])},
     "predict {tmp}/r --law tissue --run a --upto-step 50 --reference {f.json}", 2,
     "missing 'C'"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS, "f.json": "[1, 2]"},
     "predict {tmp}/r --law tissue --run a --upto-step 50 --reference {f.json}", 2,
     "expected a JSON object, got list"),
    ({"r/runs.csv": CURVE_RUNS, "r/points.csv": CURVE_POINTS,
      "f.json": json.dumps({"groups": {"25M": {}}, "heldout": {}})},
     "predict {tmp}/r --law tissue --run a --upto-step 50 --reference {f.json}", 2,
     "one fit per group (`groups`: 25M)"),
    # ---- predict from a saved fit ---------------------------------------------------------
    ({"f.json": fit_json(CHIN), "t.csv": TARGETS}, "predict {f.json}", 2, "--at TARGETS.csv"),
    ({"f.json": fit_json(CHIN)}, "predict {f.json} --at {tmp}/none.csv", 2, "is not a file"),
    ({"f.json": fit_json(CHIN, p_E=-5.0), "t.csv": TARGETS}, "predict {f.json} --at {t.csv}", 2,
     "`params.E.value` = -5 is outside its bounds"),
    ({"f.json": fit_json(CHIN, p_E=float("nan")).replace("NaN", "null"), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`params.E.value` is null"),
    ({"f.json": fit_json(CHIN, p_alpha="0.3"), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`params.alpha.value` must be a number"),
    ({"f.json": fit_json(CHIN, p_beta="LIST"), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`params.beta` must be an object"),
    ({"f.json": fit_json(CHIN, params=[1, 2, 3]), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`params` must be an object"),
    ({"f.json": fit_json(CHIN, params={}), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`params` must be an object"),
    ({"f.json": fit_json(CHIN, law="chinchila"), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "unknown law 'chinchila'"),
    ({"f.json": fit_json(CHIN, law="kaplan"), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`params` do not match law 'kaplan'"),
    ({"f.json": fit_json(CHIN, data=[]), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`data` must be an object"),
    ({"f.json": fit_json(CHIN, n_points=-3), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`n_points` must be a count"),
    ({"f.json": fit_json(CHIN, objective="low"), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`objective` must be a number"),
    ({"f.json": fit_json(CHIN, warnings="none"), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`warnings` must be a list of strings"),
    ({"f.json": fit_json(CHIN, p_alpha=7.0), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "`params.alpha.value` = 7 is outside its bounds"),
    ({"f.json": fit_json(CHIN, p_A={"value": -5.0, "stderr": None, "lower": -1e30,
                                    "upper": 1e30}), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2,
     "`params.A.value` = -5 is outside law 'chinchilla''s bounds"),
    ({"f.json": json.dumps({k: v for k, v in CHIN.items() if k != "law"}), "t.csv": TARGETS},
     "predict {f.json} --at {t.csv}", 2, "it names no law"),
    ({"f.json": "{broken", "t.csv": TARGETS}, "predict {f.json} --at {t.csv}", 2, "f.json"),
    ({"f.json": fit_json(CHIN), "t.csv": "N,D\n1e9,abc\n"}, "predict {f.json} --at {t.csv}", 2,
     "abc"),
    ({"f.json": fit_json(CHIN), "t.csv": "N,D\n-1e9,2e10\n"}, "predict {f.json} --at {t.csv}", 2,
     "N must be finite and > 0"),
    ({"f.json": fit_json(CHIN), "t.csv": "N\n1e9\n"}, "predict {f.json} --at {t.csv}", 2, "'D'"),
    # ---- report -------------------------------------------------------------------------
    ({}, "report {tmp}/missing.csv --out {tmp}/o", 2, "does not exist"),
    ({"d.csv": GOOD, "o": "a file"}, "report {d.csv} --out {tmp}/o", 2, "--out"),
    ({"d.csv": GOOD, "o/mine.txt": "x"}, "report {d.csv} --out {tmp}/o", 2,
     "already holds files that are not part of a report (mine.txt)"),
    ({"d.csv": GOOD, "o/sub/mine.txt": "x"}, "report {d.csv} --out {tmp}/o", 2,
     "(sub/mine.txt)"),
    ({"f.json": fit_json(CHIN, law="renamed")}, "report {f.json} --out {tmp}/o", 2,
     "unknown law 'renamed'"),
    ({"f.json": fit_json(CHIN, params=[1])}, "report {f.json} --out {tmp}/o", 2, "`params`"),
    ({"f.json": "[]"}, "report {f.json} --out {tmp}/o", 2, "is not a saved fit"),
    ({"f.json": "{}"}, "report {f.json} --out {tmp}/o", 2, "is not a saved fit"),
    ({"f.json": "{nope"}, "report {f.json} --out {tmp}/o", 2, "is not valid JSON"),
    ({"f.json": fit_json(CHIN, p_B=-1.0)}, "report {f.json} --out {tmp}/o", 2,
     "`params.B.value` = -1 is outside its bounds"),
    ({"f.json": fit_json(CHIN, warnings=[1, 2])}, "report {f.json} --out {tmp}/o", 2,
     "`warnings` must be a list of strings"),
    ({"f.json": fit_json(CHIN, choices=[])}, "report {f.json} --out {tmp}/o", 2,
     "`choices` must be an object"),
    ({"f.json": fit_json(CHIN, n_runs=1.5)}, "report {f.json} --out {tmp}/o", 2, "`n_runs`"),
    ({"f.json": fit_json(CHIN)}, "report {f.json} --out {tmp}/o", 2,
     "saved fit has no `data.points`"),
    ({"f.json": fit_json(CHIN, data={"points": [1, 2]})}, "report {f.json} --out {tmp}/o", 2,
     "`data.points` must be an object of columns"),
    ({"f.json": fit_json(CHIN, data={"points": {"N": [1e8, 2e8], "loss": [3.0]}})},
     "report {f.json} --out {tmp}/o", 2, "the columns of `data.points` differ in length"),
    ({"f.json": fit_json(CHIN, data={"points": {"N": ["1e8"], "loss": [3.0]}})},
     "report {f.json} --out {tmp}/o", 2, "`data.points.N` must hold numbers"),
    ({"d.csv": GOOD}, "report {d.csv} --out {tmp}/o --compute 1e300", 2, "--compute"),
    ({"d.csv": GOOD}, "report {d.csv} --out {tmp}/o --compute nan", 2, "--compute"),
    ({"d.csv": GOOD}, "report {d.csv} --out {tmp}/o --proxy-budget nan", 2, "--proxy-budget"),
    ({"d.csv": GOOD}, "report {d.csv} --out {tmp}/o --proxy-budget -1", 2, "--proxy-budget"),
    ({"d.csv": GOOD}, "report {d.csv} --out {tmp}/o --bootstrap -1", 2, "--bootstrap"),
    ({"d.csv": GOOD}, "report {d.csv} --out {tmp}/o --law bogus", 2, "--law"),
    ({"d.csv": GOOD}, "report {d.csv}", 2, "--out"),
    ({"d.csv": HEAD + "1e8,2e9,abc\n"}, "report {d.csv} --out {tmp}/o", 2, "column 'loss'"),
    ({"d.csv": "N,D,loss,loss\n1,2,3,4\n"}, "report {d.csv} --out {tmp}/o", 2,
     "names column 'loss' twice"),
    # ---- l2l ------------------------------------------------------------------------------
    ({"l.csv": L2L}, "l2l {l.csv} --x name --y y_loss", 2, "--x 'name' is a text column"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y name", 2, "--y 'name' is a text column"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y x_loss", 2, "--x and --y are the same column"),
    ({"l.csv": L2L.replace("3.10,", "abc,")}, "l2l {l.csv} --x x_loss --y y_loss", 2,
     "--x column 'x_loss' has non-numeric cells in row(s) [3]"),
    ({"l.csv": L2L}, "l2l {l.csv} --x nope --y y_loss", 2, "nope"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y nope", 2, "nope"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss", 2, "--y"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y y_loss --holdout-lowest 1.5", 2,
     "--holdout-lowest"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y y_loss --holdout-lowest nan", 2,
     "--holdout-lowest"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y y_loss --min-points 2", 2, "--min-points"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y y_loss --bootstrap -1", 2, "--bootstrap"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y y_loss --group x_loss", 2,
     "--group 'x_loss' is also --x or --y"),
    ({"l.csv": L2L}, "l2l {l.csv} --x x_loss --y y_loss --save {tmp}/no/dir/l.json", 2,
     "does not exist"),
    ({}, "l2l {tmp}/missing.csv --x a --y b", 2, "missing.csv"),
    ({"l.csv": "x_loss,y_loss,x_loss\n1,2,3\n"}, "l2l {l.csv} --x x_loss --y y_loss", 2,
     "names column 'x_loss' twice"),
    ({"f.json": "{}"}, "l2l predict {f.json} --x-values ''", 2, "--x-values: '' is not a number"),
    ({"f.json": "{}"}, "l2l predict {f.json} --x-values a,b", 2, "--x-values: 'a' is not a number"),
    ({"f.json": "{}"}, "l2l predict {f.json} --x-values 3.1,,3.0", 2, "is not a number"),
    ({"f.json": "{}"}, "l2l predict {f.json} --x-values nan", 2,
     "--x-values must be positive finite losses"),
    ({"f.json": "{}"}, "l2l predict {f.json} --x-values -1", 2,
     "--x-values must be positive finite losses"),
    ({"f.json": "{}"}, "l2l predict {f.json} --x-values inf", 2,
     "--x-values must be positive finite losses"),
    ({"f.json": "{}"}, "l2l predict {f.json}", 2, "--x-values"),
    ({}, "l2l predict {tmp}/none.json --x-values 3", 2, "none.json"),
    ({"f.json": "{oops"}, "l2l predict {f.json} --x-values 3", 2, "is not valid JSON"),
    ({"f.json": "[1]"}, "l2l predict {f.json} --x-values 3", 2, "a saved l2l fit is a JSON object"),
    ({"f.json": "\"text\""}, "l2l predict {f.json} --x-values 3", 2,
     "a saved l2l fit is a JSON object"),
    ({"f.json": l2l_json()}, "l2l predict {f.json} --x-values 3.1 --group C4", 0, "x 3.1 -> "),
    ({"f.json": l2l_json(law="nope")}, "l2l predict {f.json} --x-values 3.1", 2,
     "`law` must be one of"),
    ({"f.json": l2l_json(groups=[1])}, "l2l predict {f.json} --x-values 3.1", 2,
     "`groups` must be an object of fitted groups"),
    ({"f.json": l2l_json(groups={"C4": {"params": [1, 2]}})},
     "l2l predict {f.json} --x-values 3.1", 2, "`groups.C4.params` must be an object"),
    ({"f.json": l2l_json(E_x=None)}, "l2l predict {f.json} --x-values 3.1", 2,
     "`groups.C4.params.E_x` is null"),
    ({"f.json": l2l_json(K="1")}, "l2l predict {f.json} --x-values 3.1", 2,
     "`groups.C4.params.K` must be a number"),
    ({"f.json": l2l_json(kappa="DROP")}, "l2l predict {f.json} --x-values 3.1", 2,
     "missing ['kappa']"),
    ({"f.json": l2l_json(zz=1.0)}, "l2l predict {f.json} --x-values 3.1", 2, "unknown ['zz']"),
    ({"f.json": l2l_json(kappa=-5)}, "l2l predict {f.json} --x-values 3.1", 2,
     "`groups.C4.params.kappa` = -5 is outside law 'shifted-power-law''s bounds"),
    ({"f.json": l2l_json()}, "l2l predict {f.json} --x-values 2.0 --group C4", 2,
     "at or below the fitted offset E_x"),
    ({"f.json": l2l_json()}, "l2l predict {f.json} --x-values 3.1 --group nope", 2, "nope"),
    # ---- schedules compare --------------------------------------------------------------
    ({"f.json": fit_json()}, "schedules compare {f.json} --total-steps 1 --peak-lr 3e-4", 2,
     "--total-steps"),
    ({"f.json": fit_json()}, "schedules compare {f.json} --total-steps 1000 --peak-lr 0", 2,
     "--peak-lr"),
    ({"f.json": fit_json()}, "schedules compare {f.json} --total-steps 1000 --peak-lr -1", 2,
     "--peak-lr"),
    ({"f.json": fit_json()}, "schedules compare {f.json} --total-steps 1000 --peak-lr nan", 2,
     "--peak-lr"),
    ({"f.json": fit_json()}, "schedules compare {f.json} --total-steps 1000 --peak-lr 1e6", 2,
     "--peak-lr"),
    ({"f.json": fit_json()}, "schedules compare {f.json} --total-steps 24000 --peak-lr 0.5", 2,
     "far outside the learning rates it was fitted on"),
    ({"f.json": fit_json()},
     "schedules compare {f.json} --total-steps 1000 --peak-lr 3e-4 --warmup-steps -1", 2,
     "--warmup-steps"),
    ({"f.json": fit_json()}, "schedules compare {f.json} --total-steps 1000", 2, "--peak-lr"),
    ({"f.json": "{x"}, "schedules compare {f.json} --total-steps 1000 --peak-lr 3e-4", 2,
     "is not JSON"),
    ({"f.json": fit_json(CHIN)}, "schedules compare {f.json} --total-steps 1000 --peak-lr 3e-4",
     2, "is a 'chinchilla' fit"),
    ({"f.json": fit_json(p_L0=None)},
     "schedules compare {f.json} --total-steps 1000 --peak-lr 3e-4", 2,
     "`params.L0.value` is null"),
    ({"f.json": fit_json(p_alpha=-2.0)},
     "schedules compare {f.json} --total-steps 1000 --peak-lr 3e-4", 2,
     "`params.alpha.value` = -2 is outside its bounds"),
    ({"f.json": fit_json(law="mpl")},
     "schedules compare {f.json} --total-steps 1000 --peak-lr 3e-4", 2,
     "`params` do not match law 'mpl'"),
    ({}, "schedules compare {tmp}/none.json --total-steps 1000 --peak-lr 3e-4", 2, "none.json"),
    # ---- train ---------------------------------------------------------------------------
    ({}, "train --out {tmp}/o --set d_model", 2, "--set 'd_model' must look like key=value"),
    ({}, "train --out {tmp}/o --set =3", 2, "must look like key=value"),
    ({}, "train --out {tmp}/o --set d_model='\"64\"'", 2,
     "config field `d_model` must be an integer, got '64'"),
    ({}, "train --out {tmp}/o --set d_model=sixty", 2, "config field `d_model`"),
    ({}, "train --out {tmp}/o --set n_layer=0", 2, "`n_layer` must be a positive integer"),
    ({}, "train --out {tmp}/o --set n_head=-1", 2, "`n_head` must be a positive integer"),
    ({}, "train --out {tmp}/o --set batch_size=0", 2, "`batch_size` must be a positive integer"),
    ({}, "train --out {tmp}/o --set total_steps=0", 2, "`total_steps`"),
    ({}, "train --out {tmp}/o --set total_steps=1.5", 2, "config field `total_steps`"),
    ({}, "train --out {tmp}/o --set weight_decay=-1", 2, "`weight_decay` must be >= 0"),
    ({}, "train --out {tmp}/o --set weight_decay='\"0.1\"'", 2, "config field `weight_decay`"),
    ({}, "train --out {tmp}/o --set beta1=1.5", 2, "`beta1` must be in [0, 1)"),
    ({}, "train --out {tmp}/o --set beta2=-0.1", 2, "`beta2` must be in [0, 1)"),
    ({}, "train --out {tmp}/o --set eps=0", 2, "`eps` must be > 0"),
    ({}, "train --out {tmp}/o --set dropout=1", 2, "`dropout` must be in [0, 1)"),
    ({}, "train --out {tmp}/o --set grad_clip=-1", 2, "`grad_clip` must be >= 0"),
    ({}, "train --out {tmp}/o --set spike_factor=0.5", 2, "`spike_factor` > 1"),
    ({}, "train --out {tmp}/o --set dtype='\"fp8\"'", 2, "`dtype` must be one of"),
    ({}, "train --out {tmp}/o --set device=tpu", 2, "`device` must be one of"),
    ({}, "train --out {tmp}/o --set run_id=../x", 2, "`run_id` must be a non-empty name"),
    ({}, "train --out {tmp}/o --set run_id=/abs", 2, "`run_id` must be a non-empty name"),
    ({}, "train --out {tmp}/o --set run_id=.hidden", 2, "`run_id` must be a non-empty name"),
    ({}, "train --out {tmp}/o --set run_id='\"\"'", 2, "`run_id` must be a non-empty name"),
    ({}, "train --out {tmp}/o --set run_id=7", 2, "config field `run_id` must be a string"),
    ({}, "train --out {tmp}/o --set seed=-1", 2, "`seed` must be an integer >= 0"),
    ({}, "train --out {tmp}/o --set schedule=[1]", 2, "config field `schedule` must be an object"),
    ({}, "train --out {tmp}/o --set schedule.kind=bogus", 2, "bogus"),
    ({}, "train --out {tmp}/o --set schedule.peak_lr=-1", 2, "peak_lr"),
    ({}, "train --out {tmp}/o --set colour=red", 2, "unknown config field(s) ['colour']"),
    ({}, "train --out {tmp}/o --set branches=[0]", 2, "`branches` must be step counts"),
    ({}, "train --out {tmp}/o --set token_dtype=int8", 2, "`token_dtype` must be"),
    ({}, "train --out {tmp}/o --set peak_flops=xyz", 2, "`peak_flops` must be a number or one of"),
    ({}, "train --out {tmp}/o --set compile=yes", 2, "config field `compile` must be true or false"),
    ({}, "train --out {tmp}/o --set eps=NaN", 2, "config field `eps` must be finite"),
    ({}, "train --out {tmp}/o --set schedule.x.y=1", 2, "'x'"),
    ({}, "train --out {tmp}/o --config {tmp}/none.json", 2, "none.json"),
    ({"c.json": "{bad"}, "train --out {tmp}/o --config {c.json}", 2, "is not valid JSON"),
    ({"c.json": "[1, 2]"}, "train --out {tmp}/o --config {c.json}", 2,
     "must hold a mapping of config fields, got list"),
    ({"c.json": '{"d_model": "big"}'}, "train --out {tmp}/o --config {c.json}", 2,
     "config field `d_model`"),
    ({"c.json": '{"nonsense": 1}'}, "train --out {tmp}/o --config {c.json}", 2,
     "unknown config field(s) ['nonsense']"),
    ({"c.json": b"\xff\xfe\x00bad"}, "train --out {tmp}/o --config {c.json}", 2,
     "is not UTF-8 text"),
    ({"o/runs/run/run.json": "{half"}, "train --out {tmp}/o --set total_steps=40", 2,
     "run.json is not valid JSON"),
    ({"o/runs/run/run.json": "[]"}, "train --out {tmp}/o --set total_steps=40", 2,
     "run.json must hold a JSON object"),
    ({"o/runs/run/run.json": '{"x": 1}'}, "train --out {tmp}/o --set total_steps=40", 2,
     "is not a run record written by `scaling train`"),
    ({"o/runs/run/checkpoint.pt": b"PK\x03\x04 not a checkpoint"},
     "train --out {tmp}/o --set total_steps=40", 2, "refusing to load this checkpoint"),
    ({}, "train --out {tmp}/o --data {tmp}/none.bin", 2, "--data"),
    ({}, "train --out {tmp}/o --val-data {tmp}/none.bin", 2, "--val-data"),
    ({}, "train", 2, "--out"),
    # ---- ladder --------------------------------------------------------------------------
    ({}, "ladder --preset nope --out {tmp}/o", 2, "is neither a ladder preset"),
    ({"s.json": spec(sizes=["small", "large"])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `sizes[0]` must be an object"),
    ({"s.json": spec(sizes=[{"d_model": "64"}])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `sizes[0].d_model` must be a number"),
    ({"s.json": spec(sizes=[{"width": 64}])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `sizes[0]`: unknown field(s) ['width']"),
    ({"s.json": spec(schedules=[{"peak_lr": 1e-3}])}, "ladder --preset {s.json} --out {tmp}/o",
     2, "ladder `schedules[0]` needs a `kind`"),
    ({"s.json": spec(schedules=["cosine"])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `schedules[0]` must be an object"),
    ({"s.json": spec(tokens=["1e4"])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `tokens` must be a list of positive numbers"),
    ({"s.json": spec(tokens=[-1])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `tokens` must be a list of positive numbers"),
    ({"s.json": spec(tokens=[])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `tokens` is empty"),
    ({"s.json": spec(sizes=[])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `sizes` is empty"),
    ({"s.json": spec(seeds=[-1])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `seeds` must be a list of integers >= 0"),
    ({"s.json": spec(seeds=["a"])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `seeds`"),
    ({"s.json": spec(base=[1])}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `base` must be an object"),
    ({"s.json": spec(design="random")}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "ladder `design` must be one of"),
    ({"s.json": spec(colour=1)}, "ladder --preset {s.json} --out {tmp}/o", 2,
     "unknown ladder field(s) ['colour']"),
    ({"s.json": "{nope"}, "ladder --preset {s.json} --out {tmp}/o", 2, "is not valid JSON"),
    ({"s.json": "[1]"}, "ladder --preset {s.json} --out {tmp}/o", 2, "must hold a mapping"),
    ({}, "ladder --out {tmp}/o --design isoflop --budgets abc", 2, "expected FLOP budgets"),
    ({}, "ladder --out {tmp}/o --sizes-per-budget 1", 2, "--sizes-per-budget"),
    ({}, "ladder --out {tmp}/o --workers 0", 2, "--workers"),
    ({}, "ladder --out {tmp}/o --backend nope", 2, "--backend"),
    ({}, "ladder", 2, "--out"),
    # ---- datasets ------------------------------------------------------------------------
    ({}, "datasets export nope {tmp}/o", 2, "nope"),
    ({}, "datasets export ../../etc {tmp}/o", 2, "etc"),
    ({}, "datasets bogus", 2, "bogus"),
    # ---- an output path under a regular file (as a read-only or full disk would: OSError) --
    ({"f": "x"}, "train --out {f}/o --set total_steps=40", 2, "cannot write or read {f}"),
    ({"f": "x", "s.json": spec()}, "ladder --preset {s.json} --out {f}/o", 2, "{f}"),
    ({"f": "x", "d.csv": GOOD}, "report {d.csv} --out {f}/o --bootstrap 0", 2, "{f}"),
    ({"f": "x", "d.csv": GOOD}, "fit {d.csv} --save {f}/fit.json", 2, "does not exist"),
    ({"f": "x", "l.csv": L2L}, "l2l {l.csv} --x x_loss --y y_loss --save {f}/l.json", 2,
     "does not exist"),
    ({"f": "x", "j.json": fit_json(CHIN), "t.csv": TARGETS},
     "predict {j.json} --at {t.csv} --out {f}/p.csv", 2, "{f}"),
    ({"f": "x"}, "datasets export chinchilla_epoch {f}/o", 2, "{f}"),
    ({"f": "x", "j.json": fit_json()},
     "schedules compare {j.json} --total-steps 1000 --peak-lr 3e-4 --plot {f}/s.png", 2, "{f}"),
    ({}, "demo --bootstrap 1", 2, "--bootstrap"),  # (demo computes before it writes)
    # ---- global ---------------------------------------------------------------------------
    ({}, "nosuchverb", 2, "nosuchverb"),
    ({}, "fit", 2, "DATA"),
]


def _materialize(tmp_path, files: dict) -> dict:
    paths = {"tmp": str(tmp_path)}
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths[name] = str(path)
    return paths


def _fill(text: str, paths: dict) -> str:
    for name, path in paths.items():
        text = text.replace("{" + name + "}", path)
    return text


def _argv(command: str, paths: dict) -> list[str]:
    import shlex

    return [_fill(part, paths) for part in shlex.split(command)]


@pytest.mark.parametrize("files, command, code, fragment", CASES,
                         ids=[f"{i:03d}-{c[1].split()[0]}" for i, c in enumerate(CASES)])
def test_hostile_input(tmp_path, monkeypatch, files, command, code, fragment):
    run_case(tmp_path, monkeypatch, files, command, code, fragment)


def run_case(tmp_path, monkeypatch, files, command, code, fragment) -> str:
    """Run one hostile case: its exit code, its fragment in the output, no traceback, and
    one ``Error:`` line saying what is wrong when it exits 2. Returns the output."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCALING_QUIET", "1")
    paths = _materialize(tmp_path, files)
    result = CliRunner().invoke(main, _argv(command, paths), catch_exceptions=False)
    output = result.output
    assert result.exit_code == code, output
    assert _fill(fragment, paths) in output, output
    assert "Traceback" not in output and "internal error" not in output
    if code == 2:
        message = [line for line in output.splitlines() if line.startswith("Error:")]
        assert len(message) == 1, output  # one line saying what is wrong
    return output


def test_corpus_is_large_and_spans_every_verb():
    verbs = {c[1].split()[0] for c in CASES}
    assert len(CASES) >= 200
    assert {"fit", "plan", "predict", "report", "l2l", "schedules", "train", "ladder",
            "datasets"} <= verbs
