"""Registry of loss-curve laws: parameters, fit space, bounds and how to evaluate them.

A curve law is fitted in a "fit space" where positive scales (``A``, ``B``, ``C`` of the
multi-power law) are represented by their logarithms; plans return Jacobians in that
space. Bounds are given in natural units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..laws.base import FitSpace
from .mpl import MPL_PARAMS, MPLPlan
from .tissue import DEFAULT_DECAYS, TISSUE_PARAMS, TISSUE_SIZED_PARAMS, TissuePlan

__all__ = ["CurveLaw", "CURVE_LAWS", "get_curve_law", "is_fit"]


def is_fit(obj) -> bool:
    """A fitted result (:class:`fits.result.FitResult`: ``law``, ``values``, ``choices``)
    rather than a plain mapping of parameters; duck-typed so that the curve predictors do
    not import the result type (which calls them: ``FitResult.predict``)."""
    from collections.abc import Mapping

    return not isinstance(obj, Mapping) and all(hasattr(obj, a) for a in
                                                ("law", "values", "choices", "data"))


@dataclass(frozen=True)
class CurveLaw(FitSpace):
    """A law of the loss along a run as a function of its LR schedule.

    Attributes
    ----------
    name : str
    params : tuple of str
        The paper's symbols, in fit-vector order.
    log_params : tuple of str
        Parameters fitted through their logarithm.
    bounds : mapping
        ``{symbol: (lower, upper)}``, natural units.
    make_plan : callable
        ``make_plan(lr, steps, *, N, warmup_steps, decay) -> plan`` with
        ``plan.evaluate(params (S, P), jacobian)`` (natural-unit rows -> loss (S, n) and,
        if asked, its Jacobian (S, P, n) in fit space) and ``plan.loss({symbol: value})``.
    decays : tuple of float
        Momentum grid (LR-annealing law); empty when the law has no such hyperparameter.
    equation, citation : str
    sized : bool
        Whether the law takes the model size ``N``.
    linear : tuple of str
        Parameters the law is linear in (solved by least squares for each start).
    grid : mapping
        ``{symbol: values}`` start grid of the nonlinear parameters (variable projection).
    shared : tuple of str
        Parameters shared across model sizes by default in a joint fit (the rest are
        size-specific).
    shape : tuple of str
        Parameters an early curve cannot identify; early-curve prediction takes them
        from the reference fit.
    amplitude : str
        The annealing amplitude (scaled from the reference in early-curve prediction).
    methods : tuple of str
        How candidate fits can be made (``"converged"``; ``"luo2025"`` for the MPL).
    """

    name: str
    params: tuple[str, ...]
    log_params: tuple[str, ...]
    bounds: Mapping[str, tuple[float, float]]
    make_plan: Callable
    equation: str
    citation: str
    decays: tuple[float, ...] = ()
    sized: bool = False
    linear: tuple[str, ...] = ()
    grid: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    shared: tuple[str, ...] = ()
    shape: tuple[str, ...] = ()
    amplitude: str = ""
    methods: tuple[str, ...] = ("converged",)

    # -- law hooks (the same questions a point Law answers) ----------------------------
    takes_x = False
    has_frontier = False

    @property
    def needs_size(self) -> bool:
        """Whether a runs table must give each run's model size ``N``."""
        return self.sized

    @property
    def variables(self) -> tuple[str, ...]:
        return ("step", "lr") + (("N",) if self.sized else ())

    def plot_axis(self) -> str:
        return "step"

    @property
    def prefix_only(self) -> bool:
        """Whether a run's final loss can be predicted from its prefix alone, without a
        reference fit (the law has an authors' procedure whose shape prior stands in)."""
        return "luo2025" in self.methods

    @property
    def size_specific(self) -> tuple[str, ...]:
        """Parameters with one value per model size in a joint fit."""
        return tuple(p for p in self.params if p not in self.shared)


def _mpl_plan(lr, steps, *, N=None, warmup_steps=0, decay=None):
    return MPLPlan(lr, steps, warmup_steps=warmup_steps)


