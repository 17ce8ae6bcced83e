"""Fitting the data-constrained law (Muennighoff et al. 2023) the paper's way: the five
Chinchilla parameters on single-epoch runs first, then R_D* and R_N* on every run with
those held fixed (or all seven jointly). The law itself: :mod:`fits.laws.data_constrained`.
"""

from __future__ import annotations

import numpy as np

from .fit import fit_law
from .laws.data_constrained import DATA_CONSTRAINED, repetition_law

__all__ = ["fit_data_constrained"]


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
    result = fit_law(repetition_law(base), variables, loss, **fit_kwargs)
    params = {p: float(base[p]) for p in ("E", "A", "B", "alpha", "beta")}
    params.update(result.values)
    return result, params
