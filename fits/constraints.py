"""The faces of the parameter model (:class:`fits.params.ParamModel`) for users:
command-line constraint strings (``--fix E=1.69``, ``--tie alpha=beta``, ``--prior``,
``--bounds``) and lmfit's ``Parameters``."""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["parse_constraints", "to_lmfit_parameters"]


def _pairs(items, option, parse):
    out = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ValueError(f"{option} expects NAME=VALUE, got {item!r}")
        try:
            out[name] = parse(value)
        except ValueError:
            raise ValueError(f"{option} {item!r}: cannot read {value!r}") from None
    return out


def _interval(value: str):
    lo, sep, hi = value.partition(":")
    if not sep:
        raise ValueError(value)
    return float(lo), float(hi)


def parse_constraints(*, fix=(), tie=(), prior=(), bounds=()) -> dict:
    """Command-line constraint strings -> keyword arguments of the fits.

    ``fix=["E=1.69"]``, ``tie=["alpha=beta"]``, ``prior=["alpha=0.34:0.05"]`` (mean:sd,
    sd on the fit scale), ``bounds=["alpha=0.1:0.6"]``. Returns ``{"fixed", "tied",
    "prior", "bounds"}`` (each a dict, possibly empty).

    Raises
    ------
    ValueError
        Naming the option and the item that cannot be read.
    """
    def name_only(value):
        if not value.replace("_", "").isalnum():
            raise ValueError(value)
        return value

    return {"fixed": _pairs(fix, "--fix", float), "tied": _pairs(tie, "--tie", name_only),
            "prior": _pairs(prior, "--prior", _interval),
            "bounds": _pairs(bounds, "--bounds", _interval)}


def to_lmfit_parameters(law, values: Mapping[str, float] | None = None, *, fixed=None,
                        tied=None, bounds=None):
    """An ``lmfit.Parameters`` for ``law``: its symbols, bounds, ``vary`` and ``expr``
    from ``fixed``/``tied``, values from ``values`` (e.g. a fit's ``result.values``)."""
    import lmfit

    from .params import ParamModel

    model = ParamModel.for_law(law, fixed=fixed, tied=tied, bounds=bounds)
    lower, upper = model.natural(model.lower), model.natural(model.upper)
    params = lmfit.Parameters()
    for i, name in enumerate(law.params):
        value = (values or {}).get(name, model.fixed.get(name))
        if value is None:
            value = float(np.sqrt(lower[i] * upper[i]) if model.log_mask[i] and lower[i] > 0
                          else 0.5 * (lower[i] + upper[i]))
        params.add(name, value=float(value), min=float(lower[i]), max=float(upper[i]),
                   vary=name not in model.fixed)
    for name, source in model.tied.items():
        params[name].expr = source
    return params
