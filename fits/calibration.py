"""The prediction interval's growth law (:class:`Calibration`), in a light module:
numpy and the standard library only, so that predicting from a saved fit
(``scaling predict FIT.json --at ...``) needs neither pandas nor scipy. How it is
calibrated (backtests on the user's table) lives in :mod:`fits.intervals`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

__all__ = ["Calibration", "default_calibration", "effective_cuts", "residual_scatter",
           "DEFAULT_RATE", "DEFAULT_SCATTER", "MIN_RATE"]

#: relative sd per decade of extrapolation when the table is too small to backtest
DEFAULT_RATE = 0.03
#: relative sd of a new run at the edge of the fitted range, same fallback
DEFAULT_SCATTER = 0.01
#: floor on the fitted growth rate (relative sd per decade)
MIN_RATE = 0.005
#: parts of the runs (largest compute first) held out by the calibration backtests

def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1), got {level}")
    # stdlib normal quantile: a plain fit must not import scipy.stats (~0.8 s, issue 19)
    return float(NormalDist().inv_cdf(0.5 + level / 2))


def _t_cdf(t: float, df: int) -> float:
    """Student-t CDF for an integer ``df`` >= 1, by the closed-form finite series
    (Abramowitz and Stegun 26.7.3-4): no scipy.stats import (~0.8 s) for one quantile."""
    theta = math.atan(t / math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2:  # odd: (2/pi) (theta + sin cos (1 + 2/3 c2 + 2.4/3.5 c2^2 + ...))
        term, total = 1.0, 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        a = 2.0 / math.pi * (theta + s * math.cos(theta) * total)
    else:  # even: sin (1 + 1/2 c2 + 1.3/2.4 c2^2 + ...)
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        a = s * total
    return 0.5 + 0.5 * a  # a = P(|T| < t) carries the sign of t


def t_quantile(p: float, df: int) -> float:
    """Quantile of Student's t with integer ``df`` (bisection on :func:`_t_cdf`, to
    ~1e-12): the t floor of the multiplier without importing scipy.stats."""
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)


def _t_quantile_real(p: float, df: float) -> float:
    """:func:`t_quantile` at a real ``df`` (an effective number of cuts), linear in
    ``1/df`` between the neighbouring integers, as t tables are interpolated."""
    lo, hi = math.floor(df), math.ceil(df)
    q_lo = t_quantile(p, lo)
    if hi == lo:
        return q_lo
    w = (1 / lo - 1 / df) / (1 / lo - 1 / hi)
    return q_lo + w * (t_quantile(p, hi) - q_lo)


@dataclass
class Calibration:
    """How wide a prediction interval is at a given extrapolation distance.

    Attributes
    ----------
    scatter : float
        ``s0``: relative sd (log units) of a new run at distance 0.
    rate : float
        ``r``: relative sd added per decade of extrapolation.
    method : str
        ``"backtest"`` (fitted on this table) or ``"default"`` (too few runs).
    scores : list of float
        Held-out log errors divided by ``s(d)`` (the conformal scores).
    points : list of dict
        Per held-out run of every cut: ``cut`` (fraction held out), ``distance``,
        ``log_error``.
    max_distance : float
        Largest distance the backtests reached.
    notes : list of str
    """

    scatter: float
    rate: float
    method: str
    scores: list = field(default_factory=list)
    points: list = field(default_factory=list)
    max_distance: float = 0.0
    n_cuts: int = 0
    notes: list = field(default_factory=list)
    #: ``{"cut", "n_fit", "params"}`` of every backtest refit
    refits: list = field(default_factory=list)
    #: independent replications the nested cuts are worth (:func:`effective_cuts`);
    #: None: ``n_cuts``
    n_effective: float | None = None

    def sd(self, distance) -> np.ndarray:
        """``s(d) = sqrt(s0**2 + (r d)**2)``."""
        d = np.asarray(distance, dtype=float)
        return np.sqrt(self.scatter ** 2 + (self.rate * d) ** 2)

    def multiplier(self, level: float) -> float:
        """Conformal quantile of the scores at ``level``, at least the Student-t quantile
        with ``n_cuts - 1`` (>= 2) degrees of freedom (the normal one without cuts).

        The held-out errors of one cut share one refit, so the cuts, not the runs, are
        the independent replications of "extrapolate from a smaller table"; the t floor
        is the small-sample correction of a spread estimated from a few of them.
        """
        z = _z(level)
        if self.n_cuts:
            n = self.n_cuts if self.n_effective is None else self.n_effective
            z = _t_quantile_real(0.5 + level / 2, max(n - 1, 2))
        scores = np.sort(np.asarray(self.scores, dtype=float))
        n = scores.size
        if n == 0:
            return z
        rank = math.ceil((n + 1) * level)
        if rank > n:  # too few scores for this level: beyond the largest one
            return max(z, 1.25 * float(scores[-1]))
        return max(z, float(scores[rank - 1]))

    def half_width(self, distance, level: float, ci_sd=0.0) -> np.ndarray:
        """Log half-width: ``m * sqrt(ci_sd**2 + s(d)**2)``."""
        return self.multiplier(level) * np.sqrt(np.square(ci_sd) + self.sd(distance) ** 2)

    def interval(self, value, distance, level: float, ci=None, ci_level: float | None = None):
        """``[lo, hi]`` (last axis) of a new run's loss around ``value``.

        ``ci`` (``[lo, hi]`` at ``ci_level``, default ``level``), optional, is the
        bootstrap interval of the law; each side's log half-width, as a standard
        deviation (divided by the normal quantile), is added in quadrature to ``s(d)``.
        """
        value = np.asarray(value, dtype=float)
        lo_sd = hi_sd = 0.0
        if ci is not None:
            ci = np.asarray(ci, dtype=float)
            z_ci = _z(ci_level or level)
            lo_sd = np.log(value / np.minimum(ci[..., 0], value)) / z_ci
            hi_sd = np.log(np.maximum(ci[..., 1], value) / value) / z_ci
        lo = value * np.exp(-self.half_width(distance, level, lo_sd))
        hi = value * np.exp(self.half_width(distance, level, hi_sd))
        return np.stack([lo, hi], axis=-1)

    @classmethod
    def from_dict(cls, payload: dict) -> "Calibration":
        """Rebuild from :meth:`to_dict` (e.g. a saved fit's backtest), scores included."""
        points = payload.get("points") or []
        cal = cls(float(payload["scatter"]), float(payload["rate_per_decade"]),
                  payload.get("method", "backtest"), points=points,
                  max_distance=float(payload.get("max_distance", 0.0)),
                  n_cuts=int(payload.get("n_cuts", 0)), notes=list(payload.get("notes", [])),
                  refits=list(payload.get("refits", [])),
                  n_effective=payload.get("n_effective_cuts"))
        if points:
            d = np.array([p["distance"] for p in points])
            e = np.array([p["log_error"] for p in points])
            v = np.array([p.get("ci_sd", 0.0) for p in points])
            cal.scores = (np.abs(e) / np.sqrt(v ** 2 + cal.sd(d) ** 2)).tolist()
        return cal

    def to_dict(self, level: float | None = None) -> dict:
        out = {"method": self.method, "scatter": self.scatter, "rate_per_decade": self.rate,
               "n_heldout": len(self.scores), "n_cuts": self.n_cuts,
               "n_effective_cuts": self.n_effective, "max_distance": self.max_distance,
               "points": self.points, "notes": list(self.notes), "refits": self.refits,
               "growth_law": "log-error sd s(d) = sqrt(scatter^2 + (rate * d)^2), d in decades "
                             "past the fitted range"}
        if level is not None:
            out.update({"level": level, "multiplier": self.multiplier(level)})
        return out


def effective_cuts(cut_errors) -> float:
    """How many independent replications ``n`` nested backtest cuts are worth:
    ``n (1 - rho) / (1 + rho)`` with ``rho`` the lag-1 autocorrelation of the cuts'
    mean standardized errors in cut order (the AR(1) effective sample size), between 1
    and ``n``.

    Consecutive cuts differ by a few runs, so their refits, and their errors, are
    nearly the same; counting them as ``n`` independent draws makes the Student-t
    multiplier too small (issue 25: 10 nested cuts on Chinchilla behaved like 2-3).
    """
    x = np.asarray(cut_errors, dtype=float)
    n = x.size
    if n < 3:
        return float(n)
    x = x - x.mean()
    denom = float(np.sum(x ** 2))
    rho = float(np.sum(x[1:] * x[:-1]) / denom) if denom > 0 else 0.0
    rho = min(max(rho, 0.0), 0.95)
    return float(np.clip(n * (1 - rho) / (1 + rho), 1.0, n))


def default_calibration(reason: str, scatter: float | None = None) -> Calibration:
    """The conservative fallback (``DEFAULT_RATE``, scatter at least ``DEFAULT_SCATTER``).

    ``scatter``: the fit's own residual scatter (:func:`residual_scatter`); the default
    is never narrower than it, so it covers the fit's own runs at its level.
    """
    s0 = max(DEFAULT_SCATTER, scatter or 0.0)
    return Calibration(s0, DEFAULT_RATE, "default", notes=[
        f"{reason}: the prediction interval uses the conservative default growth "
        f"{DEFAULT_RATE:.0%} relative sd per decade of extrapolation and scatter "
        f"{s0:.2%} (see docs/uncertainty.md); add runs to calibrate it on your data"])


def residual_scatter(points: dict, n_params: int) -> float:
    """Relative sd of one run around the fitted law, from a fit's ``data.points``
    (``loss``, ``predicted``, optional ``run_id``): RMS log residual over ``n - p`` degrees
    of freedom. Where runs have many points (``run_id`` repeats), between-run variance of
    the run means plus the mean within-run variance, so a long curve is not many runs.
    0 when the points are missing."""
    loss = np.asarray([np.nan if v is None else v for v in points.get("loss") or []], float)
    pred = np.asarray([np.nan if v is None else v for v in points.get("predicted") or []],
                      float)
    if loss.size == 0 or loss.size != pred.size:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(loss / pred)
    ok = np.isfinite(r)
    ids = points.get("run_id")
    if ids is not None and len(ids) == r.size and len(set(ids)) < len(ids):
        labels, index = np.unique(np.asarray(ids, dtype=str)[ok], return_inverse=True)
        r = r[ok]
        means = np.bincount(index, r) / np.bincount(index)
        within = np.bincount(index, (r - means[index]) ** 2) / np.bincount(index)
        dof = max(labels.size - n_params, 1)
        return float(np.sqrt(np.sum(means ** 2) / dof + within.mean()))
    r = r[ok]
    return float(np.sqrt(np.sum(r ** 2) / max(r.size - n_params, 1))) if r.size else 0.0
