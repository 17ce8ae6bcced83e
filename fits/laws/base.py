"""What a law is: a numpy function with the paper's symbols, plus what a fit needs.

Every law is fitted in a "fit space" where positive scale parameters (E, A, B, N_c,
...) are represented by their logarithm, so that the model evaluates in log space
with ``logsumexp`` and the optimizer never sees magnitudes spanning 20 decades.
Bounds are given in the paper's (natural) units and converted here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

__all__ = ["FitSpace", "Law", "log_sum_exp_terms"]


def log_sum_exp_terms(terms: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """``log(sum_k exp(t_k))`` of broadcastable arrays, and the softmax weight of each term.

    The weights are the derivatives of the result with respect to each term, which is
    all the Jacobian of a sum of power laws in log space needs.
    """
    peak = terms[0]
    for term in terms[1:]:
        peak = np.maximum(peak, term)
    exps = [np.exp(term - peak) for term in terms]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    inv = 1.0 / total
    return peak + np.log(total), [e * inv for e in exps]


class FitSpace:
    """Conversions between the paper's parameters and the fit space, shared by every law
    (needs ``name``, ``params``, ``log_params`` and ``bounds`` attributes)."""

    def is_log(self) -> np.ndarray:
        return np.array([p in self.log_params for p in self.params])

    def to_theta(self, values: Mapping[str, float]) -> np.ndarray:
        """Natural-unit parameters -> fit-space vector."""
        missing = [p for p in self.params if p not in values]
        if missing:
            raise ValueError(f"law {self.name!r} needs parameter(s) {missing}")
        vec = np.array([float(values[p]) for p in self.params])
        log_mask = self.is_log()
        if np.any(vec[log_mask] <= 0):
            bad = [p for p, v, m in zip(self.params, vec, log_mask) if m and v <= 0]
            raise ValueError(f"parameter(s) {bad} of law {self.name!r} must be > 0")
        vec[log_mask] = np.log(vec[log_mask])
        return vec

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """Fit-space rows -> natural-unit rows (same shape)."""
        theta = np.asarray(theta, dtype=float)
        with np.errstate(over="ignore"):  # far-off trial steps; rejected by the optimizer
            return np.where(self.is_log(), np.exp(theta), theta)

    def from_theta(self, theta: np.ndarray) -> dict[str, float]:
        """Fit-space vector -> ``{symbol: natural value}``."""
        return {p: float(v) for p, v in zip(self.params, self.natural(theta))}

    def theta_bounds(self, bounds: Mapping[str, tuple[float, float]] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds in fit space (user ``bounds`` override the defaults)."""
        merged = dict(self.bounds)
        for key, pair in (bounds or {}).items():
            if key not in self.params:
                raise ValueError(f"bounds given for {key!r}, which is not a parameter of law "
                                 f"{self.name!r}; its parameters are {list(self.params)}")
            lo, hi = (float(v) for v in pair)
            if not lo < hi:
                raise ValueError(f"bounds for {key!r} must satisfy lower < upper, got {pair}")
            if key in self.log_params and lo <= 0:
                raise ValueError(f"the lower bound of {key!r} must be > 0 (it is fitted on a "
                                 f"log scale), got {lo}")
            merged[key] = (lo, hi)
        lower = np.array([merged[p][0] for p in self.params], dtype=float)
        upper = np.array([merged[p][1] for p in self.params], dtype=float)
        mask = self.is_log()
        lower[mask], upper[mask] = np.log(lower[mask]), np.log(upper[mask])
        return lower, upper


