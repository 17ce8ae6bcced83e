"""`scaling schedules compare`: rank LR schedules with a saved curve-law fit."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import CURVE_LAWS, Finite, InputError, jsonable


@click.group()
def schedules():
    """Compare LR schedules with a fitted curve law."""


@schedules.command("compare")
@click.argument("fit_path", metavar="FIT.json",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--total-steps", type=click.IntRange(2, 10_000_000), required=True,
              help="Step budget of the planned run (at most 1e7: each candidate's LR is "
                   "integrated step by step).")
@click.option("--peak-lr", type=Finite(min=0, min_open=True, max=1.0), required=True,
              help="Peak learning rate of the candidates.")
@click.option("--warmup-steps", type=click.IntRange(min=0), default=None,
              help="Linear warmup steps of every candidate. Default: the warmup of the "
                   "fitted runs (saved with the fit).")
@click.option("--candidates", default=None, metavar="LIST|FILE",
              help="Schedules to rank, e.g. 'wsd:0.1,wsd:0.2,wsd-1sqrt:0.2,cosine:0.1,linear' "
                   "(wsd[-1sqrt|-exp|-cosine]:COOLDOWN_FRACTION, cosine:END_FRACTION, "
                   "linear[:END_FRACTION], constant), or a file with one per line. Default: "
                   "constant, cosine:0.1, linear, wsd:0.1, wsd:0.2.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a plot of the predicted curves here; the format from the "
                   "suffix: .png (200 dpi), .svg or .pdf.")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking as JSON.")
def schedules_compare(fit_path, total_steps, peak_lr, warmup_steps, candidates, plot,
                      as_json):
    """Rank candidate LR schedules (default: constant, cosine to 10%, linear D2Z, WSD
    10%/20% cooldown) by the final loss a saved curve-law fit (`scaling fit ... --law
    mpl|tissue --save`) predicts."""
    import json as _json

    from scaling.fits import FitResult, compare_schedules
    from scaling.fits.curve import plot_schedules
    from scaling.fits.curve.predict import parse_candidates

    from scaling.fits.saved_check import read_json_file
    try:
        fit = FitResult.from_dict(read_json_file(fit_path, "saved fit"))
    except _json.JSONDecodeError as err:
        raise InputError(f"{fit_path} is not JSON: {err}") from None
    if fit.law not in CURVE_LAWS:
        raise InputError(f"{fit_path} is a {fit.law!r} fit; schedule comparison needs a "
                         f"curve law ({', '.join(CURVE_LAWS)})")
    note = None
    if warmup_steps is None:
        warmup_steps, note = fitted_warmup(fit)
    specs = None
    if candidates:
        text = Path(candidates).read_text() if Path(candidates).is_file() else candidates
        try:
            specs = parse_candidates(text, total_steps, peak_lr, warmup_steps)
        except ValueError as err:
            raise InputError(f"--candidates: {err}") from None

    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.BadParameter(f"{str(plot)!r}: the plot's format comes from its suffix, "
                                 "one of .png, .svg, .pdf", param_hint="--plot")
    ranking = compare_schedules(fit, total_steps, peak_lr, warmup_steps=warmup_steps,
                                schedules=specs)
    absurd = [r for r in ranking if not (r["final_loss"] > 0)]  # also catches nan
    if absurd:
        raise InputError(f"the fit predicts a final loss of {absurd[0]['final_loss']:.4g} for "
                         f"{absurd[0]['name']} at --peak-lr {peak_lr:g}: far outside the "
                         "learning rates it was fitted on; give a peak LR near the fitted "
                         "runs'")
    if plot is not None:
        plot_schedules(fit, total_steps, peak_lr, plot, warmup_steps=warmup_steps,
                       schedules=specs)
    if as_json:
        click.echo(_json.dumps(jsonable(ranking), indent=2))
        if note:
            click.echo(f"note: {note}", err=True)
        return
    if note:
        click.echo(f"note: {note}")
    for line in _ranking_lines(ranking):
        click.echo(line)
    if plot is not None:
        click.echo(f"wrote {plot}")



def _ranking_lines(ranking) -> list[str]:
    """The ranking as text: each candidate's final loss with its pi, and its difference to
    the best with the interval of the difference."""
    best = ranking[0]
    level = best.get("level")
    lines = ([f"final loss with {level:.0%} prediction intervals (pi, new run); "
              f"differences to {best['name']} with their {level:.0%} intervals"]
             if "pi" in best else [])
    for rank, row in enumerate(ranking, 1):
        pi = f"  pi [{row['pi'][0]:.4f}, {row['pi'][1]:.4f}]" if "pi" in row else ""
        diff = ""
        if rank > 1:
            diff = f"  (+{row['final_loss'] - best['final_loss']:.4f})"
            d = row.get("vs_best")
            if d and d.get("interval"):
                lo, hi = d["interval"]
                diff = f"  +{d['value']:.4f} [{lo:+.4f}, {hi:+.4f}]" + (
                    "" if d["sure"] else " (cannot tell apart)")
        lines.append(f"{rank}. {row['name']:<16} predicted final loss "
                     f"{row['final_loss']:.4f}{pi}{diff}")
    if len(ranking) > 1 and ranking[1].get("vs_best", {}).get("interval"):
        d, second = ranking[1]["vs_best"], ranking[1]["name"]
        lo, hi = d["interval"]
        verdict = ("" if d["sure"] else "; the interval includes 0: the data cannot tell "
                   "them apart")
        lines.append(f"{best['name']} is lower than {second} by {d['value']:.4f} "
                     f"[{lo:.4f}, {hi:.4f}] ({level:.0%} interval of the difference)"
                     + verdict)
    lines += [f"warning: {w}" for w in best.get("warnings", [])]
    return lines
def fitted_warmup(fit) -> tuple[int, str]:
    """The candidates' warmup when --warmup-steps is not given: the fitted runs' (the
    median when they differ), with a note saying so; 0 for fits saved without it."""
    import statistics

    runs = (fit.data.get("run_schedules") or {}).values()
    warm = [int(r["warmup_steps"]) for r in runs
            if isinstance(r, dict) and isinstance(r.get("warmup_steps"), (int, float))]
    if not warm:
        return 0, ("the fit does not record its runs' warmup (saved by an older version): "
                   "the candidates have no warmup; pass --warmup-steps")
    value = int(statistics.median(warm))
    spread = "" if len(set(warm)) == 1 else f" (median; they range {min(warm)}-{max(warm)})"
    return value, (f"every candidate warms up over {value} steps, the fitted runs' "
                   f"warmup{spread}; pass --warmup-steps to change it")
