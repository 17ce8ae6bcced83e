"""Chinchilla parametric loss L(N, D) (Hoffmann et al. 2022, Approach 3)."""

from __future__ import annotations

import itertools

import numpy as np

from .base import Law

__all__ = ["chinchilla", "CHINCHILLA", "EPOCH_GRID"]


def chinchilla(N, D, E, A, B, alpha, beta):
    """Chinchilla loss: ``L = E + A / N**alpha + B / D**beta``.

    Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models",
    arXiv 2203.15556, eq. (2). ``N`` parameters, ``D`` training tokens.
    """
    return E + A * np.power(N, -alpha) + B * np.power(D, -beta)


def _log_model(log_vars, theta):
    # log(E + A N^-alpha + B D^-beta) and its Jacobian, the softmax weights of the three
    # terms, written into the Jacobian's rows in place (a fit evaluates this for every
    # start at every iteration). Terms are exponentiated directly (two exps per point; E
    # is one per row) when that cannot overflow or underflow, else shifted by their peak.
    log_n, log_d = log_vars
    e, a, b, alpha, beta = (theta[:, i:i + 1] for i in range(5))
    jac = np.empty((theta.shape[0], 5, log_n.size))
    w_e, w_a, w_b = jac[:, 0], jac[:, 1], jac[:, 2]
    np.multiply(alpha, log_n, out=w_a)
    np.subtract(a, w_a, out=w_a)
    np.multiply(beta, log_d, out=w_b)
    np.subtract(b, w_b, out=w_b)
    hi = max(w_a.max(initial=-np.inf), w_b.max(initial=-np.inf), e.max(initial=-np.inf))
    if hi < 600.0 and e.min(initial=np.inf) > -600.0:  # exp cannot overflow; E > 0 floors
        np.exp(w_a, out=w_a)
        np.exp(w_b, out=w_b)
        total = w_a + w_b
        total += np.exp(e)
        log_f = np.log(total)
        np.divide(1.0, total, out=total)
        np.multiply(np.exp(e), total, out=w_e)
    else:
        peak = np.maximum(w_a, w_b)
        np.maximum(peak, e, out=peak)
        for w in (w_a, w_b):
            np.subtract(w, peak, out=w)
            np.exp(w, out=w)
        np.subtract(e, peak, out=w_e)
        np.exp(w_e, out=w_e)
        total = w_e + w_a
        total += w_b
        log_f = np.log(total)
        log_f += peak
        np.divide(1.0, total, out=total)
        w_e *= total
    w_a *= total
    w_b *= total
    np.multiply(w_a, -log_n, out=jac[:, 3])
    np.multiply(w_b, -log_d, out=jac[:, 4])
    return log_f, jac


#: Besiroglu et al. 2024 (Epoch AI) initialization grid, in fit space (log E, log A, log B,
#: alpha, beta): alpha, beta in {0, 0.5, ..., 2}; log E in {-1, -0.5, ..., 1};
#: log A, log B in {0, 5, ..., 25}. 4,500 starts.
EPOCH_GRID = np.array([
    (e, a, b, alpha, beta)
    for alpha, beta, e, a, b in itertools.product(
        np.arange(0, 2.01, 0.5), np.arange(0, 2.01, 0.5), np.arange(-1, 1.01, 0.5),
        np.arange(0, 26, 5.0), np.arange(0, 26, 5.0))
])


def _grid(log_vars, log_y):
    return EPOCH_GRID.copy()


def _guess(log_vars, log_y):
    # irreducible loss just under the best run; the rest split between the two terms
    floor = 0.9 * np.exp(log_y.min())
    return np.array([np.log(floor), 6.0, 7.5, 0.34, 0.28])


def _optimum(C, params, k):
    from ..compute_optimal import chinchilla_optimum

    return chinchilla_optimum(C, params["E"], params["A"], params["B"], params["alpha"],
                              params["beta"], k)


def _compute_for_loss(L, params, k):
    from ..compute_optimal import chinchilla_compute_for_loss

    return chinchilla_compute_for_loss(L, **params, k=k)


CHINCHILLA = Law(
    name="chinchilla",
    optimum=_optimum, compute_for_loss=_compute_for_loss,
    function=chinchilla,
    variables=("N", "D"),
    params=("E", "A", "B", "alpha", "beta"),
    log_params=("E", "A", "B"),
    bounds={"E": (1e-4, 1e2), "A": (1e-6, 1e20), "B": (1e-6, 1e20),
            "alpha": (0.0, 3.0), "beta": (0.0, 3.0)},
    log_model=_log_model,
    grid=_grid,
    guess=_guess,
    equation="L(N, D) = E + A / N^alpha + B / D^beta",
    # starts="projected" (the default): E, A, B by least squares on a 6 x 6 (alpha, beta)
    # grid (25 distinct starts on the bundled data; 10 x 10 gave 81, every one at the
    # same optimum, for three times the cost)
    linear=("E", "A", "B"),
    start_values={"alpha": np.linspace(0.05, 1.5, 6), "beta": np.linspace(0.05, 1.5, 6)},
    citation="Hoffmann et al. 2022, arXiv 2203.15556 (Approach 3); "
             "fitting protocol of Besiroglu et al. 2024, arXiv 2404.10102",
)
