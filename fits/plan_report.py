"""Terminal text of a compute plan."""

from __future__ import annotations

from .report import format_table
from .result import format_number

__all__ = ["format_plan", "format_estimate", "format_robust", "plan_headline"]


def format_estimate(estimate, digits: int = 3) -> str:
    """``value  [pi]  (ci [..])``: the prediction interval first when there is one."""
    text = format_number(estimate.value, digits)
    pi = getattr(estimate, "pi", None)
    if pi is not None:
        text += f"  [{format_number(pi[0], digits)}, {format_number(pi[1], digits)}]"
        if estimate.ci is not None:
            text += (f"  (ci [{format_number(estimate.ci[0], digits)}, "
                     f"{format_number(estimate.ci[1], digits)}])")
    elif estimate.ci is not None:
        text += f"  [{format_number(estimate.ci[0], digits)}, {format_number(estimate.ci[1], digits)}]"
    return text


def plan_headline(plan) -> str:
    """The first line of a plan's report: the budget and where its intervals come from."""
    fit = plan.fit
    level = fit.choices.get("bootstrap", {}).get("level")
    ci_note = (f"{level:.0%} intervals from {fit.choices['bootstrap']['n_boot']} bootstrap "
               f"resamples over {fit.choices['bootstrap']['unit']}" if level else "no intervals")
    if getattr(plan, "calibration", None):
        cal = plan.calibration
        ci_note = (f"[{cal['level']:.0%} prediction interval (pi), calibrated by "
                   f"{'backtests on this table' if cal['method'] == 'backtest' else 'the conservative default'}]"
                   f" (ci: {ci_note})")
    return (f"compute-optimal plan at C = {format_number(plan.compute, 3)} FLOPs "
            f"({plan.flops_convention}); {ci_note}")


def _span(pair, digits=3) -> str:
    return f"[{format_number(pair[0], digits)}, {format_number(pair[1], digits)}]"


def format_robust(robust: dict) -> list[str]:
    """The lead of a plan: what to train, and what it costs if the law is wrong."""
    tol, level = robust["tolerance"], robust["level"]
    rng, sure = robust["range"], robust.get("sure_range")
    n_mid = robust["interval"]
    regret = robust["regret"]
    rows = [["N to train (robust)", format_number(robust["N"], 3)
             + (f"  [{format_number(n_mid[0], 3)}, {format_number(n_mid[1], 3)}]"
                if all(v == v for v in n_mid) else "")],
            ["tokens per parameter", f"{robust['tokens_per_param']:.3g}"
             + (f"  [{robust['tokens_per_param'] * robust['N'] ** 2 / n_mid[1] ** 2:.3g}, "
                f"{robust['tokens_per_param'] * robust['N'] ** 2 / n_mid[0] ** 2:.3g}]"
                if all(v == v for v in n_mid) else "")],
            ["D (tokens)", format_number(robust["D"], 3)],
            ["expected loss", f"{robust['expected_loss']:.4f}"],
            ["cost if the law is wrong", f"+{regret['mean']:.2%} expected loss above the "
             f"optimum, +{regret['quantile']:.2%} in {level:.0%} of draws"],
            [f"P(loss within {tol:.1%} of the optimum)", f"{robust['p_within']:.0%} of "
             f"{robust['n_draws']} draws" + (
                 f", {robust['refits_within']['share']:.0%} of {robust['refits_within']['n']} "
                 "backtest/sensitivity refits" if robust.get("refits_within") else "")]]
    lines = [f"robust plan: the N that minimizes the expected loss over {robust['n_draws']} "
             f"bootstrap draws of the law (interval: N with expected loss within {tol:.1%})",
             format_table(["", "value  [interval]"], rows), ""]
    if all(v == v for v in rng["N"]):
        lo_i, hi_i = rng["lo_interval"], rng["hi_interval"]
        lines.append(f"N within {tol:.1%} of the optimal loss (fitted law): "
                     f"{_span(rng['N'])}, tokens per parameter "
                     f"{rng['tokens_per_param'][0]:.3g}-{rng['tokens_per_param'][1]:.3g}"
                     + (f"; {level:.0%} intervals of its ends {_span(lo_i)} and {_span(hi_i)}"
                        if lo_i and hi_i else ""))
    if sure:
        lines.append(f"N within {tol:.1%} of the optimum in >= {level:.0%} of draws: "
                     f"{_span(sure['N'])}, tokens per parameter "
                     f"{sure['tokens_per_param'][0]:.3g}-{sure['tokens_per_param'][1]:.3g}")
    else:
        lines.append(f"no N is within {tol:.1%} of the optimum in {level:.0%} of draws: "
                     "the law is too uncertain at this budget for that tolerance "
                     "(--tolerance, or add larger runs)")
    return lines


