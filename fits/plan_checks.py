"""The checks of a compute plan: refits under other reasonable choices (sensitivity),
the prediction intervals of N*, D* and the loss, and the verdict that a plan is fragile.
They fill the sections of a :class:`fits.plan.Plan` (duck-typed: this module does not
import it)."""

from __future__ import annotations

import numpy as np

from .fit import ScalingLawFit, warm_refit
from .frontier import frontier_at, frontier_exponent
from .plan_data import implausible_reasons

__all__ = ["sensitivity", "prediction_intervals", "judge_fragility", "refit_params",
           "convention_variants"]


def _variants(estimator: ScalingLawFit) -> list[tuple[str, dict]]:
    base = estimator.drop_highest
    out = []
    if base:
        out.append((f"keep the {base} highest-loss runs", {"drop_highest": 0}))
    out.append((f"drop {base + 5} highest-loss runs", {"drop_highest": base + 5}))
    out.append(("drop the smallest 20% of models", {"drop_smallest_frac": 0.2}))
    if estimator.loss == "huber":
        out.append(("Huber delta 1e-2", {"delta": 1e-2}))
        out.append(("log-MSE loss", {"loss": "log-mse"}))
    else:
        out.append(("Huber loss (delta 1e-3)", {"loss": "huber", "delta": 1e-3}))
    return out


def refit_params(plan) -> list:
    """Parameters of the backtest and sensitivity refits (same N convention)."""
    out = [r["params"] for r in (plan.calibration or {}).get("refits", [])]
    return out + [r["params"] for r in plan.sensitivity
                  if "params" in r and not r.get("n_convention")]


def judge_fragility(plan) -> None:
    """A plan is fragile when reasonable choices or methods move it a lot."""
    reasons = []
    moved = [r["variant"] for r in plan.sensitivity if r.get("outside_interval")]
    if moved:
        reasons.append("N* or tokens per parameter leave their interval when refitting with: "
                       + "; ".join(moved))
    tpp = [r["tokens_per_param"] for r in plan.sensitivity
           if "tokens_per_param" in r and not r.get("n_convention")]  # other N counts differ
    tpp.append(plan.tokens_per_param.value)
    if max(tpp) / min(tpp) > 2.0:
        reasons.append(f"tokens per parameter ranges {min(tpp):.1f}-{max(tpp):.1f} across the "
                       "sensitivity refits (more than a factor 2)")
    if plan.approaches.get("disagree"):
        reasons.append(f"Approaches 1-3 disagree on N* by "
                       f"{plan.approaches['disagreement_decades']:.2f} decades")
    ci = plan.tokens_per_param.ci
    if ci is not None and ci[0] > 0 and ci[1] / ci[0] > 4.0:
        reasons.append(f"the tokens-per-parameter interval spans a factor {ci[1] / ci[0]:.1f}")
    reasons += implausible_reasons(plan)
    plan.fragile = bool(reasons)
    plan.fragile_reasons = reasons
    plan.warnings.extend(f"FRAGILE: {r}" for r in reasons)


def _drop_smallest(table, frac: float):
    final = table.final_points()
    cut = np.quantile(final["N"], frac)
    return table.subset(final.loc[final["N"] > cut, "run_id"])


def convention_variants(estimator, table) -> list[tuple[str, dict]]:
    """Refit with N counted another way, when the table tells how (model shape or an
    ``N_total`` column): Porian et al. 2024 and Pearce & Song 2024 trace much of the
    Kaplan/Chinchilla disagreement to this choice."""
    from scaling.data.nconvention import N_CONVENTION_CHOICES, convert_n

    merged = table.merged()
    current = estimator.n_convention
    try:
        base = convert_n(merged, current)[0] if current else merged["N"].to_numpy(dtype=float)
    except ValueError:
        return []
    out = []
    for convention in N_CONVENTION_CHOICES:
        try:
            values, how = convert_n(merged, convention)
        except ValueError:
            continue
        if "declared" in how or "as given" in how or np.allclose(values, base, rtol=1e-9):
            continue
        out.append((f"N counted as {convention} (N* in that count)",
                    {"n_convention": convention}))
    return out


