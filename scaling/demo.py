"""`scaling demo`: the main job on bundled data only, end to end, in well under a minute.

1. Fit the Chinchilla law to Epoch AI's extraction of Hoffmann et al. (5 highest-loss runs
   dropped, as Besiroglu et al. 2024), with 1,000 bootstrap resamples and a backtest.
2. Plan the Chinchilla budget (5.88e23 FLOPs): N*, D*, tokens per parameter with
   intervals, Approaches 1-3, sensitivity, GPU-hours; suggest the next proxy runs.
3. Fit the LR-annealing law on three 25M curves of Luo et al. 2025 and predict the six
   held-out schedules.
4. Write both reports (Markdown, HTML with plots, JSON).
"""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = ["run_demo"]

CHINCHILLA_BUDGET = 5.88e23


def run_demo(out_dir="scaling-demo", *, n_boot: int = 1000, fmt: str = "png") -> str:
    """Run the demo, write reports under ``out_dir`` (plots in ``fmt``: png, svg or pdf)
    and return the terminal text."""
    from dataclasses import replace

    from scaling.data import load_chinchilla_epoch, load_multipower
    from scaling.fits import FitWarning, ScalingLawFit, backtest, fit_curves, plan_compute
    from scaling.fits.design import suggest_runs
    from scaling.fits.report_files import write_report

    from .costs import attach_resources

    out = Path(out_dir)
    table = load_chinchilla_epoch()
    estimator = ScalingLawFit(law="chinchilla", drop_highest=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        plan = plan_compute(table, CHINCHILLA_BUDGET, estimator=estimator, n_boot=n_boot)
        plan = attach_resources(plan, "h100", n_gpus=1024, mfu=0.4, price_per_gpu_hour=2.0)
        boot = plan.bootstrap
        plan = replace(plan, fit=plan.fit.with_data(backtest=backtest(estimator, table,
                                                                      plan.fit)))
        suggestion = suggest_runs(plan.fit, boot, {"N": plan.N_opt.value, "D": plan.D_opt.value},
                                  budget_flops=1e22)
        plan_files = write_report(plan, out / "chinchilla", table=table, boot=boot,
                                  suggestion=suggestion, title="Chinchilla: fit and plan", fmt=fmt)
    curves = load_multipower()
    fit_ids = ["25M/constant_24000", "25M/cosine_24000", "25M/wsdcon_9"]
    # held out: the other 25M schedules only (never the fitted runs)
    heldout = [r for r in curves.runs["run_id"]
               if r.startswith("25M/") and r not in fit_ids]
    # the curve fit's warnings stay on it (warn=False): its report lists them
    curve_fit = fit_curves(curves, "tissue", fit_runs=fit_ids, eval_runs=heldout, warn=False)
    curve_files = write_report(curve_fit, out / "curves", table=curves,
                               title="LR-annealing law on the multi-power-law curves", fmt=fmt)
    summary = curve_fit.data["heldout_summary"]
    lines = [*_verdict(plan, summary, len(heldout)), "", plan.report(), "", curve_fit.report(), "",
             f"{len(heldout)} held-out schedules (25M, none of them fitted): mean "
             f"relative error {summary['PredE']:.3%}, "
             f"worst {summary['WorstE']:.3%}", "",
             f"reports: {plan_files.directory / 'report.html'}",
             f"         {curve_files.directory / 'report.html'}"]
    return "\n".join(lines)


def _verdict(plan, summary: dict, n_heldout: int) -> list[str]:
    """What the demo found, in two sentences: the first lines of its output."""
    from scaling.fits.result import format_number

    def pi(estimate, digits=3):
        bounds = estimate.pi if estimate.pi is not None else estimate.ci
        return ("" if bounds is None else f" [{format_number(bounds[0], digits)}, "
                f"{format_number(bounds[1], digits)}]")

    level = (getattr(plan, "calibration", None) or {}).get("level", 0.9)
    stable = "FRAGILE (see warnings)" if plan.fragile else "stable under the sensitivity refits"
    robust = getattr(plan, "robust", None)
    if robust:  # the plan's lead (issue 25): what to train, and the N range that costs little
        lo, hi = robust["range"]["N"]
        what = (f"N = {format_number(robust['N'], 3)} parameters on "
                f"D = {format_number(robust['D'], 3)} tokens "
                f"({robust['tokens_per_param']:.1f} tokens per parameter; any N in "
                f"[{format_number(lo, 3)}, {format_number(hi, 3)}] stays within "
                f"{robust['tolerance']:.1%} of the optimal loss)")
    else:
        what = (f"N* = {format_number(plan.N_opt.value, 3)}{pi(plan.N_opt)} parameters on "
                f"D* = {format_number(plan.D_opt.value, 3)}{pi(plan.D_opt)} tokens "
                f"({plan.tokens_per_param.value:.1f} tokens per parameter)")
    return [f"verdict: at the Chinchilla budget ({format_number(plan.compute, 3)} FLOPs) train "
            f"{what}, for a loss of {plan.loss.value:.3f}{pi(plan.loss, 4)} (pi {level:.0%}); "
            f"the plan is {stable}.",
            f"         the LR-annealing law, fitted on 3 curves, predicts {n_heldout} held-out "
            f"schedules with mean relative error {summary['PredE']:.2%} (worst "
            f"{summary['WorstE']:.2%})."]
