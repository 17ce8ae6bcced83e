"""The sections of a report file as Markdown tables (report.md; report.html renders them
as HTML tables): parameters, data, backtest and plan, instead of pasted terminal text."""

from __future__ import annotations

import math

from .report import param_flag
from .result import FitResult, format_number

__all__ = ["md_table", "params_section", "data_section", "backtest_section", "plan_section",
           "fit_summary"]


def md_table(header, rows) -> str:
    """A Markdown table; ``|`` and line breaks inside cells are made harmless."""
    def cell(value):
        return str(value).replace("|", "/").replace("\n", " ")

    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _interval(ci, digits=3) -> str:
    return f"[{format_number(ci[0], digits)}, {format_number(ci[1], digits)}]" if ci else "n/a"


def fit_summary(fit: FitResult) -> list[str]:
    """Two sentences: what was fitted to what, and whether the optimizer converged."""
    conv = fit.convergence
    return [f"`{fit.equation}` ({fit.citation}), fitted to {fit.n_points} points from "
            f"{fit.n_runs} runs.", "",
            f"Summed objective {fit.objective:.10g}; {conv.get('n_at_best', '?')} of "
            f"{conv.get('n_starts', '?')} starts reached the best optimum; "
            + ("converged." if fit.converged else "**did not converge**.")] + _heldout_line(fit)


def _heldout_line(fit: FitResult) -> list[str]:
    """Curve laws: the held-out runs' mean and worst relative error, in one sentence."""
    summary, held = fit.data.get("heldout_summary"), fit.data.get("heldout") or {}
    if not summary or not held:
        return []
    return ["", f"Held out {len(held)} runs the law never saw: mean relative error "
                f"{summary['PredE']:.3%}, worst {summary['WorstE']:.3%}."]


def params_section(fit: FitResult) -> list[str]:
    """Parameter table: value, approx. std.err, interval, bounds and at-bound/fixed/tied."""
    choices = fit.choices
    rows = []
    for p in fit.params.values():
        flag = param_flag(p, choices)
        rows.append([p.name, format_number(p.value, 5),
                     format_number(p.stderr, 2) if p.stderr is not None else "n/a",
                     _interval(p.interval, 4) if p.interval else "not run",
                     f"[{format_number(p.lower, 2)}, {format_number(p.upper, 2)}]", flag])
    lines = [md_table(["parameter", "value", "approx. std.err", "interval", "bounds",
                       "at bound"], rows)]
    boot = choices.get("bootstrap")
    if isinstance(boot, dict) and {"level", "n_boot"} <= set(boot):
        lines += ["", f"Intervals: ci {boot['level']:.0%} of each parameter, percentile of "
                      f"{boot['n_boot']} bootstrap "
                      f"resamples over {boot.get('unit', 'runs')}"
                      + (f"; {boot['converged']} converged." if "converged" in boot else ".")]
    elif choices.get("stderr_method"):
        lines += ["", f"Std.err: {choices['stderr_method']}."]
    return lines


def data_section(fit: FitResult) -> list[str]:
    """Data table: points, runs, dropped and held-out runs, ranges, source, selection."""
    data = fit.data
    rows = [["points", f"{fit.n_points} points from {fit.n_runs} runs"]]
    dropped = data.get("dropped_run_ids") or []
    if dropped:
        rows.append(["dropped runs", f"{len(dropped)} ({data.get('drop_rule', 'trimmed')}): "
                                     + ", ".join(map(str, dropped[:8]))
                                     + (" ..." if len(dropped) > 8 else "")])
    for name, (lo, hi) in (data.get("ranges") or {}).items():
        decades = math.log10(hi / lo) if lo > 0 and hi > 0 else float("nan")
        rows.append([f"range of {name}", f"{format_number(lo, 3)} .. {format_number(hi, 3)} "
                                         f"({decades:.1f} decades)"])
    if data.get("step_range"):
        rows.append(["steps", " .. ".join(str(s) for s in data["step_range"])])
    if data.get("source"):
        rows.append(["source", f"{data['source']} (hash {data.get('data_hash', '?')})"])
    if data.get("selection_summary"):
        rows.append(["rows selected", data["selection_summary"]])
    if data.get("split_heldout"):
        rows.append(["held-out runs (split)",
                     f"{len(data['split_heldout'])}, mean abs. relative error "
                     f"{data['split_heldout_mean_abs_rel_error']:.2%}"])
    return [md_table(["item", "value"], rows)]


