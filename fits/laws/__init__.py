"""Scaling laws: plain numpy functions with the papers' symbols, and their fit specs.

The registry (:data:`REGISTRY`) lists every law, point laws (``L`` at final points:
``N``, ``D``, ``x``) and curve laws (``L`` along a run under its LR schedule). Adding a
law = one file defining a :class:`Law` (see docs/laws.md and :mod:`fits.laws.bnsl`) +
one line here. Names are known without importing any law, so the CLI can offer them as
choices for free; a law's module is imported the first time it is asked for.
"""

from __future__ import annotations

import importlib

from .base import Law, log_sum_exp_terms
from .chinchilla import CHINCHILLA, EPOCH_GRID, chinchilla
from .kaplan import KAPLAN, kaplan
from .power_law import POWER_LAW, power_law, power_law_inverse

__all__ = ["LAWS", "REGISTRY", "KINDS", "Law", "get_law", "get_any_law", "law_names", "law_kind",
           "all_laws", "describe_law", "chinchilla", "kaplan", "power_law",
           "power_law_inverse", "CHINCHILLA", "KAPLAN", "POWER_LAW", "EPOCH_GRID",
           "log_sum_exp_terms"]

#: Every law: ``name -> (kind, "module:ATTRIBUTE")``; kind ``"point"`` (final loss vs N, D
#: or x), ``"curve"`` (loss along a run under its LR schedule) or ``"l2l"`` (one loss, or a
#: task metric, as a function of another loss).
#: Module paths are relative to ``scaling.fits``. One line per law.
REGISTRY = {
    "power-law": ("point", ".laws.power_law:POWER_LAW"),
    "kaplan": ("point", ".laws.kaplan:KAPLAN"),
    "chinchilla": ("point", ".laws.chinchilla:CHINCHILLA"),
    "bnsl": ("point", ".laws.bnsl:BNSL"),
    "data-constrained": ("point", ".laws.data_constrained:DATA_CONSTRAINED"),
    "overtraining": ("point", ".laws.overtraining:OVERTRAINING"),
    "mpl": ("curve", ".curve.laws:MPL"),
    "tissue": ("curve", ".curve.laws:TISSUE"),
    "tissue-sized": ("curve", ".curve.laws:TISSUE_SIZED"),
    "shifted-power-law": ("l2l", ".l2l.shifted:SHIFTED_POWER_LAW"),
    "sigmoid-link": ("l2l", ".l2l.task:SIGMOID_LINK"),
}
KINDS = ("point", "curve", "l2l")


def law_names(kind: str | tuple | None = None) -> list[str]:
    """Registered law names, in registry order, of one kind (or several, or all)."""
    kinds = KINDS if kind is None else (kind,) if isinstance(kind, str) else tuple(kind)
    if any(k not in KINDS for k in kinds):
        raise ValueError(f"`kind` must be one of {list(KINDS)} or None, got {kind!r}")
    return [name for name, (k, _) in REGISTRY.items() if k in kinds]


def law_kind(name: str) -> str:
    """``"point"``, ``"curve"`` or ``"l2l"`` for a registered name (or a point law's alias)."""
    if name in REGISTRY:
        return REGISTRY[name][0]
    get_law(name)  # raises for an unknown name
    return "point"


def _load(name: str):
    kind, target = REGISTRY[name]
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module, "scaling.fits"), attribute)


def get_law(law) -> Law:
    """A point :class:`Law` from its name (or aliases), or the law itself."""
    if isinstance(law, Law):
        return law
    if isinstance(law, str) and REGISTRY.get(law, ("",))[0] == "point":
        return _load(law)
    for name in law_names("point"):
        candidate = _load(name)
        if law in candidate.aliases:
            return candidate
    raise ValueError(f"unknown law {law!r}; known laws are {sorted(law_names('point'))}"
                     + (f" ({law!r} is a curve law: use fits.get_curve_law)"
                        if law in REGISTRY else ""))


def get_any_law(name):
    """Any registered law (point or l2l :class:`Law`, or ``CurveLaw``) from its name."""
    if not isinstance(name, str):
        return name
    if name in REGISTRY:
        return _load(name)
    return get_law(name)


def all_laws() -> dict:
    """``{name: law}`` for every registered law (imports the curve laws)."""
    return {name: _load(name) for name in REGISTRY}


def describe_law(law) -> dict:
    """Plain-JSON description: name, kind, equation, variables, parameters with default
    bounds (and which are linear, log-scale, shared across sizes), citation."""
    law = get_any_law(law)
    kind = REGISTRY[law.name][0] if law.name in REGISTRY else \
        "point" if isinstance(law, Law) else "curve"
    out = {"name": law.name, "kind": kind, "equation": law.equation,
           "variables": list(getattr(law, "variables", ("step", "lr"))),
           "params": {p: {"lower": float(law.bounds[p][0]), "upper": float(law.bounds[p][1]),
                          "log_scale": p in law.log_params,
                          "linear": p in getattr(law, "linear", ())} for p in law.params},
           "citation": law.citation}
    if isinstance(law, Law):
        out["jacobian"] = "numeric (" + law.jacobian + ")" if law.numeric_jacobian \
            else "analytic"
    else:
        out["shared"] = list(getattr(law, "shared", ()))
        out["sized"] = bool(getattr(law, "sized", False))
    return out


#: Point laws by name (the curve laws are in ``fits.curve.CURVE_LAWS``).
LAWS = {name: _load(name) for name in law_names("point")}
