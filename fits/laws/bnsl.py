"""Broken neural scaling law with one break (Caballero et al. 2023): a law in one file.

No Jacobian and no grid are written here: :class:`~fits.laws.base.Law` uses a numeric
Jacobian and variable-projection starts (:mod:`fits.laws.numeric`). This file is the
worked example of docs/laws.md.
"""

from __future__ import annotations

import numpy as np

from .base import Law

__all__ = ["broken_power_law", "BNSL"]


def broken_power_law(x, a, b, c0, c1, d1, f1):
    """``y = a + b x^-c0 (1 + (x / d1)^(1 / f1))^(-c1 f1)``.

    Caballero et al. 2023, "Broken Neural Scaling Laws", ICLR 2023, arXiv 2210.14891,
    eq. (1) with n = 1 break: slope ``c0`` before the break at ``x = d1``, ``c0 + c1``
    after it, ``f1`` its sharpness. Evaluated as ``exp(log ...)`` with ``logaddexp`` so
    that sharp breaks (small ``f1``) do not overflow.
    """
    log_x = np.log(x)
    return a + b * np.exp(-c0 * log_x - c1 * f1 * np.logaddexp(0.0, (log_x - np.log(d1)) / f1))


def _start_values(log_vars, log_y):
    # breaks inside the observed range; slopes and sharpness from a small grid
    (log_x,) = log_vars
    return {"d1": np.exp(np.quantile(log_x, [0.2, 0.35, 0.5, 0.65, 0.8])),
            "c0": (0.02, 0.1, 0.3, 0.6), "c1": (-0.2, 0.1, 0.3, 0.8), "f1": (0.1, 0.5, 2.0)}


BNSL = Law(
    name="bnsl", function=broken_power_law, variables=("x",), params=(),
    log_params=("a", "b", "d1", "f1"), linear=("a", "b"), start_values=_start_values,
    bounds={"a": (1e-8, 1e3), "b": (1e-8, 1e30), "c0": (0.0, 3.0), "c1": (-3.0, 3.0),
            "d1": (1e-30, 1e30), "f1": (1e-2, 10.0)},
    equation="L(x) = a + b x^-c0 (1 + (x / d1)^(1 / f1))^(-c1 f1)",
    citation="Caballero et al. 2023, Broken Neural Scaling Laws, arXiv 2210.14891, eq. (1)",
    aliases=("broken-power-law",),
)
