"""One place finishes every fit: standard errors, at-bound flags, the convergence rule and
the :class:`~fits.result.FitResult` assembly, for point laws, curve laws, joint curve fits
and loss-to-loss links alike.

Each rule is one function:

- :func:`standard_errors`: Gauss-Newton covariance ``s2 (J J^T)^-1`` of the least-squares
  approximation at the optimum, ``s2 = r.r / (n - p)`` with ``p`` the free parameters (the
  covariance ``scipy.optimize.curve_fit`` reports for an unweighted problem); a prior adds
  its precision (Laplace approximation). Natural-unit errors by the delta method.
- :func:`bound_flags`: a free parameter within ``1e-6 (1 + span)`` of a bound (fit space).
- :func:`is_converged`: L-BFGS-B reports success, or the projected gradient is below
  ``1e-6 max(1, |objective|)`` (relative, for every family).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ._version import package_version
from .multistart import count_at_best
from .result import FitResult, ParamEstimate

__all__ = ["finish", "FinishOptions", "standard_errors", "bound_flags", "is_converged", "BOUND_TOL",
           "STDERR_METHOD"]

#: Relative distance (in fit space, times 1 + the bound span) that counts as "at a bound".
BOUND_TOL = 1e-6
STDERR_METHOD = ("Gauss-Newton approximation s2 (J J^T)^-1 on the fit residuals, s2 = "
                 "r.r / (n - free parameters); use the bootstrap for honest intervals")


def standard_errors(problem, theta_free, prior=None) -> np.ndarray:
    """Fit-space standard errors of the free parameters (NaN when ``n <= p``).

    Parameters
    ----------
    problem
        Anything with ``residuals(theta (1, p)) -> (r (1, n), jac (1, p, n))``.
    theta_free : (p,) array
    prior : tuple, optional
        ``(index, mean, precision)`` of a Gaussian prior on the free vector.
    """
    theta_free = np.asarray(theta_free, dtype=float)
    r, jac = problem.residuals(theta_free[None, :])
    r, jac = r[0], jac[0]
    n, p = r.size, jac.shape[0]
    if n <= p:
        return np.full(p, np.nan)
    s2 = float(r @ r) / (n - p)
    info = jac @ jac.T
    if prior is not None:
        index, _, precision = prior
        info[index, index] += s2 * precision
    cov = s2 * np.linalg.pinv(info)
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


def bound_flags(theta, lower, upper) -> list:
    """``"lower"``, ``"upper"`` or None per entry of ``theta`` (fit space)."""
    span = np.abs(np.asarray(upper) - np.asarray(lower))
    tol = BOUND_TOL * (1.0 + span)
    return ["lower" if t - lo <= d else "upper" if hi - t <= d else None
            for t, lo, hi, d in zip(theta, lower, upper, tol)]


def is_converged(info: dict, value: float) -> bool:
    """The one convergence rule (see the module docstring)."""
    return bool(info.get("success")) or \
        info["projected_gradient"] <= 1e-6 * max(1.0, abs(float(value)))


def _estimates(model, natural, lo_nat, hi_nat, se_free, flags, opts: FinishOptions):
    """Every parameter's estimate (natural units), and a warning per free parameter at a
    bound."""
    free_names = model.free_names

    def stderr(name):
        source = model.tied.get(name, name)
        if source not in free_names:
            return None
        i, s = model.names.index(name), float(se_free[free_names.index(source)])
        return float(natural[i] * s) if model.log_mask[i] else s

    params, found = {}, []
    for i, name in enumerate(model.names):
        if name in model.fixed:
            v = float(model.fixed[name])
            params[name] = ParamEstimate(name, v, None, v, v, None)
            continue
        at = flags.get(model.tied.get(name, name))
        params[name] = ParamEstimate(name, float(natural[i]), stderr(name), float(lo_nat[i]),
                                     float(hi_nat[i]), at if name in free_names else None)
        if at and name in free_names:
            bound = lo_nat[i] if at == "lower" else hi_nat[i]
            found.append(f"{name} hit its {at} bound {bound:.4g}; widen `bounds` "
                         f"(--bounds {name}=LO:HI) or {opts.bound_remedy.format(name=name)} "
                         "(the fitted value is not an optimum)")
    return params, found


@dataclass(frozen=True)
class FinishOptions:
    """What :func:`finish` needs besides the optimum: what was fitted, and the
    family-specific entries and wording of the result.

    Attributes
    ----------
    law
        ``name`` and ``citation`` (a Law or CurveLaw; ``equation`` defaults to its own).
    n_points, n_runs, n_starts : int
    start_values : array, optional
        Where every start ended (for the number that reached the best).
    at_best_rtol : float
        Tolerance of "reached the best".
    equation : str, optional
    data, choices, convergence : dict, optional
        Family-specific entries, merged into the result's.
    notes : sequence of str
        Family-specific warnings, listed after the ones found here.
    bound_remedy, converge_remedy : str
        Remedies named in the warnings (``{name}`` is the parameter).
    warn : bool
        Emit the warnings as :class:`FitWarning` (``stacklevel`` for them).
    """

    law: object
    n_points: int
    n_runs: int
    n_starts: int
    start_values: object = None
    at_best_rtol: float = 1e-6
    equation: str | None = None
    data: dict | None = None
    choices: dict | None = None
    convergence: dict | None = None
    notes: tuple = ()
    bound_remedy: str = "add data that constrain {name}"
    converge_remedy: str = "try more starts (--starts) or other bounds (--bounds)"
    warn: bool = True
    stacklevel: int = 2


def finish(problem, model, theta_free, value, info, *, options: FinishOptions | None = None,
           **kwargs) -> FitResult:
    """Assemble the :class:`FitResult` of an optimum.

    Parameters
    ----------
    problem
        The problem over the free parameters (``residuals``).
    model : fits.params.ParamModel
    theta_free : (p,) array
        The optimum (free parameters, fit space).
    value : float
        Objective there.
    info : dict
        The polish's ``success``, ``message``, ``projected_gradient``...
    options : FinishOptions, optional
        Its fields may be given as keywords instead (``law=..., n_points=...``).
    """
    opts = FinishOptions(**kwargs) if options is None else replace(options, **kwargs)
    theta_free = np.asarray(theta_free, dtype=float)
    theta = model.expand(theta_free)[0]
    natural = model.natural(theta)
    lo_nat, hi_nat = model.natural(model.lower), model.natural(model.upper)
    lo_nat = np.where(model.log_mask & (lo_nat < 1e-290), 0.0, lo_nat)  # log(0) stand-in
    se_free = standard_errors(problem, theta_free, model.prior_terms())
    free_names = model.free_names
    lower_f, upper_f = model.free_bounds()
    flags = dict(zip(free_names, bound_flags(theta_free, lower_f, upper_f)))

    converged = is_converged(info, value)
    params, found = _estimates(model, natural, lo_nat, hi_nat, se_free, flags, opts)
    if not converged:
        found.insert(0, f"the optimizer did not converge ({info.get('message')}); "
                     f"{opts.converge_remedy}")
    if opts.n_points <= model.n_free:
        found.append(f"under-identified: {opts.n_points} points for {model.n_free} free "
                     f"parameters ({', '.join(free_names)}), so the data cannot pin them down and no "
                     "standard errors are given; tie or fix parameters (`tied`/`fixed`, e.g. "
                     "--tie alpha=beta, --fix E=1.69), give a prior (--prior) or add runs")
    n_at_best = (count_at_best(np.asarray(opts.start_values), rtol=opts.at_best_rtol,
                               best=value) if opts.start_values is not None else 1)
    all_choices = {"bounds": {n: [float(lo_nat[i]), float(hi_nat[i])] if n not in model.fixed
                              else [model.fixed[n]] * 2 for i, n in enumerate(model.names)},
                   **model.describe(), **(opts.choices or {})}
    all_choices.setdefault("stderr_method", STDERR_METHOD)
    all_convergence = {"converged": bool(converged), "n_starts": int(opts.n_starts),
                       "n_at_best": int(n_at_best), "polish": info, **(opts.convergence or {})}
    result = FitResult(law=opts.law.name, equation=opts.equation or opts.law.equation,
                       citation=opts.law.citation, params=params, objective=float(value),
                       n_points=int(opts.n_points), n_runs=int(opts.n_runs),
                       data=dict(opts.data or {}),
                       choices=all_choices, convergence=all_convergence,
                       warnings=found + list(opts.notes), version=package_version())
    if opts.warn:
        result.warn(stacklevel=opts.stacklevel + 1)
    return result
