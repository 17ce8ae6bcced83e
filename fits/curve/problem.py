"""The fitting problem of a curve law: several curves, one parameter vector, one
robust objective on log residuals, evaluated for many parameter vectors at once
(the ``evaluate`` interface of :func:`fits.multistart.multistart`).

Fixed, tied (also by a ratio) and prior parameters are those of the shared
:class:`~fits.params.ParamModel`, applied by :class:`~fits.params.ConstrainedProblem`."""

from __future__ import annotations

import numpy as np

from ..objectives import Objective
from ..params import ConstrainedProblem, ParamModel
from .laws import CurveLaw

__all__ = ["CurveProblem", "CurveSum", "RobustSum"]


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


class CurveProblem(ConstrainedProblem):
    """Summed objective of ``law`` over ``curves``, over the free parameters of one
    :class:`~fits.params.ParamModel` (the model every family of fit shares).

    Parameters
    ----------
    law : CurveLaw
    curves : list of Curve
    objective : Objective
        Applied to ``log L - log L_hat`` of every point of every curve.
    decay : float, optional
        Momentum of the LR-annealing law.
    fixed : mapping, optional
        ``{symbol: natural value}`` held fixed; the fit vector holds the others. A value
        may be an (S,) array, one per start (e.g. shape parameters of bootstrap
        resamples of a reference fit); ``rows`` then selects them.
    weights : (n,) or (S, n) array, optional
        Per-point multiplicities (all curves' points in order), shared by every start or
        one row per start (a bootstrap resample is a row of counts).
    tied : mapping, optional
        ``{symbol: source}`` (the same value) or ``{symbol: (source, ratio)}``: ``symbol =
        ratio * source`` in natural units (e.g. the annealing amplitude proportional to
        ``A``); ``ratio`` may be an (S,) array, one per start.
    prior : mapping, optional
        ``{symbol: (mean, sd)}``: a Gaussian penalty on free parameters, ``mean`` in
        natural units and ``sd`` in fit space (log scale for ``A, B, C``), scaled by
        ``prior_scale`` (the residual variance, so that the penalized objective is a
        negative log posterior up to that factor).
    prior_scale : float
        Multiplies the penalty (default 1).
    bounds : mapping, optional
        ``{symbol: (lower, upper)}`` natural units, overriding the law's
        (``self.model.free_bounds()``).
    """

    def __init__(self, law: CurveLaw, curves, objective: Objective, *, decay=None,
                 fixed=None, weights=None, tied=None, prior=None, prior_scale=1.0,
                 bounds=None):
        if prior and not prior_scale > 0:
            raise ValueError("`prior` standard deviations and `prior_scale` must be > 0")
        model = ParamModel.for_law(law, fixed=fixed, tied=tied, prior=prior, bounds=bounds)
        from .reduce import make_curve_sum  # long per-step curves: fits/curve/reduce.py

        super().__init__(make_curve_sum(law, curves, objective, decay=decay, weights=weights),
                         model, prior_scale=prior_scale if prior else 0.0)
        self.law, self.objective, self.decay = law, objective, decay
        self.curves, self.plans = self.problem.curves, self.problem.plans
        self.fixed, self.free = model.fixed, model.free

    def full(self, theta, rows=None) -> np.ndarray:
        """Free-parameter rows -> full fit-space rows (``rows``: which per-start fixed
        values each row uses; default the first ``len(theta)``)."""
        return self.model.expand(theta, rows)

    def neutral(self) -> np.ndarray:
        """A free-parameter row with every free parameter at 1 (natural units)."""
        return self.law.to_theta({p: 1.0 for p in self.law.params})[self.free]

    def evaluate(self, theta, rows=None):
        """Objective, gradient, Gauss-Newton/IRLS curvature and its diagonal per row
        (from the free parameters' residual Jacobian, so that only their derivatives
        decide whether a row is finite)."""
        theta = np.atleast_2d(theta)
        r, dr = self.residuals(theta, rows)
        with np.errstate(over="ignore", invalid="ignore"):
            value, grad, curv, diag = self.problem._reduce(r, dr, rows)
        if self.prior is None:
            return value, grad, curv, diag
        p_value, p_grad, p_diag = self._penalty(theta)
        return value + p_value, grad + p_grad, curv + np.diag(p_diag)[None], diag + p_diag

    def value(self, theta, rows=None) -> np.ndarray:
        """Objective at each row (``inf`` where the law is not positive)."""
        theta = np.atleast_2d(theta)
        value = self.problem.value(self.full(theta, rows), rows)
        if self.prior is not None:
            value = value + self._penalty(theta)[0]
        return value

    def predictions(self, theta, rows=None):
        """Natural-unit loss per curve at every observed step (also of a curve fitted on
        blocks, fits/curve/reduce.py), a list of (S, n_c) arrays."""
        natural = self.law.natural(self.full(theta, rows))
        exact = getattr(self.problem, "exact_plans", None)
        with np.errstate(over="ignore", invalid="ignore"):
            return [plan.evaluate(natural) for plan in (exact() if exact else self.plans)]
