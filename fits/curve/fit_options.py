"""Settings of a curve-law fit as one object (:class:`CurveFitOptions`) and the checked
inputs every step of the fit shares (:class:`FitSetup`)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ..objectives import get_objective
from ..params import ParamModel
from .laws import get_curve_law

__all__ = ["CurveFitOptions", "FitSetup", "fit_setup", "METHODS", "SELECTIONS"]

SELECTIONS = ("objective", "loco")
#: How candidate fits are made: ``"converged"`` (multi-start optima of the objective)
#: and, for the multi-power law, ``"luo2025"`` (the authors' AdamW procedure).
METHODS = ("converged", "luo2025")


def _methods(law, methods, fixed, prior):
    if methods is None:
        plain = not fixed and not prior  # (ties count as fixed here)
        # every method the law has, chosen by leave-one-run-out on the user's table
        # (fits/curve/selection.py), never by a default that won on one public dataset
        return tuple(law.methods) if plain else ("converged",)
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"`methods` must be a non-empty subset of {list(METHODS)}, got "
                         f"{list(methods)}")
    if "luo2025" in methods and ("luo2025" not in law.methods or fixed or prior):
        raise ValueError("method 'luo2025' fits the multi-power law ('mpl') with every "
                         "parameter free (no `fixed`, no `prior`)")
    return methods


@dataclass(frozen=True)
class CurveFitOptions:
    """Settings of :func:`~fits.curve.fit.fit_curve_law` (its keyword arguments as one
    object: ``CurveFitOptions.of(options, **changes)`` refits with other settings).

    Parameters
    ----------
    loss, delta : str, float
        Objective on log residuals (default Huber, delta 1e-3 as in Luo et al. 2025).
    decays : sequence of float, optional
        Momentum grid of the LR-annealing law (default 0.99, 0.995, 0.999, 0.9995).
    select : {"objective", "loco"}, optional
        How to choose between candidate fits (distinct optima, one per momentum, one per
        method): lowest objective, or lowest leave-one-curve-out relative error (needs
        >= 2 curves). Default: ``"loco"`` when there are several methods or momenta
        and >= 2 curves, else ``"objective"``. Every candidate's scores are in
        ``convergence["candidates"]``.
    methods : sequence of {"converged", "luo2025"}, optional
        How candidates are made (:data:`METHODS`). Default: every method the law has
        (both for the multi-power law without ``fixed`` or ``prior``), chosen by
        leave-one-run-out (:mod:`fits.curve.selection`; the candidate table is in
        ``data["calibration"]["candidates"]``).
    n_starts : int
        Starting points kept from the variable-projection grid.
    bounds : mapping, optional
        ``{symbol: (lower, upper)}`` (natural units) overriding the defaults.
    fixed : mapping, optional
        ``{symbol: value}`` held fixed (e.g. shape parameters from a reference fit).
    tied : mapping, optional
        ``{symbol: source}``: ``symbol`` takes ``source``'s value.
    max_iter : int
        Iteration cap of the batched optimizer.
    prior : mapping, optional
        ``{symbol: (mean, sd)}``, a Gaussian prior on free parameters (``mean`` natural,
        ``sd`` in fit space: log scale for ``A, B, C``), e.g. :data:`MPL_SHAPE_PRIOR`.
        The fit is then the posterior mode: objective + ``s2 * sum (theta - mean)**2 /
        (2 sd**2)``, ``s2`` the residual variance per point.
    prior_scale : float, optional
        ``s2``; by default the mean squared log residual of the fit without the prior.
    calibrate : bool
        With >= 2 curves, store how the law's error grows in ``data["calibration"]``
        (leave-one-run-out and truncation backtests, :mod:`fits.curve.selection`): the
        prediction intervals of held-out runs, schedules and early curves use it.
    warn : bool
        Emit the result's warnings as :class:`~fits.result.FitWarning` (default). With
        ``warn=False`` they stay on ``result.warnings`` for the caller to show.

    """

    loss: str = "huber"
    delta: float = 1e-3
    decays: Any = None
    select: str | None = None
    methods: Any = None
    n_starts: int = 8
    bounds: Any = None
    fixed: Any = None
    tied: Any = None
    max_iter: int = 200
    prior: Any = None
    prior_scale: float | None = None
    calibrate: bool = True
    warn: bool = True

    @classmethod
    def of(cls, options=None, **changes) -> "CurveFitOptions":
        """``options`` (default: the defaults) with ``changes``; a clear error for an
        unknown name."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown curve-fit option(s) {unknown}; expected some of "
                            f"{sorted(names)}")
        return replace(options or cls(), **changes)


@dataclass(frozen=True)
class FitSetup:
    """What every step of one curve fit shares (checked inputs)."""

    law: Any
    objective: Any
    curves: list
    model: ParamModel
    methods: tuple
    decay_grid: tuple
    select: str
    opts: CurveFitOptions


def fit_setup(curves, law, opts: CurveFitOptions) -> FitSetup:
    """Checked inputs of a fit; ValueError naming the bad one."""
    law = get_curve_law(law)
    objective = get_objective(opts.loss, delta=opts.delta)
    model = ParamModel.for_law(law, fixed=opts.fixed, tied=opts.tied, prior=opts.prior,
                               bounds=opts.bounds)
    methods = _methods(law, opts.methods, {**model.fixed, **model.tied}, opts.prior)
    curves = list(curves)
    decay_grid = tuple(opts.decays) if opts.decays is not None else (law.decays or (None,))
    select = opts.select
    if select is None:
        several = len(methods) > 1 or len(decay_grid) > 1
        select = "loco" if several and len(curves) >= 2 else "objective"
    if select not in SELECTIONS:
        raise ValueError(f"`select` must be one of {list(SELECTIONS)}, got {select!r}")
    if not curves:
        raise ValueError("no curves to fit")
    n_points = sum(c.loss.size for c in curves)
    if n_points < model.n_free:
        raise ValueError(f"law {law.name!r} has {model.n_free} free parameters and needs more "
                         f"points; got {n_points}")
    if select == "loco" and len(curves) < 2:
        raise ValueError("select='loco' needs at least 2 curves")
    if law.sized and any(c.N is None for c in curves):
        raise ValueError(f"law {law.name!r} needs the model size N of every run")
    return FitSetup(law, objective, curves, model, methods, decay_grid, select, opts)
