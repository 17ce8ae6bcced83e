"""Data-constrained scaling law L(N, D, U) (Muennighoff et al. 2023).

Repeated tokens and excess parameters are worth less than fresh ones; the Chinchilla
form is evaluated at an *effective* data D' and an *effective* size N':

    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),  R_D = D / U_D - 1   (repetitions)
    U_N = min(N_opt(U_D), N),  R_N = N / U_N - 1,
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),
    L = E + A / N'^alpha + B / D'^beta,

where N_opt(U_D) is the Chinchilla compute-optimal size for U_D tokens,
``G (G U_D)^(beta/alpha)`` with ``G = (alpha A / (beta B))^(1/(alpha+beta))``.
Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", arXiv 2305.16264,
eqs. (5)-(7); published constants (C4, GPT-2 tokenizer) from the authors' repository
huggingface/datablations, README section "Parametric Fit".

Fitting follows the paper (Section 5 / Appendix): the five Chinchilla parameters from a
first fit on single-epoch runs, then R_D* and R_N* on all runs with those held fixed
(:func:`fit_data_constrained`, ``procedure="paper"``), or all seven jointly.
"""

from __future__ import annotations

import itertools

import numpy as np

from .base import Law

__all__ = ["data_constrained", "effective_data", "effective_params", "DATA_CONSTRAINED",
           "MUENNIGHOFF_2023", "fit_data_constrained", "repeat_value_half_life",
           "data_constrained_optimum", "with_unique_tokens"]

#: Muennighoff et al. 2023 fitted constants (huggingface/datablations README, "Parametric
#: Fit": a, b, e = log A, log B, log E; alpha = beta).
MUENNIGHOFF_2023 = {"E": float(np.exp(0.6254804)), "A": float(np.exp(6.255414)),
                    "B": float(np.exp(7.3049974)), "alpha": 0.3526596, "beta": 0.3526596,
                    "RD_star": 15.387756, "RN_star": 5.309743}

_PARAMS = ("E", "A", "B", "alpha", "beta", "RD_star", "RN_star")


def effective_data(D, U, RD_star):
    """``D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*))``, ``U_D = min(D, U)``, ``R_D = D/U_D - 1``
    (eq. 5).

    ``U_D`` is the unique data actually seen: a run shorter than one epoch (D < U) sees D
    fresh tokens, so ``D' = D`` (never more tokens than were trained on).
    """
    D, U = np.asarray(D, dtype=float), np.asarray(U, dtype=float)
    seen = np.minimum(D, U)
    repeats = np.maximum(D / seen - 1.0, 0.0)
    return seen + seen * RD_star * (-np.expm1(-repeats / RD_star))


def _n_opt_for_tokens(U, A, B, alpha, beta):
    """Chinchilla compute-optimal N for ``U`` training tokens: ``G (G U)^(beta/alpha)``."""
    G = np.power(alpha * A / (beta * B), 1.0 / (alpha + beta))
    return G * np.power(G * np.asarray(U, dtype=float), beta / alpha)


def effective_params(N, U, A, B, alpha, beta, RN_star, D=None):
    """``N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*))``, ``U_N = min(N_opt(U_D), N)`` (eq. 6).

    ``U_D = min(D, U)``, the unique tokens seen (``U`` when ``D`` is not given).
    """
    N = np.asarray(N, dtype=float)
    seen = np.asarray(U, dtype=float) if D is None else np.minimum(np.asarray(D, dtype=float), U)
    base = np.minimum(N, _n_opt_for_tokens(seen, A, B, alpha, beta))
    excess = np.maximum(N / base - 1.0, 0.0)
    return base + base * RN_star * (-np.expm1(-excess / RN_star))


def data_constrained(N, D, U, E, A, B, alpha, beta, RD_star, RN_star):
    """Data-constrained loss ``L = E + A / N'^alpha + B / D'^beta`` (eq. 7).

    ``N`` parameters, ``D`` training tokens, ``U`` unique tokens available (``D / U``
    epochs; a run with ``D < U`` sees ``U_D = D`` unique tokens, as in the paper).
    Muennighoff et al. 2023, arXiv 2305.16264.
    """
    # U_D = min(U, D): a run shorter than one epoch sees D unique tokens, not U (without
    # it, D < U got credit for tokens never seen: the frontier went flat at small budgets)
    unique = np.minimum(np.asarray(U, dtype=float), np.asarray(D, dtype=float))
    n_eff = effective_params(N, unique, A, B, alpha, beta, RN_star)
    d_eff = effective_data(D, unique, RD_star)
    return E + A * np.power(n_eff, -alpha) + B * np.power(d_eff, -beta)


