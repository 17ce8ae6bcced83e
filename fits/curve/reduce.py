"""Fitting a per-step loss curve of a million steps on a reduction of its observations.

A curve logged at every step has as many loss observations as steps. The curve laws
evaluate their LR sums exactly at any set of steps in O(T), but a fit evaluates the law and
its Jacobian for every start and every observation, which at 10^6 observations costs
minutes and gigabytes. Above :data:`SETTINGS` ``["above"]`` observations per curve
(default 20,000) and for the Huber objective (the curve laws' default), the objective is
assembled on **blocks** of consecutive observations instead:

* Block boundaries are the integer crossings of ``u(t) = ln(t + 1) / rel_width +
  (cumulative |LR change| up to t) / (lr_tol * peak LR)``: a block spans at most a
  fraction ``rel_width`` of its step and at most an LR change of ``lr_tol`` times the peak
  LR (so blocks are narrow where the LR moves, and grow with the step elsewhere).
* The law is evaluated **exactly** (every step of the schedule in its LR sums) at one
  observed step per block, its node (the block's middle observation), and is taken as
  constant over the block.
* Every observation is kept: the block's summed Huber loss ``sum_i rho(log y_i - log
  L(node))`` is computed exactly from the block's sorted log losses and their prefix sums
  (O(log n) per block and start), and so are its gradient and its Gauss-Newton/IRLS
  curvature (the outer part of the latter approximated from the mean outer residual).

The only approximation is the law's variation inside a block, ``e_i = log L(t_i) - log
L(node)``. As Huber's ``|rho'|`` is at most ``delta``, the reduced objective differs from
the per-step objective by at most

    |F_reduced(theta) - F_full(theta)| <= delta * sum_i |e_i(theta)|         (the bound)

at every parameter vector. The fit reports this bound at the fitted parameters (one exact
evaluation at every observed step), with both objectives, in
``result.choices["curve_reduction"]``. Standard errors and residual statistics of the
report are computed on the full per-step curve. Predictions always evaluate the law at
every requested step. Turn the reduction off with :func:`curve_reduction` (``with
curve_reduction(False): ...``) or ``SCALING_CURVE_REDUCE=0``; bootstrap weights, other
objectives and curves at or under the threshold are fitted point by point as before.
"""

from __future__ import annotations

import contextlib
import copy
import os
from dataclasses import dataclass

import numpy as np

from ..progress import progress_bar
from .curves import Curve
from .curve_sum import CurveSum

__all__ = ["SETTINGS", "ReducedCurve", "ReducedSum", "curve_reduction", "reduce_curve",
           "make_curve_sum", "exact_for_report", "reduction_bound", "ExactSum",
           "describe_reduction"]

#: When and how finely to reduce: curves with more than ``above`` observations; block
#: width at most ``rel_width`` of the step and ``lr_tol`` of the peak LR in LR change.
SETTINGS = {"enabled": True, "above": 20_000, "rel_width": 2e-3, "lr_tol": 2e-3}


@contextlib.contextmanager
def curve_reduction(enabled: bool = True, **settings):
    """Temporarily switch the reduction on or off, or change its settings
    (``above``, ``rel_width``, ``lr_tol``)."""
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown curve-reduction settings {sorted(unknown)}; known: "
                         f"{sorted(SETTINGS)}")
    saved = dict(SETTINGS)
    SETTINGS.update(settings, enabled=bool(enabled))
    try:
        yield SETTINGS
    finally:
        SETTINGS.clear()
        SETTINGS.update(saved)


def _enabled() -> bool:
    return SETTINGS["enabled"] and os.environ.get("SCALING_CURVE_REDUCE", "1") not in (
        "0", "off", "false", "no")


@dataclass
class ReducedCurve(Curve):
    """A curve whose ``steps``/``loss`` are its blocks' nodes and geometric-mean losses;
    ``original`` is the full curve and ``starts``/``counts`` its blocks' observations."""

    original: Curve | None = None
    starts: np.ndarray | None = None
    counts: np.ndarray | None = None


