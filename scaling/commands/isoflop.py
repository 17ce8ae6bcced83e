"""`scaling isoflop`: Approach 2 (isoFLOP profiles) with a per-budget table and an interval."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import emit, format_option, load, where_option


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
                     default=0.95, show_default=True, help="Interval level."),
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
@click.option("--method", type=click.Choice(["parabola", "interp"]), default="parabola",
              show_default=True,
              help="Per-budget profile: windowed parabola of log loss vs log N, or an "
                   "Akima interpolant.")
@click.option("--window", type=click.FloatRange(min=0, min_open=True), default=0.5,
              show_default=True, help="Parabola window: decades of N either side of the "
                                      "lowest point of a budget.")
@click.option("--drop-edge", is_flag=True,
              help="Leave budgets whose lowest point is an end size out of the power law "
                   "(default: keep and flag them).")
@budget_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write isoflop.json, isoflop.md and the plot isoflop.FORMAT here.")
@format_option
def isoflop(data_path, method, window, width, drop_edge, n_boot, level, seed, columns, runs,
            as_json, out, fmt):
    """Approach 2: compute-optimal N*(C) ~ C^a from isoFLOP profiles.

    Per compute budget, the minimum of log loss vs log N (windowed parabola or
    interpolant; budgets whose minimum is at an end size are kept and flagged), a power
    law through the minima, and a bootstrap interval on a and b; a per-budget table
    (N*, D*, loss*, points used, flag) and, with --out, a plot of every profile.
    """
    from scaling.data import atomic_write_text
    from scaling.fits.isoflop import isoflop_from_table

    table = load(data_path, columns, runs)
    result = isoflop_from_table(table, method=method, window=window, width=width,
                                drop_edge=drop_edge, n_boot=n_boot, level=level, seed=seed)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "isoflop.json", result.to_json() + "\n")
        atomic_write_text(out / "isoflop.md", "```\n" + result.report() + "\n```\n\n"
                          f"![isoFLOP profiles](isoflop.{fmt})\n")
        result.plot(out / f"isoflop.{fmt}")
    emit(result, as_json, None)
    if out is not None and not as_json:
        click.echo(f"\nwrote {out / 'isoflop.json'}, {out / 'isoflop.md'}, {out / f'isoflop.{fmt}'}")
