"""Starting points of a point-law fit over the free parameters of its parameter model:
the law's published grid, variable projection (``"projected"``), seeded random starts or
given rows; and the distinct optima of a screening run."""

from __future__ import annotations

import numpy as np

from .laws import Law
from .laws.numeric import projected_grid
from .params import ParamModel

__all__ = ["fit_starts", "distinct_ends", "lm_bounds"]


def fit_starts(law: Law, model: ParamModel, log_vars, log_y, starts, seed):
    """Starting rows over the free parameters (duplicates that fixing or tying creates
    are dropped), and a label.

    ``starts="auto"`` (the default of fits) is ``"projected"`` for a law that declares its
    linear parameters and ``"grid"`` otherwise."""
    guess = law.guess(log_vars, log_y)[None, :]
    if isinstance(starts, str):
        if starts not in ("auto", "grid", "projected"):
            raise ValueError(f"`starts` must be 'auto', 'grid', 'projected', a number of random "
                             f"starts or an array of starting points, got {starts!r}")
        if starts == "auto":  # variable projection where the law allows it, else its grid
            starts = "projected" if law.linear else "grid"
        if starts == "projected":
            if not law.linear:
                raise ValueError(f"starts='projected' needs a law that declares its linear "
                                 f"parameters; law {law.name!r} does not (use 'grid')")
            rows = projected_grid(law, *_projection_sample(log_vars, log_y, seed))
            label = (f"projected: {len(rows)} grid points of "
                     f"{', '.join(p for p in law.params if p not in law.linear)}, "
                     f"{', '.join(law.linear)} by least squares")
        else:
            rows, label = np.vstack([law.grid(log_vars, log_y), guess]), "grid"
    elif isinstance(starts, (int, np.integer)):
        if starts < 1:
            raise ValueError(f"`starts` must be >= 1, got {starts}")
        grid = law.grid(log_vars, log_y)
        rng = np.random.default_rng(seed)
        lo, hi = grid.min(axis=0), grid.max(axis=0)
        rows = np.vstack([guess, lo + (hi - lo) * rng.random((int(starts) - 1, lo.size))])
        label = f"{int(starts)} random (seed {seed})"
    else:
        arr = np.atleast_2d(np.asarray(starts, dtype=float))
        if arr.shape[1] != len(law.params):
            raise ValueError(f"starting points must have {len(law.params)} columns "
                             f"({', '.join(law.params)}), got shape {arr.shape}")
        rows = np.vstack([law.to_theta({**dict(zip(law.params, row)), **model.fixed})
                          for row in arr])
        label = "given"
    free = model.reduce(rows)
    if not model.trivial:
        _, first = np.unique(free, axis=0, return_index=True)
        free = free[np.sort(first)]
    return free, label


#: Variable projection solves the linear parameters of every grid point by least squares
#: over the points (S x n x k arrays): above this many points it runs on a seeded random
#: sample of them, so that the starts of a million-row fit cost O(1) memory (the fit
#: itself then runs on every point).
PROJECTION_ROWS = 4096


def _projection_sample(log_vars, log_y, seed):
    log_y = np.asarray(log_y)
    if log_y.size <= PROJECTION_ROWS:
        return log_vars, log_y
    rows = np.sort(np.random.default_rng(seed).choice(log_y.size, PROJECTION_ROWS, False))
    return tuple(np.asarray(v)[rows] for v in log_vars), log_y[rows]


def lm_bounds(model: ParamModel, law: Law) -> dict:
    """Natural-unit bounds of a model's free parameters that differ from the law's."""
    lower, upper = model.natural(model.lower), model.natural(model.upper)
    return {p: (float(lower[i]), float(upper[i])) for i, p in enumerate(law.params)
            if p not in model.fixed and p not in model.tied
            and not np.allclose((lower[i], upper[i]), law.bounds[p], rtol=1e-9, atol=0)}


def distinct_ends(batch, most: int = 8) -> np.ndarray:
    """Up to ``most`` end points of a multistart in distinct 0.01 cells, best first."""
    order = [i for i in np.argsort(batch.values) if np.isfinite(batch.values[i])]
    _, first = np.unique(np.round(batch.theta[order] / 1e-2), axis=0, return_index=True)
    return batch.theta[np.array(order)[np.sort(first)[:most]]]
