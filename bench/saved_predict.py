"""Predicting 10,000 (N, D) targets from a saved Chinchilla fit, as whole processes.

Side by side, same machine, same moment: `scaling predict FIT.json --at targets.csv
--json` (no refit; with and without bootstrap draws in the fit) and one
`scaling predict DATA --N --D --bootstrap 0` call (refits the law for one target, what
the CLI did before saved fits predicted). Prints wall and CPU seconds of each and the
ratio per target. Usage: python bench/saved_predict.py [--targets 10000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


_SCALING = [sys.executable, "-c", "from scaling.commands import main; main()"]


def _run(args) -> tuple[float, float]:
    """(wall, child CPU) seconds of one `scaling ...` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*_SCALING, *args], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        N, D = 10 ** rng.uniform(7, 11, args.targets), 10 ** rng.uniform(9, 13, args.targets)
        targets = tmp / "targets.csv"
        targets.write_text("N,D\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(N, D)))
        common = ["fit", "bundled:chinchilla_epoch", "--drop-highest", "5"]
        subprocess.run([*_SCALING, *common, "--save",
                        str(tmp / "f.json")], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*_SCALING, *common, "--bootstrap", "1000",
                        "--save", str(tmp / "fb.json")], check=True, stdout=subprocess.DEVNULL)
        rows = [("saved fit, no draws", args.targets,
                 _run(["predict", str(tmp / "f.json"), "--at", str(targets), "--json"])),
                ("saved fit, 1000 draws (intervals)", args.targets,
                 _run(["predict", str(tmp / "fb.json"), "--at", str(targets), "--json"])),
                ("refit per target (--bootstrap 0)", 1,
                 _run(["predict", "bundled:chinchilla_epoch", "--drop-highest", "5",
                       "--N", "7e10", "--D", "1.4e12", "--bootstrap", "0"]))]
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    per_target = {}
    for label, n, (wall, cpu) in rows:
        per_target[label] = wall / n
        print(f"  {label:<36} {n:>6} targets  wall {wall:6.2f} s  cpu {cpu:6.2f} s")
    refit = per_target["refit per target (--bootstrap 0)"]
    for label in list(per_target)[:2]:
        print(f"  per target, refit / {label}: {refit / per_target[label]:,.0f}x")


if __name__ == "__main__":
    main()