def backtest_section(bt: dict) -> list[str]:
    """Backtest table (mean/max error, interval coverage) and the interval growth law."""
    largest = bt["leave_largest_out"]
    cov = largest.get("coverage") or {}
    covered = (f"{cov['pi_covered']}/{cov['n']} in the {cov['level']:.0%} PI"
               + (f", {cov['ci_covered']}/{cov['n']} in the CI" if "ci_covered" in cov else "")
               if cov else "n/a")
    rows = [["leave-largest-out", f"{len(largest['held_out'])} runs with C >= "
             f"{format_number(largest['compute_cut'], 3)} (fit on {largest['n_fit']})",
             f"{largest['mean_abs_rel_error']:.2%}", f"{largest['max_abs_rel_error']:.2%}",
             covered, "useful" if largest["useful"] else "NOT useful"]]
    for band in bt.get("leave_one_scale_out", []):
        lo, hi = band["range"]
        rows.append(["leave-one-scale-out", f"{format_number(lo, 3)} .. {format_number(hi, 3)}",
                     f"{band['mean_abs_rel_error']:.2%}", f"{band['max_abs_rel_error']:.2%}",
                     "", ""])
    lines = [f"Bar: {bt['bar']:.0%} mean abs. relative error of the final loss.", "",
             md_table(["backtest", "held out", "mean abs. rel. error", "max", "coverage",
                       "verdict"], rows)]
    cal = bt.get("calibration")
    if cal:
        lines += ["", f"Prediction-interval growth: log-error sd = sqrt({cal['scatter']:.4f}^2 + "
                      f"({cal['rate_per_decade']:.4f} x decades)^2), x "
                      f"{cal.get('multiplier', 0):.2f} at {cal.get('level', 0.9):.0%} "
                      f"({cal['method']}, {cal['n_heldout']} held-out errors)."]
    if bt.get("seed_noise") is not None:
        lines += ["", f"Seed-to-seed noise of the final loss: {bt['seed_noise']:.2%}."]
    return lines


def plan_section(plan) -> list[str]:
    """The plan: headline, estimates table, approaches, sensitivity, stability."""
    from .plan_report import plan_headline

    rows = [["N* (parameters)", plan.N_opt, 3], ["D* (tokens)", plan.D_opt, 3],
            ["tokens per parameter", plan.tokens_per_param, 3], ["loss", plan.loss, 4]]
    names = {"gpu_hours": "GPU-hours", "wall_days": "wall-clock days", "cost": "cost (USD)"}
    rows += [[name, plan.resources[k], 3] for k, name in names.items() if k in plan.resources]
    lines = [plan_headline(plan) + ".", "",
             md_table(["quantity", "value", "prediction interval", "confidence interval"],
                      [[name, format_number(e.value, d), _interval(getattr(e, "pi", None), d),
                        _interval(e.ci, d)] for name, e, d in rows]), "",
             f"FLOPs {format_number(plan.compute, 3)} ({plan.flops_convention}); "
             f"{plan.extrapolation_decades:.2f} decades past the largest fitted run.", ""]
    if plan.target:
        t = plan.target
        lines += [f"To reach loss {t['loss']:.4g}: C = {format_number(t['compute']['value'], 3)} "
                  f"FLOPs {_interval(t['compute']['ci'])}, N* {format_number(t['N_opt'], 3)}, "
                  f"D* {format_number(t['D_opt'], 3)}.", ""]
    if plan.isoflop_penalty:
        lines += ["Loss increase at the same compute off the optimum (isoFLOP penalty): "
                  + ", ".join(f"{float(f):g}x N* +{v:.4f}"
                              for f, v in plan.isoflop_penalty.items()) + ".", ""]
    app_rows = []
    for name in ("approach1", "approach2", "approach3"):
        entry = plan.approaches.get(name, {})
        if "N_opt" in entry:
            ci = entry.get("a_ci")
            app_rows.append([name, format_number(entry["N_opt"], 3), f"{entry['a']:.3f}",
                             f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "n/a"])
        elif entry:
            app_rows.append([name, "skipped", entry.get("skipped", ""), ""])
    if app_rows:
        lines += ["### Hoffmann et al. approaches", "",
                  md_table(["approach", "N*", "a (N* ~ C^a)", "interval of a"], app_rows), ""]
    if plan.sensitivity:
        lines += ["### Sensitivity", "", md_table(
            ["variant", "alpha", "beta", "N*", "tokens/param", "outside interval"],
            [[r["variant"], "skipped", "", "", "", ""] if "skipped" in r else
             [r["variant"], f"{r['alpha']:.3f}", f"{r['beta']:.3f}", format_number(r["N_opt"], 3),
              f"{r['tokens_per_param']:.1f}", "yes" if r["outside_interval"] else ""]
             for r in plan.sensitivity]), ""]
    lines.append("**The plan is FRAGILE.** " + " ".join(plan.fragile_reasons) if plan.fragile
                 else "The plan is stable under the sensitivity refits.")
    return lines + [""]
