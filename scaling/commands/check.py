"""`scaling check`: can this ladder predict the loss at compute C within X%?"""

from __future__ import annotations

import click

from ._common import points_for_few_runs, Finite, LawChoice, emit, fit_options, load, make_estimator


class Percent(click.ParamType):
    """``5%`` or ``0.05``: a fraction in (0, 1)."""

    name = "X%"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            number = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
        except ValueError:
            self.fail(f"expected a percentage such as 5% (or a fraction 0.05), got {value!r}",
                      param, ctx)
        if not 0 < number < 1:
            self.fail(f"must be between 0% and 100% of the loss, got {value!r}", param, ctx)
        return number


@click.command()
@click.argument("data_path", metavar="RUNS")
@click.option("--target-compute", type=Finite(min=1e6, max=1e35), required=True,
              help="FLOPs of the planned run (C = 6 N D), e.g. 5.88e23.")
@click.option("--within", type=Percent(), required=True,
              help="Precision asked for, relative to the loss: 5% (or 0.05).")
@click.option("--law", type=LawChoice(("point",)), default="chinchilla", show_default=True,
              help="Point law giving the compute-optimal point (`scaling laws`).")
@fit_options
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=1, max=100_000), default=1000,
              show_default=True, help="Bootstrap resamples (as `scaling plan`).")
@click.option("--proxy-budget", type=Finite(min=0, min_open=True), default=None,
              help="FLOPs for the suggested next runs (default 1% of --target-compute).")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9,
              show_default=True, help="Level of the prediction interval (pi).")
def check(data_path, target_compute, within, law, loss, delta, asymmetry, drop_highest, columns,
          runs, starts, seed, as_json, log_format, model_size, tokens_per_step, n_boot,
          proxy_budget, level):
    """Can RUNS predict the loss at --target-compute within --within?

    Line 1 answers yes or no with the prediction interval (pi) of the loss at the
    compute-optimal point for C; then why (its half-width against X, how far C lies
    past the largest run, the backtest evidence) and what to train next. Exit code 0
    for yes and for no (it is an answer); 2 for bad input.
    """
    from scaling.fits.check import check_target

    table = load(data_path, columns, runs, log_format, model_size, tokens_per_step)
    points_for_few_runs(table, law, drop_highest)
    estimator = make_estimator(law, None, loss, delta, asymmetry, drop_highest, starts, seed)
    result = check_target(table, target_compute, within, estimator=estimator, n_boot=n_boot,
                          seed=seed, level=level, proxy_budget=proxy_budget)
    emit(result, as_json, None)
