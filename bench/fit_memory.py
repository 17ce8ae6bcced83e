"""Time and peak memory of a Chinchilla fit (default 4,501-start grid) as the table grows.

Each size runs in a fresh process, which reports its own peak RSS, so sizes do not share
allocations. The multistart evaluates its batch in blocks of at most
``fits.multistart.BLOCK_ELEMENTS`` (starts x params x points) elements, so peak memory is
O(starts + points) plus a constant block, not O(starts x points): before, 100,000 runs
failed allocating a (4501, 100000) array.

Usage: python bench/fit_memory.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings


def _child(n: int, seed: int) -> None:
    import numpy as np

    from scaling import fits

    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 10.5, n)
    D = N * 10 ** rng.uniform(0.5, 2.5, n)
    loss = fits.chinchilla(N, D, 1.82, 478.0, 2143.0, 0.347, 0.367) * \
        np.exp(rng.normal(0, 0.01, n))
    start = time.perf_counter()
    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.FitWarning)
        result = fits.fit_law("chinchilla", {"N": N, "D": D}, loss)
    out = {"runs": n, "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "alpha": result["alpha"], "beta": result["beta"],
           "n_at_best": result.convergence["n_at_best"], "converged": result.converged}
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.seed)
        return
    print(f"{'runs':>8} {'wall s':>8} {'cpu s':>8} {'peak RSS':>10} {'alpha':>7} {'beta':>7} "
          f"{'at best':>8}")
    for n in (int(s) for s in args.sizes.split(",")):
        proc = subprocess.run([sys.executable, __file__, "--child", str(n), "--seed",
                               str(args.seed)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{n:>8} failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{r['runs']:>8} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} "
              f"{r['peak_rss_mb']:>7.0f} MB {r['alpha']:>7.4f} {r['beta']:>7.4f} "
              f"{r['n_at_best']:>8}")
    print("truth: alpha 0.3470, beta 0.3670; acceptance: peak RSS < 1,500 MB at 100,000 runs")


if __name__ == "__main__":
    main()
