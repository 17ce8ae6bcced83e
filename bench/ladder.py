"""Wall time of a ladder on K local workers (or Ray / submitit) vs the sequential ladder.

    python bench/ladder.py [--preset cpu-5min] [--workers 2] [--backend local]

Trains the same ladder twice into fresh folders, one run after another in this process and
then on the chosen backend, and prints both wall times, their ratio (parallel / sequential;
below 1 is faster) and the largest loss difference between the two runs tables (0 up to
float noise: same seeds, same thread counts). On a machine shared with other work the ratio
moves with the load, so both ladders run back to back.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from scaling.ladder import load_ladder, run_ladder


def _timed(spec, out: Path, **options) -> float:
    start = time.perf_counter()
    summary = run_ladder(spec, out, quiet=True, **options)
    if summary["failed"]:
        raise SystemExit(f"failed runs: {summary['failed']}")
    return time.perf_counter() - start


def _points(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "points.csv").sort_values(["run_id", "step"]) \
        .reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu-5min", help="preset name or spec file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="local", choices=["local", "ray", "slurm"])
    args = parser.parse_args()
    spec = load_ladder(args.preset)
    with tempfile.TemporaryDirectory() as tmp:
        seq_dir, par_dir = Path(tmp) / "sequential", Path(tmp) / "parallel"
        sequential = _timed(spec, seq_dir)
        options = {"backend": args.backend, "workers": args.workers}
        if args.backend == "slurm":
            options["slurm"] = {"cluster": "local"}
        parallel = _timed(spec, par_dir, **options)
        a, b = _points(seq_dir), _points(par_dir)
        same = a[["run_id", "step"]].equals(b[["run_id", "step"]])
        diff = (a["loss"] - b["loss"]).abs().max() if same else float("nan")
    print(f"ladder {spec.name}: {len(spec.configs())} jobs, {a['run_id'].nunique()} runs")
    print(f"sequential (in process)       : {sequential:8.1f} s")
    print(f"{args.backend}, {args.workers} worker(s){'':<12}: {parallel:8.1f} s")
    print(f"ratio (parallel / sequential) : {parallel / sequential:8.3f}")
    print(f"same runs and steps: {same}; largest |loss difference|: {diff:.2e}")


if __name__ == "__main__":
    main()