def reduce_curve(curve: Curve, rel_width: float | None = None,
                 lr_tol: float | None = None) -> ReducedCurve:
    """The blocks of ``curve`` (see the module docstring)."""
    rel_width = SETTINGS["rel_width"] if rel_width is None else float(rel_width)
    lr_tol = SETTINGS["lr_tol"] if lr_tol is None else float(lr_tol)
    if not (rel_width > 0 and lr_tol > 0):
        raise ValueError(f"`rel_width` and `lr_tol` must be > 0, got {rel_width}, {lr_tol}")
    steps = np.asarray(curve.steps, dtype=np.int64)
    lr = np.asarray(curve.lr, dtype=float)
    moved = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(lr)))])
    u = np.log1p(steps) / rel_width + moved[steps] / (lr_tol * float(lr.max()))
    cell = np.floor(u).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    counts = np.diff(np.r_[starts, steps.size])
    nodes = steps[starts + (counts - 1) // 2]
    zbar = np.add.reduceat(np.log(curve.loss), starts) / counts
    return ReducedCurve(curve.run_id, nodes, np.exp(zbar), curve.lr, curve.N,
                        curve.warmup_steps, curve.schedule, curve.split, dict(curve.dropped),
                        curve.tokens_per_step, original=curve, starts=starts, counts=counts)


class ReducedSum(CurveSum):
    """:class:`~fits.curve.problem.CurveSum` of the Huber objective on block nodes: its
    residuals are ``mean(log y) - log L(node)`` per block, its value, gradient and
    curvature the exact block sums over every observation (law constant per block)."""

    def __init__(self, law, curves, objective, *, decay=None):
        super().__init__(law, curves, objective, decay=decay)
        self.delta = float(objective.settings["delta"])
        counts = np.concatenate([c.counts for c in curves])
        logs, block_of = [], []
        for c in curves:
            z = np.log(c.original.loss)
            logs.append(z - np.repeat(np.log(c.loss), c.counts))  # centred per block
        u = np.concatenate(logs)
        block_of = np.repeat(np.arange(counts.size), counts)
        self.width = 2.0 * (float(np.abs(u).max()) + 2 * self.delta + 1.0)
        order = np.lexsort((u, block_of))
        u = u[order]
        self.keys = block_of * self.width + u
        self.first = np.r_[0, np.cumsum(counts)[:-1]]
        self.last = self.first + counts
        self.P1 = np.r_[0.0, np.cumsum(u)]
        self.P2 = np.r_[0.0, np.cumsum(u * u)]
        self.counts = counts.astype(float)

    @property
    def n_points(self) -> int:
        return int(self.counts.sum())

    def exact_plans(self) -> list:
        """Plans of the full curves (every observed step), for predictions."""
        if getattr(self, "_exact_plans", None) is None:
            self._exact_plans = [
                self.law.make_plan(c.lr, c.original.steps, N=c.N, warmup_steps=c.warmup_steps,
                                   decay=self.decay) for c in self.curves]
        return self._exact_plans

    def block_sums(self, r):
        """Summed Huber loss, ``psi`` and curvature weight of each block's observations
        when the law sits at ``mean(log y) - r`` over the block ((S, B) each)."""
        d = self.delta
        c = -r  # the law's log minus the block's mean log loss
        limit = 0.5 * self.width - 2 * d
        cc = np.clip(c, -limit, limit)
        base = np.arange(c.shape[1]) * self.width
        lo = np.searchsorted(self.keys, (base + cc - d).ravel(), "left").reshape(c.shape)
        hi = np.searchsorted(self.keys, (base + cc + d).ravel(), "right").reshape(c.shape)
        P1, P2 = self.P1, self.P2
        n_lo, n_hi = lo - self.first, self.last - hi
        n_in = hi - lo
        s_in, q_in = P1[hi] - P1[lo], P2[hi] - P2[lo]
        out_abs = (n_lo * c - (P1[lo] - P1[self.first])) + ((P1[self.last] - P1[hi]) - n_hi * c)
        n_out = n_lo + n_hi
        rho = 0.5 * (q_in - 2 * c * s_in + n_in * c * c) + d * out_abs - 0.5 * d * d * n_out
        psi = s_in - n_in * c + d * (n_hi - n_lo)
        weight = n_in + d * n_out * n_out / np.maximum(out_abs, d * np.maximum(n_out, 1))
        return rho, psi, weight

    def value(self, theta, rows=None) -> np.ndarray:
        r = self.residuals(theta, rows)[0]
        with np.errstate(over="ignore", invalid="ignore"):
            value = self.block_sums(np.nan_to_num(r))[0].sum(axis=1)
        return np.where(np.isnan(r).any(axis=1), np.inf, value)

    def _reduce(self, r, dr, rows):
        bad = np.isnan(r).any(axis=1) | ~np.isfinite(dr).all(axis=(1, 2))
        r = np.nan_to_num(r)
        dr = np.nan_to_num(dr, posinf=0.0, neginf=0.0)
        rho, psi, weight = self.block_sums(r)
        grad = np.einsum("spn,sn->sp", dr, psi)
        curv = np.einsum("spn,sqn->spq", dr * weight[:, None, :], dr)
        value = np.where(bad, np.inf, rho.sum(axis=1))
        return value, grad, curv, np.einsum("spp->sp", curv)


class ExactSum(CurveSum):
    """The per-step :class:`~fits.curve.problem.CurveSum` of the full curves, evaluated
    in chunks of :attr:`chunk` observed steps (each chunk's plan built and dropped, so
    memory stays that of one chunk), its last evaluation kept: the report of a reduced
    fit (bound, standard errors, residual statistics) evaluates one parameter vector
    three times."""

    chunk = 200_000

    def __init__(self, law, curves, objective, *, decay=None):
        self.weights = None
        self.law, self.objective, self.decay = law, objective, decay
        self.curves = list(curves)
        self.log_y = [np.log(c.loss) for c in self.curves]
        self._last = (None, None)

    @property
    def plans(self):  # only for callers that ask (memory of the whole curves)
        return [self.law.make_plan(c.lr, c.steps, N=c.N, warmup_steps=c.warmup_steps,
                                   decay=self.decay) for c in self.curves]

    def residuals(self, theta, rows=None):
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        key = theta.tobytes()
        if self._last[0] == key:
            return self._last[1]
        natural = self.law.natural(theta)
        n, cuts = self.n_points, []
        for i, c in enumerate(self.curves):
            cuts += [(i, a, min(a + self.chunk, c.loss.size))
                     for a in range(0, c.loss.size, self.chunk)]
        r = np.empty((theta.shape[0], n))
        dr = np.empty((theta.shape[0], theta.shape[1], n))
        bar = progress_bar(len(cuts), "exact per-step evaluation",
                           None if n > SETTINGS["above"] else False)
        offsets = np.cumsum([0] + [c.loss.size for c in self.curves])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for i, a, b in cuts:
                c = self.curves[i]
                plan = self.law.make_plan(c.lr, c.steps[a:b], N=c.N,
                                          warmup_steps=c.warmup_steps, decay=self.decay)
                L, jac = plan.evaluate(natural, jacobian=True)
                out = slice(offsets[i] + a, offsets[i] + b)
                log_y = self.log_y[i][a:b]
                r[:, out] = np.where(L > 0, log_y - np.log(np.where(L > 0, L, 1.0)), np.nan)
                dr[:, :, out] = -jac / L[:, None, :]
                bar.update(1)
        bar.close()
        self._last = (key, (r, dr))
        return r, dr


def make_curve_sum(law, curves, objective, *, decay=None, weights=None):
    """A :class:`ReducedSum` when the reduction applies (Huber objective, no weights,
    some curve above ``SETTINGS["above"]`` observations, or curves already reduced), else
    the per-point :class:`~fits.curve.problem.CurveSum`."""
    curves = list(curves)
    reduced = any(isinstance(c, ReducedCurve) for c in curves)
    if not reduced and (weights is not None or objective.name != "huber" or not _enabled()
                        or max(c.loss.size for c in curves) <= SETTINGS["above"]):
        return CurveSum(law, curves, objective, decay=decay, weights=weights)
    if weights is not None:
        raise ValueError("per-point weights cannot be applied to a reduced curve; fit the "
                         "full curves (curve_reduction(False))")
    curves = [c if isinstance(c, ReducedCurve) else reduce_curve(c) for c in curves]
    return ReducedSum(law, curves, objective, decay=decay)


def reduction_bound(reduced: ReducedSum, full: CurveSum, theta) -> dict:
    """Both objectives and the bound ``delta * sum |e_i|`` at one full fit-space vector."""
    theta = np.atleast_2d(theta)
    r_block = reduced.residuals(theta)[0][0]
    log_node = np.concatenate(reduced.log_y) - r_block
    log_law = np.concatenate(full.log_y) - full.residuals(theta)[0][0]
    error = log_law - np.repeat(log_node, reduced.counts.astype(np.int64))
    full_value = float(full.value(theta)[0])
    bound = reduced.delta * float(np.abs(error).sum())
    return {"applied": True, "points": reduced.n_points, "blocks": int(r_block.size),
            "objective_reduced": float(reduced.value(theta)[0]),
            "objective_full": full_value, "error_bound": bound,
            "error_bound_rel": bound / full_value if full_value > 0 else float("inf"),
            "max_law_change_in_block": float(np.abs(error).max()),
            "settings": {k: SETTINGS[k] for k in ("above", "rel_width", "lr_tol")}}


def exact_for_report(best: dict) -> dict:
    """``best`` (a candidate of ``fit_curve_law``) with its problem on the full per-step
    curves, for standard errors and residual statistics, and the reduction's report
    under ``"reduction"``; unchanged when its problem was not reduced."""
    problem = best["problem"]
    if not isinstance(problem.problem, ReducedSum):
        return best
    reduced = problem.problem
    full = copy.copy(problem)
    full.problem = ExactSum(reduced.law, [c.original for c in reduced.curves],
                            reduced.objective, decay=reduced.decay)
    full.curves, full.plans = full.problem.curves, full.problem.plans
    report = reduction_bound(reduced, full.problem, best["theta"])
    return {**best, "problem": full, "reduction": report}


def describe_reduction(report: dict) -> str:
    """One line for the fit report: that the reduction was applied, and its bound."""
    return (f" (on {report['blocks']:,} blocks of the {report['points']:,} points, the law "
            f"exact at one step per block; |this objective - the per-step objective| <= "
            f"{report['error_bound']:.3g} = {100 * report['error_bound_rel']:.2g}% of it at "
            "the fit; fits/curve/reduce.py)")
