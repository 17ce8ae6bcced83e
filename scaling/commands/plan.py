"""`scaling plan`: compute-optimal allocation and cost."""

from __future__ import annotations

import click

from pathlib import Path

from ._common import points_for_few_runs, Finite, LawChoice, emit, make_estimator, fit_options, load


@click.command()
@click.argument("data_path", metavar="DATA")
@click.option("--compute", type=Finite(min=1e6, max=1e35), default=None,
              help="Training budget in FLOPs (C = 6 N D), e.g. 5.88e23 (1e6 to 1e35).")
@click.option("--target-loss", type=Finite(min=0, min_open=True), default=None,
              help="Also report the compute needed to reach this loss.")
@click.option("--law", type=LawChoice(("point",)), default="chinchilla", show_default=True,
              help="Law giving the compute-optimal frontier: a point law with one "
                   "(`scaling laws` lists them; data-constrained needs --unique-tokens).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Also write a report to this folder: Markdown, the data "
                                 "with the law's compute-optimal frontier, isoFLOP curves.")
@fit_options
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0, max=100_000), default=1000,
              show_default=True, help="Bootstrap resamples for intervals (0: none).")
@click.option("--gpu", default="h100", show_default=True,
              help="Accelerator for GPU-hours (h100, h200, a100, mi300x, ...).")
@click.option("--gpus", type=click.IntRange(min=1), default=None,
              help="Number of accelerators, for wall-clock days (without it: GPU-hours only).")
@click.option("--mfu", type=Finite(min=0, min_open=True, max=1), default=0.4,
              show_default=True, help="Model FLOPs utilization.")
@click.option("--price", type=Finite(min=0), default=None,
              help="Price in USD per GPU-hour (for the cost in USD).")
@click.option("--max-extrapolation", type=Finite(min=0), default=2.0, show_default=True,
              help="Warn beyond this many decades past the largest run.")
@click.option("--no-sensitivity", is_flag=True, help="Skip the sensitivity refits.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9,
              show_default=True, help="Level of the prediction (pi) and confidence (ci) "
                                      "intervals; docs/uncertainty.md.")
@click.option("--tolerance", type=click.FloatRange(0, 0.5, min_open=True), default=0.005,
              show_default=True,
              help="Relative loss above the optimum the robust plan accepts (0.005 = 0.5%): "
                   "the N range reported and how sure it is.")
@click.option("--unique-tokens", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Unique tokens available: also plan under this data constraint "
                   "(epochs worth repeating; Muennighoff et al. 2023).")
def plan(data_path, compute, target_loss, law, loss, delta, asymmetry, drop_highest, columns,
         runs, starts, seed, as_json, log_format, model_size, tokens_per_step, n_boot, gpu, gpus,
         mfu, price, max_extrapolation, no_sensitivity, unique_tokens, tolerance, level, out_dir):
    """Plan a compute budget: N*, D*, tokens/param, cost.

    Leads with the robust N (least expected loss over the law's bootstrap draws) and the
    N range within --tolerance of the optimal loss with how sure it is; then the law's
    own N*, D*, loss and tokens per parameter with intervals, Approaches 1-3,
    a sensitivity check (FRAGILE flag), and GPU-hours, days and cost.
    """
    from scaling.fits import plan_compute
    from scaling.costs import attach_resources

    if compute is None and target_loss is None:
        raise click.UsageError("give --compute FLOPS (and/or --target-loss L)")
    table = load(data_path, columns, runs, log_format, model_size, tokens_per_step)
    points_for_few_runs(table, law, drop_highest)
    estimator = make_estimator(law, None, loss, delta, asymmetry, drop_highest, starts, seed)
    result = plan_compute(table, compute, estimator=estimator, n_boot=n_boot, seed=seed,
                          target_loss=target_loss, max_extrapolation=max_extrapolation,
                          sensitivity=not no_sensitivity, unique_tokens=unique_tokens,
                          level=level, tolerance=tolerance)
    result = attach_resources(result, gpu, n_gpus=gpus, mfu=mfu, price_per_gpu_hour=price)
    emit(result, as_json, None)
    if out_dir is not None:
        from scaling.fits.report_files import write_report

        files = write_report(result, out_dir, table=table, boot=result.bootstrap,
                             target_compute=result.compute)
        click.echo(f"report written to {files.directory}: "
                   + ", ".join(p.name for p in files.files), err=True)

