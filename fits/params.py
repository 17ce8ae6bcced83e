"""One parameter model for every fit: each parameter is free, fixed, tied to another or
given a Gaussian prior, with optional bounds.

The model works in the fit space of :mod:`fits.laws.base` (log of positive scales). The
full fit vector is an affine function of the free one, ``theta = offset + M theta_free``:
fixed parameters live in ``offset``, a tied parameter copies its source's column of ``M``
(``alpha=beta`` means one exponent). So a problem's gradient and Gauss-Newton curvature
over the free parameters are ``M^T g`` and ``M^T H M`` (:class:`ConstrainedProblem`).

A tie may carry a ratio, ``{symbol: (source, ratio)}``: ``symbol = ratio * source`` in
natural units (e.g. an annealing amplitude proportional to ``A``); the map is then no
longer affine when the two are on different scales, and :meth:`ParamModel.jacobian`
gives ``d theta / d theta_free`` row by row. A fixed value or a ratio may be an (S,)
array, one value per start (e.g. a reference fit's bootstrap rows); ``rows`` then says
which ones a batch of starts uses (default: the first ``S``).

A prior ``{symbol: (mean, sd)}`` is Gaussian on the fit scale (``mean`` in the paper's
units, ``sd`` in fit space: log scale for ``E, A, B``): the fit minimizes
``objective + s2 * sum((theta - log_or_mean) / sd)**2 / 2``, ``s2`` the residual variance per
point of the fit without the prior (times the objective's curvature at 0), so the
penalized objective is a negative log posterior up to that factor.

lmfit's ``Parameters`` (``vary``, ``expr``, ``min``/``max``) is the public face offered
to users who know it: :func:`to_lmfit_parameters` and :meth:`ParamModel.from_lmfit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

__all__ = ["ParamModel", "ConstrainedProblem"]


@dataclass
class ParamModel:
    """Which parameters of a fit vector are free, fixed, tied or carry a prior.

    Attributes
    ----------
    names : tuple of str
        Every parameter, in fit-vector order.
    log_mask : (P,) bool array
        Parameters represented by their logarithm in fit space.
    lower, upper : (P,) arrays
        Bounds in fit space (a tied parameter's are intersected with its source's).
    fixed : dict
        ``{symbol: natural value}``.
    tied : dict
        ``{symbol: source symbol}``: ``symbol`` takes its source's value (times its ratio).
    ratio : dict
        ``{tied symbol: ratio}`` for ratio ties (a float or an (S,) array per start).
    prior : dict
        ``{symbol: (mean natural, sd in fit space)}`` on free parameters.
    groups : dict
        Per-group (e.g. per-model-size) values (:meth:`grouped`): ``{group: (P,) int
        array}``, where each of the law's parameters (law order) sits in the fit vector
        for that group; empty for an ungrouped model.
    """

    names: tuple[str, ...]
    log_mask: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fixed: dict = field(default_factory=dict)
    tied: dict = field(default_factory=dict)
    prior: dict = field(default_factory=dict)
    ratio: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)

    # -- construction ----------------------------------------------------------
    @classmethod
    def for_law(cls, law, *, fixed=None, tied=None, prior=None, bounds=None) -> "ParamModel":
        """The model of ``law``'s parameters (``bounds`` override its defaults)."""
        lower, upper = law.theta_bounds(bounds)
        return cls.build(law.params, law.is_log(), lower, upper, fixed=fixed, tied=tied,
                         prior=prior, owner=f"law {law.name!r}")

    @classmethod
    def grouped(cls, law, groups: Sequence[str], shared: Sequence[str], *,
                bounds=None) -> "ParamModel":
        """Per-group values of ``law``'s parameters (one group per model size): each
        ``shared`` parameter once, then every other one once per group, named
        ``"p[group]"`` (``L0[25M]``); ``groups`` of the model maps each group to where
        the law's parameters sit (:meth:`group_theta`). ``bounds`` override the law's."""
        unknown = sorted(set(shared) - set(law.params))
        if unknown:
            raise ValueError(f"cannot share {unknown}: law {law.name!r} has parameters "
                             f"{list(law.params)}")
        shared = tuple(p for p in law.params if p in shared)
        own = [p for p in law.params if p not in shared]
        names, index = list(shared), {}
        for g in groups:
            start = len(names)
            names += [f"{p}[{g}]" for p in own]
            index[g] = np.array([shared.index(p) if p in shared else start + own.index(p)
                                 for p in law.params])
        lower, upper = law.theta_bounds(bounds)
        base = [law.params.index(n.split("[")[0]) for n in names]
        model = cls.build(names, [n.split("[")[0] in law.log_params for n in names],
                          lower[base], upper[base], owner="the joint fit")
        model.groups = index
        return model

    def group_theta(self, theta, group) -> np.ndarray:
        """Rows of a grouped model's fit vector -> that group's rows in law order."""
        return np.atleast_2d(theta)[:, self.groups[group]]

    @classmethod
    def build(cls, names: Sequence[str], log_mask, lower, upper, *, fixed=None, tied=None,
              prior=None, owner: str = "this fit") -> "ParamModel":
        """Validate ``fixed``, ``tied`` and ``prior`` against ``names`` (one clear error each)."""
        names = tuple(names)
        log_mask = np.asarray(log_mask, dtype=bool)
        lower, upper = np.array(lower, dtype=float), np.array(upper, dtype=float)
        fixed = {str(k): v for k, v in dict(fixed or {}).items()}
        tied, ratio = _split_ties(tied)
        prior = {str(k): tuple(v) for k, v in dict(prior or {}).items()}
        for what, keys in (("fix", list(fixed)), ("tie", list(tied) + list(tied.values())),
                           ("prior", list(prior))):
            unknown = [k for k in keys if k not in names]
            if unknown:
                raise ValueError(f"cannot {what} {unknown}: {owner} has parameters {list(names)}")
        for name, value in fixed.items():
            fixed[name] = _checked_value(value, bool(log_mask[names.index(name)]),
                                         f"fixed value of {name}")
        for name, source in tied.items():
            i, j = names.index(name), names.index(source)
            if name == source or source in tied or source in fixed or name in fixed:
                raise ValueError(f"cannot tie {name} to {source}: the source must be a free "
                                 "parameter and the tied one neither fixed nor a source")
            if name in ratio:  # symbol = ratio * source: any scales, bounds not shared
                ratio[name] = _checked_value(ratio[name], bool(log_mask[i]),
                                             f"tie ratio of {name}")
                continue
            if log_mask[i] != log_mask[j]:
                raise ValueError(f"cannot tie {name} to {source}: one is fitted on a log scale "
                                 "and the other is not")
            lower[j], upper[j] = max(lower[i], lower[j]), min(upper[i], upper[j])
            if not lower[j] < upper[j]:
                raise ValueError(f"cannot tie {name} to {source}: their bounds do not overlap")
        sizes = {np.size(v) for v in (*fixed.values(), *ratio.values()) if np.ndim(v)}
        if len(sizes) > 1:
            raise ValueError("per-start `fixed` values and tie ratios must be 1-D arrays of "
                             f"one length, got lengths {sorted(sizes)}")
        for name, pair in prior.items():
            if name in fixed or name in tied:
                raise ValueError(f"`prior` on {name}, which is fixed or tied (not free "
                                 "parameters); give priors to free parameters only")
            if len(pair) != 2 or not float(pair[1]) > 0 or not np.isfinite(float(pair[0])):
                raise ValueError(f"prior of {name} must be (mean, sd) with a finite mean, and "
                                 f"its sd must be > 0; got {pair}")
            if log_mask[names.index(name)] and not float(pair[0]) > 0:
                raise ValueError(f"prior mean of {name} must be > 0 (a log-scale parameter)")
            prior[name] = (float(pair[0]), float(pair[1]))
        return cls(names, log_mask, lower, upper, fixed, tied, prior, ratio)

    @classmethod
    def from_lmfit(cls, law, parameters) -> "ParamModel":
        """From an ``lmfit.Parameters``: ``vary=False`` fixes, ``expr="beta"`` ties,
        ``min``/``max`` set bounds (infinite ones keep the law's default)."""
        fixed, tied, bounds = {}, {}, {}
        for name, par in parameters.items():
            if par.expr:
                if par.expr.strip() not in law.params:
                    raise ValueError(f"lmfit expr {par.expr!r} of {name}: only a bare "
                                     f"parameter name (a tie) is supported")
                tied[name] = par.expr.strip()
            elif not par.vary:
                fixed[name] = par.value
            lo, hi = law.bounds[name] if name in law.bounds else (-np.inf, np.inf)
            lo = par.min if np.isfinite(par.min) else lo
            hi = par.max if np.isfinite(par.max) else hi
            if (lo, hi) != tuple(law.bounds.get(name, (None, None))) and name not in fixed:
                bounds[name] = (lo, hi)
        return cls.for_law(law, fixed=fixed, tied=tied, bounds=bounds)

    @classmethod
    def from_choices(cls, law, choices: Mapping) -> tuple["ParamModel", float]:
        """The model a saved fit was made with (its ``choices``), and its prior scale."""
        fixed = dict(choices.get("fixed") or {})
        bounds = {p: tuple(b) for p, b in (choices.get("bounds") or {}).items()
                  if p not in fixed}
        prior = {p: (v["mean"], v["sd_fit_space"]) for p, v in
                 (choices.get("prior") or {}).items()}
        model = cls.for_law(law, fixed=fixed, tied=choices.get("tied"), prior=prior,
                            bounds=bounds or None)
        return model, float(choices.get("prior_scale") or 0.0)

    # -- the affine map --------------------------------------------------------
    @property
    def free(self) -> np.ndarray:
        return np.array([n not in self.fixed and n not in self.tied for n in self.names])

    @property
    def free_names(self) -> list[str]:
        return [n for n, f in zip(self.names, self.free) if f]

    @property
    def n_free(self) -> int:
        return int(self.free.sum())

    @property
    def trivial(self) -> bool:
        return not (self.fixed or self.tied)

    @property
    def n_rows(self) -> int | None:
        """Length of the per-start fixed values and ratios (None: one value for all)."""
        sizes = [np.size(v) for v in (*self.fixed.values(), *self.ratio.values())
                 if np.ndim(v)]
        return sizes[0] if sizes else None

    @property
    def affine(self) -> bool:
        """Whether ``theta = offset + M theta_free`` with one ``M`` for every row."""
        return not self.ratio

    @property
    def matrix(self) -> np.ndarray:
        """``M`` (P, P_free): d theta / d theta_free (ratio-tied rows: 0, see
        :meth:`jacobian`)."""
        free_names = self.free_names
        out = np.zeros((len(self.names), len(free_names)))
        for i, name in enumerate(self.names):
            source = name if name in self.ratio else self.tied.get(name, name)
            if source in free_names:
                out[i, free_names.index(source)] = 1.0
        return out

    def _rows(self, value, n, rows):
        if np.ndim(value) == 0:
            return value
        return value[np.arange(n) if rows is None else rows]

    def _offset(self, n, rows=None) -> np.ndarray:
        """Fit-space values of the fixed parameters (0 elsewhere), (n, P)."""
        out = np.zeros((n, len(self.names)))
        for name, value in self.fixed.items():
            i = self.names.index(name)
            value = self._rows(value, n, rows)
            out[:, i] = np.log(value) if self.log_mask[i] else value
        return out

    @property
    def offset(self) -> np.ndarray:
        """Fit-space values of the fixed parameters (0 elsewhere; the first start's)."""
        return self._offset(1)[0]

    def expand(self, theta_free, rows=None) -> np.ndarray:
        """Free rows (S, P_free) -> full fit-space rows (S, P); ``rows``: which per-start
        values each row uses (default the first ``S``)."""
        theta_free = np.atleast_2d(np.asarray(theta_free, dtype=float))
        out = self._offset(theta_free.shape[0], rows) + theta_free @ self.matrix.T
        for name, ratio in self.ratio.items():
            i, j = self.names.index(self.tied[name]), self.names.index(name)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                value = self._rows(ratio, out.shape[0], rows) * (
                    np.exp(out[:, i]) if self.log_mask[i] else out[:, i])
                out[:, j] = np.log(value) if self.log_mask[j] else value
        return out

    def jacobian(self, theta, rows=None) -> np.ndarray:
        """``d theta / d theta_free`` at full rows ``theta`` (S, P): (S, P, P_free)."""
        theta = np.atleast_2d(theta)
        out = np.repeat(self.matrix[None], theta.shape[0], axis=0)
        free_names = self.free_names
        for name, ratio in self.ratio.items():
            i, j = self.names.index(self.tied[name]), self.names.index(name)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                d = self._rows(ratio, theta.shape[0], rows) * (
                    np.exp(theta[:, i]) if self.log_mask[i] else 1.0)
                if self.log_mask[j]:
                    d = d / np.exp(theta[:, j])
            out[:, j, free_names.index(self.tied[name])] = d
        return out

    def reduce(self, theta) -> np.ndarray:
        """Full fit-space rows -> the free columns."""
        return np.atleast_2d(np.asarray(theta, dtype=float))[:, self.free]

    def free_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lower[self.free], self.upper[self.free]

    def natural(self, theta) -> np.ndarray:
        """Full fit-space rows -> natural units."""
        theta = np.asarray(theta, dtype=float)
        with np.errstate(over="ignore"):
            return np.where(self.log_mask, np.exp(theta), theta)

    def prior_terms(self):
        """``(index into the free vector, mean in fit space, precision)`` or None."""
        if not self.prior:
            return None
        free_names = self.free_names
        names = list(self.prior)
        mean = []
        for p in names:
            m = self.prior[p][0]
            mean.append(np.log(m) if self.log_mask[self.names.index(p)] else m)
        return (np.array([free_names.index(p) for p in names]), np.array(mean),
                np.array([1.0 / self.prior[p][1] ** 2 for p in names]))

    def describe(self) -> dict:
        """Plain-JSON summary for ``FitResult.choices``."""
        def plain(v):
            return v.tolist() if np.ndim(v) else float(v)

        extra = {"tie_ratio": {k: plain(v) for k, v in self.ratio.items()}} if self.ratio \
            else {}
        return {"fixed": {k: plain(v) for k, v in self.fixed.items()}, "tied": dict(self.tied),
                **extra,
                "prior": {p: {"mean": m, "sd_fit_space": sd} for p, (m, sd) in self.prior.items()},
                "free": self.free_names}