def format_plan(plan, *, warnings: bool = True, fit: bool = True) -> str:
    """The text report of a plan; ``warnings=False``/``fit=False`` leave out the warnings
    and the fit's own report (a report file shows them in their own sections)."""
    lines = [plan_headline(plan), ""]
    if getattr(plan, "robust", None):
        lines += format_robust(plan.robust) + [
            "", "detail: the fitted law's own optimum N* (its interval spans every draw's "
                "optimum and the drift of refits; most of it costs little, see above)"]
    rows = [["N* (parameters)", format_estimate(plan.N_opt)],
            ["D* (tokens)", format_estimate(plan.D_opt)],
            ["tokens per parameter", format_estimate(plan.tokens_per_param)],
            ["loss at the optimum", format_estimate(plan.loss, 4)],
            ["extrapolation", f"{plan.extrapolation_decades:.2f} decades past the largest run"
             + (" (" + ", ".join(f"{a} {v:+.2f}" for a, v in plan.extrapolation.items()) + ")"
                if plan.extrapolation else "")]]
    for key in ("gpu_hours", "wall_days", "cost"):
        if key in plan.resources:
            rows.append([key.replace("_", " "), format_estimate(plan.resources[key])])
    lines.append(format_table(["", "value  [interval]"], rows))
    if plan.target:
        t = plan.target
        ci = t["compute"]["ci"]
        lines += ["", f"to reach loss {t['loss']:.4g}: C = {format_number(t['compute']['value'], 3)}"
                  + (f" [{format_number(ci[0], 3)}, {format_number(ci[1], 3)}]" if ci else "")
                  + f" FLOPs, N* {format_number(t['N_opt'], 3)}, D* {format_number(t['D_opt'], 3)}"]
    app = plan.approaches
    lines += ["", "Hoffmann et al. approaches (N* at this budget, exponent a in N* ~ C^a)"]
    app_rows = []
    for name in ("approach1", "approach2", "approach3"):
        entry = app.get(name, {})
        if "N_opt" in entry:
            ci = entry.get("a_ci")
            app_rows.append([name, format_number(entry["N_opt"], 3), f"{entry['a']:.3f}"
                             + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")])
        elif entry:
            app_rows.append([name, "skipped", entry["skipped"][:70]])
    lines.append(format_table(["", "N*", "a"], app_rows))
    if app.get("disagree"):
        lines.append(f"  the approaches disagree by {app['disagreement_decades']:.2f} decades in N*")
    lines += ["", "isoFLOP penalty (loss increase at the same compute)"]
    lines.append("  " + ", ".join(f"{float(f):g}x N*: +{v:.4f}" for f, v in plan.isoflop_penalty.items()))
    if plan.sensitivity:
        lines += ["", "sensitivity (refits under other reasonable choices)"]
        rows = []
        for r in plan.sensitivity:
            if "skipped" in r:
                rows.append([r["variant"], "skipped", "", "", ""])
                continue
            rows.append([r["variant"], f"{r['alpha']:.3f}", f"{r['beta']:.3f}",
                         format_number(r["N_opt"], 3), f"{r['tokens_per_param']:.1f}"
                         + ("  <- outside interval" if r["outside_interval"] else "")])
        lines.append(format_table(["variant", "alpha", "beta", "N*", "tokens/param"], rows))
    lines.append("" if plan.sensitivity else "")
    lines.append("plan is FRAGILE (see warnings)" if plan.fragile else
                 "plan is stable under these choices and methods")
    if getattr(plan, "data_constrained", None):
        from .plan_data import format_data_constrained

        lines += format_data_constrained(plan.data_constrained)
    if getattr(plan, "hparams", None):
        from .hparams import HparamLaws

        lines += [""] + HparamLaws(**plan.hparams).report().splitlines()
    if plan.warnings and warnings:
        lines += ["", "warnings"] + [f"  - {w}" for w in plan.warnings]
    if fit:
        lines += ["", "fit", *("  " + line for line in plan.fit.report().splitlines())]
    return "\n".join(lines)
