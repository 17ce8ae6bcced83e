"""Starting points and distinct optima of a curve-law fit (leaf helpers shared by the
single and the joint fit): variable projection over the law's exponent grid, then the
batched multistart and a polish of each distinct end point."""

from __future__ import annotations

import itertools

import numpy as np

from ..laws.numeric import solve_linear
from ..multistart import multistart, polish

__all__ = ["grid_rows", "linear_solve", "linear_starts", "optimize_ends"]


def grid_rows(problem):
    """Natural-unit rows over the exponent grid (free nonlinear parameters only)."""
    law = problem.law
    grid_spec = law.grid  # the law's own exponent grid (fits/curve/laws.py)
    names = [p for p in law.params if p in grid_spec and p not in problem.fixed]
    combos = list(itertools.product(*(grid_spec[p] for p in names))) or [()]
    rows = np.tile(law.natural(problem.full(problem.neutral())[0]), (len(combos), 1))
    for j, name in enumerate(names):
        rows[:, law.params.index(name)] = [c[j] for c in combos]
    return rows


def linear_solve(problem, rows):
    """Least squares (relative residuals) for the parameters the law is linear in, given
    the others in each natural-unit row; rows where a log-scale one comes out <= 0 are
    NaN."""
    law = problem.law
    idx = [law.params.index(p) for p in law.linear if p not in problem.fixed]
    y = np.concatenate([c.loss for c in problem.curves])

    def stacked(r):
        return np.concatenate([p.evaluate(r) for p in problem.plans], axis=1)

    return solve_linear(stacked, rows, idx, y, [law.params.index(p) for p in law.log_params])


def linear_starts(problem, n_keep):
    """Grid over the nonlinear parameters, linear least squares for the others."""
    law = problem.law
    rows = linear_solve(problem, grid_rows(problem))
    rows = rows[~np.isnan(rows).any(axis=1)]
    if not rows.size:
        return problem.neutral()[None, :]
    starts = np.array([law.to_theta(dict(zip(law.params, row)))[problem.free]
                       for row in rows])
    values = problem.value(starts)
    return starts[np.argsort(values)[:n_keep]]


def optimize_ends(problem, lower, upper, theta0, max_iter):
    batch = multistart(problem, theta0, lower, upper, max_iter=max_iter)
    order = np.argsort(batch.values)
    ends, seen = [], []
    for i in order:  # distinct end points, best first
        if not np.isfinite(batch.values[i]):
            continue
        if any(np.allclose(batch.theta[i], s, rtol=1e-3, atol=1e-3) for s in seen):
            continue
        seen.append(batch.theta[i])
        theta, value, info = polish(problem, batch.theta[i], lower, upper)
        ends.append((theta, value, info))
    return batch, ends