def _grid(log_vars, log_y):
    # Chinchilla-like starts (a coarse version of Epoch's grid) x repetition half-lives
    floor = np.log(0.9 * np.exp(log_y.min()))
    rows = [(e, a, b, al, al, rd, rn)
            for e, a, b, al, rd, rn in itertools.product(
                (floor - 0.5, floor), (4.0, 6.0, 8.0), (4.0, 7.0, 10.0), (0.25, 0.35, 0.5),
                (np.log(5.0), np.log(15.0), np.log(50.0)), (np.log(2.0), np.log(8.0)))]
    return np.array(rows)


def _guess(log_vars, log_y):
    p = MUENNIGHOFF_2023
    return np.array([np.log(0.9 * np.exp(log_y.min())), np.log(p["A"]), np.log(p["B"]),
                     p["alpha"], p["beta"], np.log(p["RD_star"]), np.log(p["RN_star"])])


_BOUNDS = {"E": (1e-4, 1e2), "A": (1e-6, 1e20), "B": (1e-6, 1e20), "alpha": (0.01, 3.0),
           "beta": (0.01, 3.0), "RD_star": (0.05, 1e4), "RN_star": (0.05, 1e4)}

DATA_CONSTRAINED = Law(
    name="data-constrained",
    function=data_constrained,
    variables=("N", "D", "U"),
    params=_PARAMS,
    log_params=("E", "A", "B", "RD_star", "RN_star"),
    bounds=_BOUNDS,
    grid=_grid,
    guess=_guess,
    jacobian="central",  # U_N = min(N_opt(U), N) has a kink: no complex step
    equation="L = E + A / N'^alpha + B / D'^beta, D' = U + U R_D* (1 - exp(-(D/U - 1) / R_D*)), "
             "N' likewise with U_N = min(N_opt(U), N) and R_N*",
    citation="Muennighoff et al. 2023, arXiv 2305.16264, eqs. (5)-(7)",
    aliases=("data_constrained", "muennighoff"),
    # the frontier at a fixed supply of unique tokens U (a search: no closed form)
    optimum=lambda C, params, k, U: data_constrained_optimum(C, U, params, k=k),
    frontier_given=("U",), frontier_batched=False,
)


def _repetition_law(base: dict) -> Law:
    """The law in (R_D*, R_N*) only, with the Chinchilla-form parameters held at ``base``."""
    fixed = {p: float(base[p]) for p in ("E", "A", "B", "alpha", "beta")}

    def function(N, D, U, RD_star, RN_star):
        return data_constrained(N, D, U, RD_star=RD_star, RN_star=RN_star, **fixed)

    def grid(log_vars, log_y):
        return np.log(np.array(list(itertools.product(
            (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 200.0), (0.5, 1.0, 3.0, 10.0, 50.0)))))

    return Law(name="data-constrained (R_D*, R_N* with Chinchilla terms fixed)",
               function=function, variables=("N", "D", "U"), params=("RD_star", "RN_star"),
               log_params=("RD_star", "RN_star"),
               bounds={k: _BOUNDS[k] for k in ("RD_star", "RN_star")},
               grid=grid,
               guess=lambda lv, ly: np.log(np.array([15.0, 5.0])),
               equation=DATA_CONSTRAINED.equation, citation=DATA_CONSTRAINED.citation)


def fit_data_constrained(N, D, U, loss, *, procedure: str = "paper", base: dict | None = None,
                         **fit_kwargs):
    """Fit the data-constrained law to runs with unique tokens ``U``.

    Parameters
    ----------
    N, D, U, loss : arrays
        Parameters, training tokens, unique tokens and final loss per run (``D >= U``
        means ``D / U`` epochs; ``D < U`` is one partial epoch).
    procedure : {"paper", "joint"}
        ``"paper"`` (Muennighoff et al. 2023, Sec. 5): the Chinchilla-form parameters from
        ``base`` or, without it, from a Chinchilla fit of the single-epoch runs
        (``D <= U``); then R_D* and R_N* fitted on every run with those fixed.
        ``"joint"``: all seven parameters at once.
    base : dict, optional
        ``{"E", "A", "B", "alpha", "beta"}`` from an earlier fit (``procedure="paper"``).
    **fit_kwargs
        Passed to :func:`scaling.fits.fit_law` (``loss``, ``delta``, ``starts``, ...).

    Returns
    -------
    (FitResult, dict)
        The last stage's result and the seven parameters ``{E, A, B, alpha, beta,
        RD_star, RN_star}``.

    Raises
    ------
    ValueError
        Unknown procedure, ``U`` not > 0, or too few single-epoch runs for the first stage.
    """
    from ..fit import fit_law

    N, D, U, loss = (np.asarray(v, dtype=float).ravel() for v in (N, D, U, loss))
    if procedure not in ("paper", "joint"):
        raise ValueError(f"`procedure` must be 'paper' or 'joint', got {procedure!r}")
    bad = ~np.isfinite(U) | (U <= 0)
    if bad.any():
        raise ValueError(f"unique tokens U must be finite and > 0; bad value {U[bad][0]!r} at "
                         f"row {np.flatnonzero(bad)[0]}")
    variables = {"N": N, "D": D, "U": U}
    if procedure == "joint":
        result = fit_law(DATA_CONSTRAINED, variables, loss, **fit_kwargs)
        return result, dict(result.values)
    if base is None:
        single = D <= U * (1 + 1e-9)
        if single.sum() < 6:
            raise ValueError(f"the paper's procedure fits the Chinchilla terms on single-epoch "
                             f"runs (D <= U) first; found {int(single.sum())}, need >= 6 "
                             "(add one-epoch runs, pass `base=`, or use procedure='joint')")
        first = fit_law("chinchilla", {"N": N[single], "D": D[single]}, loss[single],
                        **fit_kwargs)
        base = first.values
    fit_kwargs.pop("starts", None)  # the repetition stage has its own small grid
    result = fit_law(_repetition_law(base), variables, loss, **fit_kwargs)
    params = {p: float(base[p]) for p in ("E", "A", "B", "alpha", "beta")}
    params.update(result.values)
    return result, params


