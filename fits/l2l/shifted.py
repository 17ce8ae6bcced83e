"""Shifted power law between two losses: L_y = K (L_x - E_x)^kappa + E_y.

Loss-to-loss scaling (Brandfonbrener et al. 2024, "Loss-to-Loss Prediction: Scaling Laws
for All Datasets", arXiv 2411.12925): the loss of a model on distribution y is a shifted
power law of its loss on distribution x, for models trained on one pretraining set.
The offsets E_x and E_y are the irreducible losses of the two single-dataset laws;
the paper takes them from those fits. Fitted from (L_x, L_y) pairs alone they are poorly
identified (a nearly straight curve fits equally well for many offsets), so the fit
keeps them below the observed losses and reports when they sit on that bound.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..laws.base import Law

__all__ = ["shifted_power_law", "shifted_power_law_inverse", "SHIFTED_POWER_LAW",
           "shifted_bounds", "shifted_grid"]


def shifted_power_law(L_x, K, kappa, E_x, E_y):
    """Loss-to-loss law ``L_y = K * (L_x - E_x)**kappa + E_y``.

    Brandfonbrener et al. 2024, arXiv 2411.12925, eq. (3). Undefined (NaN) where
    ``L_x <= E_x``.
    """
    L_x = np.asarray(L_x, dtype=float)
    gap = L_x - E_x
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(gap > 0, K * np.power(np.where(gap > 0, gap, 1.0), kappa) + E_y,
                        np.nan)


def shifted_power_law_inverse(L_y, K, kappa, E_x, E_y):
    """Solve the law for ``L_x``: ``L_x = E_x + ((L_y - E_y) / K)**(1 / kappa)``.

    Raises
    ------
    ValueError
        If a target ``L_y`` is not above ``E_y`` (the law never reaches it).
    """
    L_y = np.asarray(L_y, dtype=float)
    if np.any(L_y <= E_y):
        raise ValueError(f"target loss {np.min(L_y):.6g} is not above the offset "
                         f"E_y = {E_y:.6g}: the law never reaches it")
    return E_x + np.power((L_y - E_y) / K, 1.0 / kappa)


def _log_model(log_vars, theta):
    """log L_y and its Jacobian in fit space (log K, kappa, E_x, E_y)."""
    x = np.exp(log_vars[0])[None, :]
    log_k, kappa, e_x, e_y = (theta[:, i:i + 1] for i in range(4))
    gap = np.maximum(x - e_x, 1e-300)
    log_gap = np.log(gap)
    term = np.exp(log_k + kappa * log_gap)
    f = term + e_y
    share = term / f
    jac = np.stack([share, share * log_gap, -share * kappa / gap, 1.0 / f], axis=1)
    return np.log(f), jac


def _line_log_k(x, y, e_x, e_y, kappa):
    """log K matching ``log(L_y - E_y) = log K + kappa log(L_x - E_x)`` in the median."""
    resid = np.log(np.maximum(y - e_y, 1e-300)) - kappa * np.log(np.maximum(x - e_x, 1e-300))
    return float(np.median(resid))


def shifted_grid(log_vars, log_y, bounds=None):
    x, y = np.exp(log_vars[0]), np.exp(log_y)
    ex_hi = (bounds or {}).get("E_x", (0.0, 0.95 * x.min()))[1]
    ey_hi = (bounds or {}).get("E_y", (0.0, 0.95 * y.min()))[1]
    starts = []
    for fx, fy, kappa in itertools.product((0.0, 0.5, 0.9, 1.0), (0.0, 0.5, 0.9, 1.0),
                                           (0.5, 1.0, 2.0)):
        e_x, e_y = fx * ex_hi, fy * ey_hi
        starts.append((_line_log_k(x, y, e_x, e_y, kappa), kappa, e_x, e_y))
    return np.array(starts)


def _guess(log_vars, log_y):
    # a line in log-log space with both offsets at half the smallest loss
    x, y = np.exp(log_vars[0]), np.exp(log_y)
    e_x, e_y = 0.5 * x.min(), 0.5 * y.min()
    lx, ly = np.log(x - e_x), np.log(y - e_y)
    slope, intercept = np.polyfit(lx, ly, 1) if np.ptp(lx) > 0 else (1.0, ly.mean())
    return np.array([intercept, float(np.clip(slope, 0.05, 10.0)), e_x, e_y])


def shifted_bounds(x, y, *, margin: float = 0.95) -> dict[str, tuple[float, float]]:
    """Default bounds: offsets between 0 and ``margin`` times the smallest observed loss.

    ``x`` should include every L_x the law will be asked about (held-out points too): the
    law is undefined at and below E_x.
    """
    x_min, y_min = float(np.min(x)), float(np.min(y))
    return {"K": (1e-6, 1e6), "kappa": (0.05, 10.0), "E_x": (0.0, margin * x_min),
            "E_y": (0.0, margin * y_min)}


SHIFTED_POWER_LAW = Law(
    name="shifted-power-law",
    function=shifted_power_law,
    variables=("L_x",),
    params=("K", "kappa", "E_x", "E_y"),
    log_params=("K",),
    bounds={"K": (1e-6, 1e6), "kappa": (0.05, 10.0), "E_x": (0.0, 1e6), "E_y": (0.0, 1e6)},
    log_model=_log_model,
    grid=shifted_grid,
    guess=_guess,
    equation="L_y = K (L_x - E_x)^kappa + E_y",
    citation="Brandfonbrener et al. 2024, arXiv 2411.12925",
    aliases=("shifted_power_law", "loss-to-loss"),
)
