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

__all__ = ["LAWS", "REGISTRY", "Law", "get_law", "get_any_law", "law_names", "law_kind",
           "all_laws", "describe_law", "chinchilla", "kaplan", "power_law",
           "power_law_inverse", "CHINCHILLA", "KAPLAN", "POWER_LAW", "EPOCH_GRID",
           "log_sum_exp_terms"]

#: Every law: ``name -> (kind, "module:ATTRIBUTE")``, kind ``"point"`` or ``"curve"``.
#: Module paths are relative to ``scaling.fits``. One line per law.
REGISTRY = {
    "power-law": ("point", ".laws.power_law:POWER_LAW"),
    "kaplan": ("point", ".laws.kaplan:KAPLAN"),
    "chinchilla": ("point", ".laws.chinchilla:CHINCHILLA"),
    "bnsl": ("point", ".laws.bnsl:BNSL"),
    "mpl": ("curve", ".curve.laws:MPL"),
    "tissue": ("curve", ".curve.laws:TISSUE"),
    "tissue-sized": ("curve", ".curve.laws:TISSUE_SIZED"),
}


def law_names(kind: str | None = None) -> list[str]:
    """Registered law names, in registry order (``kind``: ``"point"`` or ``"curve"``)."""
    if kind not in (None, "point", "curve"):
        raise ValueError(f"`kind` must be 'point', 'curve' or None, got {kind!r}")
    return [name for name, (k, _) in REGISTRY.items() if kind in (None, k)]


def law_kind(name: str) -> str:
    """``"point"`` or ``"curve"`` for a registered name (or alias of a point law)."""
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
    """A point :class:`Law` or a curve law (``CurveLaw``) from its registered name."""
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
    kind = "point" if isinstance(law, Law) else "curve"
    out = {"name": law.name, "kind": kind, "equation": law.equation,
           "variables": list(getattr(law, "variables", ("step", "lr"))),
           "params": {p: {"lower": float(law.bounds[p][0]), "upper": float(law.bounds[p][1]),
                          "log_scale": p in law.log_params,
                          "linear": p in getattr(law, "linear", ())} for p in law.params},
           "citation": law.citation}
    if kind == "point":
        out["jacobian"] = "numeric (" + law.jacobian + ")" if law.numeric_jacobian \
            else "analytic"
    else:
        out["shared"] = list(getattr(law, "shared", ()))
        out["sized"] = bool(getattr(law, "sized", False))
    return out


#: Point laws by name (the curve laws are in ``fits.curve.CURVE_LAWS``).
LAWS = {name: _load(name) for name in law_names("point")}
