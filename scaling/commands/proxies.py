"""`scaling train` and `scaling ladder`: proxy models."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ._common import QUANTITY, strip_ansi


def _data_options(command):
    """--data/--val-data/--data-dtype: train on a memmap token file instead of the bundled
    byte corpus."""
    options = [
        click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Token file (raw .bin memmap as nanoGPT's prepare "
                     "scripts write, or .npy) instead of the bundled byte corpus."),
        click.option("--val-data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Validation token file (default: val.bin next to a "
                     "train.bin, else the last 1% of --data)."),
        click.option("--data-dtype", type=click.Choice(["uint8", "uint16", "uint32"]),
                     default=None, help="Token type of .bin files [default: uint16]."),
    ]
    return functools.reduce(lambda f, option: option(f), reversed(options), command)


def _data_fields(data, val_data, data_dtype) -> dict:
    if data is None and (val_data is not None or data_dtype is not None):
        raise click.BadParameter("needs --data", param_hint="--val-data/--data-dtype")
    fields = {"corpus": str(data)} if data is not None else {}
    if val_data is not None:
        fields["val_corpus"] = str(val_data)
    if data_dtype is not None:
        fields["token_dtype"] = data_dtype
    return fields


@click.command()
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path),
              default=None, help="Training config (JSON) with TrainConfig fields.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config field, e.g. --set d_model=64 --set schedule.peak_lr=1e-3.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output directory (runs.csv, points.csv, checkpoints); rerun to resume.")
@_data_options
def train(config_path, overrides, out, data, val_data, data_dtype):
    """Train one GPT proxy model on the bundled corpus or a token file (resumable)."""
    import json

    require_torch("train")

    from scaling.trainer import train_from_cli

    fields = _data_fields(data, val_data, data_dtype)
    overrides = list(overrides) + [f"{k}={json.dumps(v)}" for k, v in fields.items()]
    summary = train_from_cli(config_path, overrides, out)
    import os

    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun rank 0 reports for all
        return
    click.echo(strip_ansi(summary["report"]))
    if not any(r.get("status") == "done" for r in summary["runs"] if r):
        raise SystemExit(1)  # diverged: the report above says why and what to do


def require_torch(verb: str) -> None:
    """Exit 2 with the install line when PyTorch is missing (fitting needs no torch)."""
    import importlib.util

    # found, not imported: a config refused before training (an absurd model size) must not
    # pay torch's import (seconds, ~200 MB)
    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a finder that refuses it; a module without a spec
        found = False
    if not found:
        raise click.UsageError(
            f"`scaling {verb}` trains proxy models and needs PyTorch, which is not installed. "
            "Install the extra: pip install 'scaling-planner[train]' (on a CPU-only machine "
            "install the CPU build first, e.g. pip install torch==2.13.0, or from "
            "https://download.pytorch.org/whl/cpu). Fitting, planning and reports work "
            "without it.")


def _budgets(ctx, param, value):
    if value is None:
        return None
    try:
        return [QUANTITY.convert(v.strip(), param, ctx) for v in value.split(",") if v.strip()]
    except click.BadParameter:
        raise click.BadParameter(f"expected FLOP budgets separated by commas, e.g. "
                                 f"1e13,3e13,1e14; got {value!r}") from None


@click.command()
@click.option("--preset", default="cpu-5min", show_default=True,
              help="cpu-5min, gpu-30min, or a JSON ladder spec file.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output directory; finished runs are skipped, unfinished ones resume.")
@click.option("--design", type=click.Choice(["grid", "isoflop"]), default=None,
              help="grid: sizes x token budgets (the preset's); isoflop: sizes around the "
                   "expected optimum of each --budgets FLOP budget.")
@click.option("--budgets", callback=_budgets, default=None,
              help="isoFLOP compute budgets, comma separated (e.g. 1e13,3e13,1e14).")
@click.option("--sizes-per-budget", type=click.IntRange(2), default=None,
              help="Model sizes per isoFLOP budget [default: 5].")
@click.option("--backend", type=click.Choice(["local", "ray", "slurm"]), default="local",
              show_default=True, help="Where runs execute: local processes, Ray tasks or "
                                      "SLURM array jobs (submitit).")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Local worker processes (one GPU each on CUDA; CPU threads split).")
@click.option("--address", default=None,
              help="Ray cluster address ('auto': a running cluster) [default: start one].")
@click.option("--slurm-partition", default=None, help="SLURM partition.")
@click.option("--slurm-time", type=click.IntRange(1), default=60, show_default=True,
              help="SLURM time limit per run, minutes.")
@click.option("--slurm-parallel", type=click.IntRange(1), default=None,
              help="Most array tasks running at once.")
@click.option("--slurm-local", is_flag=True,
              help="Run the submitit jobs as local processes (no SLURM; for testing).")
@click.option("--stale-after", type=click.FloatRange(0, min_open=True), default=15.0,
              show_default=True, help="Minutes after which another ladder's run lock that "
                                      "is no longer refreshed is taken over.")
@_data_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def ladder(ctx, preset, out, design, budgets, sizes_per_budget, backend, workers, address,
           slurm_partition, slurm_time, slurm_parallel, slurm_local, stale_after, data,
           val_data, data_dtype, quiet):
    """Train a ladder of proxy models (resumable; several may share one --out).

    Sizes x token budgets (or isoFLOP budgets) x schedules x seeds; `scaling fit OUT` fits it.
    """
    from scaling.ladder import ladder_from_cli

    require_torch("ladder")
    if budgets and design is None:
        design = "isoflop"
    slurm = {"partition": slurm_partition, "time_min": slurm_time,
             "array_parallelism": slurm_parallel, "cluster": "local" if slurm_local else None}
    summary = ladder_from_cli(preset, out, quiet=quiet, design=design, budgets=budgets,
                              sizes_per_budget=sizes_per_budget,
                              data=_data_fields(data, val_data, data_dtype), backend=backend,
                              workers=workers, address=address, slurm=slurm,
                              stale_after_s=60 * stale_after)
    click.echo(strip_ansi(summary["report"]))
    if summary["failed"] or not any(r.get("status") == "done" for r in summary["runs"]):
        ctx.exit(1)
