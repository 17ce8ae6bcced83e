"""A compute plan: N*, D*, L* and tokens per parameter at a budget, with intervals,
the three Hoffmann et al. approaches side by side, extrapolation distance and a
sensitivity check that flags fragile plans."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from scaling.data.checks import MAX_LOSS
from scaling.data.options import Options

from .display import ReportDisplay
from .bootstrap import BootstrapResult, bootstrap, with_bootstrap
from .compute_optimal import approach1_envelope, approach2_isoflop
from .fit import ScalingLawFit, as_table
from .frontier import compute_for_loss, frontier_at, frontier_exponent, frontier_laws
from .laws import get_law
from .plan_checks import convention_variants as _convention_variants  # noqa: F401 (old name)
from .plan_checks import judge_fragility, prediction_intervals, refit_params, sensitivity
from .plan_data import refuse_constrained, single_epoch_runs
from .plan_robust import DEFAULT_TOLERANCE, robust_choice
from .prediction import DEFAULT_LEVEL, Prediction
from .result import FitResult, to_jsonable

__all__ = ["Estimate", "Plan", "PlanOptions", "plan_compute", "extrapolation_decades", "extrapolation_by_axis",
           "frontier_laws"]

_PENALTY_FACTORS = (0.25, 0.5, 2.0, 4.0)


@dataclass
class Estimate:
    """A point estimate with a percentile interval (``ci`` is ``None`` without a bootstrap)
    and, for plan quantities, a prediction interval ``pi`` at ``level`` (see
    docs/uncertainty.md) and the ``extrapolation`` in decades."""

    value: float
    ci: tuple[float, float] | None = None
    pi: tuple[float, float] | None = None
    level: float | None = None
    extrapolation: dict | None = None

    @classmethod
    def from_samples(cls, value, samples, level) -> "Estimate":
        if samples is None:
            return cls(float(value))
        tail = 100 * (1 - level) / 2
        lo, hi = np.nanpercentile(np.asarray(samples, dtype=float), [tail, 100 - tail])
        return cls(float(value), (float(lo), float(hi)))

    def contains(self, value: float) -> bool:
        return self.ci is None or self.ci[0] <= value <= self.ci[1]


def extrapolation_decades(target_compute: float, fitted_compute) -> float:
    """log10(target compute / largest fitted compute): how far a prediction reaches."""
    return float(np.log10(target_compute / np.max(fitted_compute)))


def extrapolation_by_axis(target: dict, fitted: dict) -> dict:
    """Decades past the largest fitted value on each axis: ``{"C": .., "N": .., "D": ..}``.

    A plan reaches past its data when N* or D* does, even at a budget below the largest
    run (a model 2.8x larger than any fitted one is 0.45 decades out in N).
    """
    return {axis: float(np.log10(float(target[axis]) / np.max(np.asarray(fitted[axis],
                                                                          dtype=float))))
            for axis in target}


@dataclass(repr=False)
class Plan(ReportDisplay):
    """What ``scaling plan`` reports (see :func:`plan_compute`)."""

    compute: float
    N_opt: Estimate
    D_opt: Estimate
    loss: Estimate
    tokens_per_param: Estimate
    extrapolation_decades: float
    flops_convention: str
    fit: FitResult
    approaches: dict = field(default_factory=dict)
    isoflop_penalty: dict = field(default_factory=dict)
    sensitivity: list = field(default_factory=list)
    fragile: bool = False
    fragile_reasons: list = field(default_factory=list)
    target: dict | None = None
    #: allocation under a unique-token budget (``unique_tokens``; fits.plan_data)
    data_constrained: dict | None = None
    #: learning-rate / batch-size laws when the table has sweeps (fits.hparams)
    hparams: dict | None = None
    correlation: dict | None = None
    resources: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    #: the bootstrap behind the intervals (reports reuse it for bands and suggestions)
    bootstrap: BootstrapResult | None = None
    #: how the prediction intervals were calibrated (fits.intervals.Calibration.to_dict)
    calibration: dict | None = None
    #: decades past the largest fitted run in C, N* and D* (extrapolation_decades: the max)
    extrapolation: dict = field(default_factory=dict)
    #: variables held fixed along the law's frontier (``law.frontier_given``: e.g. ``U``)
    given: dict = field(default_factory=dict)
    #: the robust N and the N range within tolerance of the optimum (fits.plan_robust)
    robust: dict | None = None

    def to_dict(self) -> dict:
        out = {k: (asdict(v) if isinstance(v, Estimate) else v) for k, v in self.__dict__.items()
               if k not in ("fit", "resources", "bootstrap")}
        for key, value in self.resources.items():
            out[key] = asdict(value) if isinstance(value, Estimate) else value
        out["flops"] = self.compute
        out["fit"] = self.fit.to_dict()
        return to_jsonable(out)

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent)

    def loss_prediction(self) -> Prediction:
        """The loss at the optimum (N*, D*) as a :class:`~fits.prediction.Prediction`."""
        est = self.loss
        return Prediction(value=[est.value], ci=None if est.ci is None else [est.ci],
                          pi=None if est.pi is None else [est.pi],
                          level=est.level or DEFAULT_LEVEL,
                          at={"C": self.compute, "N": self.N_opt.value, "D": self.D_opt.value},
                          index=[f"C={self.compute:.3g}"],
                          extrapolation=[self.extrapolation_decades],
                          extrapolation_by={k: [max(0.0, v)] for k, v in
                                            (self.extrapolation or {}).items()},
                          law=self.fit.law, warnings=tuple(self.warnings),
                          interval_method=(self.calibration or {}).get("method", ""))

    def to_frame(self):
        """One row per planned quantity (N*, D*, tokens per parameter, loss): value,
        ``ci_*``, ``pi_*``, level."""
        import pandas as pd

        rows = {}
        for name in ("N_opt", "D_opt", "tokens_per_param", "loss"):
            est = getattr(self, name)
            ci, pi = est.ci or (None, None), est.pi or (None, None)
            rows[name] = {"value": est.value, "ci_lower": ci[0], "ci_upper": ci[1],
                          "pi_lower": pi[0], "pi_upper": pi[1], "level": est.level}
        return pd.DataFrame.from_dict(rows, orient="index").astype(float)

    def html_tables(self):
        """Heading, tables and warnings of the notebook view (``_repr_html_``)."""
        return (f"compute-optimal plan at C = {self.compute:.3g} FLOPs"
                + (" (FRAGILE)" if self.fragile else ""),
                [("plan", self.to_frame())], self.warnings)

    def report(self) -> str:
        from .plan_report import format_plan

        return format_plan(self)


def _samples(boot: BootstrapResult | None, function):
    return None if boot is None else boot.derived(function)


@dataclass(frozen=True)
class PlanOptions(Options):
    """Options of :func:`plan_compute` (see there for each)."""

    estimator: ScalingLawFit | None = None
    n_boot: int = 1000
    seed: int = 0
    level: float = DEFAULT_LEVEL
    target_loss: float | None = None
    k: float = 6.0
    max_extrapolation: float = 2.0
    sensitivity: bool = True
    calibration: object = None
    unique_tokens: float | None = None
    tolerance: float = DEFAULT_TOLERANCE


def plan_compute(data, compute: float | None = None, *, options: PlanOptions | None = None,
                 **kwargs) -> Plan:
    """Compute-optimal plan at ``compute`` FLOPs from a Chinchilla fit of ``data``.

    Parameters
    ----------
    data : RunsTable, DataFrame or path
    compute : float, optional
        Training budget in FLOPs (C = k N D). Without it, the budget is the compute
        needed to reach ``target_loss``.
    options : PlanOptions, optional
        The options below as one object; keyword arguments change it.
    estimator : ScalingLawFit, optional
        How to fit (default: Chinchilla law, Huber delta 1e-3, Epoch's grid).
    n_boot : int
        Bootstrap resamples over runs for intervals (0 disables them).
    target_loss : float, optional
        Also report the compute (and N*, D*) needed to reach this loss.
    k : float
        FLOPs per parameter per token (6: Kaplan et al. 2020).
    max_extrapolation : float
        Warn when the budget is more than this many decades past the largest run.
    sensitivity : bool
        Refit under alternative reasonable choices and flag a fragile plan.
    level : float
        Level of the confidence (``ci``) and prediction (``pi``) intervals.
    calibration : fits.intervals.Calibration, optional
        Reuse a calibration of the prediction intervals (default: backtests on ``data``).
    unique_tokens : float, optional
        Unique tokens available: also plan under this data constraint (data-constrained
        law, Muennighoff et al. 2023; :func:`fits.plan_data.data_constrained_plan`).
    tolerance : float
        Relative loss above the optimum accepted by the robust plan (0.005 = 0.5%):
        :func:`fits.plan_robust.robust_choice` (needs the bootstrap).
    """
    opts = PlanOptions.build(options, **kwargs)
    _check_request(compute, opts)
    estimator = opts.estimator or ScalingLawFit(law="chinchilla")
    opts = PlanOptions.build(opts, estimator=estimator)
    law, given, tables, fit, single_note = _fit_for_plan(as_table(data), opts)
    table = tables[0]
    k, p = opts.k, fit.values
    if compute is None:
        compute = float(compute_for_loss(law, opts.target_loss, p, k, given))
        if not math.isfinite(compute):
            raise ValueError(f"target loss {opts.target_loss} is not above the fitted "
                             f"irreducible loss E = {p['E']:.4g}: no amount of compute "
                             "reaches it")
    boot = (bootstrap(fit, n_boot=opts.n_boot, seed=opts.seed, level=opts.level)
            if opts.n_boot else None)
    fit = fit if boot is None else with_bootstrap(fit, boot)
    plan = _optimum_plan(law, compute, fit, boot, given, opts,
                         [single_note] if single_note else [])
    _add_sections(plan, law, tables, compute, opts)
    if opts.sensitivity:
        sensitivity(plan, estimator, table, compute, k, law)
    prediction_intervals(plan, estimator, table, compute, k, opts.level, opts.calibration, law)
    if boot is not None:
        ok = np.asarray(boot.converged, dtype=bool)
        try:
            plan.robust = robust_choice(law, compute, p, {q: np.asarray(v)[ok] for q, v in
                                                          boot.samples.items()},
                                        k=k, given=given, tolerance=opts.tolerance,
                                        level=opts.level, alternatives=refit_params(plan))
        except ValueError as err:
            plan.warnings.append(f"no robust plan: {err}")
    judge_fragility(plan)
    return plan


def _check_request(compute, opts: PlanOptions) -> None:
    if not 0 < opts.tolerance < 1:
        raise ValueError(f"`tolerance` must be in (0, 1) (0.005 = 0.5%), got {opts.tolerance}")
    if compute is None and opts.target_loss is None:
        raise ValueError("give a budget `compute` (FLOPs) and/or a `target_loss`")
    if opts.target_loss is not None and opts.target_loss > MAX_LOSS:
        raise ValueError(f"target loss {opts.target_loss:g} is not a cross-entropy in nats "
                         f"(below ~{MAX_LOSS:g} for any vocabulary): a perplexity? its log is "
                         f"{math.log(opts.target_loss):.4g}; a percentage? divide by 100")
    if compute is not None and not (isinstance(compute, (int, float)) and math.isfinite(compute)
                                    and compute > 0):
        raise ValueError(f"`compute` must be a positive number of FLOPs, got {compute!r}")


def _fit_for_plan(table, opts: PlanOptions):
    """The law (which must have a frontier), the variables held along it, the table fitted
    (single-epoch runs for a law without U), the full table and the fit."""
    estimator = opts.estimator
    law = get_law(estimator.law)
    if not law.has_frontier:
        raise ValueError("compute-optimal planning needs a law with a compute-optimal "
                         f"frontier ({', '.join(frontier_laws())}); got law {law.name!r}")
    given = {v: value for v, value in (("U", opts.unique_tokens),) if v in law.frontier_given}
    law.frontier(1e20, {p: 1.0 for p in law.params}, k=opts.k, **given)  # raises if U missing
    full_table = table
    single_note = None
    if "U" not in law.variables:  # a law without U counts repeated tokens as fresh
        table, single_note = single_epoch_runs(table)
    fit = estimator.fit(table, warn=False).result_
    return law, given, (table, full_table), fit, single_note


def _optimum_plan(law, compute, fit, boot, given, opts: PlanOptions, notes: list) -> Plan:
    """The plan's optimum N*, D*, L* with bootstrap intervals, and its reach; ``notes``
    join the fit's warnings."""
    p, k, level = fit.values, opts.k, opts.level

    def optimum(**q):
        return frontier_at(law, compute, q, k, given)

    n_opt, d_opt, l_opt = optimum(**p)
    if "U" in given:
        refuse_constrained(compute, given["U"], p, k)
    sample_opt = _samples(boot, optimum)
    pick = (lambda i: None) if sample_opt is None else (lambda i: sample_opt[i])
    plan_warnings = list(fit.warnings) + notes
    points = fit.data["points"]
    fitted_c = k * np.asarray(points["N"]) * np.asarray(points["D"])
    reach = extrapolation_by_axis({"C": compute, "N": n_opt, "D": d_opt},
                                  {"C": fitted_c, "N": points["N"], "D": points["D"]})
    axis = max(reach, key=reach.get)
    decades = reach[axis]
    if decades > opts.max_extrapolation:
        what = {"C": "the budget", "N": "N*", "D": "D*"}[axis]
        plan_warnings.append(f"{what} is {decades:.1f} decades beyond the largest fitted run "
                             f"in {axis} (limit {opts.max_extrapolation:g}): treat the plan as "
                             "a guess; add larger proxy runs")
    if p["E"] > min(points["loss"]):
        plan_warnings.append(f"E = {p['E']:.4g} is above the smallest observed loss "
                             f"{min(points['loss']):.4g}: the fit contradicts the data")
    tpp_samples = None if sample_opt is None else sample_opt[1] / sample_opt[0]
    return Plan(compute=float(compute),
                N_opt=Estimate.from_samples(n_opt, pick(0), level),
                D_opt=Estimate.from_samples(d_opt, pick(1), level),
                loss=Estimate.from_samples(l_opt, pick(2), level),
                tokens_per_param=Estimate.from_samples(d_opt / n_opt, tpp_samples, level),
                extrapolation_decades=decades, flops_convention=f"C = {k:g} N D", fit=fit,
                warnings=plan_warnings, bootstrap=boot, extrapolation=reach, given=given)


def _add_sections(plan: Plan, law, tables, compute, opts: PlanOptions) -> None:
    """Parameter correlations, isoFLOP penalties, Approaches 1-3, the target, the
    data-constrained plan and the hyperparameter laws."""
    table, full_table = tables
    fit, boot, given, k = plan.fit, plan.bootstrap, plan.given, opts.k
    p, points = fit.values, fit.data["points"]
    if boot is not None:
        # A and B measured at the data's centre, so the matrix shows real confounding
        centers = {"A": float(np.mean(np.log(points["N"]))),
                   "B": float(np.mean(np.log(points["D"])))}
        plan.correlation = boot.correlation({s: c for s, c in centers.items() if s in p})
        for a, b in (("alpha", "beta"), ("A", "alpha"), ("B", "beta")):
            if a in p and b in p and abs(plan.correlation[a][b]) > 0.9:
                plan.warnings.append(f"{a} and {b} are strongly correlated across bootstrap "
                                     f"resamples (r = {plan.correlation[a][b]:+.2f}): the data "
                                     "cannot separate them; widen the range of N and D")
    n_opt, d_opt, l_opt = plan.N_opt.value, plan.D_opt.value, plan.loss.value
    plan.isoflop_penalty = {str(f): float(law.predict(p, N=n_opt * f, D=d_opt / f, **given)
                                          - l_opt) for f in _PENALTY_FACTORS}
    plan.approaches = _approaches(table, fit, compute, k, n_opt,
                                  frontier_exponent(law, p, compute, k, given))
    if opts.target_loss is not None:
        plan.target = _target(law, opts.target_loss, p, boot, opts.level, k, given)
    if opts.unique_tokens is not None and not given:  # a law without U: a second plan
        from .plan_data import data_constrained_plan

        plan.data_constrained = data_constrained_plan(compute, opts.unique_tokens, p,
                                                      table=full_table, k=k)
        plan.warnings.extend(w for w in plan.data_constrained["warnings"]
                             if not w.startswith("FRAGILE: "))  # judge_fragility adds them
    from .hparams import hparam_plan_section

    plan.hparams = hparam_plan_section(table, compute, seed=opts.seed)


def _approaches(table, fit, compute, k, n_opt3, a3) -> dict:
    # the fitted rows themselves (split, where, checkpoints, N convention applied)
    kept = {c: np.asarray(fit.data["points"][c], dtype=float) for c in ("N", "D", "loss")}
    out = {"approach3": {"N_opt": float(n_opt3), "a": a3}}
    for name, function in (("approach1", approach1_envelope), ("approach2", approach2_isoflop)):
        try:
            found = function(kept["N"], k * kept["N"] * kept["D"], kept["loss"], k=k)
        except ValueError as err:
            out[name] = {"skipped": str(err)}
            continue
        out[name] = {"N_opt": float(found["N_opt"](compute)), "a": found["a"]}
        if found.get("a_ci"):  # Approach 2: bootstrap over runs within budgets
            out[name]["a_ci"] = list(found["a_ci"])
            out[name]["flagged_budgets"] = sum(bool(b["flag"]) for b in found["budgets"])
    values = [v["N_opt"] for v in out.values() if "N_opt" in v]
    spread = float(np.log10(max(values) / min(values)))
    out["disagreement_decades"] = spread
    out["disagree"] = spread > 0.15  # more than a factor ~1.4 in N*
    return out


def _target(law, target_loss, p, boot, level, k, given) -> dict:
    if target_loss <= p["E"]:
        raise ValueError(f"target loss {target_loss} is not above the fitted irreducible loss "
                         f"E = {p['E']:.4g}: no amount of compute reaches it")
    c_need = compute_for_loss(law, target_loss, p, k, given)
    samples = _samples(boot, lambda **q: compute_for_loss(law, target_loss, q, k, given))
    n, d, _ = frontier_at(law, c_need, p, k, given)
    unreachable = 0 if samples is None else int(np.sum(~np.isfinite(samples)))
    return {"loss": float(target_loss), "compute": asdict(Estimate.from_samples(c_need, samples, level)),
            "N_opt": float(n), "D_opt": float(d), "resamples_never_reaching": unreachable}
