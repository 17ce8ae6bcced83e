"""`scaling hparams`: optimal learning rate and batch size vs compute from sweeps."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import emit, load


@click.command()
@click.argument("data_path", metavar="DATA")
@click.option("--compute", type=float, default=None,
              help="Also predict the hyperparameters at this budget (FLOPs).")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=0.0025,
              show_default=True, help="Near-optimal: loss within this fraction of the budget's "
                                      "best run (DeepSeek LLM: 0.25%).")
@click.option("--width", type=click.FloatRange(min=0, min_open=True), default=0.1,
              show_default=True, help="Runs within this many decades of compute form a budget.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=1000,
              show_default=True, help="Resamples of runs within budgets for intervals.")
@click.option("--level", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
              default=0.95, show_default=True, help="Interval level.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--col", "columns", multiple=True, metavar="NEW=OLD",
              help="Column map, e.g. --col peak_lr=learning_rate (repeatable).")
@click.option("--runs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Separate runs file (one row per run) to join with DATA.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def hparams(data_path, compute, tolerance, width, n_boot, level, seed, columns, runs, as_json):
    """Learning-rate and batch-size laws eta*(C), B*(C) from hyperparameter sweeps.

    DATA has one row per run with compute (C, or N and D), loss, and the swept
    `peak_lr` (or `lr`) and/or `batch_size` (or `tokens_per_step`). Per budget, the runs
    within --tolerance of the best loss form the near-optimal band; power laws are fitted
    through the band (DeepSeek LLM 2024) with bootstrap intervals.
    """
    from scaling.fits.hparams import hparam_laws_from_table

    table = load(data_path, columns, runs)
    result = hparam_laws_from_table(table, tolerance=tolerance, width=width, n_boot=n_boot,
                                    level=level, seed=seed, target_compute=compute)
    emit(result, as_json, None)