def sensitivity(plan, estimator, table, compute, k, law) -> None:
    base = plan.fit
    rows = []
    for label, changes in _variants(estimator) + convention_variants(estimator, table):
        try:
            frac = changes.pop("drop_smallest_frac", None)
            alt = warm_refit(estimator, _drop_smallest(table, frac) if frac else table, base,
                             **changes)
        except ValueError as err:
            rows.append({"variant": label, "skipped": str(err)})
            continue
        q = alt.values
        n, d, loss = frontier_at(law, compute, q, k, plan.given)
        row = {"variant": label, "params": dict(q),
               **{s: q[s] for s in ("alpha", "beta") if s in q}, "N_opt": float(n),
               "tokens_per_param": float(d / n), "loss": float(loss)}
        row["outside_interval"] = not (plan.N_opt.contains(n) and
                                       plan.tokens_per_param.contains(d / n))
        if "n_convention" in changes:
            # N* counts other parameters: compare the exponent of N* ~ C^a, not N* itself
            a_base = frontier_exponent(law, base.values, compute, k, plan.given)
            row.update(n_convention=changes["n_convention"], outside_interval=False,
                       a=frontier_exponent(law, q, compute, k, plan.given))
            if abs(row["a"] - a_base) > 0.05:
                plan.warnings.append(
                    f"counting N as {changes['n_convention']} moves the exponent of N* ~ C^a "
                    f"from {a_base:.2f} to {row['a']:.2f} (Pearce & Song 2024; Porian et al. "
                    "2024): at this scale the parameter-count convention matters; fit the "
                    "count your target model will be sized by (--n-convention)")
        rows.append(row)
    plan.sensitivity = rows


def prediction_intervals(plan, estimator, table, compute, k, level, calibration,
                         law) -> None:
    """``pi`` of N*, D*, tokens per parameter and the loss at the optimum.

    The loss: the calibrated interval of a new run at (N*, D*)
    (:mod:`fits.intervals`). N*, D*, D*/N*: the bootstrap spread combined in quadrature
    (log units) with how far the optimum moved when the backtests removed the largest
    5-50% of the runs and under the sensitivity refits (RMS of the log moves), times the
    calibration's multiplier: the optimum drifts as larger runs arrive, which resampling
    the same runs cannot show.
    """
    from .intervals import calibrate, extrapolation

    cal = calibration or calibrate(estimator, table, plan.fit)
    points = plan.fit.data["points"]
    where = extrapolation({"N": points["N"], "D": points["D"]},
                          {"N": plan.N_opt.value, "D": plan.D_opt.value})
    plan.loss.pi = tuple(float(v) for v in cal.interval(plan.loss.value, where["decades"],
                                                        level, plan.loss.ci))
    moved = {"N": [], "D": [], "tpp": []}
    params = [r["params"] for r in cal.refits]
    params += [r["params"] for r in plan.sensitivity if "params" in r]
    for q in params:
        n, d, _ = frontier_at(law, compute, q, k, plan.given)
        moved["N"].append(np.log(n / plan.N_opt.value))
        moved["D"].append(np.log(d / plan.D_opt.value))
        moved["tpp"].append(np.log((d / n) / plan.tokens_per_param.value))
    m, z = cal.multiplier(level), _z(level)
    for key, est in (("N", plan.N_opt), ("D", plan.D_opt), ("tpp", plan.tokens_per_param)):
        s_move = (float(np.sqrt(np.mean(np.square(moved[key])))) if moved[key]
                  else cal.rate * max(where["decades"], 1.0))
        lo_sd = hi_sd = 0.0
        if est.ci is not None:
            lo_sd = np.log(est.value / min(est.ci[0], est.value)) / z
            hi_sd = np.log(max(est.ci[1], est.value) / est.value) / z
        est.pi = (float(est.value * np.exp(-m * np.hypot(lo_sd, s_move))),
                  float(est.value * np.exp(m * np.hypot(hi_sd, s_move))))
    for est in (plan.N_opt, plan.D_opt, plan.tokens_per_param, plan.loss):
        est.level, est.extrapolation = float(level), where
    plan.calibration = cal.to_dict(level)
    plan.warnings.extend(note for note in cal.notes if note not in plan.warnings)


def _z(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + level / 2))
