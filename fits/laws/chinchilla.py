"""Chinchilla parametric loss L(N, D) (Hoffmann et al. 2022, Approach 3)."""

from __future__ import annotations

import itertools

import numpy as np

from .base import Law, log_sum_exp_terms

__all__ = ["chinchilla", "CHINCHILLA", "EPOCH_GRID"]


def chinchilla(N, D, E, A, B, alpha, beta):
    """Chinchilla loss: ``L = E + A / N**alpha + B / D**beta``.

    Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models",
    arXiv 2203.15556, eq. (2). ``N`` parameters, ``D`` training tokens.
    """
    return E + A * np.power(N, -alpha) + B * np.power(D, -beta)


def _log_model(log_vars, theta):
    log_n, log_d = log_vars
    e, a, b, alpha, beta = (theta[:, i:i + 1] for i in range(5))
    log_f, (w_e, w_a, w_b) = log_sum_exp_terms([e, a - alpha * log_n, b - beta * log_d])
    jac = np.empty((theta.shape[0], 5, log_n.size))
    jac[:, 0], jac[:, 1], jac[:, 2] = w_e, w_a, w_b
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


CHINCHILLA = Law(
    name="chinchilla",
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
    # starts="projected": E, A, B by least squares on a 10 x 10 (alpha, beta) grid
    linear=("E", "A", "B"),
    start_values={"alpha": np.linspace(0.05, 1.5, 10), "beta": np.linspace(0.05, 1.5, 10)},
    citation="Hoffmann et al. 2022, arXiv 2203.15556 (Approach 3); "
             "fitting protocol of Besiroglu et al. 2024, arXiv 2404.10102",
)
