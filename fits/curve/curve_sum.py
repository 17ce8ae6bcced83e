"""The summed robust objective of a curve law over curves, as a function of the full
parameter vector (:class:`CurveSum`), and its base :class:`RobustSum`. A leaf module:
:mod:`fits.curve.problem` (constraints) and :mod:`fits.curve.reduce` (long curves on
blocks) both build on it."""

from __future__ import annotations

import numpy as np

from ..objectives import Objective
from .laws import CurveLaw

__all__ = ["CurveSum", "RobustSum"]


class RobustSum:
    """Objective, gradient and Gauss-Newton/IRLS curvature of a summed robust loss of
    log residuals; subclasses supply ``residuals(theta) -> (r (S, n), dr (S, P, n))``,
    ``objective`` and ``weights``."""

    objective: Objective
    weights: np.ndarray | None = None

    def residuals(self, theta, rows=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _weights(self, rows):
        if self.weights is None or self.weights.ndim == 1 or rows is None:
            return self.weights
        return self.weights[rows]

    def value(self, theta, rows=None) -> np.ndarray:
        """Objective at each row of ``theta`` (``inf`` where the law is not positive)."""
        r = self.residuals(theta, rows)[0]
        rho = self.objective(np.nan_to_num(r))[0]
        weights = self._weights(rows)
        value = (rho if weights is None else rho * weights).sum(axis=1)
        return np.where(np.isnan(r).any(axis=1), np.inf, value)

    def evaluate(self, theta, rows=None):
        """Objective, gradient, Gauss-Newton/IRLS curvature and its diagonal per row.

        ``rows`` says which rows of a per-start weight matrix the rows of ``theta`` use.
        """
        r, dr = self.residuals(theta, rows)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._reduce(r, dr, rows)

    def _reduce(self, r, dr, rows):
        bad = np.isnan(r).any(axis=1) | ~np.isfinite(dr).all(axis=(1, 2))
        r = np.nan_to_num(r)
        dr = np.nan_to_num(dr, posinf=0.0, neginf=0.0)
        rho, psi, weight = self.objective(r)
        weights = self._weights(rows)
        if weights is not None:
            rho, psi, weight = rho * weights, psi * weights, weight * weights
        grad = np.einsum("spn,sn->sp", dr, psi)
        curv = np.einsum("spn,sqn->spq", dr * weight[:, None, :], dr)
        value = np.where(bad, np.inf, rho.sum(axis=1))
        return value, grad, curv, np.einsum("spp->sp", curv)


class CurveSum(RobustSum):
    """Summed objective of ``law`` over ``curves`` as a function of the full fit vector
    (every parameter; constraints are the :class:`CurveProblem`'s)."""

    def __init__(self, law: CurveLaw, curves, objective: Objective, *, decay=None,
                 weights=None):
        self.weights = None if weights is None else np.asarray(weights, dtype=float)
        self.law, self.objective, self.decay = law, objective, decay
        self.curves = list(curves)
        self.plans = [law.make_plan(c.lr, c.steps, N=c.N, warmup_steps=c.warmup_steps,
                                    decay=decay) for c in self.curves]
        self.log_y = [np.log(c.loss) for c in self.curves]

    @property
    def n_points(self) -> int:
        return int(sum(c.loss.size for c in self.curves))

    def residuals(self, theta, rows=None):
        """Log residuals (S, n) over all curves and their Jacobian (S, P, n)."""
        natural = self.law.natural(np.atleast_2d(theta))
        rs, js = [], []
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for plan, log_y in zip(self.plans, self.log_y):
                L, jac = plan.evaluate(natural, jacobian=True)
                rs.append(np.where(L > 0, log_y - np.log(np.where(L > 0, L, 1.0)), np.nan))
                js.append(-jac / L[:, None, :])
        return np.concatenate(rs, axis=1), np.concatenate(js, axis=2)
