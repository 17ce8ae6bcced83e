"""`scaling isoflop`: Approach 2 (isoFLOP profiles) with a per-budget table and an interval."""

from __future__ import annotations

from pathlib import Path

import click

from scaling.fits.prediction import DEFAULT_LEVEL

from ._common import emit, format_option, load, where_option


def _computes(value):
    if not value:
        return []
    try:
        out = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected FLOP budgets separated by commas, e.g. "
                                 f"1e22,5.88e23; got {value!r}", param_hint="--compute") from None
    if not out or not all(0 < c < float("inf") for c in out):
        raise click.BadParameter(f"budgets must be finite and > 0; got {value!r}",
                                 param_hint="--compute")
    return out


def _n_star_lines(prediction, k):
    """N* and D* at each requested budget, with the interval (the library's numbers)."""
    lines = [f"compute-optimal N* from the isoFLOP power law ({prediction.pct} ci: where the "
             "optimum is)"]
    for i, c in enumerate(prediction.at["C"]):
        lo, hi = prediction.ci[i]
        n = prediction.value[i]
        lines.append(f"  C = {c:.3g}: N* {n:.3g} [{lo:.3g}, {hi:.3g}]  D* {c / (k * n):.3g} "
                     f"[{c / (k * hi):.3g}, {c / (k * lo):.3g}]  tokens/param "
                     f"{c / (k * n * n):.3g}"
                     + (f"  ({prediction.extrapolation[i]:.1f} decades past the budgets "
                        "fitted)" if prediction.extrapolation[i] > 0 else ""))
    lines += [f"warning: {w}" for w in prediction.warnings]
    return "\n".join(lines)


def budget_options(function):
    """Options shared by the verbs that group runs into compute budgets and bootstrap
    within them (`isoflop`, `hparams`): --width, --bootstrap, --level, --seed, --col, --runs."""
    for option in reversed([
        click.option("--width", type=click.FloatRange(min=0, min_open=True), default=0.1,
                     show_default=True,
                     help="Runs within this many decades of compute form a budget."),
        click.option("--bootstrap", "n_boot", type=click.IntRange(min=0, max=100_000), default=1000,
                     show_default=True, help="Resamples of runs within budgets for intervals."),
        click.option("--level", type=click.FloatRange(min=0, max=1, min_open=True,
                                                      max_open=True),
                     default=DEFAULT_LEVEL, show_default=True, help="Interval level (pi and ci)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed."),
        click.option("--col", "columns", multiple=True, metavar="NEW=OLD",
                     help="Column map, e.g. --col loss=val/loss (repeatable)."),
        click.option("--runs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Separate runs file (one row per run) to join with DATA."),
    ]):
        function = option(function)
    return where_option(function)


@click.command()
@click.argument("data_path", metavar="DATA")
@click.option("--method", type=click.Choice(["auto", "parabola", "interp"]), default="auto",
              show_default=True,
              help="Per-budget profile: windowed parabola of log loss vs log N, an Akima "
                   "interpolant, or auto: the one (parabola windows 0.5/1/2, interp) whose "
                   "power law best predicts left-out budgets on this table.")
@click.option("--window", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Parabola window: decades of N either side of the lowest point of a "
                   "budget [default with --method parabola: 1].")
@click.option("--compute", "computes", default=None, metavar="C[,C...]",
              help="Predict the compute-optimal N* (and D*) at these budgets, with the "
                   "interval, e.g. --compute 1e22,5.88e23.")
@click.option("--drop-edge", is_flag=True,
              help="Leave budgets whose lowest point is an end size out of the power law "
                   "(default: keep and flag them).")
@budget_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write isoflop.json, isoflop.md and the plot isoflop.FORMAT here.")
@format_option
def isoflop(data_path, method, window, computes, width, drop_edge, n_boot, level, seed, columns,
            runs, as_json, out, fmt):
    """Approach 2: compute-optimal N*(C) ~ C^a from isoFLOP profiles.

    Per compute budget, the minimum of log loss vs log N (windowed parabola or
    interpolant; budgets whose minimum is at an end size are kept and flagged), a power
    law through the minima, and a bootstrap interval on a and b; a per-budget table
    (N*, D*, loss*, points used, flag) and, with --out, a plot of every profile.
    """
    from scaling.data import atomic_write_text
    from scaling.fits.isoflop import isoflop_from_table

    targets = _computes(computes)
    table = load(data_path, columns, runs)
    result = isoflop_from_table(table, method=method, window=window, width=width,
                                drop_edge=drop_edge, n_boot=n_boot, level=level, seed=seed)
    if targets:
        prediction = result.predict_N(targets)
        if as_json:
            import json

            payload = result.to_dict()
            payload["N_opt_at"] = prediction.to_dict()
            click.echo(json.dumps(payload, indent=2))
            return
        click.echo(result.report() + "\n\n" + _n_star_lines(prediction, result.k))
        return
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "isoflop.json", result.to_json() + "\n")
        atomic_write_text(out / "isoflop.md", "```\n" + result.report() + "\n```\n\n"
                          f"![isoFLOP profiles](isoflop.{fmt})\n")
        result.plot(out / f"isoflop.{fmt}")
    emit(result, as_json, None)
    if out is not None and not as_json:
        click.echo(f"\nwrote {out / 'isoflop.json'}, {out / 'isoflop.md'}, {out / f'isoflop.{fmt}'}")
