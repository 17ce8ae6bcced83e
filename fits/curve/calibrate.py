"""How a curve law's error grows, measured on the user's own curves.

Two kinds of backtest, both on curves whose ends are known:

* **truncation**: cut a finished run at several fractions, refit what a prefix
  identifies (``L0, A, alpha``) with the rest carried over from a reference that was
  *not* fitted on that run (for the fitted runs: the law refitted without it), predict
  the run's last point; the distance is ``log10(last step / last seen step)``;
* **leave one run out** (LOCO): refit the law without each fitted run and predict that
  run's final loss (an unseen schedule at distance 0, or past the remaining runs' steps).

The signed log errors ``e`` are modelled as normal with a variance that grows with the
distance ``d`` (decades of steps) and with the mismatch of the target to the reference
(decades of peak LR, decades of model size):

    sd(d, m_lr, m_N)**2 = s0**2 + (k_steps d)**2 + (k_lr m_lr)**2 + (k_N m_N)**2

fitted by maximum likelihood (:func:`fit_growth`). A rate that the curves cannot show
(every backtest at one distance, no run at another LR or size) takes its documented
fallback (:data:`FALLBACK_RATES`) and the result says so. Intervals use Student-t
quantiles with one degree of freedom per backtested curve (errors of one curve at several
cut points are not independent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

__all__ = ["ErrorGrowth", "FALLBACK_RATES", "PREFIX_FRACTIONS", "fit_growth",
           "truncation_errors", "mismatch", "reference_axes", "early_growth"]

#: Cut points of the truncation backtests (fractions of each run's scheduled steps).
PREFIX_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)

#: Relative sd per decade used only when the backtests cannot measure a rate:
#: ``steps`` 1% per decade of steps past the data (the size of the published Multi-Power
#: fits' worst final-loss errors, 0.4-0.6%, over about half a decade); ``lr`` 20% per
#: decade of peak-LR mismatch (a reference at 3e-4 predicting a 1e-3 run, 0.52 decades
#: away, was off by 18%: 1.645 sd at 0.52 decades); ``N`` 1% per decade of model size
#: (the published 25M and 100M fits' annealing amplitude relative to ``A`` differs by 5%
#: over 0.6 decades, which moves a final loss by well under 1%).
FALLBACK_RATES = {"steps": 0.01, "lr": 0.2, "N": 0.01}
_AXES = ("steps", "lr", "N")
#: Finished runs backtested per early-curve calibration (each cut is a refit).
MAX_CALIBRATION_CURVES = 16


@dataclass(frozen=True)
class ErrorGrowth:
    """A calibrated error model: ``sd**2 = s0**2 + sum (rate * distance)**2`` (log units).

    Attributes
    ----------
    s0 : float
        Relative sd at distance 0.
    rates : dict
        Relative sd per decade along ``steps``, ``lr`` and ``N``.
    calibrated : dict
        Per axis, whether the rate was measured (True) or is the fallback (False).
    dof : int
        Degrees of freedom of the t quantiles (backtested curves, >= 2).
    n_errors : int
        Backtest errors the model was fitted on.
    source : str
        What was backtested.
    """

    s0: float
    rates: dict = field(default_factory=dict)
    calibrated: dict = field(default_factory=dict)
    dof: int = 2
    n_errors: int = 0
    source: str = ""

    def sd(self, steps=0.0, lr=0.0, N=0.0) -> np.ndarray:
        """Relative (log) sd at the given distances (decades)."""
        dist = {"steps": steps, "lr": lr, "N": N}
        var = self.s0 ** 2 + sum((self.rates.get(a, 0.0) * np.asarray(dist[a], float)) ** 2
                                 for a in _AXES)
        return np.sqrt(var)

    def quantile(self, level: float) -> float:
        """Two-sided t multiplier for ``level``."""
        return float(stats.t.ppf((1 + level) / 2, max(self.dof, 2)))

    def draws(self, n: int, rng, **dist) -> np.ndarray:
        """``n`` multiplicative error factors ``exp(sd * t)`` at the given distances."""
        return np.exp(self.sd(**dist) * rng.standard_t(max(self.dof, 2), n))

    def describe(self) -> str:
        parts = [f"s0 {self.s0:.2%}"]
        for a in _AXES:
            if a in self.rates:
                tag = "calibrated" if self.calibrated.get(a) else "fallback, too few curves"
                parts.append(f"{self.rates[a]:.2%} per decade of {a} ({tag})")
        return (f"error growth fitted on {self.n_errors} backtest errors of {self.source} "
                f"(t, {self.dof} dof): " + ", ".join(parts))

    def to_dict(self) -> dict:
        return {"s0": float(self.s0), "rates": {k: float(v) for k, v in self.rates.items()},
                "calibrated": dict(self.calibrated), "dof": int(self.dof),
                "n_errors": int(self.n_errors), "source": self.source}

    @classmethod
    def from_dict(cls, d: dict) -> "ErrorGrowth":
        return cls(float(d["s0"]), dict(d["rates"]), dict(d["calibrated"]), int(d["dof"]),
                   int(d.get("n_errors", 0)), str(d.get("source", "")))

    def with_rates(self, rates: dict, calibrated: dict, source: str = "") -> "ErrorGrowth":
        return ErrorGrowth(self.s0, {**self.rates, **rates},
                           {**self.calibrated, **calibrated}, self.dof, self.n_errors,
                           self.source + (f" + {source}" if source else ""))


def fit_growth(rows, *, s0=None, fixed_rates=None, source="", min_curves: int = 2,
               axes=_AXES) -> ErrorGrowth:
    """Maximum-likelihood error growth from backtest rows.

    Parameters
    ----------
    rows : list of dict
        ``{"run_id", "error" (signed log), "steps", "lr", "N"}`` (distances in decades;
        missing axes are 0).
    s0 : float, optional
        Hold the floor at this value (e.g. measured by LOCO) instead of fitting it.
    fixed_rates : dict, optional
        Rates held at given values (``{axis: rate}``), not fitted.
    min_curves : int
        Fewer distinct curves than this: every rate takes its fallback.
    axes : sequence of str
        Axes modelled.
    """
    fixed_rates = dict(fixed_rates or {})
    e = np.array([r["error"] for r in rows], float)
    X = np.array([[r.get(a, 0.0) for a in axes] for r in rows], float).reshape(len(rows), -1)
    curves = {r["run_id"] for r in rows}
    free = [j for j, a in enumerate(axes) if a not in fixed_rates and len(curves) >= min_curves
            and len(rows) and np.ptp(X[:, j]) > 0.05]
    rates = {a: fixed_rates.get(a, FALLBACK_RATES[a]) for a in axes}
    fit_s0 = s0 is None and len(rows) > 0
    if free or fit_s0:
        base = float(s0 or 0.0) ** 2 + sum((rates[a] * X[:, j]) ** 2 for j, a in
                                           enumerate(axes) if j not in free)

        def nll(z):
            var = base + (np.exp(2 * z[0]) if fit_s0 else 0.0) + sum(
                np.exp(2 * z[1 + i]) * X[:, j] ** 2 for i, j in enumerate(free))
            var = np.maximum(var, 1e-12)
            return float(np.sum(np.log(var) + e ** 2 / var))

        start = np.log(np.r_[max(float(np.sqrt(np.mean(e ** 2))), 1e-4),
                             [FALLBACK_RATES[axes[j]] for j in free]])
        z = optimize.minimize(nll, start, method="L-BFGS-B",
                              bounds=[(np.log(1e-5), np.log(1.0))] * start.size).x
        for i, j in enumerate(free):
            rates[axes[j]] = float(np.exp(z[1 + i]))
        s0 = float(np.exp(z[0])) if fit_s0 else float(s0 or 0.0)
    calibrated = {a: (j in free) or a in fixed_rates for j, a in enumerate(axes)}
    return ErrorGrowth(float(s0 or 0.0), rates, calibrated, dof=max(len(curves), 2),
                       n_errors=len(rows), source=source)


def mismatch(curve, ref_lr=None, ref_N=None) -> dict:
    """Decades between ``curve`` and the reference in peak LR and model size (0 when the
    reference's value is unknown)."""
    out = {"lr": 0.0, "N": 0.0}
    if ref_lr:
        lrs = np.atleast_1d(np.asarray(ref_lr, float))
        out["lr"] = float(np.min(np.abs(np.log10(curve.lr.max() / lrs))))
    if ref_N and curve.N:
        Ns = np.atleast_1d(np.asarray(ref_N, float))
        out["N"] = float(np.min(np.abs(np.log10(float(curve.N) / Ns))))
    return out


def truncation_errors(curve, ref_row, law, predict, *, fractions=PREFIX_FRACTIONS,
                      ref_lr=None, ref_N=None, min_points: int = 5) -> list[dict]:
    """Backtest rows of one finished ``curve``: cut at each fraction, predict its last
    point with ``predict(curve, head, ref_row) -> loss along curve.steps``.

    Cuts that leave fewer than ``min_points`` points, or nothing to predict, are skipped.
    """
    rows = []
    last = int(curve.steps[-1])
    far = mismatch(curve, ref_lr, ref_N)
    for frac in fractions:
        upto = int(frac * curve.total_steps)
        if upto >= last or int(np.sum(curve.steps <= upto)) < min_points:
            continue
        head = curve.head(upto)
        try:
            L = predict(curve, head, ref_row)
        except (ValueError, FloatingPointError):
            continue
        if not np.isfinite(L[-1]) or L[-1] <= 0:
            continue
        rows.append({"run_id": curve.run_id, "fraction": float(frac),
                     "error": float(np.log(L[-1] / curve.loss[-1])),
                     "steps": float(np.log10(last / max(int(head.steps[-1]), 1))), **far})
    return rows


def reference_axes(reference, run_sizes=None, reference_curves=None) -> tuple:
    """Peak LRs and model sizes of the reference's fitted runs (None where unknown)."""
    data = getattr(reference, "data", None) or {}
    lrs = [r["peak_lr"] for r in (data.get("run_schedules") or {}).values()
           if r.get("peak_lr")]
    Ns = [c.N for c in (reference_curves or []) if c.N]
    if not Ns and run_sizes:
        Ns = [run_sizes[r] for r in data.get("run_ids") or [] if run_sizes.get(r)]
    return (lrs or None), (Ns or None)


def pick_curves(curves, k: int = MAX_CALIBRATION_CURVES) -> list:
    """At most ``k`` curves, spread over the (model size, peak LR) groups, longest runs
    first in each group (each backtest is a refit: this bounds the cost)."""
    groups = {}
    for c in sorted(curves, key=lambda c: -int(c.steps[-1])):
        groups.setdefault((c.N, round(float(c.lr.max()), 12)), []).append(c)
    out, queues = [], list(groups.values())
    while len(out) < k and any(queues):
        for q in queues:
            if q and len(out) < k:
                out.append(q.pop(0))
    return out


def early_growth(reference, target, predict, ref_row, *, calibration_curves=(),
                 ref_lr=None, ref_N=None, fallback_s0=0.0) -> ErrorGrowth:
    """Error growth for an early-curve prediction of ``target``.

    Pools the reference fit's own truncation backtests (stored at fit time, the reference
    refitted without each run) with truncation backtests of the reference on
    ``calibration_curves`` (finished runs other than the target and the reference's own;
    their LR and size mismatch to the reference calibrate the mismatch rates). With
    backtests of fewer than two curves, every rate is the documented fallback and the
    floor is ``fallback_s0``.
    """
    data = getattr(reference, "data", None) or {}
    stored = [dict(r, lr=0.0, N=0.0) for r in
              (data.get("calibration") or {}).get("truncation", [])]
    skip = set(data.get("run_ids") or []) | {target.run_id}
    rows = []
    for c in pick_curves([c for c in calibration_curves or () if c.run_id not in skip]):
        rows += truncation_errors(c, ref_row, None, predict, ref_lr=ref_lr, ref_N=ref_N)
    n_curves = len({r["run_id"] for r in rows})
    source = f"{n_curves} finished runs not in the reference, cut at 10-80%"
    if n_curves < 2:
        # the reference's own runs, each cut with the law refitted without it: a weaker
        # reference than the one used (one run fewer), so these errors err on the wide side
        rows += stored
        n_curves = len({r["run_id"] for r in rows})
        source = (f"{n_curves} finished runs cut at 10-80% (the reference's own, refitted "
                  "without each)")
    if n_curves < 2:
        return ErrorGrowth(float(fallback_s0), dict(FALLBACK_RATES),
                           {a: False for a in _AXES}, dof=2, n_errors=len(rows),
                           source="no finished runs to backtest (fallback rates)")
    return fit_growth(rows, source=source)
