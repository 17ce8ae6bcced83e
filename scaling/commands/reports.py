"""`scaling demo` and `scaling report`."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import (Finite, LawChoice, colorize, format_option, selection_kwargs, strip_ansi,
                      selection_options)


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("scaling-demo"), show_default=True, help="Directory for the reports.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=2, max=100_000), default=1000,
              show_default=True, help="Bootstrap resamples.")
@format_option
def demo(out, n_boot, fmt):
    """Fit, plan and predict on bundled data; write reports.

    Runs in well under a minute on 2 CPU cores, no network.
    """
    from scaling.demo import run_demo

    click.echo(colorize(run_demo(out, n_boot=n_boot, fmt=fmt)))


@click.command()
@click.argument("input_path", metavar="INPUT")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for report.md, report.html, fit.json and plots.")
@click.option("--law", type=LawChoice(), default=None,
              help="Law for data input (default: chinchilla, or tissue for curves without "
                   "token counts).")
@click.option("--drop-highest", type=click.IntRange(min=0), default=0, show_default=True,
              help="Leave out the K runs with the highest final loss.")
@click.option("--compute", type=Finite(min=1e6, max=1e35), default=None,
              help="Also plan this budget (FLOPs) and extend the plots to it.")
@click.option("--proxy-budget", type=Finite(min=0, min_open=True, max=1e35), default=None,
              help="FLOPs available for more proxy runs: suggest what to train next.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0, max=100_000), default=1000,
              show_default=True, help="Bootstrap resamples for intervals.")
@click.option("--col", "columns", multiple=True, metavar="NEW=OLD", help="Column map.")
@click.option("--runs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Separate runs file to join with INPUT.")
@format_option
@selection_options
def report(input_path, out, law, drop_highest, compute, proxy_budget, n_boot, columns, runs,
           fmt):
    """Write report.md, report.html, fit.json and plots.

    INPUT is a data file/directory (fitted with defaults) or a saved fit (JSON from
    `scaling fit --save`).
    """
    from scaling.reporting import report_from_cli

    click.echo(strip_ansi(report_from_cli(input_path, out, law=law, drop_highest=drop_highest,
                               compute=compute, proxy_budget=proxy_budget, n_boot=n_boot,
                               columns=columns, runs=runs, selection=selection_kwargs(),
                               fmt=fmt)))

