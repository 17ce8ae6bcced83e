"""One question, one answer: can this ladder predict the loss at compute C within X%?

The answer is read off the compute plan at C (:func:`scaling.fits.plan_compute`): the
prediction interval (``pi``, calibrated by backtests on the table) of the loss at the
compute-optimal point for C. Yes when its half-width, relative to the predicted loss, is
at most X. The answer carries why (the interval, how far C lies past the largest run,
the backtest evidence) and what to train next (:func:`scaling.fits.design.suggest_runs`:
the proxy runs that shrink the interval most within a proxy budget).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .display import ReportDisplay
from .result import format_number

__all__ = ["CheckResult", "check_target"]


@dataclass(frozen=True, repr=False)
class CheckResult(ReportDisplay):
    """The verdict of :func:`check_target`; ``report()`` puts the answer on line 1."""

    answer: bool
    target_compute: float
    within: float
    loss: object  # fits.plan.Estimate: value, ci, pi, level
    half_width: float  # of the pi, relative to the predicted loss
    N_opt: float
    D_opt: float
    extrapolation_decades: float
    backtest: dict = field(default_factory=dict)
    suggestion: dict | None = None
    warnings: tuple = ()

    @property
    def level(self) -> float:
        return float(self.loss.level)

    def headline(self) -> str:
        lo, hi = self.loss.pi
        return (f"{'yes' if self.answer else 'no'}: the loss at C = "
                f"{format_number(self.target_compute, 3)} FLOPs is predicted as "
                f"{self.loss.value:.4f} [{lo:.4f}, {hi:.4f}] (pi {self.level:.0%}), "
                f"+/-{self.half_width:.2%}, {'within' if self.answer else 'wider than'} "
                f"the {self.within:.2%} asked for; next run to train: {self._next()}")

    def _next(self) -> str:
        runs = (self.suggestion or {}).get("runs") or []
        if not runs:
            return "none narrows it within the proxy budget"
        return f"N {format_number(runs[0]['N'], 3)}, D {format_number(runs[0]['D'], 3)}"

    def report(self) -> str:
        bt = self.backtest
        lines = [self.headline(), "",
                 "why",
                 f"  compute-optimal point for C: N* {format_number(self.N_opt, 3)}, "
                 f"D* {format_number(self.D_opt, 3)}",
                 f"  pi half-width {self.half_width:.2%} of the loss vs {self.within:.2%} asked "
                 f"(ci of the law's mean [{self.loss.ci[0]:.4f}, {self.loss.ci[1]:.4f}])"
                 if self.loss.ci else
                 f"  pi half-width {self.half_width:.2%} of the loss vs {self.within:.2%} asked",
                 f"  extrapolation: {self.extrapolation_decades:.2f} decades of compute past "
                 "the largest run"]
        if bt.get("method") == "backtest":
            lines.append(f"  backtests: {bt['n_heldout']} held-out predictions from {bt['n_cuts']} "
                         f"refits without the largest runs, up to {bt['max_distance']:.2f} decades "
                         f"out; log-error sd {bt['scatter']:.2%} + {bt['rate_per_decade']:.2%} "
                         "per decade")
        elif bt:
            lines.append(f"  backtests: not possible on this table ({bt.get('method')}); the "
                         "interval uses the conservative default")
        lines += ["", "what to train next"]
        runs = (self.suggestion or {}).get("runs") or []
        if runs:
            s = self.suggestion
            lines.append(f"  within {format_number(s['budget_flops'], 3)} FLOPs of proxy runs, "
                         f"these cut the target's log-loss sd from {s['std_before']:.4f} to "
                         f"{s['std_after']:.4f}:")
            counts: dict = {}
            for r in runs:  # the same (N, D) twice: a second seed
                counts[(r["N"], r["D"], r["C"])] = counts.get((r["N"], r["D"], r["C"]), 0) + 1
            lines += [f"  - N {format_number(n, 3)}, D {format_number(d, 3)} "
                      f"(C {format_number(c, 3)})" + (f", {k} seeds" if k > 1 else "")
                      for (n, d, c), k in counts.items()]
        else:
            lines.append("  no proxy run within the budget narrows the interval (larger "
                         "runs, or a larger --proxy-budget)")
        if self.warnings:
            lines += ["", "warnings"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        bt = {k: v for k, v in self.backtest.items() if k not in ("points", "refits")}
        return {"question": f"loss at C={self.target_compute:g} within {self.within:g}",
                "answer": "yes" if self.answer else "no", "target_compute": self.target_compute,
                "within": self.within, "loss": self.loss.value, "pi": list(self.loss.pi),
                "ci": list(self.loss.ci) if self.loss.ci else None, "level": self.level,
                "half_width": self.half_width, "N_opt": self.N_opt, "D_opt": self.D_opt,
                "extrapolation_decades": self.extrapolation_decades, "backtest": bt,
                "suggestion": self.suggestion, "warnings": list(self.warnings)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=float)


def check_target(table, target_compute: float, within: float, *, estimator=None,
                 n_boot: int = 200, seed: int = 0, level: float = 0.9,
                 proxy_budget: float | None = None) -> CheckResult:
    """Can ``table`` predict the loss at ``target_compute`` within ``within`` (a fraction)?

    Parameters
    ----------
    table : RunsTable
    target_compute : float
        FLOPs of the planned run (C = 6 N D).
    within : float
        The precision asked for, as a fraction of the loss (0.05 for 5%).
    estimator : ScalingLawFit, optional
        Default: the Chinchilla law.
    n_boot, seed, level
        Bootstrap resamples, seed, and the interval level (default 0.9).
    proxy_budget : float, optional
        FLOPs for the suggested next runs (default: 1% of ``target_compute``).

    Returns
    -------
    CheckResult

    Raises
    ------
    ValueError
        For ``within`` outside (0, 1) or a non-positive ``target_compute``.
    """
    from .design import suggest_runs
    from . import ScalingLawFit
    from .plan import plan_compute

    if not 0 < within < 1:
        raise ValueError(f"`within` is a fraction of the loss in (0, 1) (5% is 0.05), got {within}")
    if not target_compute > 0:
        raise ValueError(f"`target_compute` must be > 0 FLOPs, got {target_compute}")
    estimator = estimator if estimator is not None else ScalingLawFit(law="chinchilla")
    plan = plan_compute(table, target_compute, estimator=estimator, n_boot=n_boot, seed=seed,
                        sensitivity=False, level=level)
    loss = plan.loss
    bounds = loss.pi if loss.pi is not None else loss.ci
    if bounds is None:
        raise ValueError("no interval for the loss (the bootstrap found none); rerun with "
                         "n_boot > 0")
    loss = loss if loss.pi is not None else type(loss)(loss.value, ci=loss.ci, pi=loss.ci,
                                                        level=loss.level)
    half = max(loss.value - bounds[0], bounds[1] - loss.value) / loss.value
    suggestion = None
    if plan.bootstrap is not None:
        try:
            suggestion = suggest_runs(plan.fit, plan.bootstrap,
                                      {"N": plan.N_opt.value, "D": plan.D_opt.value},
                                      budget_flops=proxy_budget or 0.01 * target_compute)
        except ValueError:
            suggestion = None
    return CheckResult(answer=bool(half <= within), target_compute=float(target_compute),
                       within=float(within), loss=loss, half_width=float(half),
                       N_opt=float(plan.N_opt.value), D_opt=float(plan.D_opt.value),
                       extrapolation_decades=float(plan.extrapolation_decades),
                       backtest=dict(plan.calibration or {}), suggestion=suggestion,
                       warnings=tuple(plan.warnings))