def _tissue_plan(lr, steps, *, N=None, warmup_steps=0, decay=0.999):
    return TissuePlan(lr, steps, decay, warmup_steps=warmup_steps)


def _tissue_sized_plan(lr, steps, *, N=None, warmup_steps=0, decay=0.999):
    return TissuePlan(lr, steps, decay, N=N, warmup_steps=warmup_steps, sized=True)


MPL = CurveLaw(
    name="mpl", params=MPL_PARAMS, log_params=("A", "B", "C"),
    bounds={"L0": (0.05, 20.0), "A": (1e-4, 1e3), "alpha": (0.01, 3.0), "B": (1e-2, 1e5),
            "C": (1e-3, 1e3), "beta": (0.01, 4.0), "gamma": (0.0, 2.0)},
    make_plan=_mpl_plan, linear=("L0", "A", "B"),
    # exponent grid for variable-projection starts (the paper's fits lie inside it)
    grid={"alpha": (0.3, 0.5, 0.7), "C": (0.5, 2.0, 8.0), "beta": (0.3, 0.6, 1.2),
          "gamma": (0.4, 0.65, 0.9)},
    # Luo et al. 2025: the annealing shape is nearly the same across model sizes
    shared=("C", "beta", "gamma"), shape=("C", "beta", "gamma"), amplitude="B",
    methods=("converged", "luo2025"),
    equation="L(t) = L0 + A S1(t)^-alpha - B sum_k (lr[k-1]-lr[k]) "
             "(1 - (C lr[k]^-gamma S_k(t) + 1)^-beta)",
    citation="Luo et al. 2025, A Multi-Power Law for Loss Curve Prediction Across "
             "Learning Rate Schedules, ICLR 2025, arXiv 2503.12811")
TISSUE = CurveLaw(
    name="tissue", params=TISSUE_PARAMS, log_params=("A",),
    bounds={"L0": (0.05, 20.0), "A": (1e-4, 1e3), "alpha": (0.01, 3.0), "C": (0.0, 1e4)},
    make_plan=_tissue_plan, decays=DEFAULT_DECAYS, linear=("L0", "A", "C"),
    grid={"alpha": (0.2, 0.35, 0.5, 0.7, 1.0)}, amplitude="C",
    equation="L(s) = L0 + A S1(s)^-alpha - C S2(s), S2 = sum m_i, "
             "m_i = lambda m_(i-1) + lr_(i-1) - lr_i",
    citation="Tissue et al. 2024, Scaling Law with Learning Rate Annealing, "
             "arXiv 2408.11029")
TISSUE_SIZED = CurveLaw(
    name="tissue-sized", params=TISSUE_SIZED_PARAMS, log_params=("A", "B"),
    bounds={"L0": (0.05, 20.0), "A": (1e-4, 1e3), "alpha": (0.01, 3.0), "B": (1e-3, 1e6),
            "beta": (0.01, 2.0), "C": (0.0, 1e4)},
    make_plan=_tissue_sized_plan, decays=DEFAULT_DECAYS, sized=True,
    linear=("L0", "A", "B", "C"), grid={"alpha": (0.2, 0.35, 0.5, 0.7, 1.0),
                                        "beta": (0.2, 0.35, 0.5)}, amplitude="C",
    equation="L(s) = L0 + A S1(s)^-alpha + B N^-beta - C S2(s)",
    citation=TISSUE.citation)

#: The curve laws defined in this file, by name (the registry of every law, curve laws
#: included, is :data:`fits.laws.REGISTRY`: :func:`get_curve_law` reads that one).
CURVE_LAWS = {law.name: law for law in (MPL, TISSUE, TISSUE_SIZED)}


def get_curve_law(law) -> CurveLaw:
    """A :class:`CurveLaw` from its registered name (:data:`fits.laws.REGISTRY`, kind
    ``"curve"``), or the law itself."""
    if isinstance(law, CurveLaw):
        return law
    from ..laws import get_any_law, law_names

    if law not in law_names("curve"):
        raise ValueError(f"`law` must be one of {sorted(law_names('curve'))}, got {law!r}")
    return get_any_law(law)
