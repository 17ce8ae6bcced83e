"""Compute-optimal model size and data: Hoffmann et al. 2022 Approaches 1, 2 and 3.

Approach 3 is closed form from a fitted L(N, D) = E + A N^-alpha + B D^-beta under
C = k N D (k = 6 by default, Kaplan et al. 2020):

    N*(C) = G (C/k)^a,  D*(C) = G^-1 (C/k)^b,  G = (alpha A / (beta B))^(1/(alpha+beta)),
    a = beta / (alpha + beta),  b = alpha / (alpha + beta),
    L*(C) = E + K (C/k)^(-alpha beta / (alpha + beta)),  K = A G^-alpha + B G^beta,

which also inverts in closed form (compute needed for a target loss). Every function
broadcasts over parameter arrays, so bootstrap samples give intervals directly.
Approaches 1 (lower envelope of loss vs compute) and 2 (isoFLOP profiles, :mod:`fits.isoflop`)
use the runs.
"""

from __future__ import annotations

import numpy as np

# Approach 3 is the Chinchilla law's own knowledge: its closed forms live with the law
from .laws.chinchilla import chinchilla_compute_for_loss, chinchilla_optimum, isoflop_penalty
from .loglog import PowerLawFit, isoflop_groups, loglog_fit

__all__ = ["chinchilla_optimum", "chinchilla_compute_for_loss", "isoflop_penalty",
           "PowerLawFit", "approach1_envelope", "approach2_isoflop", "isoflop_groups"]


def approach2_isoflop(N, C, loss, *, options=None, **kwargs) -> dict:
    """Approach 2: per-budget isoFLOP minima, then ``N*(C) = G C^a``.

    A thin wrapper of :func:`fits.isoflop.isoflop_fit` (windowed parabola of log loss vs
    log N, edge budgets kept and flagged, bootstrap interval on a) returning the plan's
    dictionary: ``{"budgets", "skipped", "N_opt", "D_opt", "a", "b", "a_ci", "result"}``.
    ``options`` (an :class:`fits.isoflop.IsoflopOptions`) or its fields as keywords; the
    bootstrap defaults to 200 resamples here.
    """
    from .isoflop import isoflop_fit

    if options is None:
        kwargs = {"n_boot": 200, **kwargs}
    result = isoflop_fit(N, C, loss, options=options, **kwargs)
    return {"budgets": result.budgets, "skipped": result.skipped, "N_opt": result.N_opt,
            "D_opt": result.D_opt, "a": result.a, "b": result.b, "a_ci": result.a_ci,
            "result": result}


def approach1_envelope(N, C, loss, *, n_bins: int = 12, k: float = 6.0) -> dict:
    """Approach 1: the lowest loss over runs at each compute (log-spaced bins).

    Each bin's winner gives one (C, N_opt) pair; a log-log line through them gives
    ``N_opt ~ C^a``. Works on final points or on whole curves (each point has its
    own compute).
    """
    N, C, loss = (np.asarray(v, dtype=float) for v in (N, C, loss))
    edges = np.linspace(np.log(C.min()), np.log(C.max()), n_bins + 1)
    which = np.clip(np.digitize(np.log(C), edges) - 1, 0, n_bins - 1)
    winners = []
    for b in range(n_bins):
        sel = np.flatnonzero(which == b)
        if sel.size == 0:
            continue
        best = sel[np.argmin(loss[sel])]
        winners.append({"C": float(C[best]), "N_opt": float(N[best]), "loss": float(loss[best])})
    if len({w["N_opt"] for w in winners}) < 3:
        raise ValueError("Approach 1 needs the lowest-loss model to change across at least 3 "
                         "compute bins; the runs do not cover enough sizes per compute")
    cs = np.array([w["C"] for w in winners])
    n_fit = loglog_fit(cs, [w["N_opt"] for w in winners])
    d_fit = loglog_fit(cs, cs / (k * np.array([w["N_opt"] for w in winners])))
    return {"bins": winners, "N_opt": n_fit, "D_opt": d_fit, "a": n_fit.exponent,
            "b": d_fit.exponent}