def repeat_value_half_life(RD_star: float) -> float:
    """Epochs after which one more repetition is worth half a fresh token.

    ``d D' / d D = exp(-R_D / R_D*)`` = 1/2 at ``R_D = R_D* ln 2``, i.e. epoch
    ``1 + R_D* ln 2`` (about 11.7 at the paper's R_D* = 15.4).
    """
    return 1.0 + RD_star * np.log(2.0)


def data_constrained_optimum(C, U, params: dict, k: float = 6.0, n_grid: int = 2001,
                             with_bound: bool = False):
    """Loss-minimizing ``(N, D, L)`` at compute ``C = k N D`` with ``U`` unique tokens.

    A dense search in log N (the law has a kink at U_N = N_opt(U), so no closed form;
    the authors also use a search), refined once around the best point. With
    ``with_bound``, a fourth item says whether the first search ended on an edge of its
    range (``"lower"``/``"upper"``, else ``None``): such an optimum is not one.
    """
    C, U = float(C), float(U)
    q = {p: params[p] for p in _PARAMS}

    def loss_at(n):
        return data_constrained(n, C / (k * n), U, **q)

    lo, hi = np.log(C / k) - 2 * np.log(1e12), np.log(C / k)
    lo = max(lo, np.log(C / k) / 2 - 25.0)
    hi = min(hi, np.log(C / k) / 2 + 25.0)
    edge = None
    for attempt in range(2):
        grid = np.linspace(lo, hi, n_grid)
        values = loss_at(np.exp(grid))
        i = int(np.nanargmin(values))
        if attempt == 0 and i in (0, n_grid - 1):
            edge = "lower" if i == 0 else "upper"
        step = grid[1] - grid[0]
        lo, hi = grid[max(i - 1, 0)] - step, grid[min(i + 1, n_grid - 1)] + step
    n = float(np.exp(grid[i]))
    if with_bound:
        return n, C / (k * n), float(values[i]), edge
    return n, C / (k * n), float(values[i])


def with_unique_tokens(frame, law):
    """``frame`` with a ``U`` column for laws that need it (from ``epochs``: U = D / epochs).

    For every other law, a table whose runs repeat data (``U`` or ``epochs`` showing
    D > U) triggers a :class:`FitWarning`: those laws treat repeated tokens as fresh.

    Raises
    ------
    ValueError
        The law needs ``U`` and the table has neither ``U`` nor ``epochs``.
    """
    import warnings

    from ..result import FitWarning

    if "U" not in frame and "epochs" in frame:
        epochs = frame["epochs"].to_numpy(dtype=float)
        bad = ~np.isfinite(epochs) | (epochs <= 0)
        if bad.any():
            raise ValueError(f"column `epochs` must be finite and > 0; bad value "
                             f"{epochs[bad][0]!r} in run {frame['run_id'].iloc[bad.argmax()]!r}")
        frame = frame.assign(U=frame["D"].to_numpy(dtype=float) / epochs)
    if "U" in law.variables:
        if "U" not in frame:
            raise ValueError(f"law {law.name!r} needs the unique tokens of each run: a `U` "
                             "column (or `epochs`, giving U = D / epochs)")
        return frame
    if "U" in frame and "D" in frame:
        repeated = int(np.sum(frame["D"].to_numpy(dtype=float)
                              > 1.01 * frame["U"].to_numpy(dtype=float)))
        if repeated:
            warnings.warn(f"{repeated} run(s) repeat data (D > U, from the `U`/`epochs` "
                          f"columns), which law {law.name!r} counts as fresh tokens; fit "
                          "--law data-constrained (Muennighoff et al. 2023) instead",
                          FitWarning, stacklevel=4)
    return frame
