"""Every row of issue 28's table, measured side by side in one run, as ratios against the
plain-script baseline (an 8-start scipy ``least_squares`` fit of bundled Chinchilla,
imports included, in a fresh process).

Each command runs in its own process; its CPU time (user + system) and peak RSS are read
from ``os.wait4`` (that child only). CPU time, not wall time: the machine may be shared.
The input files are written by a separate process first, so that this one stays small
(a child's peak RSS on Linux starts from its parent's size at fork).

Usage::

    python bench/performance.py            # the quick rows (about a minute)
    python bench/performance.py --big      # + 1,000,000-row table fit
    python bench/performance.py --curves   # + per-step curve fits, 100k and 1M steps
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

_PLAIN = """
import numpy as np, pandas as pd
from scipy.optimize import least_squares
from scipy.special import huber, logsumexp
d = pd.read_csv({path!r}).sort_values("loss", kind="stable").iloc[:-5]
n, t, y = np.log(d["N"].to_numpy()), np.log(d["D"].to_numpy()), np.log(d["loss"].to_numpy())
def r(p):
    return y - logsumexp([p[1] - p[3] * n, p[2] - p[4] * t, np.full_like(n, p[0])], axis=0)
rng = np.random.default_rng(0)
lo, hi = np.array([-1, 0, 0, 0, 0.]), np.array([1, 25, 25, 2, 2.])
print(min(huber(1e-3, r(least_squares(r, s, loss="huber", f_scale=1e-3).x)).sum()
          for s in lo + (hi - lo) * rng.random((8, 5))))
"""


def run(cmd: list[str]) -> dict:
    """CPU seconds, peak RSS (MB) and wall seconds of one child process."""
    wall = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.strip().splitlines()[-1:]}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
            "wall": time.perf_counter() - wall}


def synthetic_table(path: str, n: int, seed: int = 0) -> None:
    """``n`` runs of Chinchilla's law (Epoch's fit) with 1% noise, one row each."""
    import numpy as np
    import pandas as pd

    from scaling.fits.laws import chinchilla

    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 10.5, n)
    D = N * 10 ** rng.uniform(0.5, 2.5, n)
    loss = chinchilla(N, D, 1.82, 478.0, 2143.0, 0.347, 0.367) * np.exp(rng.normal(0, 0.01, n))
    pd.DataFrame({"run_id": np.char.add("r", np.arange(n).astype(str)), "N": N, "D": D,
                  "loss": loss}).to_csv(path, index=False)


def make_inputs(tmp: str, big: bool) -> None:
    """The input files (run in a child process: see the module docstring)."""
    from scaling.data import load_dataset

    load_dataset("chinchilla_epoch").final_points().to_csv(os.path.join(tmp, "chinchilla.csv"),
                                                            index=False)
    for n in [100_000] + ([1_000_000] if big else []):
        synthetic_table(os.path.join(tmp, f"runs_{n}.csv"), n)


def rows(tmp: str, big: bool, curves: bool):
    """(label, command, note) of every measured row; the baseline first."""
    exe = sys.executable
    cli = [os.path.join(os.path.dirname(exe), "scaling"), "--quiet"]
    chin = os.path.join(tmp, "chinchilla.csv")
    plain = os.path.join(tmp, "plain.py")
    with open(plain, "w") as handle:
        handle.write(_PLAIN.format(path=chin))
    out = [("plain 8-start scipy script (baseline)", [exe, plain], "bundled Chinchilla"),
           ("scaling fit (whole process)", cli + ["fit", "bundled:chinchilla_epoch",
                                                  "--drop-highest", "5"], "goal <= 0.8"),
           ("scaling fit --bootstrap 1000 --backtest",
            cli + ["fit", "bundled:chinchilla_epoch", "--drop-highest", "5", "--bootstrap",
                   "1000", "--backtest"], "goal <= 2 s CPU"),
           ("scaling predict, one target (refit + intervals)",
            cli + ["predict", "bundled:chinchilla_epoch", "--N", "7e10", "--D", "1.4e12"], ""),
           ("first `from scaling.fits import fit_law`",
            [exe, "-c", "from scaling.fits import fit_law"], "import only"),
           ("scaling l2l, 5 groups, --bootstrap 1000",
            cli + ["l2l", "fit", "bundled:llm_line", "--x", "C4 Validation Loss", "--y",
                   "FineWeb-Edu Validation Loss", "--group", "Pretraining Data",
                   "--bootstrap", "1000"], "goal <= 5 s CPU")]
    sizes = [100_000] + ([1_000_000] if big else [])
    for n in sizes:
        path = os.path.join(tmp, f"runs_{n}.csv")
        goal = "goal < 200 MB" if n == 100_000 else "goal < 1.5 GB, < 60 s CPU"
        out.append((f"scaling fit, {n:,}-row table", cli + ["fit", path], goal))
        if n == 100_000:  # the plain script at 1M rows takes many minutes
            with open(os.path.join(tmp, f"plain_{n}.py"), "w") as handle:
                handle.write(_PLAIN.format(path=path).replace(".iloc[:-5]", ""))
            out.append((f"plain script, {n:,}-row table",
                        [exe, os.path.join(tmp, f"plain_{n}.py")], "memory baseline"))
    if curves:
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "curve_laws.py")
        for what in ("mpl", "tissue"):
            out.append((f"per-step curve, 100k steps, {what} fit, every point",
                        [exe, here, "--one", "100000", what, "full"], "bench/curve_laws.py"))
            out.append((f"per-step curve, 100k steps, {what} fit (blocks)",
                        [exe, here, "--one", "100000", what], "fits/curve/reduce.py"))
            out.append((f"per-step curve, 1M steps, {what} fit (blocks)",
                        [exe, here, "--one", "1000000", what], "goal < 60 s CPU"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="add the 1,000,000-row table")
    parser.add_argument("--curves", action="store_true", help="add the per-step curve fits")
    parser.add_argument("--make-inputs", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_inputs:
        make_inputs(args.make_inputs, args.big)
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, __file__, "--make-inputs", tmp] +
                       (["--big"] if args.big else []), check=True)
        measured = [(label, run(cmd), note) for label, cmd, note in rows(tmp, args.big,
                                                                          args.curves)]
    base = measured[0][1]["cpu"]
    print(f"{'what':52s} {'CPU s':>7s} {'x plain':>8s} {'peak RSS':>9s}  note")
    for label, m, note in measured:
        print(f"{label:52s} {m['cpu']:7.2f} {m['cpu'] / base:8.2f} {m['rss']:6.0f} MB  {note}")
    print(f"(x plain: CPU time / the plain script's {base:.2f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