@dataclass(frozen=True)
class Law(FitSpace):
    """A scaling law, ready to be fitted.

    Attributes
    ----------
    name : str
        Registry name (``"chinchilla"``).
    function : callable
        ``function(*variables, **params)`` in natural units, e.g.
        ``chinchilla(N, D, E, A, B, alpha, beta)``.
    variables : tuple of str
        Independent variables in call order (``("N", "D")``; ``("x",)`` for one-variable laws).
    params : tuple of str
        The paper's symbols, in the order of the fit vector (``()``: read from the
        function's signature, after the variables).
    log_params : tuple of str
        Parameters fitted through their logarithm (must be > 0).
    bounds : mapping
        ``{symbol: (lower, upper)}`` in natural units.
    log_model : callable, optional
        ``log_model(log_vars, theta) -> (log_f, jac)``: batched evaluation in fit space,
        ``log_vars`` a tuple of (n,) arrays (log of each variable), ``theta`` (S, P);
        returns log predictions (S, n) and d log_f / d theta (S, P, n). The analytic
        Jacobian; when absent, a numeric one (``jacobian``, :mod:`fits.laws.numeric`).
    grid : callable, optional
        ``grid(log_vars, log_y) -> (S, P)`` starting points in fit space. Default:
        variable projection over ``start_values`` (:func:`~fits.laws.numeric.projected_grid`).
    guess : callable, optional
        ``guess(log_vars, log_y) -> (P,)`` one cheap starting point in fit space.
    equation, citation : str
        For docstrings and reports.
    aliases : tuple of str
        Other names ``get_law`` accepts.
    linear : tuple of str
        Parameters the law is linear in (solved by least squares for each start).
    start_values : mapping or callable, optional
        ``{symbol: candidate values}`` (natural units) for the nonlinear parameters of the
        default grid, or ``start_values(log_vars, log_y) -> mapping``; a parameter not
        given gets five points across its bounds.
    jacobian : {"central", "complex-step"}
        Numeric Jacobian used when ``log_model`` is not given.
    optimum : callable, optional
        The compute-optimal frontier, a law hook for planning and plots:
        ``optimum(C, params, k, **given) -> (N, D, L)``, the loss-minimizing model size,
        tokens and loss at compute ``C = k N D``; ``given`` holds the variables that stay
        fixed along the frontier (:attr:`frontier_given`, e.g. the unique tokens ``U``).
        ``None``: the law has no frontier (one-variable laws).
    frontier_given : tuple of str
        Variables the frontier needs besides ``C`` (``("U",)``: data-constrained).
    frontier_batched : bool
        Whether ``optimum`` broadcasts over arrays of ``C`` and of parameters (bootstrap
        bands are then drawn around the frontier).
    compute_for_loss : callable, optional
        ``compute_for_loss(L, params, k) -> C``: the budget whose frontier loss is ``L``
        (``inf`` if none; ``plan --target-loss``).
    """

    name: str
    function: Callable
    variables: tuple[str, ...]
    params: tuple[str, ...]
    log_params: tuple[str, ...]
    bounds: Mapping[str, tuple[float, float]]
    log_model: Callable | None = None
    grid: Callable | None = None
    guess: Callable | None = None
    equation: str = ""
    citation: str = ""
    aliases: tuple[str, ...] = field(default=())
    linear: tuple[str, ...] = ()
    start_values: Mapping | Callable | None = None
    jacobian: str = "central"
    optimum: Callable | None = None
    frontier_given: tuple[str, ...] = ()
    frontier_batched: bool = True
    compute_for_loss: Callable | None = None

    def __post_init__(self):
        from . import numeric

        if not self.params:  # read the paper's symbols from the signature, as lmfit does
            import inspect

            names = list(inspect.signature(self.function).parameters)
            object.__setattr__(self, "params", tuple(names[len(self.variables):]))
        unknown = [p for p in (*self.log_params, *self.linear, *self.bounds)
                   if p not in self.params]
        missing = [p for p in self.params if p not in self.bounds]
        if unknown or missing:
            raise ValueError(f"law {self.name!r}: {unknown or missing} "
                             f"{'are not parameters' if unknown else 'have no bounds'}; "
                             f"its parameters are {list(self.params)}")
        defaults = {"log_model": lambda: numeric.numeric_log_model(self, self.jacobian),
                    "grid": lambda: lambda lv, ly: numeric.projected_grid(self, lv, ly),
                    "guess": lambda: lambda lv, ly: numeric.projected_guess(self, lv, ly)}
        for name, make in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, make())  # frozen: set once, here

    @property
    def numeric_jacobian(self) -> bool:
        """Whether the law's Jacobian is numeric (no analytic ``log_model`` given)."""
        return getattr(self.log_model, "__qualname__", "").startswith("numeric_log_model")

    # -- law hooks (asked by fitting, plans, plots and the CLI instead of the name) ----
    @property
    def takes_x(self) -> bool:
        """Whether the law has one generic variable ``x`` (the caller picks its column:
        N, D, C or step) rather than named variables such as ``N, D``."""
        return tuple(self.variables) == ("x",)

    @property
    def has_frontier(self) -> bool:
        """Whether the law gives a compute-optimal frontier (``scaling plan``)."""
        return self.optimum is not None

    @property
    def needs_size(self) -> bool:
        """Whether a runs table must give each run's model size ``N``."""
        return True

    def plot_axis(self) -> str:
        """The x axis of the fit plot: ``"x"`` (the fitted variable) or ``"C"`` (compute
        ``k N D``, with the frontier when the law has one)."""
        return "x" if self.takes_x or not {"N", "D"} <= set(self.variables) else "C"

    def frontier(self, C, params: Mapping[str, float], *, k: float = 6.0, **given):
        """``(N*, D*, L*)`` at compute ``C`` on the law's compute-optimal frontier.

        Raises
        ------
        ValueError
            When the law has no frontier, or a variable it needs (``given``) is missing.
        """
        if self.optimum is None:
            from . import law_names, get_law

            with_one = [n for n in law_names("point") if get_law(n).has_frontier]
            raise ValueError(f"law {self.name!r} has no compute-optimal frontier; laws with "
                             f"one: {', '.join(with_one)}")
        missing = [v for v in self.frontier_given if given.get(v) is None]
        if missing:
            raise ValueError(f"the compute-optimal frontier of law {self.name!r} needs "
                             f"{missing} (e.g. the unique tokens available, --unique-tokens)")
        q = {p: params[p] for p in self.params}
        return self.optimum(C, q, k, **{v: given[v] for v in self.frontier_given})

    # -- evaluation ------------------------------------------------------------
    def __call__(self, *variables, **params):
        return self.function(*variables, **params)

    def predict(self, params: Mapping[str, float], **variables) -> np.ndarray:
        """Evaluate the law at ``variables`` (natural units) with fitted ``params``."""
        missing = [v for v in self.variables if v not in variables]
        if missing:
            raise ValueError(f"law {self.name!r} needs {missing} to predict, e.g. "
                             f"predict({', '.join(f'{v}=...' for v in self.variables)})")
        args = [np.asarray(variables[v], dtype=float) for v in self.variables]
        if any(np.any(~np.isfinite(a) | (a <= 0)) for a in args):
            raise ValueError(f"{', '.join(self.variables)} must be finite and > 0 to predict")
        return self.function(*args, **{p: params[p] for p in self.params})
