"""Wall time of the `cpu-5min` ladder preset against its 5-minute budget (the README's claim).

Moved out of tests/scaling/test_ladder.py, which asserted it (a wall-clock assert fails on a
loaded machine and says nothing about correctness). Prints the measured time and its ratio to
the budget. Usage: python bench/ladder_preset.py [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from scaling.ladder import ladder_from_cli

BUDGET_S = 300.0  # "cpu-5min": 5 minutes on 2 cores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=None, help="ladder folder (default: a temporary one)")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="ladder-bench-")
    start = time.perf_counter()
    summary = ladder_from_cli("cpu-5min", out, quiet=True)
    wall = time.perf_counter() - start
    print(f"cpu-5min ladder: {wall:.1f} s wall (trainer's own count {summary['wall_s']:.1f} s); "
          f"{wall / BUDGET_S:.2f} x the {BUDGET_S:.0f} s budget; {len(summary['checks']['sizes'])} "
          f"sizes in {out}")


if __name__ == "__main__":
    main()
