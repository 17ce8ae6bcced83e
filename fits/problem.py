"""A fitting problem: one law, its data and one objective, evaluated for many
parameter vectors at once (value, gradient and curvature in fit space)."""

from __future__ import annotations

import numpy as np

from .laws import Law
from .objectives import Objective

__all__ = ["Problem"]


class Problem:
    """Batched objective of ``law`` on ``(variables, y)``.

    Parameters
    ----------
    law : Law
    variables : sequence of (n,) arrays
        The law's independent variables, natural units, all > 0.
    y : (n,) array
        Observed losses, > 0.
    objective : Objective
    weights : (n,) or (S, n) array, optional
        Per-point multiplicities of the objective, shared by every start or one row per
        start (a bootstrap resample is a row of counts). Default: all ones.
    """

    def __init__(self, law: Law, variables, y, objective: Objective, weights=None):
        self.law = law
        self.weights = None if weights is None else np.asarray(weights, dtype=float)
        self.log_vars = tuple(np.log(np.asarray(v, dtype=float)) for v in variables)
        self.y = np.asarray(y, dtype=float)
        self.log_y = np.log(self.y)
        self.objective = objective
        self.log_space = objective.space == "log"

    @property
    def n_points(self) -> int:
        return self.y.size

    def residuals(self, theta):
        """Residuals (S, n) and their Jacobian (S, P, n) at each row of ``theta``."""
        log_f, jac = self.law.log_model(self.log_vars, np.atleast_2d(theta))
        if self.log_space:
            return self.log_y - log_f, -jac
        f = np.exp(log_f)
        return self.y - f, -jac * f[:, None, :]

    def _weights(self, rows):
        if self.weights is None or self.weights.ndim == 1 or rows is None:
            return self.weights
        if len(rows) == len(self.weights) and np.array_equal(rows, np.arange(len(rows))):
            return self.weights  # every row, in order: no copy
        return self.weights[rows]

    def value(self, theta, rows=None) -> np.ndarray:
        """Objective at each row of ``theta``."""
        rho = self.objective(self.residuals(theta)[0])[0]
        weights = self._weights(rows)
        return (rho if weights is None else rho * weights).sum(axis=-1)

    def evaluate(self, theta, rows=None):
        """Objective, gradient, Gauss-Newton/IRLS curvature and its diagonal per row.

        ``rows`` says which rows of a per-start weight matrix the rows of ``theta`` use.
        """
        log_f, jac = self.law.log_model(self.log_vars, np.atleast_2d(theta))
        if self.log_space:
            r = self.log_y - log_f  # d r / d theta = -jac
        else:
            f = np.exp(log_f)
            r = self.y - f
            jac *= f[:, None, :]
        rho, psi, weight = self.objective(r)
        weights = self._weights(rows)
        if weights is None:
            value = rho.sum(axis=1)
        else:  # no weighted copy of rho: its only use is the sum
            value = np.einsum("sn,sn->s", rho, np.broadcast_to(weights, rho.shape))
            psi, weight = psi * weights, weight * weights
        grad = -np.matmul(jac, psi[:, :, None])[:, :, 0]
        curv = np.matmul(jac * weight[:, None, :], jac.transpose(0, 2, 1))
        return value, grad, curv, np.einsum("spp->sp", curv)
