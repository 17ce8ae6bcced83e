"""A plan one can act on: the model size that is best on average over the law's
uncertainty, and the range of sizes that costs little if the law is wrong.

The compute-optimal N* of one fitted law answers "what is optimal if the law is
exactly right"; its interval over bootstrap draws is often a factor 10-70 wide, which
nobody can act on. The loss near the optimum is flat, though (half or twice N* costs
~0.2% on Chinchilla), so the useful questions are:

* which N minimizes the *expected* loss over the draws of the law (the robust N), and
* which N keep the loss within a tolerance (0.5% by default) of each draw's own optimum,
  and how sure we are of it (the share of draws for which they do).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_TOLERANCE", "loss_grid", "robust_choice", "tolerance_range"]

#: relative loss above the optimum a plan may give up (``--tolerance``)
DEFAULT_TOLERANCE = 0.005


def loss_grid(law, compute: float, samples: dict, N: np.ndarray, k: float = 6.0,
              given: dict | None = None) -> np.ndarray:
    """Loss of every parameter draw (rows) at every model size ``N`` (columns) on the
    isoFLOP curve ``D = compute / (k N)``."""
    N = np.asarray(N, dtype=float)
    at = {"N": N[None, :], "D": compute / (k * N[None, :])}
    at.update({v: np.asarray(value, dtype=float) for v, value in (given or {}).items()})
    params = {p: np.asarray(samples[p], dtype=float)[:, None] for p in law.params}
    return np.asarray(law.function(*[at[v] for v in law.variables], **params), dtype=float)


def tolerance_range(N: np.ndarray, loss: np.ndarray, tolerance: float) -> tuple:
    """``(lo, hi)`` of the sizes whose ``loss`` (one curve over ``N``) stays within
    ``tolerance`` of its minimum; (nan, nan) when the minimum sits at the grid's edge."""
    best = int(np.argmin(loss))
    inside = loss <= loss[best] * (1 + tolerance)
    lo = best
    while lo > 0 and inside[lo - 1]:
        lo -= 1
    hi = best
    while hi < N.size - 1 and inside[hi + 1]:
        hi += 1
    if lo == 0 or hi == N.size - 1:
        return float("nan"), float("nan")
    return float(N[lo]), float(N[hi])


def _percentiles(values, level):
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = 50 * (1 - level)
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def _refits_within(law, compute, alternatives, N, best, k, given, tolerance):
    """Share of other refits' parameter sets whose loss at ``N[best]`` is within
    ``tolerance`` of their own optimum on the grid (None without any)."""
    alternatives = [q for q in alternatives if all(p in q for p in law.params)]
    if not alternatives:
        return None
    alt = loss_grid(law, compute, {p: np.array([q[p] for q in alternatives])
                                   for p in law.params}, N, k, given)
    alt = alt[np.all(np.isfinite(alt), axis=1)]
    if not alt.shape[0]:
        return None
    within = alt[:, best] <= alt.min(axis=1) * (1 + tolerance)
    return {"share": float(within.mean()), "n": int(alt.shape[0])}


def robust_choice(law, compute: float, fitted: dict, samples: dict, *, k: float = 6.0,
                  given: dict | None = None, tolerance: float = DEFAULT_TOLERANCE,
                  level: float = 0.9, span: float = 3.0, n_grid: int = 601,
                  alternatives=()) -> dict:
    """The robust N at ``compute`` and the N range within ``tolerance`` of the optimum.

    Parameters
    ----------
    law : Law
        A point law with ``N`` and ``D`` among its variables.
    compute : float
        Budget in FLOPs (``C = k N D``).
    fitted : dict
        The fitted parameters (the law's own answer).
    samples : dict of (B,) arrays
        Bootstrap draws of the parameters (converged ones).
    tolerance : float
        Relative loss above the optimum one accepts (0.005: 0.5%).
    level : float
        Level of the intervals and of "sure": the sure range holds the N whose loss is
        within tolerance of the optimum in at least this share of the draws.
    span : float
        Decades searched on each side of the fitted law's N*.
    alternatives : sequence of dict
        Parameters of other refits (backtests without the largest runs, sensitivity
        refits): the share of them whose loss at the robust N is within tolerance of
        their own optimum is reported too (``refits_within``), since resampling the
        same runs cannot show how the law drifts as larger runs arrive.

    Returns
    -------
    dict
        ``N``, ``D``, ``tokens_per_param``, ``expected_loss`` of the robust choice and
        its ``interval`` (the N whose expected loss is within tolerance of its minimum), its
        ``regret`` (mean and ``level`` quantile of the relative excess loss over each
        draw's optimum), ``p_within`` (share of draws within tolerance at the robust N),
        ``range`` (the fitted law's N range within tolerance, each end with its
        ``level`` interval over the draws), ``sure_range`` (N within tolerance in at
        least ``level`` of the draws; None when no N is), tokens per parameter at the
        ends of both, and ``n_draws``.
    """
    if not 0 < tolerance < 1:
        raise ValueError(f"`tolerance` must be in (0, 1) (0.005 = 0.5%), got {tolerance}")
    given = given or {}
    n_star = float(law.frontier(compute, fitted, k=k, **given)[0])
    N = n_star * np.logspace(-span, span, n_grid)
    draws = loss_grid(law, compute, samples, N, k, given)
    draws = draws[np.all(np.isfinite(draws), axis=1)]
    if draws.shape[0] < 10:
        raise ValueError(f"only {draws.shape[0]} usable bootstrap draws; a robust plan "
                         "needs >= 10 (raise --bootstrap)")
    own = loss_grid(law, compute, {p: np.atleast_1d(fitted[p]) for p in law.params}, N, k,
                    given)[0]
    expected = draws.mean(axis=0)
    best = int(np.argmin(expected))
    optimum = draws.min(axis=1, keepdims=True)
    excess = draws / optimum - 1
    p_within = np.mean(excess <= tolerance, axis=0)
    ends = np.array([tolerance_range(N, row, tolerance) for row in draws])
    lo, hi = tolerance_range(N, own, tolerance)
    sure = np.flatnonzero(p_within >= level)
    n_rob = float(N[best])
    out = {"tolerance": float(tolerance), "level": float(level),
           "n_draws": int(draws.shape[0]), "interval": list(tolerance_range(N, expected,
                                                                            tolerance)),
           "N": n_rob, "D": float(compute / (k * n_rob)),
           "tokens_per_param": float(compute / (k * n_rob ** 2)),
           "expected_loss": float(expected[best]),
           "regret": {"mean": float(excess[:, best].mean()),
                      "quantile": float(np.quantile(excess[:, best], level))},
           "p_within": float(p_within[best]),
           "range": {"N": [lo, hi], "lo_interval": _percentiles(ends[:, 0], level),
                     "hi_interval": _percentiles(ends[:, 1], level),
                     "tokens_per_param": [compute / (k * hi ** 2), compute / (k * lo ** 2)]},
           "sure_range": None, "N_law": n_star}
    shares = _refits_within(law, compute, alternatives, N, best, k, given, tolerance)
    if shares:
        out["refits_within"] = shares
    if sure.size and sure[0] > 0 and sure[-1] < N.size - 1:
        a, b = float(N[sure[0]]), float(N[sure[-1]])
        out["sure_range"] = {"N": [a, b], "contiguous": bool(sure.size == sure[-1] - sure[0] + 1),
                             "tokens_per_param": [compute / (k * b ** 2),
                                                  compute / (k * a ** 2)]}
    return out
