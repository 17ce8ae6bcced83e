"""The fitting problem of a curve law: several curves, one parameter vector, one
robust objective on log residuals, evaluated for many parameter vectors at once
(the ``evaluate`` interface of :func:`fits.multistart.multistart`).

Fixed, tied (also by a ratio) and prior parameters are those of the shared
:class:`~fits.params.ParamModel`, applied by :class:`~fits.params.ConstrainedProblem`."""

from __future__ import annotations

import numpy as np

from ..objectives import Objective
from ..params import ConstrainedProblem, ParamModel
from .curve_sum import CurveSum, RobustSum
from .laws import CurveLaw

__all__ = ["CurveProblem", "CurveSum", "RobustSum"]


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