def _split_ties(tied):
    """``{symbol: source}`` or ``{symbol: (source, ratio)}`` -> (ties, ratios)."""
    ties, ratios = {}, {}
    for name, value in dict(tied or {}).items():
        if isinstance(value, (tuple, list)):
            ties[str(name)], ratios[str(name)] = str(value[0]), value[1]
        else:
            ties[str(name)] = str(value)
    return ties, ratios


def _checked_value(value, log_scale: bool, what: str):
    """A float, or a 1-D float array (one value per start), finite (and > 0 on log scale)."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1 or not np.all(np.isfinite(arr)) or (log_scale and np.any(arr <= 0)):
        raise ValueError(f"{what} must be finite" + (" and > 0 (a log-scale parameter)"
                                                     if log_scale else "")
                         + f", got {value}")
    return float(arr) if arr.ndim == 0 else arr


class ConstrainedProblem:
    """A batched problem over the free parameters of a :class:`ParamModel`.

    ``problem`` is anything with ``evaluate(theta (S, P), rows)`` and
    ``residuals(theta)`` over the full vector (:class:`fits.problem.Problem`); the
    gradient, curvature and Jacobian are mapped through the model's ``M``, and the prior
    adds ``prior_scale * precision * (theta - mean)**2 / 2``.
    """

    def __init__(self, problem, model: ParamModel, prior_scale: float = 0.0):
        self.problem, self.model = problem, model
        self.weights = getattr(problem, "weights", None)
        self.matrix = model.matrix
        self.identity = model.trivial
        self.prior = model.prior_terms() if prior_scale > 0 else None
        self.prior_scale = float(prior_scale)

    @property
    def n_points(self) -> int:
        return self.problem.n_points

    def _penalty(self, theta):
        index, mean, precision = self.prior
        diff = theta[:, index] - mean
        grad = np.zeros_like(theta)
        grad[:, index] = self.prior_scale * precision * diff
        diag = np.zeros(theta.shape[1])
        diag[index] = self.prior_scale * precision
        return 0.5 * self.prior_scale * (precision * diff ** 2).sum(axis=1), grad, diag

    def _map(self, full, rows):
        """``d theta / d theta_free``: (P, P_free) when affine, else (S, P, P_free)."""
        return self.matrix if self.model.affine else self.model.jacobian(full, rows)

    def evaluate(self, theta, rows=None):
        theta = np.atleast_2d(theta)
        full = theta if self.identity else self.model.expand(theta, rows)
        value, grad, curv, diag = self.problem.evaluate(full, rows)
        if not self.identity:
            M = self._map(full, rows)
            if M.ndim == 2:
                grad = grad @ M
                curv = np.einsum("pi,spq,qj->sij", M, curv, M)
            else:
                grad = np.einsum("sp,spi->si", grad, M)
                curv = np.einsum("spi,spq,sqj->sij", M, curv, M)
            diag = np.einsum("spp->sp", curv)
        if self.prior is not None:
            p_value, p_grad, p_diag = self._penalty(theta)
            value, grad = value + p_value, grad + p_grad
            curv = curv + np.diag(p_diag)[None]
            diag = diag + p_diag
        return value, grad, curv, diag

    def value(self, theta, rows=None):
        return self.evaluate(theta, rows)[0]

    def residuals(self, theta, rows=None):
        """Residuals (S, n) and their Jacobian over the free parameters (S, P_free, n)."""
        theta = np.atleast_2d(theta)
        full = theta if self.identity else self.model.expand(theta, rows)
        r, jac = self.problem.residuals(full)
        if not self.identity:
            M = self._map(full, rows)
            # drop the fixed parameters' rows first: a non-finite derivative of a fixed
            # parameter must not reach the free ones through 0 * inf
            keep = M.any(axis=tuple(a for a in range(M.ndim) if a != M.ndim - 2))
            M = M[..., keep, :]
            jac = np.einsum("spn,pq->sqn" if M.ndim == 2 else "spn,spq->sqn",
                            jac[:, keep], M)
        return r, jac

