"""`scaling train` and `scaling ladder`: proxy models."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path),
              default=None, help="Training config (JSON) with TrainConfig fields.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config field, e.g. --set d_model=64 --set schedule.peak_lr=1e-3.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output directory (runs.csv, points.csv, checkpoints); rerun to resume.")
def train(config_path, overrides, out):
    """Train one GPT proxy model on the bundled corpus (resumable)."""
    from scaling.trainer import train_from_cli

    click.echo(train_from_cli(config_path, list(overrides), out)["report"])


@click.command()
@click.option("--preset", default="cpu-5min", show_default=True,
              help="cpu-5min, gpu-30min, or a JSON ladder spec file.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output directory; finished runs are skipped, unfinished ones resume.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def ladder(preset, out, quiet):
    """Train a ladder of proxy models (resumable).

    Sizes x token budgets x schedules x seeds; `scaling fit OUT` then fits it.
    """
    from scaling.ladder import ladder_from_cli

    click.echo(ladder_from_cli(preset, out, quiet=quiet)["report"])

