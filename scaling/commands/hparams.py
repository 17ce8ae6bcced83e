"""`scaling hparams`: optimal learning rate and batch size vs compute from sweeps."""

from __future__ import annotations

import click

from ._common import emit, load
from .isoflop import budget_options


@click.command()
@click.argument("data_path", metavar="DATA")
@click.option("--compute", type=float, default=None,
              help="Also predict the hyperparameters at this budget (FLOPs).")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=0.0025,
              show_default=True, help="Near-optimal: loss within this fraction of the budget's "
                                      "best run (DeepSeek LLM: 0.25%).")
@budget_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def hparams(data_path, compute, tolerance, width, n_boot, level, seed, columns, runs, as_json):
    """Learning-rate and batch-size laws eta*(C), B*(C) from hyperparameter sweeps.

    DATA has one row per run with compute (C, or N and D), loss, and the swept
    `peak_lr` (or `lr`) and/or `batch_size` (or `tokens_per_step`). Per budget, the runs
    within --tolerance of the best loss form the near-optimal band; power laws are fitted
    through the band (DeepSeek LLM 2024) with bootstrap intervals.
    """
    from scaling.fits.hparams import hparam_laws_from_table

    table = load(data_path, columns, runs, require_size=False)  # C alone is enough
    result = hparam_laws_from_table(table, tolerance=tolerance, width=width, n_boot=n_boot,
                                    level=level, seed=seed, target_compute=compute)
    emit(result, as_json, None)
