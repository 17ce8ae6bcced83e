"""Vectorized multistart: every start is optimized at once, as one batch.

The batch runs a projected Levenberg-Marquardt method on the Gauss-Newton/IRLS
matrix (exact Newton steps were tried and converge more slowly from far-off grid
starts, where the Hessian is indefinite), so an iteration is a handful of (starts x points x params) array operations instead
of thousands of Python-level optimizer calls. Starts leave the batch when they
converge, and starts whose paths meet are merged, so the cost falls as the batch
settles. The best start is then polished by Newton steps to a tight tolerance (L-BFGS-B,
quasi-Newton, where those fall short).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scaling.data.options import Options

from .progress import progress_bar

__all__ = ["MultistartResult", "MultistartOptions", "multistart", "polish", "count_at_best", "evaluate_in_blocks",
           "BLOCK_ELEMENTS"]

#: Largest (starts x params x points) block evaluated at once: peak memory of a batch is
#: O(starts + points) plus this constant (about 8 bytes x a few x this number). Blocks of
#: about 1 MiB stay in cache: 1,000 bootstrap refits of Chinchilla run 2.4x faster in
#: blocks of 2**17 elements than in one block of 2**21.
BLOCK_ELEMENTS = 1 << 17


def evaluate_in_blocks(problem, theta, rows, block: int = BLOCK_ELEMENTS):
    """``problem.evaluate(theta, rows)`` over chunks of rows whose Jacobian
    (rows x params x points) stays under ``block`` elements; results concatenated."""
    n_points = int(getattr(problem, "n_points", 0) or 0)
    n_rows, n_par = theta.shape
    chunk = max(1, block // max(1, n_par * n_points)) if n_points else n_rows
    # a start far out (an overflowing term times a zero weight) gives NaN derivatives: it
    # counts as failed (value inf), not as a numpy warning and a NaN step later
    with np.errstate(invalid="ignore", over="ignore"):
        if chunk >= n_rows:
            out = problem.evaluate(theta, rows)
        else:
            parts = [problem.evaluate(theta[i:i + chunk],
                                      None if rows is None else rows[i:i + chunk])
                     for i in range(0, n_rows, chunk)]
            out = tuple(np.concatenate([p[k] for p in parts]) for k in range(4))
    value, grad, curv, scale = out
    bad = ~(np.isfinite(grad).all(axis=1) & np.isfinite(curv).all(axis=(1, 2)))
    if bad.any():
        value = np.where(bad, np.inf, value)
    return value, grad, curv, scale


def _same_cell(theta, quantum):
    """``(first, inverse)`` of ``np.unique(cells, axis=0)`` for the grid cells of ``theta``'s
    rows: a 1-D unique of one 64-bit key per row (checked exactly; rows unique on a clash),
    several times cheaper than ``unique(axis=0)`` in the batch's inner loop."""
    keys = np.round(theta / quantum).astype(np.int64)
    mix = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                    0x27D4EB2F165667C5, 0x85EBCA77C2B2AE63] * (keys.shape[1] // 5 + 1),
                   dtype=np.uint64)[:keys.shape[1]]
    with np.errstate(over="ignore"):
        hashed = (keys.view(np.uint64) * mix).sum(axis=1)
    _, first, inverse = np.unique(hashed, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(keys[first][inverse], keys):  # a hash clash: exact fallback
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first, inverse.ravel()


@dataclass
class MultistartResult:
    """Final state of every start.

    Attributes
    ----------
    theta : (S, P) array
        Where each start ended, in fit space.
    values : (S,) array
        Objective at each end point.
    iterations : (S,) array
        Iterations each start used (a merged start counts until it was merged).
    converged : (S,) bool array
        Whether each start met the stopping rule (rather than the iteration cap).
    """

    theta: np.ndarray
    values: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray

    @property
    def best(self) -> int:
        return int(np.nanargmin(self.values))


@dataclass(frozen=True)
class MultistartOptions(Options):
    """How :func:`multistart` runs.

    Attributes
    ----------
    max_iter : int
        Iteration cap per start.
    ftol, xtol : float
        A start stops when an accepted step lowers the objective by less than
        ``ftol * (1 + value)`` and moves no parameter by more than
        ``xtol * (1 + |theta|)``, or when no step lowers it even at huge damping.
    merge_quantum : float or None
        Starts whose iterates fall in the same cell of a grid of this spacing (in fit
        space) follow the same path from then on: one carries on and the others take
        its result. ``None`` disables merging.
    merge_every : int
        How often (in iterations) to look for starts to merge.
    progress : bool or None
        Show a progress bar of finished starts (None: only on a terminal).
    desc : str
        Label of the progress bar.
    damping : float
        Initial Levenberg-Marquardt damping, relative to the curvature's diagonal (smaller
        for warm starts next to an optimum, e.g. bootstrap refits).
    groups : (S,) int array, optional
        With per-start data weights: starts with the same label see the same data, so
        they may be merged (starts of different labels never are). Without it, per-start
        weights disable merging.
    """

    max_iter: int = 200
    ftol: float = 1e-10
    xtol: float = 1e-6
    merge_quantum: float | None = 1e-2
    merge_every: int = 1
    progress: bool | None = None
    desc: str = "multistart"
    damping: float = 1e-3
    groups: object = None


def multistart(problem, theta0, lower, upper, *, options: MultistartOptions | None = None,
               **kwargs) -> MultistartResult:
    """Minimize ``problem`` from every row of ``theta0`` at once.

    Parameters
    ----------
    problem : fits.problem.Problem
        Anything with ``evaluate(theta (S, P), rows) -> (value, grad, curvature, scale)``,
        ``rows`` being the indices of the starts in ``theta0`` (for per-start data weights).
    theta0 : (S, P) array
        Starting points; clipped into the bounds.
    lower, upper : (P,) arrays
        Box bounds in fit space.
    options : MultistartOptions, optional
        ``max_iter`` (200), ``ftol`` (1e-10), ``xtol`` (1e-6), ``merge_quantum`` (1e-2),
        ``merge_every`` (1), ``progress``, ``desc``, ``damping`` (1e-3) and ``groups``
        (see :class:`MultistartOptions`); its fields as keywords change it.

    Returns
    -------
    MultistartResult
    """
    opts = MultistartOptions.build(options, **kwargs)
    batch = _Batch(problem, theta0, lower, upper, opts)
    bar = progress_bar(batch.n_starts, opts.desc, opts.progress)
    bar.update(batch.n_starts - batch.active.size)
    every = opts.merge_every
    for it in range(opts.max_iter):
        if batch.merge_quantum and it % every == every - 1 and batch.active.size > 1:
            bar.update(batch.merge())
        if batch.active.size == 0:
            break
        bar.update(batch.step())
    bar.close()
    return batch.result()


class _Batch:
    """Every start of one :func:`multistart` run; the live ones are ``active`` (their
    value, gradient, curvature and scale in the arrays of the same name)."""

    def __init__(self, problem, theta0, lower, upper, opts: MultistartOptions):
        self.problem, self.lower, self.upper = problem, lower, upper
        self.ftol, self.xtol = opts.ftol, opts.xtol
        theta = np.clip(np.array(np.atleast_2d(theta0), dtype=float), lower, upper)
        n_starts, n_par = theta.shape
        weights = getattr(problem, "weights", None)
        self.merge_quantum, self.label = opts.merge_quantum, None
        if weights is not None and weights.ndim == 2:
            if opts.groups is None:
                # starts see different data: equal iterates do not share a path
                self.merge_quantum = None
            else:  # merged only within a group (a cell key column that rounds to the label)
                self.label = (np.asarray(opts.groups, dtype=float)[:, None]
                              * (opts.merge_quantum or 1.0))
        self.theta, self.n_starts = theta, n_starts
        self.values = np.full(n_starts, np.inf)
        self.iterations = np.zeros(n_starts, dtype=int)
        self.converged = np.zeros(n_starts, dtype=bool)
        self.damping = np.full(n_starts, float(opts.damping))
        self.growth = np.full(n_starts, 2.0)
        self.leader = np.arange(n_starts)
        self.eye = np.eye(n_par)
        value, grad, curv, scale = evaluate_in_blocks(problem, theta, np.arange(n_starts))
        self.values[:] = value
        ok = np.isfinite(value)
        self.active = np.flatnonzero(ok)
        self.value, self.grad, self.curv, self.scale = value[ok], grad[ok], curv[ok], scale[ok]

    def _keep(self, keep):
        self.active, self.value, self.grad, self.curv, self.scale = (
            self.active[keep], self.value[keep], self.grad[keep], self.curv[keep],
            self.scale[keep])

    def merge(self) -> int:
        """Merge live starts in the same cell (one carries on); how many left."""
        active = self.active
        cells = self.theta[active] if self.label is None else np.hstack(
            [self.theta[active], self.label[active]])
        first, inverse = _same_cell(cells, self.merge_quantum)
        self.leader[active] = active[first][inverse]
        keep = np.zeros(active.size, dtype=bool)
        keep[first] = True
        self._keep(keep)
        return int((~keep).sum())

    def _solve(self, th):
        """The damped Levenberg-Marquardt step of every live start."""
        lower, upper, grad, scale = self.lower, self.upper, self.grad, self.scale
        # freeze parameters pinned at a bound whose gradient pushes outward
        free = ~(((th <= lower) & (grad > 0)) | ((th >= upper) & (grad < 0)))
        system = (self.curv + (self.damping[self.active, None]
                               * np.maximum(scale, 1e-12))[:, :, None] * self.eye)
        system = np.where(free[:, :, None] & free[:, None, :], system, self.eye)
        rhs = np.where(free, -grad, 0.0)
        try:
            return np.linalg.solve(system, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return np.stack([np.linalg.lstsq(m, v, rcond=None)[0] for m, v in zip(system, rhs)])

    def step(self) -> int:
        """One iteration of every live start; how many finished."""
        active, value = self.active, self.value
        th = self.theta[active]
        step = self._solve(th)
        candidate = np.clip(th + step, self.lower, self.upper)
        v_new, g_new, c_new, s_new = evaluate_in_blocks(self.problem, candidate, active)
        accept = np.isfinite(v_new) & (v_new <= value)
        self.iterations[active] += 1

        small_step = np.all(np.abs(candidate - th) <= self.xtol * (1.0 + np.abs(th)), axis=1)
        small_gain = (value - v_new) <= self.ftol * (1.0 + np.abs(value))
        done = accept & small_gain & small_step
        # no step lowers the objective even with huge damping: a (bounded) minimum
        stuck = ~accept & (self.damping[active] > 1e10)

        self.theta[active[accept]] = candidate[accept]
        value_old, curv_old = value, self.curv
        self.value = value = np.where(accept, v_new, value)
        self.grad = grad = np.where(accept[:, None], g_new, self.grad)
        self.curv = np.where(accept[:, None, None], c_new, self.curv)
        self.scale = np.where(accept[:, None], s_new, self.scale)
        # Nielsen's damping update: shrink by how well the quadratic model predicted the
        # gain (gain ratio rho), grow geometrically faster on repeated rejections
        predicted = -(np.einsum("sp,sp->s", grad, step)
                      + 0.5 * np.einsum("sp,spq,sq->s", step, curv_old, step))
        rho = (value_old - v_new) / np.where(predicted > 0, predicted, np.inf)
        shrink = np.maximum(1.0 / 3.0, 1.0 - (2.0 * np.clip(rho, 0.0, 1.0) - 1.0) ** 3)
        damping, growth = self.damping[active], self.growth[active]
        self.damping[active] = np.where(accept, np.maximum(damping * shrink, 1e-12),
                                        damping * growth)
        self.growth[active] = np.where(accept, 2.0, growth * 2.0)
        self.values[active] = value
        finished = done | stuck
        self.converged[active[finished]] = True
        self._keep(~finished)
        return int(finished.sum())

    def result(self) -> MultistartResult:
        # followers take the final state of the start that carried on for them
        leader = self.leader
        while np.any(leader[leader] != leader):
            leader = leader[leader]
        return MultistartResult(self.theta[leader], self.values[leader], self.iterations,
                                self.converged[leader])


def count_at_best(values: np.ndarray, rtol: float = 1e-6, atol: float = 1e-12,
                  best: float | None = None) -> int:
    """How many starts ended within ``rtol * |best| + atol`` of the best objective
    (``atol`` so that exact data, whose optimum is ~0, counts every start that fits it).
    ``best`` defaults to the lowest of ``values`` (pass the polished optimum if lower)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0
    best = finite.min() if best is None else min(best, finite.min())
    return int(np.sum(finite <= best + rtol * abs(best) + atol))


def polish(problem, theta, lower, upper, *, max_iter: int = 2000, row: int | None = None):
    """Refine one point: Newton (Levenberg-Marquardt) steps to a tight tolerance, then
    L-BFGS-B (quasi-Newton, analytic gradient, bounded) only where those did not reach a
    vanishing projected gradient (scipy.optimize is imported only then).

    ``row`` selects the start's row of per-start data weights, if any.

    Returns
    -------
    theta : (P,) array
    value : float
    info : dict
        ``success``, ``message``, ``iterations``, ``projected_gradient`` and ``method``.
    """
    theta = np.asarray(theta, dtype=float)
    if np.size(theta) == 0:  # every parameter fixed (a published law): evaluate it
        value = problem.evaluate(theta.reshape(1, 0), None if row is None else [row])[0]
        return theta, float(value[0]), {
            "success": True, "message": "every parameter fixed: evaluated, not fitted",
            "iterations": 0, "projected_gradient": 0.0}
    if row is None:
        newton = multistart(problem, theta[None, :], lower, upper, max_iter=_NEWTON_ITER,
                            ftol=1e-15, xtol=1e-12, merge_quantum=None, progress=False,
                            damping=1e-6)
        value, grad, _, _ = problem.evaluate(newton.theta, None)
        if np.isfinite(value[0]) and value[0] <= problem.evaluate(theta[None, :], None)[0][0]:
            pg = _projected_gradient(newton.theta[0], grad[0], lower, upper)
            if pg <= _NEWTON_GTOL * max(1.0, abs(float(value[0]))):
                return newton.theta[0].copy(), float(value[0]), {
                    "success": True, "message": "projected gradient below tolerance (Newton)",
                    "iterations": int(newton.iterations[0]), "projected_gradient": pg,
                    "method": "newton"}
            theta = newton.theta[0]
    return _lbfgsb(problem, theta, lower, upper, max_iter=max_iter, row=row)


#: Newton polish: iteration cap and the projected-gradient tolerance (relative to the
#: objective; 10x below the convergence rule of fits.finish) under which L-BFGS-B is
#: not needed.
_NEWTON_ITER, _NEWTON_GTOL = 100, 1e-7


def _projected_gradient(theta, grad, lower, upper) -> float:
    outward = ((theta <= lower) & (grad > 0)) | ((theta >= upper) & (grad < 0))
    return float(np.max(np.abs(np.where(outward, 0.0, grad))))


def _lbfgsb(problem, theta, lower, upper, *, max_iter: int, row):
    from scipy.optimize import minimize  # ~0.7 s to import: only when Newton fell short

    def fun(vec):
        value, grad, _, _ = problem.evaluate(vec[None, :], None if row is None else [row])
        return float(value[0]), grad[0]

    start_value = fun(theta)[0]
    res = minimize(fun, theta, jac=True, method="L-BFGS-B", bounds=list(zip(lower, upper)),
                   options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 20})
    if res.fun <= start_value:
        best_theta, best_value = np.asarray(res.x, dtype=float), float(res.fun)
    else:
        best_theta, best_value = np.asarray(theta, dtype=float), start_value
    grad = fun(best_theta)[1]
    info = {"success": bool(res.success), "message": str(res.message),
            "iterations": int(res.nit),
            "projected_gradient": _projected_gradient(best_theta, grad, lower, upper),
            "method": "L-BFGS-B"}
    return best_theta, best_value, info
