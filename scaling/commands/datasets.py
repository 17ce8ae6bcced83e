"""`scaling datasets`: list and export bundled datasets."""

from __future__ import annotations

from pathlib import Path

import click


@click.group(invoke_without_command=True)
@click.pass_context
def datasets(ctx):
    """List bundled datasets; `datasets export` writes one.

    Without a subcommand, lists them (name and provenance).
    """
    if ctx.invoked_subcommand is None:
        from scaling.data import DATASETS

        width = max(len(name) for name in DATASETS)
        for name, entry in DATASETS.items():
            click.echo(f"{name.ljust(width)}  {entry.description}")


@datasets.command("export")
@click.argument("name")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def datasets_export(name, directory):
    """Write bundled dataset NAME as runs.csv + points.csv into DIRECTORY."""
    from scaling.data import export_dataset

    for path in export_dataset(name, directory):
        click.echo(f"wrote {path}")

