"""`scaling compare`: effective compute multiplier of recipe B over recipe A."""

from __future__ import annotations

from pathlib import Path

import click

from scaling.fits.prediction import DEFAULT_LEVEL

from ._common import InputError, emit, format_option, load, where_option


def _ladder(path: str, columns, drop_highest):
    """A saved Chinchilla fit (``scaling fit --save``) or a runs table."""
    import json

    if path.endswith(".json") and Path(path).is_file():
        from scaling.fits.saved_check import read_json_file
        try:
            payload = read_json_file(path, "saved fit")
        except json.JSONDecodeError as err:
            raise InputError(f"{path} is not JSON: {err}") from None
        if isinstance(payload, dict) and "law" in payload and "params" in payload:
            from scaling.fits import FitResult

            return FitResult.from_dict(payload)
    return load(path, columns)


@click.command()
@click.argument("ladder_a", metavar="A")
@click.argument("ladder_b", metavar="B")
@click.option("--budgets", default=None, metavar="C1,C2,...",
              help="Compute budgets in FLOPs (default: 5 across the range both ladders cover).")
@click.option("--names", default="A,B", show_default=True, metavar="NAME_A,NAME_B",
              help="Labels of the two recipes.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0, max=100_000), default=1000,
              show_default=True, help="Bootstrap resamples of each ladder's runs (0: none).")
@click.option("--level", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
              default=DEFAULT_LEVEL, show_default=True, help="Interval level (pi and ci).")
@click.option("--drop-highest", type=click.IntRange(min=0), default=0, show_default=True,
              help="Leave out each ladder's K highest-loss runs before fitting.")
@click.option("--col", "columns", multiple=True, metavar="NEW=OLD",
              help="Column map for both tables, e.g. --col loss=val/loss (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write compare.json and the plot frontiers.FORMAT here.")
@format_option
@where_option
def compare(ladder_a, ladder_b, budgets, names, n_boot, level, drop_highest, columns, seed,
            as_json, out, fmt):
    """Compare two recipes: effective compute multiplier of B over A.

    A and B are runs tables (or saved Chinchilla fits, `scaling fit --save`) of two
    ladders. Per budget C: the compute A needs to reach B's compute-optimal loss, over C,
    with a bootstrap interval; a verdict only where the interval excludes 1.
    """
    from scaling.data import atomic_write_text
    from scaling.fits import ScalingLawFit
    from scaling.fits.compare import compare_ladders

    labels = tuple(n.strip() for n in names.split(","))
    if len(labels) != 2 or not all(labels) or labels[0] == labels[1]:
        raise click.BadParameter(f"expected two different names like A,B; got {names!r}",
                                 param_hint="--names")
    values = None
    if budgets:
        try:
            values = [float(v) for v in budgets.split(",")]
        except ValueError:
            raise click.BadParameter(f"expected numbers like 1e18,1e20; got {budgets!r}",
                                     param_hint="--budgets") from None
    estimator = ScalingLawFit(law="chinchilla", drop_highest=drop_highest, seed=seed)
    result = compare_ladders(_ladder(ladder_a, columns, drop_highest),
                             _ladder(ladder_b, columns, drop_highest), budgets=values,
                             n_boot=n_boot, level=level, seed=seed, estimator=estimator,
                             names=labels)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "compare.json", result.to_json() + "\n")
        result.plot(out / f"frontiers.{fmt}")
    emit(result, as_json, None)
    if out is not None and not as_json:
        click.echo(f"\nwrote {out / 'compare.json'}, {out / f'frontiers.{fmt}'}")
