"""Chinchilla Approach-3 fit: ours vs the straightforward method, side by side.

The straightforward method is what Besiroglu et al. 2024 (Epoch AI) describe and what a
notebook would do: scipy L-BFGS-B from each of the 4,500 grid starts, in a Python loop,
on the Huber (delta 1e-3) loss of log residuals, gradients by finite differences
(scipy's default). A second baseline gives L-BFGS-B our analytic gradient.

Usage: python bench/fit_chinchilla.py [--every K]  (K > 1 runs the baselines on every
K-th grid start only and scales their time up; the default runs all 4,500.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

from scaling import fits
from scaling.data import load_chinchilla_epoch
from scaling.fits.laws import EPOCH_GRID


def _data():
    final = load_chinchilla_epoch().final_points().sort_values("loss", kind="stable")
    kept = final.iloc[:-5]  # Epoch drop the 5 highest-loss points
    return np.log(kept["N"].to_numpy()), np.log(kept["D"].to_numpy()), np.log(kept["loss"].to_numpy())


def straightforward(grid, analytic_gradient: bool):
    log_n, log_d, log_y = _data()
    problem = fits.Problem(fits.get_law("chinchilla"), (np.exp(log_n), np.exp(log_d)),
                           np.exp(log_y), fits.get_objective("huber"))

    def objective(theta):  # theta = (log E, log A, log B, alpha, beta), the grid's order
        e, a, b, alpha, beta = theta
        pred = logsumexp([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)], axis=0)
        return huber(1e-3, log_y - pred).sum()

    def with_gradient(theta):
        value, grad, _, _ = problem.evaluate(theta[None, :])
        return float(value[0]), grad[0]

    best = np.inf
    for start in grid:
        if analytic_gradient:
            res = minimize(with_gradient, start, jac=True, method="L-BFGS-B")
        else:
            res = minimize(objective, start, method="L-BFGS-B")
        best = min(best, float(res.fun))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=1,
                        help="run the baselines on every K-th start (time scaled up by K)")
    args = parser.parse_args()
    table = load_chinchilla_epoch()

    t0 = time.perf_counter()
    ours = fits.ScalingLawFit(law="chinchilla", drop_highest=5).fit(table).result_
    t_ours = time.perf_counter() - t0
    print(f"ours          : {t_ours:8.2f} s  objective {ours.objective:.12f}  "
          f"({ours.convergence['n_at_best']} of {ours.convergence['n_starts']} starts at the best)")

    grid = EPOCH_GRID[:: args.every]
    scale = len(EPOCH_GRID) / len(grid)
    for label, analytic in (("L-BFGS-B loop", False), ("L-BFGS-B loop, analytic grad", True)):
        t0 = time.perf_counter()
        best = straightforward(grid, analytic)
        elapsed = (time.perf_counter() - t0) * scale
        note = f" (measured on {len(grid)} starts, scaled x{scale:g})" if args.every > 1 else ""
        print(f"{label:14s}: {elapsed:8.2f} s  objective {best:.12f}{note}")
        print(f"  ratio {elapsed / t_ours:6.1f}x faster; objective difference "
              f"{ours.objective - best:+.2e} (negative: ours lower)")


if __name__ == "__main__":
    main()
